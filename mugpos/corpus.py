"""The image corpus: content-addressed, validated, deduplicated, split into shards by hash.

A shard is the first hex digit of an image's sha256 (16 shards), so an image always lands in the
same shard wherever it came from, and a change to one image touches one shard only. Ingest of a
shard reads the source listing, keeps the images that hash into the shard, validates each with
the safe decoder, copies the good ones into content-addressed storage (``images/ab/<sha>.<ext>``)
and writes two Parquet files: the shard's images and its reject log with reasons.

A read that fails for another reason than the object being gone (a timeout, a throttled or
unreachable store, a file being rewritten) says nothing about whether the image left the
source: the shard keeps that key's previous entry (its image is already stored) and logs the
failure, instead of dropping it, which would delete its vector downstream.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from mugpos.errors import ImageError, ObjectStoreError
from mugpos.fileio import atomic_write_bytes
from mugpos.images import decode_image, sha256_bytes
from mugpos.objectstore.base import ObjectInfo, ObjectNotFoundError, ObjectStore

log = logging.getLogger(__name__)

SHARDS: tuple[str, ...] = tuple(f"{i:x}" for i in range(16))
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif"})
_EXT = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}

CORPUS_SCHEMA = pa.schema(
    [
        ("sha256", pa.string()),
        ("shard", pa.string()),
        ("source_key", pa.string()),
        ("duplicate_keys", pa.list_(pa.string())),
        ("path", pa.string()),
        ("format", pa.string()),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("bytes", pa.int64()),
        ("source_mode", pa.string()),
        ("frames", pa.int32()),
    ]
)
REJECT_SCHEMA = pa.schema(
    [
        ("source_key", pa.string()),
        ("sha256", pa.string()),
        ("code", pa.string()),
        ("reason", pa.string()),
    ]
)


def shard_of(sha256: str) -> str:
    return sha256[0]


@dataclass(frozen=True)
class CorpusLayout:
    """Where a corpus lives on disk under one root."""

    root: Path

    def image_path(self, sha256: str, fmt: str) -> Path:
        return self.root / "images" / sha256[:2] / f"{sha256}.{_EXT.get(fmt, 'bin')}"

    def shard_table(self, shard: str) -> Path:
        return self.root / "shards" / f"{shard}.parquet"

    def reject_table(self, shard: str) -> Path:
        return self.root / "rejects" / f"{shard}.parquet"


@dataclass
class ShardIngest:
    shard: str
    images: pa.Table
    rejects: pa.Table
    scanned: int  # objects in the source (all shards)
    in_shard: int  # objects whose bytes hash into this shard

    @property
    def reject_rate(self) -> float:
        total = self.images.num_rows + self.rejects.num_rows
        return self.rejects.num_rows / total if total else 0.0


def image_objects(source: ObjectStore) -> list[ObjectInfo]:
    """Image-like objects of a source (a directory or an S3 prefix), sorted by key."""
    objects = [o for o in source.list() if Path(o.key).suffix.lower() in IMAGE_SUFFIXES]
    return sorted(objects, key=lambda o: o.key)


def source_keys(source: ObjectStore) -> list[str]:
    return [o.key for o in image_objects(source)]


def ingest_shard(
    source: ObjectStore,
    shard: str,
    layout: CorpusLayout,
    *,
    max_bytes: int,
    max_pixels: int,
    keys: Iterable[str] | None = None,
) -> ShardIngest:
    """Validate and store one shard's images; returns the tables it also writes to disk."""
    if shard not in SHARDS:
        raise ValueError(f"unknown shard {shard!r}; shards are 0-9a-f")
    keys = list(keys) if keys is not None else source_keys(source)
    previous = _previous_rows(layout.shard_table(shard))
    records: dict[str, dict[str, object]] = {}
    rejects: list[dict[str, object]] = []
    in_shard = 0
    for key in keys:
        try:
            data = source.get_bytes(key)
        except ObjectStoreError as exc:
            kept = None if isinstance(exc, ObjectNotFoundError) else previous.get(key)
            if kept is not None:  # this shard held it: keep it, the read said nothing new
                in_shard += 1
                _keep(records, kept, key)
                reason = f"read failed, previous entry kept: {exc.message}"
                rejects.append(
                    {
                        "source_key": key,
                        "sha256": kept["sha256"],
                        "code": exc.code,
                        "reason": reason,
                    }
                )
            elif not previous.get(key) and shard_of(sha256_bytes(key.encode())) == shard:
                # Unreadable and unknown: log it in one shard.
                rejects.append(
                    {"source_key": key, "sha256": None, "code": exc.code, "reason": exc.message}
                )
            continue
        digest = sha256_bytes(data)
        if shard_of(digest) != shard:
            continue
        in_shard += 1
        if digest in records:
            dup = records[digest]["duplicate_keys"]
            assert isinstance(dup, list)
            dup.append(key)
            continue
        try:
            decoded = decode_image(data, max_bytes=max_bytes, max_pixels=max_pixels)
        except ImageError as exc:
            rejects.append(
                {"source_key": key, "sha256": digest, "code": exc.code, "reason": exc.message}
            )
            continue
        path = layout.image_path(digest, decoded.format)
        if not path.is_file():
            atomic_write_bytes(path, data)
        records[digest] = {
            "sha256": digest,
            "shard": shard,
            "source_key": key,
            "duplicate_keys": [],
            "path": str(path),
            "format": decoded.format,
            "width": decoded.width,
            "height": decoded.height,
            "bytes": len(data),
            "source_mode": decoded.source_mode,
            "frames": decoded.frames,
        }
    rows = [records[k] for k in sorted(records)]
    images = pa.Table.from_pylist(rows, schema=CORPUS_SCHEMA)
    reject_table = pa.Table.from_pylist(rejects, schema=REJECT_SCHEMA)
    write_table(images, layout.shard_table(shard))
    write_table(reject_table, layout.reject_table(shard))
    log.info(
        "shard %s: %d images, %d rejected, %d duplicates (of %d source objects)",
        shard, images.num_rows, len(rejects), in_shard - images.num_rows - len(rejects), len(keys),
    )  # fmt: skip
    return ShardIngest(shard, images, reject_table, len(keys), in_shard)


def _previous_rows(path: Path) -> dict[str, dict[str, object]]:
    """The shard's previous rows by every source key they were stored under."""
    by_key: dict[str, dict[str, object]] = {}
    for row in read_table(path, CORPUS_SCHEMA).to_pylist():
        if Path(str(row["path"])).is_file():  # only entries whose image is still stored
            for key in [row["source_key"], *(row["duplicate_keys"] or [])]:
                by_key[str(key)] = row
    return by_key


def _keep(records: dict[str, dict[str, object]], row: dict[str, object], key: str) -> None:
    digest = str(row["sha256"])
    if digest in records:
        dup = records[digest]["duplicate_keys"]
        assert isinstance(dup, list)
        dup.append(key)
    else:
        records[digest] = {**row, "source_key": key, "duplicate_keys": []}


def write_table(table: pa.Table, path: Path) -> None:
    """Parquet written atomically: readers see the old file or the new one, never half."""
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    atomic_write_bytes(path, buf.getvalue())


def read_table(path: Path, schema: pa.Schema) -> pa.Table:
    if not path.is_file():
        return schema.empty_table()
    return pq.read_table(path)
