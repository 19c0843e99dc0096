"""The one place that reads environment variables (prefix ``MUGPOS_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Process-wide configuration; every field can be set as ``MUGPOS_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="MUGPOS_", extra="ignore")

    home: Path = Field(
        default=Path(".mugpos"),
        description="Root of local state: model cache, corpus, indexes, embedded stores.",
    )
    model_mirror: str | None = Field(
        default=None,
        description="Mirror of model files tried before upstream: a directory or s3://bucket/prefix.",
    )
    offline: bool = Field(
        default=False, description="Never try upstream URLs; only cache, mirror and npm."
    )
    detector: str = Field(default="ssd-mobilenetv2-oidv4", description="Default detector id.")
    embedder: str = Field(default="ssd-mobilenetv2-oidv4", description="Default embedder id.")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    batch_size: int | None = Field(default=None, ge=1, description="Override the device's batch.")

    max_image_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    max_image_pixels: int = Field(default=40_000_000, ge=1)

    corpus_source: str | None = Field(
        default=None,
        description="Where corpus images come from (the inbox): a directory or s3://bucket/prefix. "
        "Default: <home>/inbox.",
    )
    # URIs that may carry credentials are secrets: they never show in logs or reprs.
    vector_index_uri: SecretStr | None = Field(
        default=None,
        description="Vector index: a directory (embedded, default <home>/index) or a "
        "mongodb+srv:// URI for MongoDB Atlas Vector Search.",
    )
    document_store_uri: SecretStr | None = Field(
        default=None,
        description="Rules, analyses, feedback: sqlite path (default <home>/documents.sqlite3) or "
        "a mongodb:// URI.",
    )

    # S3-compatible object store (Cloudflare R2 in production).
    s3_endpoint_url: str | None = None
    s3_region: str = "auto"
    s3_access_key_id: SecretStr | None = None
    s3_secret_access_key: SecretStr | None = None

    @property
    def model_cache_dir(self) -> Path:
        return self.home / "models"

    @property
    def corpus_dir(self) -> Path:
        """Content-addressed corpus images and per-shard Parquet tables."""
        return self.home / "corpus"

    @property
    def corpus_source_uri(self) -> str:
        return self.corpus_source or str(self.home / "inbox")

    @property
    def vector_index_location(self) -> str:
        if self.vector_index_uri is not None:
            return self.vector_index_uri.get_secret_value()
        return str(self.home / "index")

    @property
    def document_store_location(self) -> str:
        if self.document_store_uri is not None:
            return self.document_store_uri.get_secret_value()
        return str(self.home / "documents.sqlite3")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once per process; tests build ``Settings(...)`` directly instead."""
    return Settings()
