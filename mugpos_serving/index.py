"""The corpus vector index as the API sees it: opened lazily, refreshed, never fatal.

Search and similar scenes are extras of a position request: an index that is missing,
unreachable or not queryable yet makes search answer 503 and similar scenes a note (and
``/readyz`` say degraded) while positioning goes on.
The embedded index is refreshed on each poll, so vectors the Dagster embedding assets save
become searchable without a restart.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from mugpos.vectorindex import VectorIndex, open_vector_index
from mugpos_serving.errors import ServiceUnavailable

log = logging.getLogger(__name__)


class IndexHolder:
    def __init__(self, location: str) -> None:
        self.location = location
        self.index: VectorIndex | None = None
        self.error: str | None = None
        self._lock = threading.Lock()

    def open(self) -> None:
        with self._lock:
            if self.index is not None:
                return
            try:
                self.index = open_vector_index(self.location)
                self.error = None
            except Exception as exc:  # noqa: BLE001 - reported in /readyz, retried on poll
                self.error = f"{type(exc).__name__}: {exc}"
                log.warning("vector index unavailable: %s", self.error)

    def refresh(self) -> None:
        """Open if not yet open; pick up a newer saved version of the embedded index."""
        if self.index is None:
            self.open()
            return
        refresh = getattr(self.index, "refresh", None)
        if refresh is None:
            return
        try:
            refresh()
            self.error = None
        except Exception as exc:  # noqa: BLE001 - keep the loaded version, say why
            self.error = f"refresh failed: {type(exc).__name__}: {exc}"

    def get(self) -> VectorIndex:
        if self.index is None:
            raise ServiceUnavailable(
                "the vector index is unavailable", details={"reason": self.error or "not open"}
            )
        return self.index

    @property
    def version(self) -> str | None:
        """Saved version of the embedded index (part of the cache key of similar scenes)."""
        return getattr(self.index, "version", None)

    def describe(self) -> dict[str, Any]:
        if self.index is None:
            return {"state": "unavailable", "error": self.error}
        try:
            count = self.index.count()
        except Exception as exc:  # noqa: BLE001
            return {"state": "unavailable", "error": f"{type(exc).__name__}: {exc}"}
        out: dict[str, Any] = {"state": "ok" if count else "empty", "vectors": count}
        search_status = getattr(self.index, "search_status", None)
        if search_status is not None:  # Atlas: is the search index answering, and how fresh
            try:
                status, queryable = search_status()
            except Exception as exc:  # noqa: BLE001
                return {"state": "unavailable", "error": f"{type(exc).__name__}: {exc}"}
            out["search_status"], out["queryable"] = status, queryable
            if not queryable:
                out["state"] = "not_queryable"
            elif status == "STALE":
                out["state"] = "stale"  # answers, but no longer replicating: out of date
        out["error"] = self.error
        return out

    def close(self) -> None:
        if self.index is not None:
            self.index.close()
