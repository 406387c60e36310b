"""Real local HTTP servers that speak the OpenAI chat-completions and the
Anthropic messages wire formats, for tests that go through the official SDKs
exactly as production does (only ``base_url`` differs).

A server answers from a queue of behaviours (``reply``, ``status``,
``stall``), then with its default; it records every request it receives.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: The secret every test credential carries; it must never show anywhere.
CANARY = "sk-canary-5f1d8c2b9e7a4036"


@dataclass
class Reply:
    text: str | Callable[[dict[str, Any]], str] = "Hello from the fake provider."
    input_tokens: int = 12
    output_tokens: int = 7
    model: str | None = None


@dataclass
class Status:
    code: int
    message: str = "failure"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Stall:
    """Answer only after ``seconds`` (longer than the client's timeout)."""

    seconds: float
    then: Reply = field(default_factory=Reply)


def reply(text: Any = "Hello from the fake provider.", **kwargs: Any) -> Reply:
    return Reply(text, **kwargs)


def status(code: int, message: str = "failure", **headers: str) -> Status:
    return Status(code, message, {k.replace("_", "-"): v for k, v in headers.items()})


def stall(seconds: float) -> Stall:
    return Stall(seconds)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float


class FakeProvider:
    dialect = ""
    path = ""

    def __init__(self) -> None:
        self.script: deque[Any] = deque()
        self.default: Any = Reply()
        self.received: list[Received] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def queue(self, *behaviours: Any) -> FakeProvider:
        self.script.extend(behaviours)
        return self

    def start(self) -> FakeProvider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self) -> Any:
        return self.script.popleft() if self.script else self.default

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                headers = {k.lower(): v for k, v in self.headers.items()}
                provider.received.append(Received(self.path, headers, body, time.monotonic()))
                if self.path.rstrip("/") != provider.path:
                    return self._send(404, {"error": {"message": f"no route {self.path}"}})
                behaviour = provider._next()
                if isinstance(behaviour, Stall):
                    time.sleep(behaviour.seconds)
                    behaviour = behaviour.then
                if isinstance(behaviour, Status):
                    return self._send(
                        behaviour.code, provider.error_body(behaviour), behaviour.headers
                    )
                return self._send(200, provider.success_body(behaviour, body))

            def _send(self, code: int, payload: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(code)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

        return Handler

    @staticmethod
    def text_of(behaviour: Reply, body: dict[str, Any]) -> str:
        return behaviour.text(body) if callable(behaviour.text) else behaviour.text

    def success_body(self, behaviour: Reply, body: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def error_body(self, behaviour: Status) -> dict[str, Any]:
        raise NotImplementedError


class FakeOpenAI(FakeProvider):
    dialect = "openai"
    path = "/v1/chat/completions"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def success_body(self, behaviour: Reply, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-{len(self.received)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": behaviour.model or body.get("model", "unknown"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": self.text_of(behaviour, body)},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": behaviour.input_tokens,
                "completion_tokens": behaviour.output_tokens,
                "total_tokens": behaviour.input_tokens + behaviour.output_tokens,
            },
        }

    def error_body(self, behaviour: Status) -> dict[str, Any]:
        return {
            "error": {"message": behaviour.message, "type": "error", "code": str(behaviour.code)}
        }


class FakeAnthropic(FakeProvider):
    dialect = "anthropic"
    path = "/v1/messages"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def success_body(self, behaviour: Reply, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": f"msg_{len(self.received)}",
            "type": "message",
            "role": "assistant",
            "model": behaviour.model or body.get("model", "unknown"),
            "content": [{"type": "text", "text": self.text_of(behaviour, body)}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {
                "input_tokens": behaviour.input_tokens,
                "output_tokens": behaviour.output_tokens,
            },
        }

    def error_body(self, behaviour: Status) -> dict[str, Any]:
        kind = {429: "rate_limit_error", 401: "authentication_error"}.get(
            behaviour.code, "api_error"
        )
        return {"type": "error", "error": {"type": kind, "message": behaviour.message}}


def serving(provider: FakeProvider, settings: Any) -> Iterator[FakeProvider]:
    """Run ``provider`` for one test, with its address in OUTBOUND_ALLOW.
    Fixtures are a ``yield from serving(FakeOpenAI(), settings)`` away."""
    provider.start()
    settings.OUTBOUND_ALLOW = [*settings.OUTBOUND_ALLOW, provider.address]
    try:
        yield provider
    finally:
        provider.stop()


def assert_no_canary_logged(caplog: Any) -> Iterator[None]:
    """Body of an autouse fixture: no log line of the test holds the canary."""
    caplog.set_level(logging.DEBUG)
    yield
    leaked = [r.getMessage() for r in caplog.records if CANARY in r.getMessage()]
    leaked += [r.exc_text for r in caplog.records if r.exc_text and CANARY in r.exc_text]
    assert not leaked, f"the canary secret was logged: {leaked[:3]}"
