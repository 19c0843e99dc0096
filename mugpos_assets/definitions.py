"""The one place that assembles the code location: assets, resources, checks, automation.

Backends are chosen by configuration: embedded defaults (no server) unless the engine settings
name a production service, in which case the credentials-bearing URI is passed as an EnvVar.
"""

import dagster as dg

from mugpos.settings import get_settings
from mugpos_assets.alerts import ALERT_SENSORS
from mugpos_assets.assets.analyses import scene_analyses
from mugpos_assets.assets.backups import BACKUP_ASSETS, BACKUP_CHECKS, daily_backup_schedule
from mugpos_assets.assets.cards import worst_scene_cards
from mugpos_assets.assets.corpus import corpus_reject_rate, image_corpus, sample_images
from mugpos_assets.assets.embeddings import image_embeddings
from mugpos_assets.assets.eval_datasets import eval_dataset_assets
from mugpos_assets.assets.eval_feedback import feedback_labels
from mugpos_assets.assets.evaluation import evaluation_assets, evaluation_checks
from mugpos_assets.assets.exports import export_assets
from mugpos_assets.assets.index import INDEX_CHECKS, vector_index
from mugpos_assets.assets.models import champion_alias_sensor, model_assets, model_manifest
from mugpos_assets.automation import (
    freshness_automation,
    inbox_sensor,
    nightly_reembed,
    shard_refresh_job,
)
from mugpos_assets.backup_resources import ObjectStoreResource
from mugpos_assets.mlflow_resource import MlflowResource
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
    mlflow_uri = dg.EnvVar("MUGPOS_MLFLOW_TRACKING_URI") if s.mlflow_tracking_uri else None
    backup_uri = dg.EnvVar("MUGPOS_BACKUP_URI") if s.backup_uri else None
    s3_endpoint = dg.EnvVar("MUGPOS_S3_ENDPOINT_URL") if s.s3_endpoint_url else None
    s3_key = dg.EnvVar("MUGPOS_S3_ACCESS_KEY_ID") if s.s3_access_key_id else None
    s3_secret = dg.EnvVar("MUGPOS_S3_SECRET_ACCESS_KEY") if s.s3_secret_access_key else None
    return {
        "model_store": ModelStoreResource(),
        "device": DeviceResource(),
        "corpus": CorpusResource(),
        "documents": DocumentStoreResource(uri=docs_uri),
        "index": VectorIndexResource(uri=index_uri),
        "mlflow": MlflowResource(tracking_uri=mlflow_uri),
        "backup": ObjectStoreResource(
            uri=backup_uri,
            endpoint_url=s3_endpoint,
            access_key_id=s3_key,
            secret_access_key=s3_secret,
        ),
    }


defs = dg.Definitions(
    assets=[
        *model_assets,
        *export_assets,
        model_manifest,
        sample_images,
        image_corpus,
        scene_analyses,
        worst_scene_cards,
        image_embeddings,
        vector_index,
        *eval_dataset_assets,
        feedback_labels,
        *evaluation_assets,
        *BACKUP_ASSETS,
    ],
    asset_checks=[corpus_reject_rate, *INDEX_CHECKS, *evaluation_checks, *BACKUP_CHECKS],
    jobs=[shard_refresh_job],
    schedules=[nightly_reembed, daily_backup_schedule],
    sensors=[inbox_sensor, freshness_automation, champion_alias_sensor, *ALERT_SENSORS],
    resources=build_resources(),
)
