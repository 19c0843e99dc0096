"""The one place that assembles the code location: assets, resources, checks, automation.

Backends are chosen by configuration: embedded defaults (no server) unless the engine settings
name a production service, in which case the credentials-bearing URI is passed as an EnvVar.
"""

import dagster as dg

from mugpos.settings import get_settings
from mugpos_assets.assets.analyses import scene_analyses
from mugpos_assets.assets.corpus import corpus_reject_rate, image_corpus, sample_images
from mugpos_assets.assets.embeddings import image_embeddings
from mugpos_assets.assets.exports import export_assets
from mugpos_assets.assets.index import INDEX_CHECKS, vector_index
from mugpos_assets.assets.models import model_assets, model_manifest
from mugpos_assets.automation import (
    freshness_automation,
    inbox_sensor,
    nightly_reembed,
    shard_refresh_job,
)
from mugpos_assets.resources import (
    CorpusResource,
    DeviceResource,
    DocumentStoreResource,
    ModelStoreResource,
    VectorIndexResource,
)


def build_resources() -> dict[str, dg.ConfigurableResource]:
    s = get_settings()
    index_uri = dg.EnvVar("MUGPOS_VECTOR_INDEX_URI") if s.vector_index_uri else None
    docs_uri = dg.EnvVar("MUGPOS_DOCUMENT_STORE_URI") if s.document_store_uri else None
    return {
        "model_store": ModelStoreResource(),
        "device": DeviceResource(),
        "corpus": CorpusResource(),
        "documents": DocumentStoreResource(uri=docs_uri),
        "index": VectorIndexResource(uri=index_uri),
    }


defs = dg.Definitions(
    assets=[
        *model_assets,
        *export_assets,
        model_manifest,
        sample_images,
        image_corpus,
        scene_analyses,
        image_embeddings,
        vector_index,
    ],
    asset_checks=[corpus_reject_rate, *INDEX_CHECKS],
    jobs=[shard_refresh_job],
    schedules=[nightly_reembed],
    sensors=[inbox_sensor, freshness_automation],
    resources=build_resources(),
)
