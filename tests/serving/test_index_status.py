"""What /readyz says about an Atlas index: its search status, read without waiting."""

from __future__ import annotations

from typing import Any

import pytest

from mugpos.vectorindex import atlas_queries as q
from mugpos.vectorindex.atlas import AtlasVectorIndex
from mugpos_serving.index import IndexHolder


class Meta:
    def find_one(self, query: dict[str, Any]) -> dict[str, Any] | None:
        return {"_id": query["_id"], "version": "v7"}


class Database:
    name = "db"

    def __getitem__(self, name: str) -> Meta:
        return Meta()


class Collection:
    """The documented ``list_search_indexes`` answer for one index in a given state."""

    name = "vecs"

    def __init__(self, status: str, queryable: bool) -> None:
        self.database = Database()
        self.info = {"name": "vidx", "status": status, "queryable": queryable,
                     "latestDefinition": q.index_definition(4)}  # fmt: skip

    def list_search_indexes(self, name: str) -> list[dict[str, Any]]:
        return [self.info]

    def count_documents(self, query: dict[str, Any]) -> int:
        return 12


@pytest.mark.parametrize(
    "status, queryable, state",
    [("READY", True, "ok"), ("BUILDING", True, "ok"), ("STALE", True, "stale"),
     ("PENDING", False, "not_queryable"), ("FAILED", False, "not_queryable")],
)  # fmt: skip
def test_readyz_index_check_reports_the_search_status(
    status: str, queryable: bool, state: str
) -> None:
    holder = IndexHolder("mongodb+srv://unused")
    holder.index = AtlasVectorIndex(Collection(status, queryable), index_name="vidx")  # type: ignore[arg-type]
    holder.refresh()
    described = holder.describe()
    assert described["state"] == state and described["search_status"] == status
    assert described["queryable"] is queryable and described["vectors"] == 12
    assert holder.version == "v7"  # the cache key of similar scenes follows the index
