"""Webhook signatures, checked against an HMAC computed here by the documented recipe."""

from __future__ import annotations

import hashlib
import hmac

from mugpos.webhooks import signing
from mugpos.webhooks.policy import RetryPolicy

BODY = b'{"id":"evt_1","type":"rule_triggered"}'


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    headers = signing.sign(["whsec_abc"], BODY, timestamp=1_767_225_600)
    expected = hmac.new(b"whsec_abc", b"1767225600." + BODY, hashlib.sha256).hexdigest()
    assert headers == {
        "X-Mugpos-Timestamp": "1767225600",
        "X-Mugpos-Signature": f"v1={expected}",
    }
    now = 1_767_225_600 + 10
    assert signing.verify("whsec_abc", headers, BODY, now=now)
    lower = {k.lower(): v for k, v in headers.items()}  # header names are case-insensitive
    assert signing.verify("whsec_abc", lower, BODY, now=now)
    assert not signing.verify("whsec_abc", headers, BODY + b" ", now=now)
    assert not signing.verify("whsec_other", headers, BODY, now=now)
    assert not signing.verify("whsec_abc", headers, BODY, now=now + 3600)  # a replay, later
    assert not signing.verify("whsec_abc", {**headers, "X-Mugpos-Timestamp": "x"}, BODY, now=now)


def test_during_a_rotation_either_secret_verifies() -> None:
    headers = signing.sign(["whsec_new", "whsec_old"], BODY, timestamp=100)
    assert headers["X-Mugpos-Signature"].count("v1=") == 2
    assert signing.verify("whsec_old", headers, BODY, now=100)
    assert signing.verify("whsec_new", headers, BODY, now=100)


def test_backoff_doubles_to_its_cap_with_bounded_jitter() -> None:
    low = RetryPolicy(base_s=2, max_s=60, rng=lambda: 0.0)
    high = RetryPolicy(base_s=2, max_s=60, rng=lambda: 1.0)
    assert [low.delay(n) for n in (1, 2, 3, 4, 10)] == [1, 2, 4, 8, 30]
    assert [high.delay(n) for n in (1, 2, 3, 4, 10)] == [2, 4, 8, 16, 60]
    assert not low.exhausted(7) and low.exhausted(8)
