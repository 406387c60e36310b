"""The one factory for outbound HTTP clients, guarded against internal addresses.

Outbound calls (``http.request``, LLM providers, SMTP hosts) must not reach
loopback, private, link-local, CGNAT or otherwise non-global addresses unless
an allow-list names them: the operator's ``settings.OUTBOUND_ALLOW``
(``BATON_OUTBOUND_ALLOW``) for every call, plus, for a call made on behalf of
a workspace, that workspace's own list (``Workspace.outbound_allow``, kept by
its admins). Entries are ``host``, ``host:port``, ``*.domain`` (any name
below it), ``[v6]``/``[v6]:port`` or a CIDR range; see :func:`parse_rule`.

Cloud metadata addresses (:data:`METADATA_ADDRESSES`) are stricter: only an
entry naming the address itself opens one. A range, a wildcard or a DNS name
that happens to cover or resolve to it does not, so ``10.0.0.0/8`` or even
``169.254.0.0/16`` never hands out the instance's credentials by accident.

The check runs where the socket is opened: the client's network backend
resolves the host itself, vets every address, and connects to a vetted
address, so a DNS answer that changes between a check and the connect (DNS
rebinding) or a redirect to an internal host cannot slip through. TLS still
verifies the certificate against the original host name.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import import_module
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Where clouds serve instance metadata and credentials. Reachable only through
#: an allow-list entry naming the address itself (with or without a port).
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(text)
    for text in (
        "169.254.169.254",  # AWS, GCP, Azure, Oracle, DigitalOcean, OpenStack...
        "169.254.170.2",  # AWS ECS task credentials
        "169.254.170.23",  # AWS EKS Pod Identity agent
        "100.100.100.200",  # Alibaba Cloud
        "fd00:ec2::254",  # AWS over IPv6
        "fd00:ec2::23",  # AWS EKS Pod Identity agent over IPv6
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

#: Limits of a workspace's allow-list (the operator's list is not limited).
MAX_ENTRIES = 100
MAX_ENTRY_LENGTH = 255
#: The widest range a workspace may allow: the largest private blocks,
#: 10.0.0.0/8 and fc00::/7. A wider one would switch the guard off.
MIN_PREFIX = {4: 8, 6: 7}

_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_HOSTNAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")


class OutboundRefused(Exception):
    """The destination is an internal address that no allow-list names."""


class InvalidAllowEntry(ValueError):
    """An allow-list entry that cannot be read; the message names the entry."""


class InvalidAllowList(ValueError):
    """Entries of an allow-list that cannot be read: ``problems`` holds
    ``(index or None, message)`` pairs."""

    def __init__(self, problems: list[tuple[int | None, str]]):
        super().__init__(" ".join(message for _index, message in problems))
        self.problems = problems


# -- allow rules -----------------------------------------------------------------


def _plain_host(hostname: str) -> str:
    return hostname.lower().strip("[]").rstrip(".")


@dataclass(frozen=True)
class AllowRule:
    """One allow-list entry: a host (DNS name or IP address), a ``*.`` suffix,
    or a network; hosts and suffixes may carry a port."""

    host: str | None = None
    port: int | None = None
    network: IPNetwork | None = None
    suffix: str | None = None  # "*.example.com" is kept as ".example.com"

    def matches(self, hostname: str, address: IPAddress, port: int) -> bool:
        if self.network is not None:
            return address in self.network
        if self.port is not None and self.port != port:
            return False
        name = _plain_host(hostname)
        if self.suffix is not None:
            return name.endswith(self.suffix)
        return self.host in (name, str(address))

    def names_address(self, address: IPAddress, port: int) -> bool:
        """Whether the entry is this very address (what a metadata address needs)."""
        return self.host == str(address) and self.port in (None, port)

    def text(self) -> str:
        """The canonical spelling of the entry, as a workspace's list stores it."""
        if self.network is not None:
            return str(self.network)
        host = f"*{self.suffix}" if self.suffix is not None else str(self.host)
        if ":" in host:
            host = f"[{host}]"
        return host if self.port is None else f"{host}:{self.port}"


def _port(entry: str, text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise InvalidAllowEntry(f"{entry!r}: the port must be a number from 1 to 65535.")
    return int(text)


def _network(entry: str, strict: bool) -> IPNetwork:
    try:
        return ipaddress.ip_network(entry, strict=strict)
    except ValueError as exc:
        if "host bits set" in str(exc):
            wider = ipaddress.ip_network(entry, strict=False)
            raise InvalidAllowEntry(
                f"{entry!r} has bits set past the prefix: did you mean {wider}?"
            ) from None
        raise InvalidAllowEntry(
            f"{entry!r} is not an address range: write one like 10.0.0.0/8 or fd00::/8."
        ) from None


def _host_rule(entry: str, host: str, port: int | None) -> AllowRule:
    if host.startswith("*."):
        if not _HOSTNAME.match(host[2:]):
            raise InvalidAllowEntry(
                f"{entry!r}: a wildcard is '*.' and a domain, e.g. *.internal.example.com."
            )
        return AllowRule(suffix=host[1:], port=port)
    try:
        return AllowRule(host=str(ipaddress.ip_address(host)), port=port)
    except ValueError:
        pass
    if ":" not in host and _looks_numeric(host):
        raise InvalidAllowEntry(
            f"{entry!r}: write an IPv4 address as four decimal numbers, e.g. 127.0.0.1."
        )
    if not _HOSTNAME.match(host) or len(host) > 253:
        raise InvalidAllowEntry(
            f"{entry!r} is not a host name, an IP address, a host:port or a CIDR range."
        )
    return AllowRule(host=host, port=port)


def _looks_numeric(host: str) -> bool:
    """Decimal, hex, octal or short IPv4 spellings (2130706433, 0x7f.1, 127.1)."""
    try:
        socket.inet_aton(host)
    except OSError:
        return False
    return True


def parse_rule(entry: str, *, strict: bool = False) -> AllowRule:
    """Read one entry: ``host``, ``host:port``, ``*.domain[:port]``,
    ``v6``, ``[v6]``, ``[v6]:port`` or a CIDR range. ``strict`` (workspace
    entries) refuses a range with bits set past its prefix instead of widening
    it. Raises :class:`InvalidAllowEntry` naming the entry."""
    entry = entry.strip().lower()
    if not entry:
        raise InvalidAllowEntry("An empty entry: remove it.")
    if "://" in entry:
        raise InvalidAllowEntry(f"{entry!r}: name the host (and port), not a URL.")
    if "%" in entry:
        raise InvalidAllowEntry(f"{entry!r}: an IPv6 zone (%...) cannot be allowed.")
    if "/" in entry:
        return AllowRule(network=_network(entry, strict))
    if entry.startswith("["):  # [v6] or [v6]:port
        inside, _, rest = entry[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise InvalidAllowEntry(f"{entry!r}: write an IPv6 address as [fd00::1]:8080.")
        try:
            address = ipaddress.IPv6Address(inside)
        except ValueError:
            raise InvalidAllowEntry(f"{entry!r}: {inside!r} is not an IPv6 address.") from None
        return AllowRule(host=str(address), port=_port(entry, rest[1:]) if rest else None)
    if entry.count(":") == 1:
        host, port = entry.split(":")
        return _host_rule(entry, host.rstrip("."), _port(entry, port))
    if entry.count(":") > 1:  # a bare IPv6 address
        return _host_rule(entry, entry, None)
    return _host_rule(entry, entry.rstrip("."), None)


def clean_allow_list(entries: Iterable[Any]) -> list[str]:
    """A workspace's allow-list, validated and in canonical spelling, without
    duplicates. Raises :class:`InvalidAllowList` listing every bad entry."""
    entries = list(entries)
    if len(entries) > MAX_ENTRIES:
        raise InvalidAllowList([(None, f"At most {MAX_ENTRIES} entries, not {len(entries)}.")])
    cleaned: list[str] = []
    problems: list[tuple[int | None, str]] = []
    for index, entry in enumerate(entries):
        try:
            cleaned.append(_clean_entry(entry))
        except InvalidAllowEntry as exc:
            problems.append((index, str(exc)))
    if problems:
        raise InvalidAllowList(problems)
    return list(dict.fromkeys(cleaned))


def _clean_entry(entry: Any) -> str:
    if not isinstance(entry, str):
        raise InvalidAllowEntry(f"{entry!r} is not text.")
    if len(entry) > MAX_ENTRY_LENGTH:
        raise InvalidAllowEntry(f"{entry[:40]!r}... is longer than {MAX_ENTRY_LENGTH} characters.")
    rule = parse_rule(entry, strict=True)
    network = rule.network
    if network is not None and network.prefixlen < MIN_PREFIX[network.version]:
        raise InvalidAllowEntry(
            f"{entry.strip()!r} is too wide: a range may be at most /{MIN_PREFIX[4]} for IPv4 "
            f"and /{MIN_PREFIX[6]} for IPv6."
        )
    return rule.text()


def workspace_entries(workspace: Any) -> list[str]:
    """The allow-list a workspace's admins keep (a Workspace or its id; None: none)."""
    if workspace is None:
        return []
    if hasattr(workspace, "outbound_allow"):
        return list(workspace.outbound_allow)
    from accounts.models import Workspace

    found = Workspace.objects.filter(pk=workspace).values_list("outbound_allow", flat=True)
    return list(found.first() or [])


def allow_rules(extra: Iterable[str] = (), workspace: Any = None) -> list[AllowRule]:
    entries = [*getattr(settings, "OUTBOUND_ALLOW", []), *extra, *workspace_entries(workspace)]
    return [parse_rule(entry) for entry in entries if entry.strip()]


# -- vetting ---------------------------------------------------------------------


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one routes to: IPv4-mapped, 6to4 or NAT64."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_internal(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    # 6to4 (2002::/16) is "global" to Python yet routes to the IPv4 address
    # it embeds, which may be internal (2002:7f00:1:: is 127.0.0.1).
    if isinstance(address, ipaddress.IPv6Address) and address.sixtofour:
        return is_internal(address.sixtofour)
    return not address.is_global or address.is_multicast or address.is_reserved


def is_metadata(address: IPAddress) -> bool:
    return address in METADATA_ADDRESSES or embedded_ipv4(address) in METADATA_ADDRESSES


def vet(hostname: str, address: IPAddress, port: int, rules: Sequence[AllowRule]) -> bool:
    if is_metadata(address):
        return any(rule.names_address(address, port) for rule in rules)
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


def vetted_addresses(
    hostname: str, port: int, extra_allow: Iterable[str] = (), *, workspace: Any = None
) -> list[IPAddress]:
    """The addresses of ``hostname`` that may be reached; refuses if none.

    ``workspace`` (a Workspace or its id) adds that workspace's allow-list.
    """
    rules = allow_rules(extra_allow, workspace)
    addresses = resolve(hostname, port)
    allowed = [a for a in addresses if vet(hostname, a, port, rules)]
    if allowed:
        return allowed
    metadata = next((a for a in addresses if is_metadata(a)), None)
    if metadata is not None:
        raise OutboundRefused(
            f"Outbound call to {hostname}:{port} refused: {metadata} is a cloud metadata "
            "address. Only an allow-list entry naming that address itself opens it."
        )
    raise OutboundRefused(
        f"Outbound call to {hostname}:{port} refused: it is an internal address. "
        "A workspace admin can allow it in the workspace settings (outbound allow-list); "
        "an operator for every workspace with BATON_OUTBOUND_ALLOW."
    )


def check_url(url: str, extra_allow: Iterable[str] = (), *, workspace: Any = None) -> None:
    """Refuse early, with a clear message, a URL whose host is internal."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundRefused(f"Outbound call refused: {url!r} is not an http(s) URL.")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    vetted_addresses(parts.hostname, port, extra_allow, workspace=workspace)


class GuardedNetworkBackend:
    """An httpcore network backend that connects only to vetted addresses.

    ``extra_allow`` holds the entries added to OUTBOUND_ALLOW (which is read
    at every connect) for this client: the workspace's list among them.
    """

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
    workspace: Any = None,
    library: str = "httpx2",
    **client_kwargs: Any,
) -> Any:
    """A synchronous HTTP client whose every connection is vetted.

    ``library`` is ``"httpx2"`` (what the ``openai`` and ``anthropic`` SDKs
    take as ``http_client``) or ``"httpx"``. ``workspace`` (a Workspace or its
    id) is the one the call is made for: its allow-list, read once here, adds
    to OUTBOUND_ALLOW, as do ``extra_allow`` entries. Proxies from the
    environment are ignored: a proxy would connect on our behalf, past the
    check.
    """
    httpx_module = import_module(library)
    core = import_module(_CORE[library])
    transport = httpx_module.HTTPTransport(trust_env=False)
    allowances = (*extra_allow, *workspace_entries(workspace))
    # HTTPTransport builds its connection pool itself and offers no parameter
    # for the network backend; the pool reads this attribute for every new
    # connection, so swapping it before the first request covers them all.
    transport._pool._network_backend = GuardedNetworkBackend(core.SyncBackend(), allowances)
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
    workspace: Any = None,
    **request_kwargs: Any,
) -> BoundedResponse:
    """One request through a guarded ``client``, following redirects.

    Every hop connects through the client's guarded network backend, so a
    redirect to an internal address is refused like the first URL; ``check_url``
    refuses a bad first URL with a clear message before any connection. The
    body is read in chunks and refused past ``max_bytes`` (after decompression,
    so a small gzip bomb is caught too); ``deadline_s`` bounds the whole
    exchange, where the client's timeout bounds each network operation.
    ``workspace`` should be the one the client was made for.
    """
    check_url(url, extra_allow, workspace=workspace)
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
