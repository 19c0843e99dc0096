"""Webhook signatures: HMAC-SHA256 over ``<timestamp>.<body>`` with the subscription's secret.

Headers of every delivery::

    X-Mugpos-Timestamp: 1767225600            (unix seconds, when this attempt was signed)
    X-Mugpos-Signature: v1=<64 hex digits>    (HMAC-SHA256(secret, f"{timestamp}.{body}"))

A receiver recomputes the HMAC over the raw body bytes it received, compares in constant time,
and refuses timestamps far from its clock (a captured delivery cannot be replayed later). The
``v1=`` prefix leaves room for another scheme; during a secret rotation several ``v1=`` values
may be sent, comma separated, and any one matching is enough.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping, Sequence

TIMESTAMP_HEADER = "X-Mugpos-Timestamp"
SIGNATURE_HEADER = "X-Mugpos-Signature"
EVENT_ID_HEADER = "X-Mugpos-Event-Id"
EVENT_TYPE_HEADER = "X-Mugpos-Event-Type"
DELIVERY_ID_HEADER = "X-Mugpos-Delivery-Id"
ATTEMPT_HEADER = "X-Mugpos-Attempt"
SCHEME = "v1"
DEFAULT_TOLERANCE_S = 300


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SCHEME}={mac.hexdigest()}"


def sign(secrets_: Sequence[str], body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The timestamp and signature headers for ``body`` (one signature per secret)."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        TIMESTAMP_HEADER: str(ts),
        SIGNATURE_HEADER: ",".join(signature(s, ts, body) for s in secrets_),
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> bool:
    """True when ``body`` carries a valid, recent signature made with ``secret``."""
    lowered = {k.lower(): v for k, v in headers.items()}
    ts_text = lowered.get(TIMESTAMP_HEADER.lower(), "")
    if not ts_text.isdigit():
        return False
    ts = int(ts_text)
    if abs((time.time() if now is None else now) - ts) > tolerance_s:
        return False
    expected = signature(secret, ts, body)
    sent = [part.strip() for part in lowered.get(SIGNATURE_HEADER.lower(), "").split(",")]
    return any(hmac.compare_digest(expected, part) for part in sent if part)
