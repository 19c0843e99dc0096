"""Both object stores: sha256 recorded on write and checked on read; multipart on S3."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from conftest import MotoS3

from mugpos.errors import ObjectStoreError
from mugpos.objectstore import LocalObjectStore
from mugpos.objectstore.base import (
    ObjectIntegrityError,
    ObjectNotFoundError,
    ObjectStore,
    open_object_store,
)
from mugpos.objectstore.s3 import MiB, S3ObjectStore, make_s3_client


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path, moto_s3: MotoS3, bucket: str):  # type: ignore[no-untyped-def]
    if request.param == "local":
        return LocalObjectStore(tmp_path / "store")
    s = moto_s3.settings(tmp_path, bucket)
    return open_object_store(s.backup_location, s)


def _corrupt(store: ObjectStore, key: str, data: bytes) -> None:
    """Replace an object's bytes behind the store's back, keeping its recorded sha256."""
    if isinstance(store, LocalObjectStore):
        (store.root / key).write_bytes(data)
        return
    assert isinstance(store, S3ObjectStore)
    full = store._key(key)
    meta = store.client.head_object(Bucket=store.bucket, Key=full)["Metadata"]
    store.client.put_object(Bucket=store.bucket, Key=full, Body=data, Metadata=meta)


def test_checksums_are_stored_listed_and_checked(store: ObjectStore, tmp_path: Path) -> None:
    data = b"mug" * 1000
    digest = hashlib.sha256(data).hexdigest()
    store.put_bytes("a/b.bin", data)
    src = tmp_path / "src.bin"
    src.write_bytes(b"laptop")
    store.upload_file(src, "a/c.bin")
    info = store.head("a/b.bin")
    assert info is not None and info.sha256 == digest and info.size == 3000
    assert store.head("a/c.bin").sha256 == hashlib.sha256(b"laptop").hexdigest()  # type: ignore[union-attr]
    assert store.head("a/none") is None and not store.exists("a/none")
    assert [o.key for o in store.list("a/")] == ["a/b.bin", "a/c.bin"]  # no sidecars listed
    assert store.get_bytes("a/b.bin") == data

    _corrupt(store, "a/b.bin", b"gum" * 1000)
    with pytest.raises(ObjectIntegrityError, match=r"a/b\.bin is corrupted"):
        store.get_bytes("a/b.bin")
    dest = tmp_path / "out" / "b.bin"
    dest.parent.mkdir()
    dest.write_bytes(b"previous")
    with pytest.raises(ObjectIntegrityError):
        store.download_file("a/b.bin", dest)
    assert dest.read_bytes() == b"previous"  # untouched, no partial file beside it
    assert os.listdir(dest.parent) == ["b.bin"]
    with pytest.raises(ObjectNotFoundError):
        store.download_file("a/none", dest)


def test_a_wrong_given_checksum_is_refused(store: ObjectStore) -> None:
    with pytest.raises(ObjectIntegrityError):
        store.put_bytes("k", b"data", sha256="0" * 64)
    assert not store.exists("k")


def test_local_files_without_a_sidecar_read_unchecked(tmp_path: Path) -> None:
    """A hand-filled mirror or inbox has no checksums: reads work as before."""
    (tmp_path / "inbox" / "x").mkdir(parents=True)
    (tmp_path / "inbox" / "x" / "photo.jpg").write_bytes(b"jpeg")
    store = LocalObjectStore(tmp_path / "inbox")
    assert store.get_bytes("x/photo.jpg") == b"jpeg"
    assert store.head("x/photo.jpg").sha256 is None  # type: ignore[union-attr]
    with pytest.raises(ObjectStoreError, match="reserved"):
        store.put_bytes(".mugpos-sha256/x", b"")


def test_multipart_upload_of_a_file_larger_than_the_part_size(
    tmp_path: Path, moto_s3: MotoS3, bucket: str
) -> None:
    s = moto_s3.settings(tmp_path, bucket, s3_part_size_mb=5)
    store = S3ObjectStore.from_settings(bucket, "mp", s)
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(11 * MiB + 123))  # 3 parts of 5, 5 and 1 MiB
    digest = hashlib.sha256(big.read_bytes()).hexdigest()
    store.upload_file(big, "models/big.bin", sha256=digest)
    raw = make_s3_client(s).head_object(Bucket=bucket, Key="mp/models/big.bin")
    assert raw["ETag"].strip('"').endswith("-3")  # S3's mark of a 3-part multipart upload
    assert raw["Metadata"]["sha256"] == digest
    out = tmp_path / "back.bin"
    store.download_file("models/big.bin", out)
    assert hashlib.sha256(out.read_bytes()).hexdigest() == digest


def test_part_size_below_the_s3_minimum_is_refused(moto_s3: MotoS3, tmp_path: Path) -> None:
    with pytest.raises(ObjectStoreError, match="5 MiB"):
        S3ObjectStore(make_s3_client(moto_s3.settings(tmp_path, "mugpos-ps")), "b", part_size=MiB)
