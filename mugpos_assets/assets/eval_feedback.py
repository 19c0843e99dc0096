"""Feedback labels: API feedback (corrected boxes, confirmed answers, moved mugs) turned into
evaluation examples; schema and precedence in :mod:`evaluation.feedback`."""

from pathlib import Path

import dagster as dg
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from evaluation.feedback import FEEDBACK, collect_labels, feedback_dataset
from evaluation.paths import eval_root
from mugpos.corpus import CorpusLayout
from mugpos.errors import ImageError
from mugpos.images import decode_image
from mugpos_assets.assets.eval_datasets import EVAL_GROUP, eval_key, write_dataset
from mugpos_assets.resources import CorpusResource, DocumentStoreResource

ANALYSES = "analyses"


class FeedbackConfig(dg.Config):
    """``images_dir``: extra folder of ``<sha256>.<ext>`` images (the API does not keep
    images; the corpus is searched first)."""

    images_dir: str | None = None


def image_finder(layout: CorpusLayout, extra: Path | None):  # type: ignore[no-untyped-def]
    """Look an image up by sha256 in the corpus' content-addressed store, then ``extra``."""

    def find(sha: str) -> np.ndarray | None:
        candidates = list((layout.root / "images" / sha[:2]).glob(f"{sha}.*"))
        if extra is not None:
            candidates += list(extra.glob(f"{sha}.*"))
        for path in candidates:
            try:
                return decode_image(path.read_bytes()).pixels
            except (ImageError, OSError):  # an unreadable file is as good as none
                continue
        return None

    return find


@dg.asset(
    key=eval_key("feedback_labels"),
    group_name=EVAL_GROUP,
    kinds={"python", "parquet", "sqlite"},
    owners=["team:ml-platform"],
    description="Ground truth from API feedback: every usable feedback document as a label "
    "(labels.parquet), and those whose image is found as the 'feedback' evaluation set.",
)
def feedback_labels(
    context: dg.AssetExecutionContext,
    config: FeedbackConfig,
    documents: DocumentStoreResource,
    corpus: CorpusResource,
) -> dg.MaterializeResult:
    with documents.open() as store:
        feedback = store.collection(FEEDBACK).find()
        analyses_coll = store.collection(ANALYSES)
        ids = {str(f.get("request_id") or f["_id"]) for f in feedback}
        analyses = {i: doc for i in ids if (doc := analyses_coll.get(i)) is not None}
    labels, skipped = collect_labels(feedback, analyses)
    out = eval_root(corpus.settings().home) / "feedback" / "labels.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist([lb.as_row() for lb in labels]), out)
    extra = Path(config.images_dir) if config.images_dir else None
    ds, missing = feedback_dataset(labels, image_finder(corpus.layout(), extra))
    result = write_dataset(context, corpus, ds)
    sources: dict[str, int] = {}
    for lb in labels:
        sources[lb.source] = sources.get(lb.source, 0) + 1
    meta = dict(result.metadata or {})
    meta.update(
        feedback_documents=len(feedback),
        labels=len(labels),
        labels_without_image=missing,
        skipped=dg.MetadataValue.json(dict(skipped)),
        by_source=dg.MetadataValue.json(sources),
        labels_path=dg.MetadataValue.path(str(out)),
    )
    return dg.MaterializeResult(metadata=meta, data_version=result.data_version)
