"""Fetching images by URL: only public http(s) addresses, after redirects and DNS too."""

from __future__ import annotations

import asyncio
import http.server
import ipaddress
import time
from collections.abc import Iterator
from typing import Any

import pytest
from serving_helpers import assert_error, coffee_pixels, http_origin, jpeg, only_127_0_0_1

from mugpos_serving.errors import PayloadTooLarge, UrlFetchFailed, UrlNotAllowed
from mugpos_serving.urlfetch import UrlFetcher, is_public_address

PHOTO = jpeg(coffee_pixels()[:80, :80])


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata (link-local)
        ("100.100.100.200", False),  # shared address space (another metadata address)
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd00:ec2::254", False),  # AWS metadata over IPv6 (unique local)
        ("::ffff:127.0.0.1", False),  # IPv4-mapped loopback
        ("2002:7f00:1::", False),  # 6to4 wrapping 127.0.0.1
        # IPv6 forms that embed an IPv4 address: refused when that address is not public.
        ("64:ff9b::7f00:1", False),  # NAT64 well-known prefix → 127.0.0.1
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 → 169.254.169.254 (cloud metadata)
        ("64:ff9b::808:808", True),  # NAT64 → 8.8.8.8 (public: allowed)
        ("64:ff9b:1::a00:1", False),  # local-use NAT64 (RFC 8215): refused as a whole
        ("64:ff9b:1:808:8:800::", False),  # ... even around a public IPv4
        ("::127.0.0.1", False),  # IPv4-compatible loopback
        ("::10.0.0.1", False),  # IPv4-compatible private
        ("::8.8.8.8", False),  # IPv4-compatible is deprecated: not global either way
        ("::ffff:0:7f00:1", False),  # IPv4-translated (SIIT) loopback
        ("::ffff:0:a9fe:a9fe", False),  # IPv4-translated metadata address
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo, client 192.0.2.45
    ],
)
def test_public_address_policy(address: str, public: bool) -> None:
    assert is_public_address(ipaddress.ip_address(address)) is public


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", self.path.split("?to=", 1)[1])
            self.end_headers()
        elif self.path == "/photo.jpg":
            self.send_response(200)
            self.send_header("Content-Length", str(len(PHOTO)))
            self.end_headers()
            self.wfile.write(PHOTO)
        elif self.path == "/slow":
            time.sleep(1.5)
            self.send_response(200)
            self.end_headers()
        else:
            self.send_response(404)
            self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    with http_origin(Handler) as url:
        yield url


def fetch(url: str, **kw: Any) -> bytes:
    options = {"enabled": True, "max_bytes": 1_000_000, "timeout_s": 1.0, **kw}
    return asyncio.run(UrlFetcher(**options).fetch(url))


def test_private_targets_are_refused(origin: str) -> None:
    for url in (
        f"{origin}/photo.jpg",
        "http://localhost/x.jpg",
        "http://2130706433/x.jpg",  # 127.0.0.1 written as one number
        "http://[::1]/x.jpg",
        "http://[::127.0.0.1]/x.jpg",
        "http://[::ffff:0:7f00:1]/x.jpg",
        "http://[64:ff9b::7f00:1]/x.jpg",
        "http://[64:ff9b:1::7f00:1]/x.jpg",
        "file:///etc/passwd",
        "ftp://example.com/x.jpg",
        "http://user:pw@example.com/x.jpg",
    ):
        with pytest.raises(UrlNotAllowed):
            fetch(url)


def test_checked_fetch_and_redirects(origin: str) -> None:
    assert fetch(f"{origin}/photo.jpg", address_allowed=only_127_0_0_1) == PHOTO
    follow = f"{origin}/redirect?to={origin}/photo.jpg"
    assert fetch(follow, address_allowed=only_127_0_0_1) == PHOTO
    for target in ("http://127.0.0.2:1/x", "http://169.254.169.254/latest/meta-data/"):
        with pytest.raises(UrlNotAllowed):
            fetch(f"{origin}/redirect?to={target}", address_allowed=only_127_0_0_1)


def test_size_time_and_status_limits(origin: str) -> None:
    with pytest.raises(PayloadTooLarge):
        fetch(f"{origin}/photo.jpg", address_allowed=only_127_0_0_1, max_bytes=100)
    with pytest.raises(UrlFetchFailed, match="longer than"):
        fetch(f"{origin}/slow", address_allowed=only_127_0_0_1, timeout_s=0.3)
    with pytest.raises(UrlFetchFailed, match="404"):
        fetch(f"{origin}/missing", address_allowed=only_127_0_0_1)


def test_api_refuses_private_urls_when_enabled(app_settings: Any, auth: dict, origin: str) -> None:
    from fastapi.testclient import TestClient

    from mugpos_serving.app import create_app

    with TestClient(create_app(app_settings(url_fetch_enabled=True))) as c:
        r = c.post("/v1/positions", json={"image_url": f"{origin}/photo.jpg"}, headers=auth)
        err = assert_error(r, 422, "url_not_allowed")
        assert err["details"]["addresses"] == ["127.0.0.1"]
