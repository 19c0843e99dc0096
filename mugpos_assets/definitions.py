"""The one place that assembles the code location: assets, resources, checks, automation."""

import dagster as dg

from mugpos_assets.assets.corpus import corpus_reject_rate, image_corpus, sample_images
from mugpos_assets.assets.models import model_assets
from mugpos_assets.resources import CorpusResource, DeviceResource, ModelStoreResource

defs = dg.Definitions(
    assets=[*model_assets, sample_images, image_corpus],
    asset_checks=[corpus_reject_rate],
    resources={
        "model_store": ModelStoreResource(),
        "device": DeviceResource(),
        "corpus": CorpusResource(),
    },
)
