"""The ANN graph of the local index: faiss ``IndexHNSWFlat`` on inner product.

Chosen over hnswlib by bench/bench_vector_index.py at 100k×512 on the 2 shared cores: at
M32/efConstruction 100 both reach recall@10 0.998 at efSearch 64 with the same latency
(p50 ≈ 0.26 ms, p95 ≈ 0.35 ms) and build in the same time within this machine's noise
(27–47 s each). What decides is filtering: faiss filters *inside* the traversal with a native
bitmap (``IDSelectorBitmap``, tombstones excluded the same way); hnswlib's only filter is a
Python callback per candidate: a 30%-selective filter doubled its p50 (0.52 vs 0.26 ms) where
our whole filtered search() took 0.44 ms, and the callback takes the GIL for every candidate,
so concurrent API searches contend for it.
Ids are row numbers of the owning ModelTable; rows are only ever appended, so ``add`` extends
the graph.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _faiss():  # type: ignore[no-untyped-def]
    # faiss is imported lazily: the API process only pays for it once an index needs a graph.
    import faiss

    return faiss


class HnswGraph:
    def __init__(self, dim: int, m: int = 32, ef_construction: int = 100, index=None) -> None:  # type: ignore[no-untyped-def]
        faiss = _faiss()
        if index is None:
            index = faiss.IndexHNSWFlat(dim, m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = ef_construction
        self.index = index

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    def add(self, vectors: np.ndarray) -> None:
        if len(vectors):
            self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def search(self, q: np.ndarray, k: int, ef: int, allowed: np.ndarray | None) -> np.ndarray:
        """Row ids of up to k approximate nearest neighbours among ``allowed`` rows."""
        faiss = _faiss()
        params = faiss.SearchParametersHNSW()
        params.efSearch = int(max(ef, k))
        if allowed is not None:
            # Bit i of byte i//8 (little bit order) selects id i; keep `bits` alive for the call.
            bits = np.packbits(allowed[: self.ntotal], bitorder="little")
            selector = faiss.IDSelectorBitmap(bits)
            params.sel = selector
        _, ids = self.index.search(q.reshape(1, -1), int(k), params=params)
        found = ids[0]
        return found[found >= 0]

    def write(self, path: Path) -> None:
        _faiss().write_index(self.index, str(path))

    @classmethod
    def read(cls, path: Path) -> HnswGraph:
        index = _faiss().read_index(str(path))
        return cls(index.d, index=index)

    def describe(self) -> dict[str, int]:
        hnsw = self.index.hnsw
        return {
            "ntotal": self.ntotal,
            "M": int(hnsw.nb_neighbors(1)),
            "ef_construction": int(hnsw.efConstruction),
        }
