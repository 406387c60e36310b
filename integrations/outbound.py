"""The one factory for outbound HTTP clients, guarded against internal addresses.

Outbound calls (LLM providers now, ``http.request`` later) must not reach
loopback, private, link-local or otherwise non-global addresses, unless
``settings.OUTBOUND_ALLOW`` (``BATON_OUTBOUND_ALLOW``: ``host``,
``host:port`` or CIDR entries) names them.

The check runs where the socket is opened: the client's network backend
resolves the host itself, vets every address, and connects to a vetted
address, so a DNS answer that changes between a check and the connect (DNS
rebinding) or a redirect to an internal host cannot slip through. TLS still
verifies the certificate against the original host name.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import import_module
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class OutboundRefused(Exception):
    """The destination is an internal address that OUTBOUND_ALLOW does not name."""


@dataclass(frozen=True)
class AllowRule:
    host: str | None = None
    port: int | None = None
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None

    def matches(self, hostname: str, address: IPAddress, port: int) -> bool:
        if self.network is not None:
            return address in self.network
        if self.port is not None and self.port != port:
            return False
        return self.host in (hostname.lower().strip("[]"), str(address))


def parse_rule(entry: str) -> AllowRule:
    entry = entry.strip().lower()
    if "/" in entry:
        return AllowRule(network=ipaddress.ip_network(entry, strict=False))
    if entry.startswith("["):  # [v6] or [v6]:port
        host, _, rest = entry[1:].partition("]")
        return AllowRule(host=host, port=int(rest[1:]) if rest.startswith(":") else None)
    if entry.count(":") == 1:
        host, port = entry.split(":")
        return AllowRule(host=host, port=int(port))
    return AllowRule(host=entry)


def allow_rules(extra: Iterable[str] = ()) -> list[AllowRule]:
    entries = [*getattr(settings, "OUTBOUND_ALLOW", []), *extra]
    return [parse_rule(entry) for entry in entries if entry.strip()]


def is_internal(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    # 6to4 (2002::/16) is "global" to Python yet routes to the IPv4 address
    # it embeds, which may be internal (2002:7f00:1:: is 127.0.0.1).
    if isinstance(address, ipaddress.IPv6Address) and address.sixtofour:
        return is_internal(address.sixtofour)
    return not address.is_global or address.is_multicast or address.is_reserved


def vet(hostname: str, address: IPAddress, port: int, rules: Sequence[AllowRule]) -> bool:
    return not is_internal(address) or any(rule.matches(hostname, address, port) for rule in rules)


def resolve(hostname: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(hostname.strip("[]"), port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OSError(f"cannot resolve {hostname}: {exc.strerror}") from None
    seen: dict[str, IPAddress] = {}
    for info in infos:
        text = str(info[4][0]).split("%")[0]
        seen.setdefault(text, ipaddress.ip_address(text))
    return list(seen.values())


def vetted_addresses(hostname: str, port: int, extra_allow: Iterable[str] = ()) -> list[IPAddress]:
    """The addresses of ``hostname`` that may be reached; refuses if none."""
    rules = allow_rules(extra_allow)
    allowed = [a for a in resolve(hostname, port) if vet(hostname, a, port, rules)]
    if not allowed:
        raise OutboundRefused(
            f"Outbound call to {hostname}:{port} refused: it is an internal address. "
            "An operator can allow it with BATON_OUTBOUND_ALLOW."
        )
    return allowed


def check_url(url: str, extra_allow: Iterable[str] = ()) -> None:
    """Refuse early, with a clear message, a URL whose host is internal."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundRefused(f"Outbound call refused: {url!r} is not an http(s) URL.")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    vetted_addresses(parts.hostname, port, extra_allow)


class GuardedNetworkBackend:
    """An httpcore network backend that connects only to vetted addresses."""

    def __init__(self, inner: Any, extra_allow: Iterable[str] = ()):
        self._inner = inner
        self._extra_allow = tuple(extra_allow)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> Any:
        address = vetted_addresses(host, port, self._extra_allow)[0]
        return self._inner.connect_tcp(
            str(address),
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> Any:
        raise OutboundRefused("Outbound calls over unix sockets are refused.")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


_CORE = {"httpx": "httpcore", "httpx2": "httpcore2"}


def http_client(
    *,
    timeout: float = 30.0,
    extra_allow: Iterable[str] = (),
    library: str = "httpx2",
    **client_kwargs: Any,
) -> Any:
    """A synchronous HTTP client whose every connection is vetted.

    ``library`` is ``"httpx2"`` (what the ``openai`` and ``anthropic`` SDKs
    take as ``http_client``) or ``"httpx"``. ``extra_allow`` adds entries to
    OUTBOUND_ALLOW for this client (a workspace's own allowances). Proxies
    from the environment are ignored: a proxy would connect on our behalf,
    past the check.
    """
    httpx_module = import_module(library)
    core = import_module(_CORE[library])
    transport = httpx_module.HTTPTransport(trust_env=False)
    # HTTPTransport builds its connection pool itself and offers no parameter
    # for the network backend; the pool reads this attribute for every new
    # connection, so swapping it before the first request covers them all.
    transport._pool._network_backend = GuardedNetworkBackend(core.SyncBackend(), extra_allow)
    return httpx_module.Client(
        transport=transport,
        timeout=timeout,
        trust_env=False,
        follow_redirects=False,
        **client_kwargs,
    )


# -- bounded requests (http.request) ---------------------------------------------


class ResponseTooLarge(Exception):
    """The answer's body is larger than the caller's limit."""


class DeadlineExceeded(Exception):
    """The whole exchange (redirects and body included) took too long."""


@dataclass(frozen=True)
class BoundedResponse:
    status: int
    headers: dict[str, str]
    content: bytes
    url: str


def send(
    client: Any,
    method: str,
    url: str,
    *,
    max_bytes: int,
    deadline_s: float,
    extra_allow: Iterable[str] = (),
    **request_kwargs: Any,
) -> BoundedResponse:
    """One request through a guarded ``client``, following redirects.

    Every hop connects through the client's guarded network backend, so a
    redirect to an internal address is refused like the first URL; ``check_url``
    refuses a bad first URL with a clear message before any connection. The
    body is read in chunks and refused past ``max_bytes`` (after decompression,
    so a small gzip bomb is caught too); ``deadline_s`` bounds the whole
    exchange, where the client's timeout bounds each network operation.
    """
    check_url(url, extra_allow)
    deadline = time.monotonic() + deadline_s
    with client.stream(method, url, follow_redirects=True, **request_kwargs) as response:
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > max_bytes:
                raise ResponseTooLarge(f"The answer is larger than {max_bytes:,} bytes.")
            if time.monotonic() > deadline:
                raise DeadlineExceeded(f"The answer took longer than {deadline_s:g} s.")
        return BoundedResponse(
            status=response.status_code,
            headers={name.lower(): value for name, value in response.headers.items()},
            content=bytes(body),
            url=str(response.url),
        )
