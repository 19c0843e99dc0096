"""The cache interface: bytes by key with a TTL, and a health flag.

A cache is an optimisation, never a dependency: implementations swallow their backend's
failures (a miss on ``get``, nothing on ``set``) and report them through :meth:`Cache.healthy`,
so callers never branch on errors and a dead cache only costs the uncached path.
"""

from __future__ import annotations

import abc
from typing import Any


class Cache(abc.ABC):
    """Opaque byte values under string keys, each with its own time to live."""

    backend: str = "abstract"

    @abc.abstractmethod
    def get(self, key: str) -> bytes | None:
        """The value, or ``None`` when absent, expired or the backend is unreachable."""

    @abc.abstractmethod
    def set(self, key: str, value: bytes, ttl_s: float) -> None:
        """Store ``value`` for ``ttl_s`` seconds (best effort)."""

    def healthy(self) -> bool:
        """False while the backend is known to be unreachable (in-process caches: always True)."""
        return True

    def check(self) -> bool:
        """Like :meth:`healthy`, but may probe the backend (cheaply; used by readiness checks)."""
        return self.healthy()

    def describe(self) -> dict[str, Any]:
        """Backend and state for logs and health endpoints (no credentials)."""
        return {"backend": self.backend, "healthy": self.healthy()}

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


class NullCache(Cache):
    """Caching turned off: every lookup misses."""

    backend = "none"

    def get(self, key: str) -> bytes | None:
        return None

    def set(self, key: str, value: bytes, ttl_s: float) -> None:
        return None
