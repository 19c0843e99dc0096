"""Partitions by shard (first hex digit of an image's sha256), never one per image."""

import dagster as dg

from mugpos.corpus import SHARDS

shard_partitions = dg.StaticPartitionsDefinition(list(SHARDS))
