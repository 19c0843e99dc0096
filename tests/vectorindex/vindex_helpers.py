"""Helpers shared by the vector-index tests (a uniquely named module, unlike conftest)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mugpos.vectorindex import VectorIndex, VectorRecord

DIM = 16


def sha(i: int | str) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()


def unit_vectors(n: int, dim: int = DIM, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def make_record(
    i: int,
    model_id: str,
    vector: np.ndarray,
    shard: str = "00",
    labels: tuple[str, ...] = (),
    has_mug: bool | None = None,
) -> VectorRecord:
    return VectorRecord(
        sha256=sha(i),
        model_id=model_id,
        vector=vector,
        shard=shard,
        labels=labels,
        has_mug=has_mug,
        payload={"uri": f"corpus/{i}.jpg", "width": 640, "height": 480},
    )


@dataclass
class Backend:
    """How the contract suite drives one backend."""

    name: str
    open: Callable[[], VectorIndex]  # opens (again) the same underlying store
    prefix: str  # model ids are namespaced so Atlas tests can share one collection
    eventually: Callable[[Callable[[], None]], None]
    is_local: bool

    def model(self, name: str) -> str:
        return f"{self.prefix}{name}"
