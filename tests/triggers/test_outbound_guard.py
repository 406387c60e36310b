"""The guarded outbound client refuses internal destinations, item by item."""

from __future__ import annotations

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
