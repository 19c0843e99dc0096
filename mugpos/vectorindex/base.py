"""The vector-index interface shared by the embedded local index and MongoDB Atlas.

One record per (image sha256, embedder model id). Decisions every backend follows, so callers
(the embedding asset, the search API) never branch on the backend:

* **Vectors are L2-normalised on the way in** (records and queries). Embedders already emit
  unit vectors, so this is a no-op for them, and it makes the inner product *be* the cosine
  everywhere. Vectors that cannot be normalised are refused: wrong dimension for the model,
  non-finite values, all zeros.
* **``Hit.score`` is the cosine similarity in [-1, 1]** for every backend. Atlas reports
  ``(1 + cos) / 2`` in [0, 1] for a ``cosine`` index; its backend maps that back.
* **Upserts are idempotent**: the same key replaces the record (vector, filter fields, payload).
* One dimension per model id (fixed by the first vector stored for it).
"""

from __future__ import annotations

import abc
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from mugpos.errors import MugposError

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


class VectorIndexError(MugposError):
    """The index backend failed, is misconfigured or its stored state is unreadable."""

    code = "vector_index_error"


class InvalidVectorError(VectorIndexError):
    """A vector or record was refused: wrong dimension, non-finite, zero, or bad fields."""

    code = "invalid_vector"


class VectorKey(NamedTuple):
    """The identity of a stored vector: which image, embedded by which model."""

    sha256: str
    model_id: str


@dataclass(frozen=True)
class VectorRecord:
    """One image embedding plus the fields searches filter on and the payload hits carry.

    ``has_mug`` defaults to ``"mug" in labels``. ``payload`` must be JSON-serialisable (small
    corpus metadata: uri, width, height); it is returned with every hit.
    """

    sha256: str
    model_id: str
    vector: Any  # array-like of floats; see validate_records for what is accepted
    shard: str
    labels: Sequence[str] = ()
    has_mug: bool | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> VectorKey:
        return VectorKey(self.sha256, self.model_id)


@dataclass(frozen=True)
class SearchFilter:
    """What a search is restricted to. ``model_id`` is required: scores across models are
    meaningless. ``shards`` accepts one shard as a plain string. ``labels_all``: every label
    must be present; ``labels_any``: at least one; ``has_mug``: exact match when not None."""

    model_id: str
    shards: tuple[str, ...] | None = None
    labels_all: tuple[str, ...] = ()
    labels_any: tuple[str, ...] = ()
    has_mug: bool | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.model_id, str) or not self.model_id:
            raise InvalidVectorError("SearchFilter.model_id must be a non-empty string")
        shards = self.shards
        if isinstance(shards, str):
            shards = (shards,)
        elif shards is not None:
            shards = tuple(shards)
            if not shards:
                raise InvalidVectorError("SearchFilter.shards is empty: it would match nothing")
        object.__setattr__(self, "shards", shards)
        # A bare string would otherwise be split into characters.
        for name in ("labels_all", "labels_any"):
            value = getattr(self, name)
            object.__setattr__(self, name, (value,) if isinstance(value, str) else tuple(value))

    def matches(self, shard: str, labels: Iterable[str], has_mug: bool) -> bool:
        """Reference semantics of the filter (the local index vectorises the same logic)."""
        present = set(labels)
        return (
            (self.shards is None or shard in self.shards)
            and all(label in present for label in self.labels_all)
            and (not self.labels_any or any(label in present for label in self.labels_any))
            and (self.has_mug is None or has_mug == self.has_mug)
        )


@dataclass(frozen=True)
class Hit:
    """One search result. ``score`` is the cosine similarity in [-1, 1], higher is closer."""

    sha256: str
    model_id: str
    score: float
    shard: str
    labels: tuple[str, ...]
    has_mug: bool
    payload: dict[str, Any]


@dataclass(frozen=True)
class CleanRecord:
    """A validated record: unit float32 vector, sorted unique labels, resolved has_mug."""

    sha256: str
    model_id: str
    vector: np.ndarray
    shard: str
    labels: tuple[str, ...]
    has_mug: bool
    payload: dict[str, Any]

    @property
    def key(self) -> VectorKey:
        return VectorKey(self.sha256, self.model_id)


def normalize_vector(vector: Any, *, dim: int | None = None, what: str = "vector") -> np.ndarray:
    """A unit float32 copy of ``vector``; raises InvalidVectorError saying what is wrong."""
    try:
        arr = np.asarray(vector, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidVectorError(f"{what} is not an array of numbers: {exc}") from exc
    if arr.ndim != 1 or arr.size == 0:
        raise InvalidVectorError(f"{what} must be a non-empty 1-d array, got shape {arr.shape}")
    if dim is not None and arr.shape[0] != dim:
        raise InvalidVectorError(
            f"{what} has dimension {arr.shape[0]}, expected {dim}",
            details={"expected": dim, "got": int(arr.shape[0])},
        )
    if not np.isfinite(arr).all():
        raise InvalidVectorError(f"{what} contains NaN or infinite values")
    norm = float(np.linalg.norm(arr))
    if norm == 0.0 or not np.isfinite(norm):
        raise InvalidVectorError(f"{what} has zero length and cannot be normalised")
    unit = (arr / norm).astype(np.float32)
    if not np.isfinite(unit).all():  # float64 values beyond float32 range
        raise InvalidVectorError(f"{what} does not fit in float32")
    return unit


def clean_record(record: VectorRecord, *, dim: int | None = None) -> CleanRecord:
    """Validate one record's fields and normalise its vector (see the module docstring)."""
    if not isinstance(record.sha256, str) or not _SHA256_RE.match(record.sha256):
        raise InvalidVectorError(
            f"sha256 must be 64 lowercase hex characters, got {record.sha256!r}"
        )
    if not isinstance(record.model_id, str) or not record.model_id:
        raise InvalidVectorError("model_id must be a non-empty string")
    if not isinstance(record.shard, str) or not record.shard:
        raise InvalidVectorError(f"shard must be a non-empty string, got {record.shard!r}")
    if isinstance(record.labels, str):
        raise InvalidVectorError("labels must be a list of strings, not one string")
    labels = tuple(sorted(set(record.labels)))
    if not all(isinstance(label, str) and label for label in labels):
        raise InvalidVectorError(f"labels must be non-empty strings, got {labels!r}")
    has_mug = ("mug" in labels) if record.has_mug is None else record.has_mug
    if not isinstance(has_mug, bool | np.bool_):
        raise InvalidVectorError(f"has_mug must be a bool, got {has_mug!r}")
    payload = dict(record.payload)
    try:
        json.dumps(payload, allow_nan=False)
    except (TypeError, ValueError) as exc:
        msg = f"payload of {record.sha256} is not JSON-serialisable: {exc}"
        raise InvalidVectorError(msg) from exc
    vector = normalize_vector(
        record.vector, dim=dim, what=f"vector of {record.sha256[:12]}/{record.model_id}"
    )
    return CleanRecord(
        record.sha256, record.model_id, vector, record.shard, labels, bool(has_mug), payload
    )


def dedupe_last(records: Iterable[CleanRecord]) -> list[CleanRecord]:
    """Keep the last record of each key: within one upsert call the later one wins."""
    by_key: dict[VectorKey, CleanRecord] = {}
    for rec in records:
        by_key.pop(rec.key, None)  # re-insert so order follows the last occurrence
        by_key[rec.key] = rec
    return list(by_key.values())


def check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise InvalidVectorError(f"k must be a positive integer, got {k!r}")
    return int(k)


class VectorIndex(abc.ABC):
    """Image embeddings keyed by (sha256, model_id), searchable by cosine with filters."""

    @abc.abstractmethod
    def upsert(self, records: Iterable[VectorRecord]) -> int:
        """Insert or replace records; returns how many distinct keys were written. The whole
        batch is validated before anything is written, so a bad record writes nothing."""

    @abc.abstractmethod
    def delete(self, keys: Iterable[VectorKey | tuple[str, str]]) -> int:
        """Remove these (sha256, model_id) keys; returns how many existed."""

    @abc.abstractmethod
    def delete_missing(
        self, model_id: str, keep_sha256s: Iterable[str], shard: str | None = None
    ) -> int:
        """Remove this model's vectors (of one shard, if given) whose image is not in
        ``keep_sha256s``: the images that left the corpus. Returns how many were removed."""

    @abc.abstractmethod
    def search(self, vector: Any, k: int, filter: SearchFilter) -> list[Hit]:
        """The ``k`` nearest stored vectors matching ``filter``, best first (fewer if fewer
        match). The query is normalised like stored vectors."""

    @abc.abstractmethod
    def count(self, model_id: str | None = None, shard: str | None = None) -> int: ...

    @abc.abstractmethod
    def keys(self, model_id: str) -> set[str]:
        """The sha256s stored for this model (what delete_missing compares against)."""

    @abc.abstractmethod
    def get_vector(self, sha256: str, model_id: str) -> np.ndarray | None:
        """The stored (unit) vector, or None when the key is absent."""

    @abc.abstractmethod
    def describe(self) -> dict[str, Any]:
        """Backend, location (no credentials) and sizes, for logs and asset metadata."""

    def close(self) -> None:  # noqa: B027 - optional hook, most backends have nothing to do
        """Release resources (and, for the local index, flush pending writes)."""

    def __enter__(self) -> VectorIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def as_key(key: VectorKey | tuple[str, str]) -> VectorKey:
    sha256, model_id = key
    return VectorKey(sha256, model_id)
