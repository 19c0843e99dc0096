"""One asset per catalog model: fetch from cache, mirror or upstream and verify its sha256.

The asset's code version is the model version, so changing a version in the catalog marks the
asset and everything downstream of it stale in the UI.
"""

import dagster as dg

from mugpos.models.catalog import CATALOG, ModelSpec
from mugpos_assets.resources import ModelStoreResource

MODELS_GROUP = "models"


def model_asset_key(spec: ModelSpec) -> dg.AssetKey:
    return dg.AssetKey(["models", spec.id.replace("-", "_")])


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
