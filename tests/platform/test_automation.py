"""A model version change re-embeds and re-analyses every shard, once."""

from __future__ import annotations

import dagster as dg
import pytest

from mugpos.models.catalog import get_spec
from mugpos.settings import get_settings
from mugpos_assets.assets.analyses import scene_analyses
from mugpos_assets.assets.corpus import image_corpus
from mugpos_assets.assets.embeddings import image_embeddings

NONE = dg.ResourceDefinition.none_resource()
RESOURCES = {k: NONE for k in ("corpus", "model_store", "device", "documents")}


def test_code_versions_carry_the_model_versions() -> None:
    s = get_settings()
    emb = image_embeddings.code_versions_by_key[dg.AssetKey("image_embeddings")]
    ana = scene_analyses.code_versions_by_key[dg.AssetKey("scene_analyses")]
    assert emb is not None and get_spec(s.embedder).version in emb
    assert ana is not None and get_spec(s.detector).version in ana


@pytest.mark.parametrize("asset", [image_embeddings, scene_analyses], ids=lambda a: a.key.path[-1])
def test_new_model_version_requests_every_shard_once(asset: dg.AssetsDefinition) -> None:
    instance = dg.DagsterInstance.ephemeral()

    def defs(a: dg.AssetsDefinition) -> dg.Definitions:
        return dg.Definitions(assets=[image_corpus, a], resources=RESOURCES)

    first = dg.evaluate_automation_conditions(defs=defs(asset), instance=instance)
    assert first.total_requested == 0  # nothing changed yet
    upgraded = asset.map_asset_specs(
        lambda s: s.replace_attributes(code_version=f"{s.code_version}-next-model-version")
    )
    second = dg.evaluate_automation_conditions(
        defs=defs(upgraded), instance=instance, cursor=first.cursor
    )
    assert second.get_requested_partitions(asset.key) == set(
        image_corpus.partitions_def.get_partition_keys()  # type: ignore[union-attr]
    )
    third = dg.evaluate_automation_conditions(
        defs=defs(upgraded), instance=instance, cursor=second.cursor
    )
    assert third.total_requested == 0
