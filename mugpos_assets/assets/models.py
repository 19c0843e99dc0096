"""One asset per catalog model: fetch from cache, mirror or upstream and verify its sha256.

The asset's code version is the model version, so changing a version in the catalog marks the
asset and everything downstream of it stale in the UI.
"""

import dagster as dg

from mugpos.manifest import manifest_entry, new_manifest, write_manifest
from mugpos.models.catalog import CATALOG, ModelSpec
from mugpos.models.loader import exports_dir
from mugpos_assets.resources import ModelStoreResource

MODELS_GROUP = "models"


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


@dg.asset(
    group_name=MODELS_GROUP,
    deps=[
        *(model_asset_key(spec) for spec in CATALOG.values()),
        *(
            dg.AssetKey(["models", f"{s.id.replace('-', '_')}_onnx"])
            for s in CATALOG.values()
            if s.family in ("yolo", "clip")
        ),
    ],
    kinds={"python", "json"},
    owners=["team:ml-platform"],
    description="The model manifest the API serves from: model ids, versions, file paths, sha256 "
    "and input specs of every model that is cached and verified, plus their ONNX exports. The "
    "configured detector and embedder must be among them.",
)
def model_manifest(
    context: dg.AssetExecutionContext, model_store: ModelStoreResource
) -> dg.MaterializeResult:
    store = model_store.store()
    settings = model_store.settings()
    entries, missing = [], []
    for spec in CATALOG.values():
        required = spec.id in (settings.detector, settings.embedder)
        if not (required or store.is_cached(spec)):
            missing.append(spec.id)
            continue
        exports = {p.name: p for p in sorted(exports_dir(store, spec).glob("*.onnx"))}
        entries.append(manifest_entry(store, spec, exports))
    manifest = new_manifest(settings.detector, settings.embedder, entries)
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
            "models": dg.MetadataValue.md(
                "| model | version | tasks | exports |\n|---|---|---|---|\n" + rows
            ),
            "not_cached": ", ".join(missing) or "—",
        },
        data_version=dg.DataVersion(manifest.fingerprint),
    )
