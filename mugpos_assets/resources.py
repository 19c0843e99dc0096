"""Dagster resources: thin, configurable wrappers around the engine's backends.

Unset fields fall back to the engine's settings (``MUGPOS_*``), the only reader of the
environment; secrets are passed as ``dg.EnvVar`` in ``definitions.py``.
"""

from pathlib import Path

import dagster as dg

from mugpos.models.store import ModelStore
from mugpos.settings import Settings, get_settings


class ModelStoreResource(dg.ConfigurableResource):
    """Local model cache, with an optional mirror (directory or s3:// prefix)."""

    home: str | None = None
    mirror: str | None = None
    offline: bool | None = None

    def settings(self) -> Settings:
        update: dict[str, object] = {}
        if self.home is not None:
            update["home"] = Path(self.home)
        if self.mirror is not None:
            update["model_mirror"] = self.mirror
        if self.offline is not None:
            update["offline"] = self.offline
        return get_settings().model_copy(update=update)

    def store(self) -> ModelStore:
        return ModelStore.from_settings(self.settings())
