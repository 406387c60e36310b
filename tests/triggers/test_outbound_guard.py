"""The guarded outbound client refuses internal destinations, item by item."""

from __future__ import annotations

import ipaddress
import socket

import httpx
import pytest

from integrations import outbound
from tests.triggers.servers import Reply, local_http

INTERNAL_URLS = [
    # loopback, every spelling
    "http://127.0.0.1/",
    "http://127.1/",
    "http://2130706433/",  # decimal
    "http://0x7f000001/",  # hex
    "http://0x7f.0.0.1/",  # hex octet
    "http://0177.0.0.1/",  # octal
    "http://localhost/",  # a DNS name that resolves to loopback
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped IPv6
    "http://[::ffff:7f00:1]/",
    "http://[2002:7f00:1::]/",  # 6to4 wrapping 127.0.0.1
    "http://[64:ff9b::7f00:1]/",  # NAT64 wrapping 127.0.0.1
    # unspecified
    "http://0/",
    "http://0.0.0.0/",
    "http://[::]/",
    # private
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://[fc00::1]/",
    # link-local and cloud metadata
    "http://169.254.169.254/latest/meta-data/",
    "http://2852039166/",  # 169.254.169.254 in decimal
    "http://0251.0376.0251.0376/",  # ... in octal
    "http://[::ffff:a9fe:a9fe]/",
    "http://[fe80::1]/",
    "http://[fd00:ec2::254]/",  # AWS metadata over IPv6
    # CGNAT
    "http://100.64.0.1/",
    "http://100.127.255.254/",
    # multicast and broadcast
    "http://224.0.0.1/",
    "http://[ff02::1]/",
    "http://255.255.255.255/",
]


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_internal_destination_is_refused(url, settings):
    settings.OUTBOUND_ALLOW = []
    with pytest.raises(outbound.OutboundRefused):
        outbound.check_url(url)


@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd", "gopher://x/", "//x/"])
def test_only_http_and_https(url):
    with pytest.raises(outbound.OutboundRefused):
        outbound.check_url(url)


@pytest.mark.parametrize(
    "url", ["http://2130706433:9/", "http://0x7f.1:9/", "http://[::1]:9/", "http://localhost:9/"]
)
def test_the_client_refuses_at_connect_time(url, settings):
    """The check sits where the socket opens, not only in check_url."""
    settings.OUTBOUND_ALLOW = []
    with (
        outbound.http_client(library="httpx", timeout=2) as client,
        pytest.raises(outbound.OutboundRefused),
    ):
        client.get(url)


def test_allow_list_names_a_local_server(settings):
    with local_http() as server:
        server.routes["/ok"] = Reply(200, {"ok": True})
        settings.OUTBOUND_ALLOW = [server.address]
        with outbound.http_client(library="httpx", timeout=5) as client:
            answer = outbound.send(client, "GET", server.url("/ok"), max_bytes=1000, deadline_s=5)
        assert answer.status == 200 and b'"ok": true' in answer.content


def test_allow_list_by_port_does_not_open_other_ports(settings):
    with local_http() as allowed, local_http() as other:
        settings.OUTBOUND_ALLOW = [allowed.address]
        with pytest.raises(outbound.OutboundRefused):
            outbound.check_url(other.url("/"))
        assert other.requests == []


@pytest.mark.parametrize(
    "target", ["http://169.254.169.254/latest/meta-data/", "http://10.1.2.3/", "OTHER"]
)
def test_a_redirect_to_an_internal_address_is_refused(target, settings):
    with local_http() as server, local_http() as other:
        location = other.url("/secret") if target == "OTHER" else target
        server.routes["/go"] = Reply(302, b"", {"Location": location})
        other.routes["/secret"] = Reply(200, {"secret": 1})
        settings.OUTBOUND_ALLOW = [server.address]
        with (
            outbound.http_client(library="httpx", timeout=5) as client,
            pytest.raises(outbound.OutboundRefused),
        ):
            outbound.send(client, "GET", server.url("/go"), max_bytes=1000, deadline_s=5)
        assert server.attempts("/go") == 1
        assert other.requests == []


def test_the_body_is_size_limited(settings):
    with local_http() as server:
        server.routes["/big"] = Reply(200, b"x" * 200_000)
        settings.OUTBOUND_ALLOW = [server.address]
        with (
            outbound.http_client(library="httpx", timeout=5) as client,
            pytest.raises(outbound.ResponseTooLarge),
        ):
            outbound.send(client, "GET", server.url("/big"), max_bytes=50_000, deadline_s=5)


def test_a_slow_drip_hits_the_deadline(settings):
    with local_http() as server:
        server.routes["/slow"] = Reply(200, b"y" * 200, drip_s=0.05)
        settings.OUTBOUND_ALLOW = [server.address]
        with (
            outbound.http_client(library="httpx", timeout=5) as client,
            pytest.raises(outbound.DeadlineExceeded),
        ):
            outbound.send(client, "GET", server.url("/slow"), max_bytes=10_000, deadline_s=0.3)


def test_a_silent_server_times_out(settings):
    with local_http() as server:
        server.routes["/hang"] = Reply(200, b"late", delay_s=1.0)
        settings.OUTBOUND_ALLOW = [server.address]
        with (
            outbound.http_client(library="httpx", timeout=0.2) as client,
            pytest.raises(httpx.TimeoutException),
        ):
            outbound.send(client, "GET", server.url("/hang"), max_bytes=100, deadline_s=5)


# -- a workspace's allow-list ------------------------------------------------------


def workspace_allowing(*entries: str):
    """An unsaved workspace: the guard reads the list of the instance it is given."""
    from accounts.models import Workspace

    return Workspace(slug="lab", outbound_allow=outbound.clean_allow_list(entries))


UNRELATED = ("127.0.0.1:1", "[::1]:1", "localhost:1", "*.internal.example.com", "198.18.0.0/15")


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_the_corpus_stays_refused_next_to_unrelated_workspace_entries(url, settings):
    settings.OUTBOUND_ALLOW = []
    with pytest.raises(outbound.OutboundRefused):
        outbound.check_url(url, workspace=workspace_allowing(*UNRELATED))


METADATA_URLS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://2852039166/",
    "http://0251.0376.0251.0376/",
    "http://169.254.170.2/v2/credentials/",
    "http://100.100.100.200/latest/meta-data/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[2002:a9fe:a9fe::]/",  # 6to4 wrapping it
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 wrapping it
    "http://[fd00:ec2::254]/",
]
BROAD = ("169.254.0.0/16", "100.64.0.0/10", "fd00::/8", "fc00::/7", "2002::/16", "::/8")


@pytest.mark.parametrize("url", METADATA_URLS)
def test_metadata_stays_refused_when_a_range_covers_it(url, settings):
    settings.OUTBOUND_ALLOW = list(BROAD)  # the operator's ranges are no wider a door
    with pytest.raises(outbound.OutboundRefused, match="cloud metadata"):
        outbound.check_url(url, workspace=workspace_allowing(*BROAD[:4]))


def test_a_range_still_opens_the_rest_of_itself(settings):
    settings.OUTBOUND_ALLOW = []
    workspace = workspace_allowing("169.254.0.0/16", "fd00::/8", "10.0.0.0/8")
    for url in ("http://169.254.1.1/", "http://[fd00::1]/", "http://10.9.8.7:8443/"):
        outbound.check_url(url, workspace=workspace)


@pytest.mark.parametrize(
    ("entry", "opens", "stays_closed"),
    [
        (
            "169.254.169.254",
            ["http://169.254.169.254/latest/", "http://2852039166/", "http://169.254.169.254:81/"],
            ["http://[::ffff:a9fe:a9fe]/", "http://169.254.170.2/"],
        ),
        (
            "169.254.169.254:80",
            ["http://169.254.169.254/latest/"],
            ["http://169.254.169.254:81/"],
        ),
        ("[fd00:ec2::254]", ["http://[fd00:ec2::254]/"], ["http://169.254.169.254/"]),
    ],
)
def test_a_metadata_address_opens_only_when_named_exactly(entry, opens, stays_closed, settings):
    settings.OUTBOUND_ALLOW = []
    workspace = workspace_allowing(entry)
    for url in opens:
        outbound.check_url(url, workspace=workspace)
    for url in stays_closed:
        with pytest.raises(outbound.OutboundRefused):
            outbound.check_url(url, workspace=workspace)


@pytest.fixture
def dns(monkeypatch):
    """Answers for names under .example.com, as an internal DNS zone would give
    them (the system resolver is outside the machine's reach); other names go
    to the real resolver."""
    answers: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in answers[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


def test_names_are_vetted_by_what_they_resolve_to(dns, settings):
    settings.OUTBOUND_ALLOW = []
    dns["app.internal.example.com"] = ["10.1.2.3"]
    dns["internal.example.com"] = ["10.1.2.4"]
    dns["metadata.internal.example.com"] = ["169.254.169.254"]
    dns["metadata.google.internal"] = ["169.254.169.254"]
    dns["rebind.internal.example.com"] = ["169.254.169.254", "10.1.2.5"]
    dns["public.example.com"] = ["10.1.2.6"]
    workspace = workspace_allowing("*.internal.example.com", "metadata.google.internal")
    outbound.check_url("http://app.internal.example.com/", workspace=workspace)
    for url in (
        "http://internal.example.com/",  # the wildcard is for names below it
        "http://metadata.internal.example.com/",  # in the zone, yet the metadata address
        "http://metadata.google.internal/",  # named, but by a name, not the address
        "http://public.example.com/",  # a public-looking name resolving inside
    ):
        with pytest.raises(outbound.OutboundRefused):
            outbound.check_url(url, workspace=workspace)
    vetted = outbound.vetted_addresses("rebind.internal.example.com", 80, workspace=workspace)
    assert [str(a) for a in vetted] == ["10.1.2.5"]


def test_the_client_connects_by_the_workspace_list(settings):
    settings.OUTBOUND_ALLOW = []
    with local_http() as server, local_http() as other:
        server.routes["/ok"] = Reply(200, {"ok": True})
        workspace = workspace_allowing(server.address)
        with outbound.http_client(library="httpx", timeout=5, workspace=workspace) as client:
            answer = outbound.send(
                client, "GET", server.url("/ok"), max_bytes=1000, deadline_s=5, workspace=workspace
            )
            assert answer.status == 200
            with pytest.raises(outbound.OutboundRefused):
                client.get(other.url("/"))  # past send's early check: refused at connect
        with (
            outbound.http_client(library="httpx", timeout=5) as client,
            pytest.raises(outbound.OutboundRefused),
        ):
            client.get(server.url("/ok"))  # a client made for no workspace
        assert server.attempts("/ok") == 1 and other.requests == []


@pytest.mark.parametrize(
    ("entry", "host", "address", "port", "matches"),
    [
        ("*.internal.example.com", "a.internal.example.com", "10.0.0.1", 80, True),
        ("*.internal.example.com", "a.b.internal.example.com", "10.0.0.1", 80, True),
        ("*.internal.example.com", "internal.example.com", "10.0.0.1", 80, False),
        ("*.internal.example.com", "evilinternal.example.com", "10.0.0.1", 80, False),
        ("*.internal.example.com", "A.Internal.Example.COM.", "10.0.0.1", 80, True),
        ("*.internal.example.com:8443", "a.internal.example.com", "10.0.0.1", 8443, True),
        ("*.internal.example.com:8443", "a.internal.example.com", "10.0.0.1", 443, False),
        ("localhost:11434", "localhost", "127.0.0.1", 11434, True),
        ("localhost:11434", "localhost", "::1", 11434, True),
        ("localhost:11434", "127.0.0.1", "127.0.0.1", 11434, False),
        ("[::1]:8080", "::1", "::1", 8080, True),
        ("fd00::1", "[fd00::1]", "fd00::1", 9, True),
    ],
)
def test_workspace_entry_matching(entry, host, address, port, matches):
    [text] = outbound.clean_allow_list([entry])
    rule = outbound.parse_rule(text)
    assert rule.matches(host, ipaddress.ip_address(address), port) is matches


@pytest.mark.parametrize(
    ("entry", "stored"),
    [
        ("10.0.0.0/8", "10.0.0.0/8"),
        ("  10.20.0.0/16 ", "10.20.0.0/16"),
        ("fc00::/7", "fc00::/7"),
        ("FD00:0:0::/8", "fd00::/8"),
        ("LocalHost:11434", "localhost:11434"),
        ("ollama.lan.", "ollama.lan"),
        ("*.Internal.Example.com", "*.internal.example.com"),
        ("127.0.0.1", "127.0.0.1"),
        ("::1", "[::1]"),
        ("[0:0::1]:8080", "[::1]:8080"),
        ("169.254.169.254", "169.254.169.254"),
    ],
)
def test_valid_entries_are_stored_in_canonical_spelling(entry, stored):
    assert outbound.clean_allow_list([entry]) == [stored]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("", "empty entry"),
        ("10.0.0.1/8", "did you mean 10.0.0.0/8"),
        ("0.0.0.0/0", "too wide"),
        ("10.0.0.0/7", "too wide"),
        ("::/0", "too wide"),
        ("10.0.0.0/33", "not an address range"),
        ("2130706433", "four decimal numbers"),
        ("0x7f.1", "four decimal numbers"),
        ("127.1", "four decimal numbers"),
        ("0177.0.0.1", "four decimal numbers"),
        ("localhost:0", "port"),
        ("localhost:99999", "port"),
        ("localhost:http", "port"),
        ("[::1]x", "[fd00::1]:8080"),
        ("[nope]", "not an IPv6 address"),
        ("fe80::1%eth0", "zone"),
        ("http://10.0.0.1/", "not a URL"),
        ("*", "not a host name"),
        ("*.", "not a host name"),
        ("a.*.example.com", "not a host name"),
        ("two words", "not a host name"),
        ("-bad.example.com", "not a host name"),
        ("x" * 300, "longer than 255"),
    ],
)
def test_invalid_entries_are_refused_naming_them(entry, message):
    with pytest.raises(outbound.InvalidAllowList) as refused:
        outbound.clean_allow_list(["localhost:11434", entry])
    [(index, text)] = refused.value.problems
    assert index == 1 and message in text
    assert entry.strip().lower()[:40] in text


def test_every_bad_entry_is_named_and_duplicates_are_dropped():
    with pytest.raises(outbound.InvalidAllowList) as refused:
        outbound.clean_allow_list(["a b", "10.0.0.0/8", 7, "127.1"])
    assert [index for index, _ in refused.value.problems] == [0, 2, 3]
    assert outbound.clean_allow_list(["10.0.0.0/8", "10.0.0.0/8 ", "::1", "[::1]"]) == [
        "10.0.0.0/8",
        "[::1]",
    ]
    with pytest.raises(outbound.InvalidAllowList, match="At most 100"):
        outbound.clean_allow_list([f"host{i}.lan" for i in range(101)])
