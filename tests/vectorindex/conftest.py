"""Backends for the shared vector-index contract suite (helpers live in vindex_helpers.py).

Legs: ``local-exact`` (never builds a graph), ``local-ann`` (a graph from 4 rows on, so every
search with more than a handful of candidates walks faiss HNSW), ``atlas`` (a real Atlas or
atlas-local deployment from ``MUGPOS_TEST_MONGODB_URI``; skipped with that reason otherwise).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from vindex_helpers import DIM, Backend

ATLAS_ENV = "MUGPOS_TEST_MONGODB_URI"


@pytest.fixture(autouse=True, scope="session")
def _one_faiss_thread() -> None:
    # The machine's two cores are shared with other suites: build graphs on one thread.
    import faiss

    faiss.omp_set_num_threads(1)


def _at_once(check: Callable[[], None]) -> None:
    check()


def _retrying(check: Callable[[], None], timeout_s: float = 60.0) -> None:
    """Atlas indexes asynchronously: retry an assertion until it holds or time runs out."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            check()
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@pytest.fixture(scope="session")
def atlas_collection() -> Iterator[object]:
    uri = os.environ.get(ATLAS_ENV)
    if not uri:
        pytest.skip(
            f"{ATLAS_ENV} is not set: the Atlas leg needs a real Atlas or atlas-local "
            "deployment ($vectorSearch cannot run here: no mongod is installable)"
        )
    from pymongo import MongoClient

    from mugpos.vectorindex.atlas import AtlasVectorIndex

    client: MongoClient = MongoClient(uri)
    coll = client["mugpos_test"][f"vectors_{uuid.uuid4().hex[:8]}"]
    AtlasVectorIndex(coll, num_dimensions=DIM, poll_interval_s=1.0).ensure_search_index()
    yield coll
    coll.drop()
    client.close()


@pytest.fixture(params=["local-exact", "local-ann", "atlas"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    name = request.param
    if name == "atlas":
        coll = request.getfixturevalue("atlas_collection")
        from mugpos.vectorindex.atlas import AtlasVectorIndex

        return Backend(
            name,
            lambda: AtlasVectorIndex(coll, num_dimensions=DIM, poll_interval_s=1.0),  # type: ignore[arg-type]
            prefix=f"t{uuid.uuid4().hex[:8]}-",
            eventually=_retrying,
            is_local=False,
        )
    from mugpos.vectorindex.local import LocalVectorIndex

    exact_below = 10**9 if name == "local-exact" else 4
    return Backend(
        name,
        lambda: LocalVectorIndex(tmp_path / "index", exact_below=exact_below),
        prefix="",
        eventually=_at_once,
        is_local=True,
    )
