"""Requests the API makes on its own (webhook deliveries, card downloads), behind the same SSRF
guard as image URLs: :class:`mugpos_serving.urlfetch.UrlFetcher`'s resolve-check-pin.

Every address a target resolves to must be public (``MUGPOS_OUTBOUND_ALLOW_PRIVATE`` lets a
development setup reach loopback and private ranges; link-local, where cloud metadata lives,
stays refused), and the connection goes to the address that was checked. Webhook deliveries
are never redirected: a 3xx counts as a failed attempt.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import httpx

from mugpos.settings import Settings
from mugpos.webhooks.dispatcher import DeliveryError
from mugpos_serving.errors import ApiError
from mugpos_serving.urlfetch import IPAddress, UrlFetcher, is_public_address

MAX_ANSWER_BYTES = 64 * 1024  # what we read of a receiver's answer (its status is what counts)


def address_policy(settings: Settings) -> Callable[[IPAddress], bool]:
    if not settings.outbound_allow_private:
        return is_public_address

    def allowed(ip: IPAddress) -> bool:
        if is_public_address(ip):
            return True
        local = ip.is_loopback or ip.is_private
        return local and not (ip.is_link_local or ip.is_multicast or ip.is_unspecified)

    return allowed


def guard(settings: Settings, *, max_bytes: int, timeout_s: float) -> UrlFetcher:
    """A fetcher that is on (whatever MUGPOS_URL_FETCH_ENABLED says) with our address policy."""
    return UrlFetcher(
        enabled=True,
        max_bytes=max_bytes,
        timeout_s=timeout_s,
        address_allowed=address_policy(settings),
    )


async def check_target(fetcher: UrlFetcher, url: str) -> tuple[str, str]:
    """``url`` rewritten to its checked address, and the Host header to send; raises the API's
    ``url_not_allowed`` (422) or ``url_fetch_failed`` (502)."""
    target, host, _ = await fetcher._check(url)  # the guard itself, reused rather than copied
    port = urlsplit(url).port
    return target, host if port is None else f"{host}:{port}"


class GuardedTransport:
    """The dispatcher's transport: httpx, one pooled client, every request to a checked IP."""

    def __init__(self, settings: Settings) -> None:
        self.fetcher = guard(
            settings, max_bytes=MAX_ANSWER_BYTES, timeout_s=settings.webhook_timeout_s
        )
        self.client = httpx.AsyncClient(follow_redirects=False, trust_env=False)

    async def post(self, url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> int:
        try:
            target, host_header = await check_target(self.fetcher, url)
        except ApiError as exc:
            raise DeliveryError(f"{exc.code}: {exc.message}") from None
        sni = urlsplit(url).hostname or ""
        request = self.client.build_request(
            "POST",
            target,
            content=body,
            headers={**headers, "Host": host_header},
            extensions={"sni_hostname": sni},
            timeout=timeout_s,
        )
        try:
            response = await self.client.send(request, stream=True)
            try:
                read = 0
                async for chunk in response.aiter_raw():
                    read += len(chunk)
                    if read > MAX_ANSWER_BYTES:
                        break
            finally:
                await response.aclose()
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {str(exc)[:200]}") from None
        return response.status_code

    async def aclose(self) -> None:
        await self.client.aclose()
