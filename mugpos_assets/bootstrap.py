"""Materialize the default asset graph on embedded defaults, into the Dagster instance.

The main job runs this before starting the UI, so a newcomer opens Dagster onto a platform
that already holds a model, a corpus, analyses, embeddings, an index, an evaluation and a
backup. Everything goes through Dagster (``dg.materialize`` against the instance of
``DAGSTER_HOME``), so the UI shows every run, its logs and its metadata. Steps already
materialized are skipped, so a second run reuses what is there.

    python -m mugpos_assets.bootstrap [--refresh]
"""

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import dagster as dg

from mugpos.corpus import SHARDS
from mugpos.models.catalog import get_spec
from mugpos.models.variant import configured_variant
from mugpos.settings import get_settings
from mugpos_assets import definitions
from mugpos_assets.assets.models import model_asset_key

SSD = "ssd-mobilenetv2-oidv4"


@dataclass
class Step:
    name: str
    keys: list[str]
    partitions: Sequence[str | None] = (None,)
    run_config: dict = field(default_factory=dict)


def plan() -> list[Step]:
    s = get_settings()
    detector = model_asset_key(get_spec(s.detector)).to_user_string()
    embedder = model_asset_key(get_spec(s.embedder)).to_user_string()
    return [
        Step("models and manifest", [*sorted({detector, embedder}), "model_manifest"]),
        Step("sample images into the inbox", ["sample_images"]),
        Step(
            "corpus, analyses and embeddings per shard",
            ["image_corpus", "scene_analyses", "image_embeddings"],
            partitions=SHARDS,
        ),
        Step("vector index", ["vector_index"]),
        Step(
            "evaluation sets",
            [
                "evaluation/scenes",
                "evaluation/composites",
                "evaluation/desk_small",
                "evaluation/real",
            ],
        ),
        Step(
            "evaluation of the offline detector (full image, and the configured variant)",
            ["evaluation/model_evaluation"],
            partitions=tuple(dict.fromkeys((f"{SSD}@0.3", configured_variant(s).key))),
        ),
        # The manifest runs again after the blocking gate, so it names the promoted champion.
        Step(
            "model comparison, champion gate and manifest",
            ["evaluation/model_comparison", "model_manifest"],
        ),
        Step(
            "backup",
            [
                "backup_models",
                "backup_embeddings",
                "backup_index",
                "backup_documents",
                "backup_evaluation",
                "backup_manifest",
            ],
        ),
    ]


def _done(instance: dg.DagsterInstance, keys: list[str], partition: str | None) -> bool:
    for key in keys:
        asset_key = dg.AssetKey.from_user_string(key)
        if partition is None:
            if instance.get_latest_materialization_event(asset_key) is None:
                return False
        elif partition not in instance.get_materialized_partitions(asset_key):
            return False
    return True


def _assets_for(keys: list[str]) -> list[object]:
    """The assets of a step plus the checks that target them (so blocking checks run)."""
    defs = definitions.defs
    wanted = {dg.AssetKey.from_user_string(k) for k in keys}
    assets = [defs.get_assets_def(k) for k in wanted]
    checks = [
        c
        for c in (defs.asset_checks or [])
        if isinstance(c, dg.AssetChecksDefinition)
        and any(k.asset_key in wanted for k in c.check_keys)
    ]
    return [*dict.fromkeys(assets), *checks]


def run(refresh: bool = False) -> bool:
    instance = dg.DagsterInstance.get()
    resources = definitions.defs.resources
    ok = True
    for step in plan():
        for partition in step.partitions:
            label = step.name + (f" [{partition}]" if partition else "")
            if not refresh and _done(instance, step.keys, partition):
                print(f"  ✓ {label} (already materialized)", flush=True)
                continue
            t0 = time.monotonic()
            result = dg.materialize(
                _assets_for(step.keys),
                instance=instance,
                resources=resources,
                partition_key=partition,
                raise_on_error=False,
                tags={"mugpos/bootstrap": step.name},
                # The UI keeps every event; the terminal only needs warnings and the summary.
                run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
            )
            took = time.monotonic() - t0
            failed_checks = [
                c.check_name for c in result.get_asset_check_evaluations() if not c.passed
            ]
            if result.success and not failed_checks:
                print(f"  ✓ {label} ({took:.1f} s, run {result.run_id[:8]})", flush=True)
            else:
                ok = False
                why = (
                    f"checks failed: {', '.join(failed_checks)}" if failed_checks else "run failed"
                )
                print(
                    f"  ✗ {label}: {why} (run {result.run_id[:8]}; see the Dagster UI)", flush=True
                )
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refresh", action="store_true", help="re-run steps already materialized")
    args = parser.parse_args(argv)
    print("==> materializing the default asset graph (embedded defaults)", flush=True)
    return 0 if run(refresh=args.refresh) else 1


if __name__ == "__main__":
    sys.exit(main())
