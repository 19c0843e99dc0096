"""The one place that assembles the code location: assets, resources, checks, automation."""

import dagster as dg

from mugpos_assets.assets.models import model_assets
from mugpos_assets.resources import ModelStoreResource

defs = dg.Definitions(
    assets=[*model_assets],
    resources={"model_store": ModelStoreResource()},
)
