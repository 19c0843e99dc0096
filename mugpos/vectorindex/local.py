"""The embedded vector index: numpy + faiss in process, persisted to a directory.

Search strategy per query (see bench/bench_vector_index.py for the numbers behind it):

* a model with fewer than ``exact_below`` rows has no graph: exact numpy search (a 20k×512
  matvec is 1–2 ms on an idle core here, and exact is always right);
* with a graph: a filter that leaves fewer than ``exact_filtered_below`` rows → exact search
  over just those rows; otherwise faiss HNSW, filtered *during* traversal by a bitmap of the
  allowed rows (tombstones and filter misses excluded); ``efSearch`` 64 (128 from 300k rows,
  see ``ef_for``), doubled under 10% selectivity; if the walk still returns fewer than ``k``
  hits the query falls back to exact search, so a filter can cost time but never silently
  drops results.

Writes are applied in memory and, with ``autosave`` (default), saved atomically before the call
returns (see ``_persist``). One writer per directory; readers call ``refresh()`` to pick up a
newer saved version. All methods hold one lock, so an instance is safe to share between threads.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from mugpos.vectorindex import _persist
from mugpos.vectorindex._hnsw import HnswGraph
from mugpos.vectorindex._table import ModelTable
from mugpos.vectorindex.base import (
    CleanRecord,
    Hit,
    InvalidVectorError,
    SearchFilter,
    VectorIndex,
    VectorIndexError,
    VectorKey,
    VectorRecord,
    as_key,
    check_k,
    clean_record,
    dedupe_last,
    normalize_vector,
)

DEFAULT_EXACT_BELOW = 20_000
# Once a model has a graph, a filter leaving fewer rows than this is searched exactly.
DEFAULT_EXACT_FILTERED_BELOW = 2_000
# From bench/bench_vector_index.py at 100k×512 (2 shared cores): efConstruction 100 reaches
# recall@10 0.998 at efSearch 64 (p95 0.35 ms raw, 0.57 ms through search()); efConstruction 40
# builds ~1.5× faster but tops out at 0.98 even at efSearch 256.
DEFAULT_HNSW_M = 32
DEFAULT_EF_CONSTRUCTION = 100
# efSearch when none is given: 64 for models under LARGE_MODEL_ROWS, twice that above. At 100k
# efSearch 64 gave recall@10 0.989-0.997 (with and without filters); at 1M it fell to 0.91-0.95
# and 128 brought it back to 0.965-0.98.
DEFAULT_EF_SEARCH = 64
LARGE_MODEL_ROWS = 300_000


class LocalVectorIndex(VectorIndex):
    """Exact search below ``exact_below`` rows per model, faiss HNSW above; saved atomically."""

    def __init__(
        self,
        path: str | Path,
        *,
        exact_below: int = DEFAULT_EXACT_BELOW,
        hnsw_m: int = DEFAULT_HNSW_M,
        ef_construction: int = DEFAULT_EF_CONSTRUCTION,
        ef_search: int | None = None,
        max_ef_search: int = 1024,
        exact_filtered_below: int = DEFAULT_EXACT_FILTERED_BELOW,
        compact_ratio: float = 0.25,
        autosave: bool = True,
    ) -> None:
        if exact_below < 1:
            raise VectorIndexError("exact_below must be at least 1")
        self.root = Path(path)
        self.exact_below = exact_below
        self.hnsw_m = hnsw_m
        self.ef_construction = ef_construction
        self.ef_search = ef_search
        self.max_ef_search = max_ef_search
        self.exact_filtered_below = exact_filtered_below
        self.compact_ratio = compact_ratio
        self.autosave = autosave
        self._lock = threading.RLock()
        self._dirty: set[str] = set()
        self._load()

    # --- state ---------------------------------------------------------------------------
    def _load(self) -> None:
        self._state = _persist.load(self.root)
        self._dirty.clear()
        for model_id in list(self._state.tables):
            # The saved graph may not suit this instance's threshold: adapt in memory only (it
            # is derived data), so a reader opened with other settings never writes.
            self._maintain(model_id)

    @property
    def version(self) -> str | None:
        """The saved version this instance was loaded from or last saved as."""
        return self._state.version

    def _maintain(self, model_id: str) -> None:
        """After a change: drop an emptied model, compact, then drop/build/extend its graph."""
        tables, graphs = self._state.tables, self._state.graphs
        table = tables[model_id]
        if table.n_alive == 0:
            del tables[model_id]
            graphs.pop(model_id, None)
            return
        if table.n_dead > self.compact_ratio * table.n_rows:
            table = tables[model_id] = table.compacted()  # row numbers change: rebuild
            graphs.pop(model_id, None)
        graph = graphs.get(model_id)
        # Hysteresis: build at exact_below, drop only below half, so a model hovering at the
        # threshold does not rebuild its graph on every write.
        if graph is not None and table.n_alive < self.exact_below // 2:
            del graphs[model_id]
            return
        if graph is None and table.n_alive >= self.exact_below:
            graph = graphs[model_id] = HnswGraph(table.dim, self.hnsw_m, self.ef_construction)
        if graph is not None and graph.ntotal < table.n_rows:
            graph.add(table.vectors[graph.ntotal :])

    def _changed(self, model_ids: Iterable[str]) -> None:
        for model_id in model_ids:
            self._maintain(model_id)
            self._dirty.add(model_id)
        if self.autosave:
            self.save()

    def save(self) -> None:
        """Write pending changes as a new version (atomic; see ``_persist``)."""
        with self._lock:
            if not self._dirty and self._state.version is not None:
                return
            self._state.version = _persist.save(self.root, self._state, self._dirty)
            self._dirty.clear()

    def refresh(self) -> bool:
        """Reload if another process saved a newer version; True when it did."""
        with self._lock:
            if _persist.read_pointer(self.root) == self._state.version:
                return False
            if self._dirty:
                raise VectorIndexError("refresh() with unsaved changes: save() them first")
            self._load()
            return True

    # --- writes --------------------------------------------------------------------------
    def upsert(self, records: Iterable[VectorRecord]) -> int:
        with self._lock:
            dims = {model_id: table.dim for model_id, table in self._state.tables.items()}
            by_model: dict[str, list[CleanRecord]] = {}
            for rec in records:  # validate everything before writing anything
                clean = clean_record(rec, dim=dims.get(rec.model_id))
                dims.setdefault(clean.model_id, clean.vector.shape[0])
                by_model.setdefault(clean.model_id, []).append(clean)
            written = 0
            for model_id, recs in by_model.items():
                unique = dedupe_last(recs)
                tables = self._state.tables
                table = tables.setdefault(model_id, ModelTable(model_id, dims[model_id]))
                table.append(unique)
                written += len(unique)
            if by_model:
                self._changed(by_model)
            return written

    def delete(self, keys: Iterable[VectorKey | tuple[str, str]]) -> int:
        with self._lock:
            by_model: dict[str, list[str]] = {}
            for key in map(as_key, keys):
                by_model.setdefault(key.model_id, []).append(key.sha256)
            removed, touched = 0, []
            for model_id, shas in by_model.items():
                table = self._state.tables.get(model_id)
                n = table.tombstone(shas) if table is not None else 0
                if n:
                    removed += n
                    touched.append(model_id)
            if touched:
                self._changed(touched)
            return removed

    def delete_missing(
        self, model_id: str, keep_sha256s: Iterable[str], shard: str | None = None
    ) -> int:
        with self._lock:
            table = self._state.tables.get(model_id)
            if table is None:
                return 0
            keep = set(keep_sha256s)
            gone = [
                sha
                for sha, row in table.row_of.items()
                if sha not in keep and (shard is None or table.shard_of(row) == shard)
            ]
            removed = table.tombstone(gone)
            if removed:
                self._changed([model_id])
            return removed

    # --- reads ---------------------------------------------------------------------------
    def search(self, vector: Any, k: int, filter: SearchFilter) -> list[Hit]:
        k = check_k(k)
        if not isinstance(filter, SearchFilter):
            raise InvalidVectorError("filter must be a SearchFilter (model_id is required)")
        with self._lock:
            table = self._state.tables.get(filter.model_id)
            if table is None:
                normalize_vector(vector, what="query vector")  # refuse garbage all the same
                return []
            q = normalize_vector(vector, dim=table.dim, what="query vector")
            rows = self._search_rows(table, q, k, table.mask(filter))
            scores = table.vectors[rows] @ q  # exact scores, whichever path found the rows
            order = np.argsort(-scores, kind="stable")
            return [
                Hit(
                    sha256=table.sha256[row],
                    model_id=table.model_id,
                    score=float(np.clip(scores[i], -1.0, 1.0)),
                    shard=table.shard_of(row),
                    labels=table.labels[row],
                    has_mug=bool(table.has_mug[row]),
                    payload=table.payload(row),
                )
                for i in order
                for row in (int(rows[i]),)
            ]

    def _search_rows(
        self, table: ModelTable, q: np.ndarray, k: int, mask: np.ndarray | None
    ) -> np.ndarray:
        m = table.n_rows if mask is None else int(np.count_nonzero(mask))
        graph = self._state.graphs.get(table.model_id)
        if m == 0:
            return np.empty(0, np.int64)
        # Below a few thousand allowed rows a gathered matvec is cheaper than a filtered walk.
        if graph is None or m <= k or m < min(self.exact_below, self.exact_filtered_below):
            return table.exact_search(q, k, mask)
        # Measured: a bitmap-filtered walk keeps recall@10 ≥ 0.95 down to 2% selectivity at the
        # base efSearch (results fill slowly, so the walk goes on by itself); below 10% we
        # double it for margin.
        ef = self.ef_for(table.n_rows)
        ef = min(self.max_ef_search, ef if m * 10 >= table.n_rows else 2 * ef)
        rows = graph.search(q, k, ef, mask)
        if len(rows) < min(k, m):  # the traversal starved: never return fewer than exist
            return table.exact_search(q, k, mask)
        return rows

    def ef_for(self, n_rows: int) -> int:
        """The base efSearch for a model of ``n_rows`` (``ef_search`` if set, else by size)."""
        if self.ef_search is not None:
            return self.ef_search
        return DEFAULT_EF_SEARCH if n_rows < LARGE_MODEL_ROWS else 2 * DEFAULT_EF_SEARCH

    def count(self, model_id: str | None = None, shard: str | None = None) -> int:
        with self._lock:
            tables = self._state.tables
            if model_id is None:
                chosen = list(tables.values())
            else:
                chosen = [tables[model_id]] if model_id in tables else []
            total = 0
            for table in chosen:
                total += table.n_alive if shard is None else table.count_in_shard(shard)
            return total

    def keys(self, model_id: str) -> set[str]:
        with self._lock:
            table = self._state.tables.get(model_id)
            return set(table.row_of) if table is not None else set()

    def get_vector(self, sha256: str, model_id: str) -> np.ndarray | None:
        with self._lock:
            table = self._state.tables.get(model_id)
            row = table.row_of.get(sha256) if table is not None else None
            return None if row is None else table.vectors[row].copy()  # type: ignore[union-attr]

    def describe(self) -> dict[str, Any]:
        with self._lock:
            models = {
                model_id: {
                    "dim": table.dim,
                    "count": table.n_alive,
                    "rows": table.n_rows,
                    "search": "hnsw" if model_id in self._state.graphs else "exact",
                    "hnsw": g.describe() if (g := self._state.graphs.get(model_id)) else None,
                }
                for model_id, table in self._state.tables.items()
            }
            return {
                "backend": "local",
                "path": str(self.root),
                "version": self._state.version,
                "exact_below": self.exact_below,
                "ef_search": self.ef_search or "auto",
                "unsaved_models": sorted(self._dirty),
                "models": models,
            }

    def close(self) -> None:
        with self._lock:
            if self._dirty:
                self.save()
