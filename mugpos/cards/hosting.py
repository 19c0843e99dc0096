"""Where an outside renderer fetches the annotated photo from: an S3/R2 prefix, presigned.

Templated renders server-side from URLs, so the photo must be reachable by it: it is written
once under its sha256 (``cards/<sha>.png``) and handed over as a presigned GET URL that expires
(``MUGPOS_CARD_PHOTO_URL_TTL_S``), never as a public object.
"""

from __future__ import annotations

from typing import Protocol

from mugpos.objectstore.base import open_object_store, sha256_bytes
from mugpos.objectstore.s3 import S3ObjectStore
from mugpos.settings import Settings


class PhotoHost(Protocol):
    def url_for(self, png: bytes) -> str: ...


class S3PhotoHost:
    def __init__(self, store: S3ObjectStore, ttl_s: int) -> None:
        self.store, self.ttl_s = store, ttl_s

    def url_for(self, png: bytes) -> str:
        key = f"cards/{sha256_bytes(png)}.png"
        if not self.store.exists(key):
            self.store.put_bytes(key, png)
        return self.store.presigned_get_url(key, self.ttl_s)

    @classmethod
    def from_settings(cls, settings: Settings) -> S3PhotoHost | None:
        uri = settings.card_photo_uri
        if not uri:
            return None
        store = open_object_store(uri, settings)
        if not isinstance(store, S3ObjectStore):
            raise ValueError(
                f"MUGPOS_CARD_PHOTO_URI must be an s3:// prefix the renderer can reach, not {uri}"
            )
        return cls(store, settings.card_photo_url_ttl_s)
