"""Backup test fixtures: a real S3 HTTP endpoint (moto) and a small but real MUGPOS home.

The home holds what the platform writes, in its real formats: model files, an ONNX export and
the model manifest; embeddings Parquet; a saved embedded vector index; a SQLite document store
with rules, analyses and feedback; evaluation reports; and a corpus (never backed up).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mugpos.backup.sources import BackupRoots
from mugpos.docstore import open_document_store
from mugpos.fileio import PARTIAL_MARK
from mugpos.settings import Settings
from mugpos.vectorindex import SearchFilter, VectorRecord, open_vector_index

MODEL = "toy-embedder"
DIM = 16


class MotoS3:
    """A moto S3 server on 127.0.0.1 that a test can stop (connections refused) and restart
    on the same port; moto keeps the buckets in process memory across restarts."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.server: Any = None
        self.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        self.server = ThreadedMotoServer("127.0.0.1", self.port, verbose=False)
        self.server.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server._server.server_close()  # stop() leaves the socket listening
            self.server = None

    def settings(self, home: Path, bucket: str, **overrides: Any) -> Settings:
        """Settings for a fresh bucket (R2-style: LocationConstraint "auto")."""
        s = Settings(
            home=home,
            backup_uri=f"s3://{bucket}/backups",
            s3_endpoint_url=self.endpoint,
            s3_access_key_id="test-key",
            s3_secret_access_key="test-secret",
            s3_max_attempts=2,
            s3_connect_timeout_s=2,
            s3_read_timeout_s=10,
            **overrides,
        )
        from mugpos.objectstore.s3 import make_s3_client

        client = make_s3_client(s)
        with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
            client.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "auto"}
            )
        return s


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoS3]:
    server = MotoS3()
    yield server
    server.stop()


@pytest.fixture()
def bucket(request: pytest.FixtureRequest) -> str:
    """A bucket name unique to the test (moto's state is shared by the whole session)."""
    digest = hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:16]
    return f"mugpos-test-{digest}"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def write_index(home: Path, n: int = 40, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    records = [
        VectorRecord(
            sha256=sha(f"img-{i}"),
            model_id=MODEL,
            vector=rng.normal(size=DIM),
            shard=sha(f"img-{i}")[0],
            labels=("mug",) if i % 3 == 0 else ("laptop",),
            payload={"path": f"corpus/images/{i}.jpg", "width": 64 + i},
        )
        for i in range(n)
    ]
    with open_vector_index(home / "index") as vi:
        vi.upsert(records[: n // 2])  # two saves: the index keeps an older version around
        vi.upsert(records[n // 2 :])


def build_home(home: Path, seed: int = 0) -> Settings:
    """A small MUGPOS home in the platform's real on-disk formats."""
    rng = np.random.default_rng(seed)
    version = home / "models" / MODEL / "1"
    version.mkdir(parents=True)
    (version / "weights.bin").write_bytes(rng.bytes(200_000))
    (version / "labels.txt").write_text("mug\nlaptop\n")
    (version / "exports").mkdir()
    (version / "exports" / "model.onnx").write_bytes(rng.bytes(50_000))
    (home / "models" / "manifest.json").write_text(json.dumps({"models": {MODEL: {"v": 1}}}))
    for shard in ("3", "a"):
        emb = home / "embeddings" / MODEL / f"{shard}.parquet"
        emb.parent.mkdir(parents=True, exist_ok=True)
        shas = [sha(f"{shard}-{i}") for i in range(5)]
        vectors = rng.normal(size=(5, DIM)).astype(np.float32)
        pq.write_table(pa.table({"sha256": shas, "vector": [v.tolist() for v in vectors]}), emb)
    write_index(home, seed=seed)
    with open_document_store(home / "documents.sqlite3") as store:
        store.collection("rules").insert({"_id": "r1", "rule": {"kind": "gap", "cm": 10}})
        store.collection("rule_versions").insert({"_id": "r1@1", "rule_id": "r1", "version": 1})
        for i in range(5):
            store.collection("analyses").insert(
                {"_id": f"{MODEL}:{sha(str(i))}", "has_mug": i % 2 == 0, "score": 0.5 + i / 10}
            )
        store.collection("feedback").insert({"_id": "f1", "ok": False, "note": "à gauche"})
    (home / "evaluation" / "runs").mkdir(parents=True)
    (home / "evaluation" / "report.json").write_text('{"map50": 0.61}')
    (home / "evaluation" / "runs" / "1.md").write_text("# run 1\n")
    (home / "evaluation" / "runs" / "2.md").write_text("# run 1\n")  # same bytes: one object
    (home / "corpus" / "images").mkdir(parents=True)
    (home / "corpus" / "images" / "x.jpg").write_bytes(b"not backed up")
    return Settings(home=home)


def tree(root: Path) -> dict[str, str]:
    """relative path → sha256 of every file under ``root`` (the byte-for-byte comparison)."""
    if not root.is_dir():
        return {}
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            full = Path(dirpath) / name
            out[full.relative_to(root).as_posix()] = hashlib.sha256(full.read_bytes()).hexdigest()
    return out


def live_index(root: Path) -> dict[str, str]:
    """``CURRENT`` and the version it names (older versions are not part of the state)."""
    version = (root / "CURRENT").read_text()
    files = tree(root)
    return {k: v for k, v in files.items() if k == "CURRENT" or k.startswith(f"{version}/")}


def documents(location: str | Path) -> dict[str, list[dict[str, Any]]]:
    with open_document_store(location) as store:
        names = ("rules", "rule_versions", "analyses", "feedback")
        return {n: store.collection(n).find() for n in names}


def index_answers(index_dir: Path) -> list[list[tuple[Any, ...]]]:
    """Hits of a few queries made from stored vectors, with and without filters."""
    out = []
    with open_vector_index(index_dir) as vi:
        for i in (0, 7, 33):
            q = vi.get_vector(sha(f"img-{i}"), MODEL)
            assert q is not None
            for flt in (SearchFilter(model_id=MODEL), SearchFilter(model_id=MODEL, has_mug=True)):
                hits = vi.search(q, 5, flt)
                out.append([(h.sha256, h.score, h.shard, h.labels, h.payload) for h in hits])
    return out


def state(roots: BackupRoots) -> dict[str, Any]:
    """Everything a restore must bring back, in comparable form."""
    return {
        "models": tree(roots.models),
        "embeddings": tree(roots.embeddings),
        "evaluation": tree(roots.evaluation),
        "index": live_index(Path(roots.index)),
        "documents": documents(roots.documents),
        "answers": index_answers(Path(roots.index)),
    }


def leftovers(home: Path) -> list[str]:
    """Staging areas or half-written files a backup or restore left behind."""
    marks = (".restore-", ".old-", PARTIAL_MARK, ".backup-staging")
    return sorted(
        p.relative_to(home).as_posix() for p in home.rglob("*") if any(m in p.name for m in marks)
    )
