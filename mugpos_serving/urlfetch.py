"""Fetch an image by URL without becoming a proxy into the private network (SSRF).

Off unless ``MUGPOS_URL_FETCH_ENABLED``. When on: http(s) only, no credentials in the URL, every
address the host resolves to must be public (no loopback, private, link-local — which holds the
cloud metadata address 169.254.169.254 —, shared, reserved or multicast ranges, nor an IPv6
form that embeds such an IPv4 address: mapped, compatible, SIIT, NAT64, 6to4, Teredo), and the
connection goes to the address that was checked (the URL is rewritten to the IP, with the
original Host header and TLS server name), so a DNS answer that changes between check and
connect cannot slip through. Redirects are followed by hand, at most ``MAX_REDIRECTS``, each
hop checked like the first. Size and total time are bounded.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

import httpx

from mugpos_serving.errors import (
    PayloadTooLarge,
    UrlFetchDisabled,
    UrlFetchFailed,
    UrlNotAllowed,
)

MAX_REDIRECTS = 3
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


# IPv6 prefixes that carry an IPv4 address in their last 32 bits: NAT64's well-known prefix
# (RFC 6052), IPv4-compatible (RFC 4291, deprecated) and IPv4-translated (RFC 2765 SIIT)
# addresses. A translator or a dual-stack host may deliver packets for them to the IPv4 inside.
_EMBEDDED_LAST_32 = tuple(
    ipaddress.IPv6Network(n) for n in ("64:ff9b::/96", "::/96", "::ffff:0:0:0/96")
)
# Refused as a whole: the local-use NAT64 prefix (RFC 8215) may be used with any prefix length
# from /48 to /96, so where its IPv4 sits cannot be known from the address; IPv4-compatible
# addresses are deprecated (RFC 4291) and no public server is reached through one.
_REFUSED_V6 = tuple(ipaddress.IPv6Network(n) for n in ("64:ff9b:1::/48", "::/96"))


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, compatible, translated, NAT64,
    6to4, Teredo server and client); empty for a plain IPv6 address."""
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if any(ip in net for net in _EMBEDDED_LAST_32):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def is_public_address(ip: IPAddress) -> bool:
    """True only for globally routable unicast addresses, and for IPv6 forms that embed an
    IPv4 address only when every embedded IPv4 address is public too."""
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in net for net in _REFUSED_V6):
            return False
        embedded = embedded_ipv4(ip)
        if embedded and not all(is_public_address(v4) for v4 in embedded):
            return False
    return ip.is_global and not ip.is_multicast


class ByteBudget:
    """Bytes several fetches may take together (the URL images of one batch)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.left = max_bytes

    def take(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise PayloadTooLarge(
                f"the images fetched for this request pass {self.max_bytes} bytes together",
                details={"max_bytes": self.max_bytes},
            )


class UrlFetcher:
    def __init__(
        self,
        *,
        enabled: bool,
        max_bytes: int,
        timeout_s: float,
        address_allowed: Callable[[IPAddress], bool] = is_public_address,
    ) -> None:
        self.enabled = enabled
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self.address_allowed = address_allowed

    async def fetch(self, url: str, budget: ByteBudget | None = None) -> bytes:
        """The body of ``url`` (after checked redirects), or a typed API error. ``budget`` is
        shared by the fetches of one request."""
        if not self.enabled:
            raise UrlFetchDisabled(
                "fetching images by URL is turned off on this server (MUGPOS_URL_FETCH_ENABLED); "
                "send the image bytes instead"
            )
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self._follow(url, budget)
        except TimeoutError:
            raise UrlFetchFailed(
                f"fetching the image took longer than {self.timeout_s:g} s",
                details={"url": url[:200]},
            ) from None

    async def _follow(self, url: str, budget: ByteBudget | None) -> bytes:
        async with httpx.AsyncClient(
            follow_redirects=False, trust_env=False, timeout=self.timeout_s
        ) as client:
            for _ in range(MAX_REDIRECTS + 1):
                target, host, _ = await self._check(url)
                try:
                    body, location = await self._get(client, target, host, url, budget)
                except httpx.HTTPError as exc:
                    raise UrlFetchFailed(
                        f"fetching the image failed: {type(exc).__name__}",
                        details={"url": url[:200]},
                    ) from None
                if location is None:
                    return body
                url = urljoin(url, location)
            raise UrlFetchFailed(f"more than {MAX_REDIRECTS} redirects", details={"url": url[:200]})

    async def _check(self, url: str) -> tuple[str, str, IPAddress]:
        """The URL rewritten to a checked IP, the original host, and that IP."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise UrlNotAllowed("only http and https URLs are allowed", details={"url": url[:200]})
        if parts.username or parts.password:
            raise UrlNotAllowed("URLs with credentials are not allowed")
        host = parts.hostname
        if not host:
            raise UrlNotAllowed("the URL has no host", details={"url": url[:200]})
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise UrlNotAllowed("the URL's port is invalid") from None
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except OSError:
            raise UrlFetchFailed(f"cannot resolve {host}", details={"host": host}) from None
        addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
        refused = [str(a) for a in addresses if not self.address_allowed(a)]
        if refused or not addresses:
            raise UrlNotAllowed(
                f"{host} resolves to a non-public address",
                details={"host": host, "addresses": refused},
            )
        ip = addresses[0]
        netloc = f"[{ip}]" if ip.version == 6 else str(ip)
        target = parts._replace(netloc=f"{netloc}:{port}").geturl()
        return target, host, ip

    async def _get(
        self,
        client: httpx.AsyncClient,
        target: str,
        host: str,
        url: str,
        budget: ByteBudget | None,
    ) -> tuple[bytes, str | None]:
        port = urlsplit(url).port
        headers = {"Host": host if port is None else f"{host}:{port}", "Accept": "image/*"}
        request = client.build_request(
            "GET", target, headers=headers, extensions={"sni_hostname": host}
        )
        response = await client.send(request, stream=True)
        try:
            if response.is_redirect:
                return b"", response.headers.get("location")
            if response.status_code != 200:
                raise UrlFetchFailed(
                    f"the image URL answered {response.status_code}",
                    details={"status": response.status_code},
                )
            declared = response.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
                raise self._too_large()
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    raise self._too_large()
                if budget is not None:
                    budget.take(len(chunk))
                chunks.append(chunk)
            return b"".join(chunks), None
        finally:
            await response.aclose()

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(
            f"the image at the URL is larger than {self.max_bytes} bytes",
            details={"max_bytes": self.max_bytes},
        )
