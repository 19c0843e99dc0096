"""S3-compatible object store through boto3: Cloudflare R2 in production (``region_name="auto"``).

* **Checksums**: every write stores the object's sha256 as user metadata (``x-amz-meta-sha256``);
  every read checks it (``head_object`` before a file download, the ``get_object`` response for
  bytes). S3's own flexible checksums are left to ``when_required``: R2 lacks full-object CRC32
  for multipart uploads, and our sha256 covers the whole object whichever way it was uploaded.
* **Large files** go up and down in parts through boto3's transfer manager
  (``TransferConfig``): parts of ``part_size`` bytes (5 MiB at least, S3's minimum), a few in
  parallel, each part retried on its own.
* **Retries**: botocore's ``standard`` mode retries throttling, 5xx and connection errors with
  exponential backoff and jitter, ``max_attempts`` times per request; timeouts bound each try,
  so an unreachable endpoint fails in seconds, not minutes.
* Credentials come from the settings (``MUGPOS_S3_*``) or, when unset, boto3's own chain (the
  ``AWS_*`` environment, a profile).

boto3 is imported lazily so the engine imports without it in hot paths.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mugpos.errors import ObjectStoreError
from mugpos.fileio import partial_path, sha256_file
from mugpos.objectstore.base import (
    ObjectInfo,
    ObjectIntegrityError,
    ObjectNotFoundError,
    ObjectStore,
    check_digest,
    sha256_bytes,
)

if TYPE_CHECKING:
    from mugpos.settings import Settings

MiB = 1024 * 1024
MIN_PART_SIZE = 5 * MiB  # S3 refuses smaller parts (except the last one)
DEFAULT_PART_SIZE = 16 * MiB
SHA256_META = "sha256"
_NOT_FOUND = ("404", "NoSuchKey", "NotFound")


def make_s3_client(
    settings: Settings | None = None,
    *,
    max_attempts: int | None = None,
    connect_timeout_s: float | None = None,
    read_timeout_s: float | None = None,
) -> Any:
    """A boto3 S3 client for the settings' endpoint (R2: ``region_name="auto"``)."""
    import boto3
    from botocore.config import Config

    from mugpos.settings import get_settings

    s = settings or get_settings()
    key_id, secret = s.s3_access_key_id, s.s3_secret_access_key
    config = Config(
        retries={"max_attempts": max_attempts or s.s3_max_attempts, "mode": "standard"},
        connect_timeout=connect_timeout_s or s.s3_connect_timeout_s,
        read_timeout=read_timeout_s or s.s3_read_timeout_s,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        signature_version="s3v4",  # R2 accepts only SigV4 (presigned URLs included)
    )
    return boto3.client(
        "s3",
        endpoint_url=s.s3_endpoint_url,
        region_name=s.s3_region,
        aws_access_key_id=key_id.get_secret_value() if key_id else None,
        aws_secret_access_key=secret.get_secret_value() if secret else None,
        config=config,
    )


class S3ObjectStore(ObjectStore):
    def __init__(
        self,
        client: Any,
        bucket: str,
        prefix: str = "",
        *,
        part_size: int = DEFAULT_PART_SIZE,
        max_concurrency: int = 4,
    ) -> None:
        from boto3.s3.transfer import TransferConfig

        if part_size < MIN_PART_SIZE:
            raise ObjectStoreError(f"part size {part_size} is below S3's minimum of 5 MiB")
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.part_size = part_size
        # Files above one part are sent as a multipart upload of part-sized chunks.
        self.transfer_config = TransferConfig(
            multipart_threshold=part_size,
            multipart_chunksize=part_size,
            max_concurrency=max_concurrency,
            use_threads=True,
        )

    @classmethod
    def from_settings(
        cls, bucket: str, prefix: str = "", settings: Settings | None = None
    ) -> S3ObjectStore:
        from mugpos.settings import get_settings

        s = settings or get_settings()
        return cls(make_s3_client(s), bucket, prefix, part_size=s.s3_part_size_mb * MiB)

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def presigned_get_url(self, key: str, expires_s: int) -> str:
        """A URL anyone may GET the object from until it expires (SigV4 query signing): how
        an outside renderer fetches a picture without credentials of ours."""
        params = {"Bucket": self.bucket, "Key": self._key(key)}
        return str(
            self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_s)
        )

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _missing(self, key: str) -> ObjectNotFoundError:
        return ObjectNotFoundError(f"{self.location_of(key)} does not exist", details={"key": key})

    def _fail(self, what: str, key: str, exc: Exception) -> ObjectStoreError:
        if _is_not_found(exc):
            return self._missing(key)
        return ObjectStoreError(f"{what} {self.location_of(key)} failed: {exc}")

    def head(self, key: str) -> ObjectInfo | None:
        try:
            resp = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as exc:
            if _is_not_found(exc):
                return None
            raise self._fail("HEAD", key, exc) from exc
        sha = (resp.get("Metadata") or {}).get(SHA256_META)
        return ObjectInfo(key, int(resp["ContentLength"]), sha, resp.get("LastModified"))

    def exists(self, key: str) -> bool:
        return self.head(key) is not None

    def download_file(self, key: str, dest: Path) -> None:
        info = self.head(key)
        if info is None:
            raise self._missing(key)
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = partial_path(dest)
        try:
            self.client.download_file(
                self.bucket, self._key(key), str(tmp), Config=self.transfer_config
            )
            size = tmp.stat().st_size
            if size != info.size:
                raise ObjectIntegrityError(
                    f"{self.location_of(key)}: downloaded {size} bytes, object has {info.size}"
                )
            check_digest(self.location_of(key), info.sha256, sha256_file(tmp))
            os.replace(tmp, dest)
        except ObjectStoreError:
            raise
        except Exception as exc:
            raise self._fail("download of", key, exc) from exc
        finally:
            tmp.unlink(missing_ok=True)

    def upload_file(self, src: Path, key: str, *, sha256: str | None = None) -> None:
        # A given checksum is trusted (the caller just hashed the file): hashing a multi-GB
        # model twice would double the backup's disk reads.
        digest = sha256 or sha256_file(Path(src))
        extra = {"Metadata": {SHA256_META: digest}}
        try:
            self.client.upload_file(
                str(src), self.bucket, self._key(key), ExtraArgs=extra, Config=self.transfer_config
            )
        except Exception as exc:
            raise self._fail("upload to", key, exc) from exc

    def get_bytes(self, key: str) -> bytes:
        try:
            resp = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            data = resp["Body"].read()
        except Exception as exc:
            raise self._fail("GET", key, exc) from exc
        recorded = (resp.get("Metadata") or {}).get(SHA256_META)
        check_digest(self.location_of(key), recorded, hashlib.sha256(data).hexdigest())
        return bytes(data)

    def put_bytes(self, key: str, data: bytes, *, sha256: str | None = None) -> None:
        actual = sha256_bytes(data)
        check_digest(f"data for {self.location_of(key)}", sha256, actual)
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=data, Metadata={SHA256_META: actual}
            )
        except Exception as exc:
            raise self._fail("PUT", key, exc) from exc

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        full = self._key(prefix)
        strip = len(self.prefix) + 1 if self.prefix else 0
        out: list[ObjectInfo] = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=full
            )
            for page in pages:
                for obj in page.get("Contents", []):
                    key = obj["Key"][strip:]
                    out.append(ObjectInfo(key, int(obj["Size"]), None, obj.get("LastModified")))
        except Exception as exc:
            raise self._fail("LIST", prefix, exc) from exc
        return sorted(out, key=lambda o: o.key)

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as exc:
            raise self._fail("DELETE", key, exc) from exc


def _is_not_found(exc: Exception) -> bool:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return False
    return str(response.get("Error", {}).get("Code")) in _NOT_FOUND
