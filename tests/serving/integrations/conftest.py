"""Fixtures of the integration tests (MCP, webhooks, events, cards): one real uvicorn server
with fast webhook timings that may deliver to 127.0.0.1, a real webhook receiver, tokens."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from receivers import Receiver
from serving_helpers import Uvicorn, base_env, free_port

FAST_WEBHOOKS = {
    "MUGPOS_OUTBOUND_ALLOW_PRIVATE": "true",  # the receiver is on 127.0.0.1
    "MUGPOS_WEBHOOK_POLL_S": "0.1",
    "MUGPOS_WEBHOOK_BACKOFF_BASE_S": "0.2",
    "MUGPOS_WEBHOOK_BACKOFF_MAX_S": "0.8",
    "MUGPOS_WEBHOOK_MAX_ATTEMPTS": "4",
    "MUGPOS_WEBHOOK_TIMEOUT_S": "2",
    "MUGPOS_WEBHOOK_LEASE_S": "3",
    "MUGPOS_EVENTS_STREAM_MAX_S": "3",
    "MUGPOS_RATE_LIMIT_PER_MINUTE": "100000",
    "MUGPOS_URL_FETCH_ENABLED": "true",  # image URLs on .invalid hosts: a 502 on demand
    "MUGPOS_URL_FETCH_TIMEOUT_S": "2",
}


CARD_BUCKET = "mugpos-cards"


def integration_env(home: Path, tmp: Path, **extra: str) -> dict[str, str]:
    return {**base_env(home, tmp), **FAST_WEBHOOKS, **extra}


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    r = Receiver(free_port()).start()
    yield r
    r.stop()


@pytest.fixture(scope="session")
def integ(
    serving_home: Path, corpus_index: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Uvicorn]:
    tmp = tmp_path_factory.mktemp("integrations")
    env = integration_env(serving_home, tmp, MUGPOS_VECTOR_INDEX_URI=str(corpus_index))
    server = Uvicorn(env, tmp / "server.log").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def api(integ: Uvicorn) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=integ.url, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3 HTTP endpoint (moto) with the bucket card photos go to."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer("127.0.0.1", port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    s3 = boto3.client(
        "s3", endpoint_url=url, region_name="us-east-1",
        aws_access_key_id="test-key", aws_secret_access_key="test-secret",
    )  # fmt: skip
    s3.create_bucket(Bucket=CARD_BUCKET)
    yield url
    server.stop()


@pytest.fixture(scope="session")
def bearer(make_token: Callable[..., str]) -> Callable[..., dict[str, str]]:
    def headers(*scopes: str, subject: str = "tester") -> dict[str, str]:
        return {"Authorization": f"Bearer {make_token(*scopes, subject=subject)}"}

    return headers
