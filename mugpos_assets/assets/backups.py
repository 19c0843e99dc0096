"""Backups to R2 (or a directory): one asset per family, then the manifest, written last.

Why split: each family snapshots and uploads on its own (a failing Atlas export does not stop
the model files going up, and a rerun skips whatever is already stored), while the one
``backup_manifest`` asset, downstream of all five, is the only writer of manifests. It checks
that every object it is about to name is in the store before writing, so a manifest can never
name a missing object, whatever failed upstream. Family results reach it through the IO
manager as plain JSON. Retention runs right after the manifest is written.
"""

from dataclasses import replace

import dagster as dg

from mugpos.backup.retention import apply_retention
from mugpos.backup.run import FamilyResult, backup_family, write_manifest
from mugpos.backup.sources import FAMILIES, BackupRoots, asset_name
from mugpos.backup.verify import verify_backup
from mugpos_assets.backup_resources import ObjectStoreResource
from mugpos_assets.resources import (
    CorpusResource,
    DocumentStoreResource,
    ModelStoreResource,
    VectorIndexResource,
    resolve_settings,
)

BACKUP_GROUP = "backups"
_COMMON = {"group_name": BACKUP_GROUP, "kinds": {"python", "s3"}, "owners": ["team:ml-platform"]}


def _run(
    context: dg.AssetExecutionContext, family: str, backup: ObjectStoreResource, roots: BackupRoots
) -> dg.Output:
    s = backup.settings()
    store = backup.open()
    result = backup_family(
        family, roots, store, run_id=context.run_id, concurrency=s.backup_concurrency
    )
    st = result.stats
    context.log.info(
        f"{family}: {result.info.objects} files, {st.uploaded} uploaded, {st.skipped} kept"
    )
    return dg.Output(
        result.to_dict(),
        metadata={
            "present": result.info.present,
            "backend": result.info.backend,
            "files": result.info.objects,
            "bytes": result.info.bytes,
            "uploaded": st.uploaded,
            "bytes_uploaded": st.bytes_uploaded,
            "already_stored": st.skipped,
            "store": store.describe(),
        },
    )


def _roots(backup: ObjectStoreResource) -> BackupRoots:
    return BackupRoots.from_settings(backup.settings())


@dg.asset(
    **_COMMON,
    deps=["model_manifest"],
    description="Model files, ONNX exports and the model manifest (the model cache directory), "
    "uploaded content-addressed to the backup store.",
)
def backup_models(
    context: dg.AssetExecutionContext, backup: ObjectStoreResource, model_store: ModelStoreResource
) -> dg.Output:
    roots = replace(_roots(backup), models=model_store.settings().model_cache_dir)
    return _run(context, "models", backup, roots)


@dg.asset(
    **_COMMON,
    deps=["image_embeddings"],
    description="Every embeddings Parquet file (embeddings/<model>/<shard>.parquet).",
)
def backup_embeddings(
    context: dg.AssetExecutionContext, backup: ObjectStoreResource, corpus: CorpusResource
) -> dg.Output:
    roots = replace(_roots(backup), embeddings=corpus.settings().home / "embeddings")
    return _run(context, "embeddings", backup, roots)


@dg.asset(
    **_COMMON,
    deps=["vector_index"],
    description="A consistent snapshot of the vector index: the embedded index's live version "
    "files, or the Atlas vector collection exported as Extended JSON.",
)
def backup_index(
    context: dg.AssetExecutionContext, backup: ObjectStoreResource, index: VectorIndexResource
) -> dg.Output:
    roots = replace(_roots(backup), index=index.location().removeprefix("local://"))
    return _run(context, "index", backup, roots)


@dg.asset(
    **_COMMON,
    deps=["scene_analyses"],
    description="Rules, rule history, analyses and feedback exported from the document store "
    "(SQLite or MongoDB) as JSON lines, one file per collection.",
)
def backup_documents(
    context: dg.AssetExecutionContext,
    backup: ObjectStoreResource,
    documents: DocumentStoreResource,
) -> dg.Output:
    location = resolve_settings(
        home=documents.home, document_store_uri=documents.uri
    ).document_store_location
    return _run(context, "documents", backup, replace(_roots(backup), documents=location))


@dg.asset(
    **_COMMON,
    description="Evaluation reports (<home>/evaluation), when the evaluation has produced any.",
)
def backup_evaluation(context: dg.AssetExecutionContext, backup: ObjectStoreResource) -> dg.Output:
    return _run(context, "evaluation", backup, _roots(backup))


FAMILY_ASSETS = [
    backup_models,
    backup_embeddings,
    backup_index,
    backup_documents,
    backup_evaluation,
]


@dg.asset(
    **_COMMON,
    ins={asset_name(f): dg.AssetIn() for f in FAMILIES},
    description="The backup manifest (every object with sha256, size, source asset, run id and "
    "code version), written only after all the objects it names are stored; then retention "
    "keeps the newest N manifests and deletes objects none of them names.",
)
def backup_manifest(
    context: dg.AssetExecutionContext,
    backup: ObjectStoreResource,
    backup_models: dict,
    backup_embeddings: dict,
    backup_index: dict,
    backup_documents: dict,
    backup_evaluation: dict,
) -> dg.MaterializeResult:
    s = backup.settings()
    store = backup.open()
    parts = [backup_models, backup_embeddings, backup_index, backup_documents, backup_evaluation]
    results = [FamilyResult.from_dict(p) for p in parts]
    key, manifest = write_manifest(store, results, run_id=context.run_id)
    kept = apply_retention(store, s.backup_keep, grace_s=s.backup_grace_hours * 3600)
    rows = "\n".join(
        f"| {f} | {i.present} | {i.backend} | {i.objects} | {i.bytes:,} | {i.run_id[:8]} |"
        for f, i in manifest.families.items()
    )
    table = "| family | present | backend | files | bytes | run |\n|---|---|---|---|---|---|\n"
    return dg.MaterializeResult(
        metadata={
            "manifest": key,
            "location": store.location_of(key),
            "files": len(manifest.entries),
            "bytes": manifest.total_bytes,
            "uploaded": sum(r.stats.uploaded for r in results),
            "already_stored": sum(r.stats.skipped for r in results),
            "code_version": manifest.code_version,
            "families": dg.MetadataValue.md(table + rows),
            "manifests_kept": len(kept.kept),
            "manifests_deleted": len(kept.deleted_manifests),
            "objects_deleted": kept.deleted_objects,
            "bytes_freed": kept.freed_bytes,
        }
    )


@dg.asset_check(
    asset=backup_manifest,
    description="Reads back the latest backup: every object it names is listed with its size, "
    "and a random sample is downloaded and re-hashed against the manifest's sha256.",
)
def backup_readback(backup: ObjectStoreResource) -> dg.AssetCheckResult:
    s = backup.settings()
    result = verify_backup(backup.open(), sample=s.backup_verify_sample)
    return dg.AssetCheckResult(
        passed=result.passed,
        metadata={
            "manifest": result.manifest,
            "objects": result.objects,
            "read_back": len(result.checked),
            "missing": len(result.missing),
            "corrupt": len(result.corrupt),
            "problems": ", ".join(result.missing + result.corrupt)[:2000] or "—",
        },
    )


BACKUP_ASSETS = [*FAMILY_ASSETS, backup_manifest]
BACKUP_CHECKS = [backup_readback]

backup_job = dg.define_asset_job(
    "daily_backup",
    selection=dg.AssetSelection.assets(*BACKUP_ASSETS),
    description="Back up models, embeddings, the vector index, documents and evaluation reports.",
)

daily_backup_schedule = dg.ScheduleDefinition(
    name="daily_backup_schedule",
    job=backup_job,
    cron_schedule="0 4 * * *",  # after the 02:00 re-embedding
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily backup to the backup store (R2 in production), then retention.",
)
