"""Freshness: an inbox sensor, a nightly re-embedding schedule, and eager downstream updates.

Both the sensor and the schedule ask one question — which shards' image sets differ from what
the corpus holds — and request runs only for those shards. The sensor answers it cheaply from a
cursor of (key, size) pairs; the schedule re-hashes everything, so it also catches files
rewritten in place with the same size.
"""

import json

import dagster as dg

from mugpos.corpus import (
    CORPUS_SCHEMA,
    REJECT_SCHEMA,
    SHARDS,
    image_objects,
    read_table,
    shard_of,
    source_keys,
)
from mugpos.images import sha256_bytes
from mugpos.objectstore.base import ObjectStore
from mugpos_assets.resources import CorpusResource

SHARD_ASSETS = [
    dg.AssetKey("image_corpus"),
    dg.AssetKey("image_embeddings"),
    dg.AssetKey("scene_analyses"),
]

shard_refresh_job = dg.define_asset_job(
    "shard_refresh",
    selection=dg.AssetSelection.assets(*SHARD_ASSETS),
    description="Re-ingest, re-analyse and re-embed one shard of the corpus.",
)


def source_shards(source: ObjectStore) -> dict[str, set[str]]:
    """sha256 sets per shard of everything in the source (reads every object)."""
    shards: dict[str, set[str]] = {s: set() for s in SHARDS}
    for key in source_keys(source):
        digest = sha256_bytes(source.get_bytes(key))
        shards[shard_of(digest)].add(digest)
    return shards


def ingested_shards(corpus: CorpusResource) -> dict[str, set[str]]:
    """sha256 sets per shard that the corpus holds (accepted and rejected alike)."""
    layout = corpus.layout()
    out: dict[str, set[str]] = {}
    for shard in SHARDS:
        shas = set(
            read_table(layout.shard_table(shard), CORPUS_SCHEMA).column("sha256").to_pylist()
        )
        rejects = read_table(layout.reject_table(shard), REJECT_SCHEMA)
        shas |= {s for s in rejects.column("sha256").to_pylist() if s}
        out[shard] = shas
    return out


def changed_shards(corpus: CorpusResource) -> list[str]:
    current = source_shards(corpus.source_store())
    held = ingested_shards(corpus)
    return [s for s in SHARDS if current[s] != held[s]]


@dg.schedule(
    job=shard_refresh_job,
    cron_schedule="0 2 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Nightly: re-hash the whole source and refresh (re-ingest, re-analyse, re-embed) "
    "every shard whose images changed.",
)
def nightly_reembed(context: dg.ScheduleEvaluationContext, corpus: CorpusResource):  # type: ignore[no-untyped-def]
    shards = changed_shards(corpus)
    if not shards:
        return dg.SkipReason("no shard changed since the last ingest")
    context.log.info(f"shards with changed images: {', '.join(shards)}")
    tick = context.scheduled_execution_time.strftime("%Y%m%d")
    return [dg.RunRequest(run_key=f"nightly-{tick}-{s}", partition_key=s) for s in shards]


@dg.sensor(
    job=shard_refresh_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Watches the inbox (a directory or S3 prefix): new, changed or removed images "
    "trigger a refresh of the shards they belong to.",
)
def inbox_sensor(context: dg.SensorEvaluationContext, corpus: CorpusResource):  # type: ignore[no-untyped-def]
    source = corpus.source_store()
    first_tick = not context.cursor
    known: dict[str, list] = json.loads(context.cursor) if context.cursor else {}
    listing = {o.key: o.size for o in image_objects(source)}
    shards: set[str] = set()
    state: dict[str, list] = {}
    for key, size in listing.items():
        if key in known and known[key][0] == size:
            state[key] = known[key]
            continue
        digest = sha256_bytes(source.get_bytes(key))
        state[key] = [size, digest]
        shards.add(shard_of(digest))
        if key in known:  # rewritten: its old shard loses an image
            shards.add(shard_of(known[key][1]))
    for key in known.keys() - listing.keys():
        shards.add(shard_of(known[key][1]))
    if first_tick:  # no cursor yet: compare with what the corpus already holds
        held = ingested_shards(corpus)
        current: dict[str, set[str]] = {s: set() for s in SHARDS}
        for _size, digest in state.values():
            current[shard_of(digest)].add(digest)
        shards = {s for s in SHARDS if current[s] != held[s]}
    context.update_cursor(json.dumps(state))
    if not shards:
        return dg.SkipReason(f"inbox unchanged ({len(listing)} images)")
    context.log.info(f"inbox changed: refreshing shards {', '.join(sorted(shards))}")
    stamp = sha256_bytes(json.dumps(state, sort_keys=True).encode())[:12]
    return [dg.RunRequest(run_key=f"inbox-{stamp}-{s}", partition_key=s) for s in sorted(shards)]


freshness_automation = dg.AutomationConditionSensorDefinition(
    "freshness_automation",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Evaluates the assets' automation conditions: the vector index follows new "
    "embeddings eagerly, and a model version change re-analyses and re-embeds every shard.",
)
