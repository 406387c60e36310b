"""Real local servers for the trigger and integration tests: an HTTP server
that records every request it answers, and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    drip_s: float = 0.0  # pause between body chunks


Route = Callable[[Recorded, int], Reply]  # (request, attempt number of that path) -> reply


class LocalHTTP:
    """``routes`` maps a path to a reply or a function of (request, attempt)."""

    def __init__(self) -> None:
        self.routes: dict[str, Reply | Route] = {}
        self.requests: list[Recorded] = []
        #: requests being answered now, and the most answered at once
        self.in_flight = 0
        self.most_at_once = 0
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def attempts(self, path: str) -> int:
        return sum(1 for r in self.requests if r.path.split("?")[0] == path)

    def _reply_for(self, request: Recorded) -> Reply:
        with self._lock:
            self.requests.append(request)
            attempt = self.attempts(request.path.split("?")[0])
        route = self.routes.get(request.path.split("?")[0], Reply(404, {"detail": "no route"}))
        return route(request, attempt) if callable(route) else route

    def _count(self, change: int) -> None:
        with self._lock:
            self.in_flight += change
            self.most_at_once = max(self.most_at_once, self.in_flight)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Recorded(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length) if length else b"",
                )
                reply = owner._reply_for(request)
                owner._count(+1)
                try:
                    time.sleep(reply.delay_s)
                    self._answer(reply)
                finally:
                    owner._count(-1)

            def _answer(self, reply: Reply) -> None:
                body = reply.body
                headers = dict(reply.headers)
                if not isinstance(body, bytes):
                    body = json.dumps(body).encode()
                    headers.setdefault("Content-Type", "application/json")
                self.send_response(reply.status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._write(body, reply.drip_s)

            def _write(self, body: bytes, drip_s: float) -> None:
                if not drip_s:
                    self.wfile.write(body)
                    return
                for start in range(0, len(body), 10):
                    self.wfile.write(body[start : start + 10])
                    self.wfile.flush()
                    time.sleep(drip_s)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        return Handler

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def local_http() -> Iterator[LocalHTTP]:
    server = LocalHTTP()
    thread = threading.Thread(target=server.server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            {
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "data": envelope.content.decode("utf-8", errors="replace"),
                "login": getattr(session, "login_data", None),
            }
        )
        return "250 OK"


@contextmanager
def local_smtp(auth: tuple[str, str] | None = None) -> Iterator[tuple[Mailbox, int]]:
    """An SMTP server on 127.0.0.1; with ``auth`` it requires that login."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    mailbox = Mailbox()
    kwargs: dict[str, Any] = {}
    if auth is not None:

        def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any):
            ok = (data.login.decode(), data.password.decode()) == auth
            return AuthResult(success=ok, handled=False)

        kwargs = {
            "authenticator": authenticator,
            "auth_require_tls": False,
            "auth_required": True,
        }
    port = _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()
