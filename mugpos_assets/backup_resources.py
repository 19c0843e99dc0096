"""The backup target as a Dagster resource: a directory or an S3/R2 prefix.

Unset fields fall back to the engine settings (``MUGPOS_BACKUP_*``, ``MUGPOS_S3_*``);
``definitions.py`` passes the endpoint and keys as ``dg.EnvVar`` so the UI shows the variables'
names, never the secrets.
"""

import dagster as dg

from mugpos.objectstore.base import ObjectStore, open_object_store
from mugpos.settings import Settings
from mugpos_assets.resources import resolve_settings


class ObjectStoreResource(dg.ConfigurableResource):
    """Where backups go (``uri``: a directory or ``s3://bucket/prefix``) and how to reach it."""

    uri: str | None = None
    home: str | None = None
    endpoint_url: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    keep: int | None = None
    grace_hours: float | None = None
    concurrency: int | None = None
    verify_sample: int | None = None
    part_size_mb: int | None = None
    max_attempts: int | None = None
    connect_timeout_s: float | None = None
    read_timeout_s: float | None = None

    def settings(self) -> Settings:
        return resolve_settings(
            home=self.home,
            backup_uri=self.uri,
            s3_endpoint_url=self.endpoint_url,
            s3_access_key_id=self.access_key_id,
            s3_secret_access_key=self.secret_access_key,
            backup_keep=self.keep,
            backup_grace_hours=self.grace_hours,
            backup_concurrency=self.concurrency,
            backup_verify_sample=self.verify_sample,
            s3_part_size_mb=self.part_size_mb,
            s3_max_attempts=self.max_attempts,
            s3_connect_timeout_s=self.connect_timeout_s,
            s3_read_timeout_s=self.read_timeout_s,
        )

    def open(self) -> ObjectStore:
        s = self.settings()
        return open_object_store(s.backup_location, s)
