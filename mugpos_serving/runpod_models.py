"""Where a RunPod worker's models come from, once, before it takes a job.

A RunPod worker has no Dagster beside it: the model manifest and the files it names must be
there when the container starts. Two places hold them:

* ``home`` (default): ``MUGPOS_HOME`` on a RunPod network volume, written there by the model
  assets (or a restore); the worker reads the manifest in place, like the API.
* ``backup``: the ``models`` family of the newest backup in ``MUGPOS_BACKUP_URI`` (Cloudflare
  R2). It is restored into ``MUGPOS_HOME`` (the container disk) with the backup's own verified
  restore, every object checked against its sha256, before the registry loads the manifest.

Then the registry verifies the manifest's files against the catalog's pinned hashes, as it does
for the API; a worker that ends up on the offline default refuses to start unless
``MUGPOS_RUNPOD_REQUIRE_MANIFEST`` is off (a GPU fleet silently serving another model is worse
than a worker that fails its start, which RunPod shows).
"""

from __future__ import annotations

import logging

from mugpos.settings import Settings
from mugpos_serving.models import ModelRegistry

log = logging.getLogger(__name__)


class WorkerStartError(RuntimeError):
    """The worker cannot serve what it was configured to serve; the message says why."""


def fetch_models(settings: Settings) -> str:
    """Bring the manifest and its model files into ``MUGPOS_HOME/models``; says from where."""
    if settings.runpod_models_from == "home":
        return f"the manifest under {settings.model_cache_dir}"
    from mugpos.backup.restore import restore_backup
    from mugpos.backup.sources import BackupRoots
    from mugpos.errors import MugposError
    from mugpos.objectstore.base import open_object_store

    try:
        store = open_object_store(settings.backup_location, settings)
        report = restore_backup(
            store,
            BackupRoots.from_settings(settings),
            families=["models"],
            concurrency=settings.backup_concurrency,
        )
    except MugposError as exc:
        raise WorkerStartError(
            f"restoring the models from the backup at {settings.backup_location} failed: "
            f"{exc.message}"
        ) from exc
    files = report.families.get("models", 0)
    if not files:
        raise WorkerStartError(f"backup {report.manifest} holds no models family")
    log.warning("restored %d model files from backup %s", files, report.manifest)
    return f"backup {report.manifest} ({files} files)"


def require_manifest(settings: Settings) -> None:
    """Before loading anything: no manifest file at all is a start failure when required."""
    from mugpos.manifest import MANIFEST_NAME

    path = settings.model_cache_dir / MANIFEST_NAME
    if settings.runpod_require_manifest and not path.is_file():
        raise WorkerStartError(f"no sound model manifest: {path} does not exist. {_HOW}")


def check_served(registry: ModelRegistry, settings: Settings) -> None:
    """After loading: refuse anything but the manifest's models when they are required."""
    if registry.state == "ok" or not settings.runpod_require_manifest:
        return
    raise WorkerStartError(
        f"no sound model manifest ({registry.state}): {registry.message}. {_HOW}"
    )


_HOW = (
    "Put the manifest and its files on the network volume under MUGPOS_HOME/models, or set "
    "MUGPOS_RUNPOD_MODELS_FROM=backup with MUGPOS_BACKUP_URI, or "
    "MUGPOS_RUNPOD_REQUIRE_MANIFEST=false to serve the offline default."
)
