"""On-disk layout of the local index, written so a crash never leaves it unreadable.

::

    <root>/CURRENT                 name of the live version ("v00000007"), replaced atomically
    <root>/v00000007/manifest.json models, dimensions, row counts, file names
    <root>/v00000007/<slug>.vectors.npy    float32 rows (tombstoned rows included)
    <root>/v00000007/<slug>.meta.parquet   sha256, shard, labels, has_mug, alive, payload JSON
    <root>/v00000007/<slug>.hnsw.faiss     the ANN graph, when the model has one

A save writes a complete new version under a ``.partial-`` name, fsyncs it, renames it to its
version name and only then replaces ``CURRENT`` (the commit point). A crash at any step leaves
``CURRENT`` naming the previous, untouched version. Models that did not change are hard-linked
from the previous version instead of rewritten. The previous version is kept one save longer, so
a reader that has just read ``CURRENT`` can still open the files it names.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from mugpos.fileio import PARTIAL_MARK, atomic_write_bytes
from mugpos.vectorindex._hnsw import HnswGraph
from mugpos.vectorindex._table import ModelTable
from mugpos.vectorindex.base import VectorIndexError

POINTER = "CURRENT"
MANIFEST = "manifest.json"
FORMAT = 1
_VERSION_RE = re.compile(r"^v(\d{8})$")


@dataclass
class State:
    version: str | None = None
    tables: dict[str, ModelTable] = field(default_factory=dict)
    graphs: dict[str, HnswGraph] = field(default_factory=dict)


def model_slug(model_id: str) -> str:
    """A file-name-safe, collision-free stem for a model id (ids may hold '/' or ':')."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", model_id)[:48]
    return f"{safe}-{hashlib.sha256(model_id.encode()).hexdigest()[:10]}"


def read_pointer(root: Path) -> str | None:
    try:
        name = (root / POINTER).read_text().strip()
    except FileNotFoundError:
        return None
    if not _VERSION_RE.match(name):
        raise VectorIndexError(f"{root / POINTER} does not name a version: {name!r}")
    return name


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_model(vdir: Path, files: dict[str, str], table: ModelTable, graph: HnswGraph | None):  # type: ignore[no-untyped-def]
    with open(vdir / files["vectors"], "wb") as fh:
        np.save(fh, table.vectors, allow_pickle=False)
    meta = pa.table(
        {
            "sha256": pa.array(table.sha256, pa.string()),
            "shard": pa.array([table.shard_names[c] for c in table.shard_codes], pa.string()),
            "labels": pa.array([list(labs) for labs in table.labels], pa.list_(pa.string())),
            "has_mug": pa.array(table.has_mug, pa.bool_()),
            "alive": pa.array(table.alive, pa.bool_()),
            "payload": pa.array(table.payload_json, pa.string()),
        }
    )
    pq.write_table(meta, vdir / files["meta"])
    if graph is not None:
        graph.write(vdir / files["graph"])


def _link_or_copy(src: Path, dest: Path) -> None:
    try:
        os.link(src, dest)
    except OSError:  # filesystems without hard links
        shutil.copyfile(src, dest)


def _next_version(root: Path) -> str:
    seqs = [int(m.group(1)) for p in root.iterdir() if (m := _VERSION_RE.match(p.name))]
    return f"v{max(seqs, default=0) + 1:08d}"


def _read_manifest(vdir: Path) -> dict[str, Any]:
    manifest = json.loads((vdir / MANIFEST).read_text())
    if manifest.get("format") != FORMAT:
        raise VectorIndexError(f"{vdir} has index format {manifest.get('format')}, need {FORMAT}")
    return manifest


def save(root: Path, state: State, dirty: set[str]) -> str:
    """Write ``state`` as a new version and publish it; returns the version name."""
    root.mkdir(parents=True, exist_ok=True)
    name = _next_version(root)
    tmp = root / f".{name}{PARTIAL_MARK}{uuid.uuid4().hex[:12]}"
    prev_dir = root / state.version if state.version else None
    prev_models: dict[str, Any] = {}
    if prev_dir is not None and (prev_dir / MANIFEST).exists():
        prev_models = _read_manifest(prev_dir)["models"]
    tmp.mkdir()
    try:
        models: dict[str, Any] = {}
        for model_id, table in state.tables.items():
            graph = state.graphs.get(model_id)
            slug = model_slug(model_id)
            files = {"vectors": f"{slug}.vectors.npy", "meta": f"{slug}.meta.parquet"}
            if graph is not None:
                files["graph"] = f"{slug}.hnsw.faiss"
            if (
                prev_dir is not None
                and model_id not in dirty
                and prev_models.get(model_id, {}).get("files") == files
            ):
                for fname in files.values():
                    _link_or_copy(prev_dir / fname, tmp / fname)
            else:
                _write_model(tmp, files, table, graph)
            models[model_id] = {
                "dim": table.dim,
                "rows": table.n_rows,
                "alive": table.n_alive,
                "graph_ntotal": None if graph is None else graph.ntotal,
                "files": files,
            }
        (tmp / MANIFEST).write_text(json.dumps({"format": FORMAT, "models": models}, indent=1))
        for p in tmp.iterdir():
            _fsync(p)
        _fsync(tmp)
        os.rename(tmp, root / name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync(root)
    atomic_write_bytes(root / POINTER, name.encode())  # the commit point
    _fsync(root)  # make the pointer's rename itself durable
    _cleanup(root, keep={name, state.version or ""})
    return name


def _cleanup(root: Path, keep: set[str]) -> None:
    """Remove versions older than the previous one and leftovers of interrupted saves."""
    for p in root.iterdir():
        stale_version = _VERSION_RE.match(p.name) and p.name not in keep
        if p.is_dir() and (stale_version or PARTIAL_MARK in p.name):
            shutil.rmtree(p, ignore_errors=True)


def load(root: Path) -> State:
    """The state ``CURRENT`` names; an empty state when nothing was ever saved."""
    name = read_pointer(root)
    if name is None:
        return State()
    vdir = root / name
    state = State(version=name)
    try:
        manifest = _read_manifest(vdir)
        for model_id, info in manifest["models"].items():
            files = info["files"]
            vectors = np.load(vdir / files["vectors"], allow_pickle=False)
            meta = pq.read_table(vdir / files["meta"])
            rows = int(info["rows"])
            if vectors.shape != (rows, info["dim"]) or meta.num_rows != rows:
                raise VectorIndexError(
                    f"{vdir}: model {model_id!r} has {vectors.shape} vectors and "
                    f"{meta.num_rows} metadata rows, manifest says {rows}×{info['dim']}"
                )
            table = ModelTable(model_id, int(info["dim"]))
            table.load_columns(
                vectors,
                meta.column("sha256").to_pylist(),
                meta.column("shard").to_pylist(),
                [tuple(labs) for labs in meta.column("labels").to_pylist()],
                meta.column("has_mug").to_numpy(zero_copy_only=False),
                meta.column("payload").to_pylist(),
                meta.column("alive").to_numpy(zero_copy_only=False),
            )
            state.tables[model_id] = table
            if "graph" in files:
                graph = HnswGraph.read(vdir / files["graph"])
                if graph.ntotal > rows or graph.index.d != table.dim:
                    raise VectorIndexError(f"{vdir}: ANN graph of {model_id!r} does not fit")
                state.graphs[model_id] = graph
    except VectorIndexError:
        raise
    except (OSError, ValueError, KeyError, RuntimeError, pa.ArrowException) as exc:
        raise VectorIndexError(f"cannot read vector index version {vdir}: {exc}") from exc
    return state
