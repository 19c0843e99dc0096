"""Fixtures of the API tests: a real uvicorn process, TestClient apps, tokens, an index.

Servers get a private MUGPOS home whose model files are hard links to the session's cached
model, so nothing here downloads twice and no other suite's manifest or documents leak in.
Redis is the machine's real one (a unique key prefix per session); tests that stop Redis start
their own redis-server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from serving_helpers import SECRET, RedisServer, Uvicorn, base_env, link_models


@pytest.fixture(scope="session")
def serving_home(tmp_path_factory: pytest.TempPathFactory, shared_home: Path, ssd) -> Path:  # type: ignore[no-untyped-def]
    home = tmp_path_factory.mktemp("serving-home")
    link_models(shared_home, home)
    return home


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory: pytest.TempPathFactory, ssd) -> Path:  # type: ignore[no-untyped-def]
    """An embedded index holding four real photos embedded by the offline model."""
    from serving_helpers import png
    from skimage import data

    from mugpos.images import sha256_bytes
    from mugpos.vectorindex import VectorRecord, open_vector_index

    path = tmp_path_factory.mktemp("serving-index")
    records = []
    for name in ("coffee", "chelsea", "astronaut", "rocket"):
        pixels = getattr(data, name)()
        run = ssd.run(pixels)
        records.append(
            VectorRecord(
                sha256=sha256_bytes(png(pixels)),
                model_id=ssd.id,
                vector=run.embedding,
                shard="test",
                labels=sorted({d.label for d in run.detections}),
                payload={"name": name},
            )
        )
    with open_vector_index(path) as index:
        index.upsert(records)
    return path


@pytest.fixture(scope="session")
def live(
    serving_home: Path, corpus_index: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Uvicorn]:
    """The main server: auth on, the shared Redis, a small batch limit, a populated index."""
    tmp = tmp_path_factory.mktemp("live")
    env = {
        **base_env(serving_home, tmp),
        "MUGPOS_VECTOR_INDEX_URI": str(corpus_index),
        "MUGPOS_MAX_BATCH_IMAGES": "4",
        "MUGPOS_RATE_LIMIT_PER_MINUTE": "100000",
    }
    server = Uvicorn(env, tmp / "server.log").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def make_token() -> Callable[..., str]:
    from mugpos_serving.auth import TokenCodec

    codec = TokenCodec(SECRET)

    def make(*scopes: str, ttl_s: int = 600, subject: str = "tester") -> str:
        return codec.create(subject, scopes or ("positions",), ttl_s)

    return make


@pytest.fixture(scope="session")
def auth(make_token: Callable[..., str]) -> dict[str, str]:
    """Headers with a token holding every scope but admin."""
    return {"Authorization": f"Bearer {make_token('positions', 'rules:write')}"}


@pytest.fixture(scope="session")
def http(live: Uvicorn) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def app_settings(serving_home: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Settings for in-process apps (TestClient) with their own document store."""
    from mugpos.settings import Settings

    def make(**overrides: object) -> Settings:
        tmp = tmp_path_factory.mktemp("app")
        env = base_env(serving_home, tmp)
        values: dict[str, object] = {k.removeprefix("MUGPOS_").lower(): v for k, v in env.items()}
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    return make


@pytest.fixture(scope="session")
def client(app_settings) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """One in-process app (TestClient) for the tests where that is simpler."""
    from fastapi.testclient import TestClient

    from mugpos_serving.app import create_app

    with TestClient(create_app(app_settings(max_batch_images=3))) as c:
        yield c


@pytest.fixture()
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()
