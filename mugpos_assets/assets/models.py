"""One asset per catalog model: fetch from cache, mirror or upstream and verify its sha256.

The asset's code version is the model version, so changing a version in the catalog marks the
asset and everything downstream of it stale in the UI.
"""

import dagster as dg

from mugpos.manifest import (
    ChampionRef,
    ServedVariant,
    manifest_entry,
    manifest_path,
    new_manifest,
    read_manifest,
    write_manifest,
)
from mugpos.models.catalog import CATALOG, ModelSpec
from mugpos.models.loader import exports_dir
from mugpos.models.variant import DetectorVariant, configured_variant
from mugpos.settings import Settings
from mugpos_assets.mlflow_resource import MlflowResource
from mugpos_assets.resources import ModelStoreResource

MODELS_GROUP = "models"
# The comparison whose blocking gate moves the champion alias; the manifest runs after it.
COMPARISON_KEY = dg.AssetKey(["evaluation", "model_comparison"])


def model_asset_key(spec: ModelSpec) -> dg.AssetKey:
    return dg.AssetKey(["models", spec.id.replace("-", "_")])


def export_asset_key(spec: ModelSpec) -> dg.AssetKey:
    return dg.AssetKey(["models", f"{spec.id.replace('-', '_')}_onnx"])


def has_export(spec: ModelSpec) -> bool:
    """Models served through an ONNX export (the SSD already is a LiteRT model)."""
    return spec.family in ("yolo", "clip")


def _build_model_asset(spec: ModelSpec) -> dg.AssetsDefinition:
    @dg.asset(
        key=model_asset_key(spec),
        group_name=MODELS_GROUP,
        code_version=spec.version,
        kinds={"python", spec.family},
        owners=["team:ml-platform"],
        description=f"{spec.description}\n\nLicense: {spec.license}. Version {spec.version}.",
        tags={"license": spec.license.replace(".", "_")},
    )
    def _model(
        context: dg.AssetExecutionContext, model_store: ModelStoreResource
    ) -> dg.MaterializeResult:
        fetched = model_store.store().fetch(spec)
        meta: dict[str, dg.RawMetadataValue] = {
            "model_id": spec.id,
            "version": spec.version,
            "license": spec.license,
        }
        for f in fetched.files.values():
            context.log.info("%s: %s (%d bytes) from %s", spec.id, f.name, f.size, f.location)
            stem = f.name.replace(".", "_")
            meta[f"{stem}/sha256"] = f.sha256
            meta[f"{stem}/size_bytes"] = f.size
            meta[f"{stem}/source"] = f"{f.source}: {f.location}"
            meta[f"{stem}/path"] = dg.MetadataValue.path(str(f.path))
        return dg.MaterializeResult(metadata=meta, data_version=dg.DataVersion(spec.primary.sha256))

    return _model


model_assets = [_build_model_asset(spec) for spec in CATALOG.values()]


def served_variant(settings: Settings, mlflow: MlflowResource) -> tuple[ServedVariant, str]:
    """The champion the gate promoted (MLflow alias), else the configured variant; and why."""
    from evaluation.tracking import SERVED_MODEL, get_served_champion

    champ = get_served_champion(mlflow.client())
    if champ is None:
        variant = configured_variant(settings)
        return ServedVariant.of(variant, "configured"), (
            f"no champion yet ({SERVED_MODEL}@champion is unset): serving the configured "
            f"variant {variant.key}"
        )
    variant = DetectorVariant.parse(champ.variant)
    ref = ChampionRef(
        registered_model=SERVED_MODEL,
        version=champ.model_version,
        run_ids=champ.run_ids,
        metrics=champ.metrics,
    )
    return ServedVariant.of(variant, "champion", ref), (
        f"serving the champion {variant.key} ({SERVED_MODEL} version {champ.model_version})"
    )


@dg.asset(
    group_name=MODELS_GROUP,
    deps=[
        *(model_asset_key(spec) for spec in CATALOG.values()),
        *(
            dg.AssetKey(["models", f"{s.id.replace('-', '_')}_onnx"])
            for s in CATALOG.values()
            if s.family in ("yolo", "clip")
        ),
        COMPARISON_KEY,
    ],
    kinds={"python", "json"},
    owners=["team:ml-platform"],
    description="The model manifest the API serves from: the served detector variant (the "
    "champion the blocking gate promoted, with its threshold and tiling; the configured "
    "variant before any champion exists), and the ids, versions, file paths, sha256 and input "
    "specs of every model that is cached and verified, plus their ONNX exports. Downstream of "
    "the comparison, so a run whose champion gate fails never rewrites it.",
)
def model_manifest(
    context: dg.AssetExecutionContext, model_store: ModelStoreResource, mlflow: MlflowResource
) -> dg.MaterializeResult:
    store = model_store.store()
    settings = model_store.settings()
    served, why = served_variant(settings, mlflow)
    context.log.info(why)
    detector = served.model_id
    entries, missing = [], []
    for spec in CATALOG.values():
        required = spec.id in (detector, settings.embedder)
        if not (required or store.is_cached(spec)):
            missing.append(spec.id)
            continue
        exports = {p.name: p for p in sorted(exports_dir(store, spec).glob("*.onnx"))}
        entries.append(manifest_entry(store, spec, exports))
    manifest = new_manifest(detector, settings.embedder, entries, served)
    path = write_manifest(store, manifest)
    context.log.info(f"manifest {manifest.fingerprint} with {len(entries)} models → {path}")
    rows = "\n".join(
        f"| {m.id} | {m.version} | {', '.join(m.tasks)} | {', '.join(m.exports) or '—'} |"
        for m in manifest.models.values()
    )
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "fingerprint": manifest.fingerprint,
            "detector": manifest.detector,
            "embedder": manifest.embedder,
            "served_variant": served.key,
            "served_source": served.source,
            "champion_version": served.champion.version if served.champion else "—",
            "tiling": served.tiling_config.tag,
            "why": why,
            "models": dg.MetadataValue.md(
                "| model | version | tasks | exports |\n|---|---|---|---|\n" + rows
            ),
            "not_cached": ", ".join(missing) or "—",
        },
        data_version=dg.DataVersion(manifest.fingerprint),
    )


@dg.sensor(
    asset_selection=[model_manifest.key],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Rewrites the model manifest when the served champion alias moves outside a "
    "gate run (a rollback in MLflow: point mugpos-detector@champion at an older version).",
)
def champion_alias_sensor(
    context: dg.SensorEvaluationContext, model_store: ModelStoreResource, mlflow: MlflowResource
) -> dg.SensorResult | dg.SkipReason:
    from evaluation.tracking import get_served_champion

    champ = get_served_champion(mlflow.client())
    if champ is None:
        return dg.SkipReason("no served champion yet")
    path = manifest_path(model_store.store())
    current = None
    if path.is_file():
        served = read_manifest(path).served
        current = served.champion.version if served and served.champion else None
    if current == champ.model_version:
        return dg.SkipReason(f"manifest already serves champion version {current}")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"champion-{champ.model_version}")],
        cursor=champ.model_version,
    )
