"""S3-compatible object store through boto3: Cloudflare R2 in production (``region_name="auto"``).

boto3 is imported lazily so the engine imports without it in hot paths.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mugpos.errors import ObjectStoreError
from mugpos.fileio import partial_path
from mugpos.objectstore.base import ObjectInfo, ObjectStore

if TYPE_CHECKING:
    from mugpos.settings import Settings


class S3ObjectStore(ObjectStore):
    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    @classmethod
    def from_settings(
        cls, bucket: str, prefix: str = "", settings: Settings | None = None
    ) -> S3ObjectStore:
        import boto3
        from botocore.config import Config

        from mugpos.settings import get_settings

        s = settings or get_settings()
        client = boto3.client(
            "s3",
            endpoint_url=s.s3_endpoint_url,
            region_name=s.s3_region,
            aws_access_key_id=s.s3_access_key_id.get_secret_value() if s.s3_access_key_id else None,
            aws_secret_access_key=(
                s.s3_secret_access_key.get_secret_value() if s.s3_secret_access_key else None
            ),
            config=Config(retries={"max_attempts": 5, "mode": "standard"}),
        )
        return cls(client, bucket, prefix)

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _fail(self, what: str, key: str, exc: Exception) -> ObjectStoreError:
        return ObjectStoreError(f"{what} {self.location_of(key)} failed: {exc}")

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise self._fail("HEAD", key, exc) from exc

    def download_file(self, key: str, dest: Path) -> None:
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = partial_path(dest)
        try:
            self.client.download_file(self.bucket, self._key(key), str(tmp))
            tmp.replace(dest)
        except Exception as exc:
            tmp.unlink(missing_ok=True)
            raise self._fail("download of", key, exc) from exc

    def upload_file(self, src: Path, key: str, *, sha256: str | None = None) -> None:
        extra = {"Metadata": {"sha256": sha256}} if sha256 else None
        try:
            self.client.upload_file(str(src), self.bucket, self._key(key), ExtraArgs=extra)
        except Exception as exc:
            raise self._fail("upload to", key, exc) from exc

    def get_bytes(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except Exception as exc:
            raise self._fail("GET", key, exc) from exc

    def put_bytes(self, key: str, data: bytes, *, sha256: str | None = None) -> None:
        meta = {"sha256": sha256} if sha256 else {}
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, Metadata=meta)
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
                    out.append(ObjectInfo(key=obj["Key"][strip:], size=int(obj["Size"])))
        except Exception as exc:
            raise self._fail("LIST", prefix, exc) from exc
        return out

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as exc:
            raise self._fail("DELETE", key, exc) from exc
