"""Report cards of the worst-scoring corpus scenes: what to fix first, as pictures.

Reads the scene analyses of every shard (the configured detector's), takes the ``count``
lowest scene scores (scenes without a mug are not scored and never ranked), and renders each
one's card with the configured renderer: drawn locally by default, or by Templated.io
(``MUGPOS_TEMPLATED_*``), whose cards stay at Templated's URLs. Local cards are written to
``<home>/cards/<detector>/``; an ``index.json`` beside them lists every card.
"""

import base64
import io
import json
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
from PIL import Image

from mugpos.analysis import AnalysisResult
from mugpos.cards import build_card, renderer_from_settings
from mugpos.corpus import CORPUS_SCHEMA, SHARDS, read_table
from mugpos.images import decode_image
from mugpos.scene_analyses import ANALYSES_SCHEMA
from mugpos_assets.assets.analyses import analyses_path
from mugpos_assets.resources import CorpusResource, ModelStoreResource

PREVIEWS = 2
PREVIEW_WIDTH = 560


class CardsConfig(dg.Config):
    count: int = 8


def worst_rows(corpus: CorpusResource, model_id: str, count: int) -> list[dict[str, object]]:
    rows = []
    for shard in SHARDS:
        path = analyses_path(corpus, model_id, shard)
        if path.is_file():
            table = pq.read_table(path)
            if table.schema.equals(ANALYSES_SCHEMA):
                rows += [r for r in table.to_pylist() if r["scene_score"] is not None]
    rows.sort(key=lambda r: (float(r["scene_score"]), str(r["sha256"])))  # type: ignore[arg-type]
    return rows[:count]


def image_paths(corpus: CorpusResource) -> dict[str, dict[str, str]]:
    layout = corpus.layout()
    out = {}
    for shard in SHARDS:
        table = read_table(layout.shard_table(shard), CORPUS_SCHEMA)
        for r in table.select(["sha256", "path", "source_key"]).to_pylist():
            out[r["sha256"]] = r
    return out


@dg.asset(
    group_name="analyses",
    deps=["scene_analyses"],
    kinds={"python", "png"},
    owners=["team:ml-platform"],
    description="Report cards (score, verdict, violations, moves, annotated photo) of the "
    "worst-scoring scenes, from the local renderer or Templated.io.",
)
def worst_scene_cards(
    context: dg.AssetExecutionContext,
    config: CardsConfig,
    corpus: CorpusResource,
    model_store: ModelStoreResource,
) -> dg.MaterializeResult:
    detector = model_store.settings().detector
    settings = corpus.settings()  # the platform's home (the model store may live elsewhere)
    renderer = renderer_from_settings(settings)
    rows = worst_rows(corpus, detector, config.count)
    sources = image_paths(corpus)
    out_dir = settings.home / "cards" / detector
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.png"):
        old.unlink()
    index, previews = [], []
    for rank, row in enumerate(rows, 1):
        src = sources.get(str(row["sha256"]))
        if src is None:
            context.log.warning(f"{row['sha256']}: analysed but no longer in the corpus")
            continue
        name = src["source_key"] or Path(src["path"]).name
        result = AnalysisResult.model_validate_json(str(row["analysis_json"]))
        footer = f"{row['model_id']} {row['model_version']} · corpus shard {row['shard']}"
        card = build_card(decode_image(src["path"]).pixels, result, title=name, footer=footer)
        rendered = renderer.render(card)
        entry: dict[str, object] = {
            "rank": rank,
            "sha256": row["sha256"],
            "name": name,
            "scene_score": row["scene_score"],
            "verdict": card.verdict,
            "renderer": rendered.renderer,
        }
        if rendered.content is not None:
            path = out_dir / f"{rank:02d}-{str(row['sha256'])[:12]}.png"
            path.write_bytes(rendered.content)
            entry["path"] = str(path)
            if len(previews) < PREVIEWS:
                previews.append(
                    f"**{rank}. {name}**: {card.verdict}\n\n{_preview(rendered.content)}"
                )
        else:
            entry["url"] = rendered.url
            previews.append(f"**{rank}. {name}**: [{card.verdict}]({rendered.url})")
        index.append(entry)
    (out_dir / "index.json").write_text(json.dumps(index, indent=2))
    table = "| rank | scene | score | verdict |\n|---|---|---|---|\n" + "\n".join(
        f"| {e['rank']} | {e['name']} | {e['scene_score']:.1f} | {e['verdict']} |" for e in index
    )
    return dg.MaterializeResult(
        metadata={
            "cards": len(index),
            "renderer": renderer.name,
            "directory": dg.MetadataValue.path(str(out_dir)),
            "worst": dg.MetadataValue.md(table if index else "no scored scene yet"),
            "previews": dg.MetadataValue.md("\n\n".join(previews) or "—"),
        }
    )


def _preview(png: bytes) -> str:
    """A small JPEG of a card, inline (asset metadata must stay small)."""
    img = Image.open(io.BytesIO(png)).convert("RGB")
    img.thumbnail((PREVIEW_WIDTH, PREVIEW_WIDTH))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=70)
    return f"![card](data:image/jpeg;base64,{base64.b64encode(buf.getvalue()).decode()})"
