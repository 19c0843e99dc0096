"""An in-process TTL + LRU cache: the embedded default when no Redis is configured."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from mugpos.cache.base import Cache


class MemoryCache(Cache):
    """Bounded by entry count and total bytes; the least recently used entries go first.

    Thread-safe (one lock): the API reads from the event loop and writes from worker threads.
    """

    backend = "memory"

    def __init__(self, max_items: int = 4096, max_bytes: int = 256 * 1024 * 1024) -> None:
        self.max_items = max_items
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        now = time.monotonic()
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            expires, value = item
            if expires <= now:
                self._drop(key)
                return None
            self._items.move_to_end(key)
            return value

    def set(self, key: str, value: bytes, ttl_s: float) -> None:
        if len(value) > self.max_bytes:
            return  # would evict everything else and still not fit
        with self._lock:
            if key in self._items:
                self._drop(key)
            self._items[key] = (time.monotonic() + ttl_s, value)
            self._bytes += len(value)
            while len(self._items) > self.max_items or self._bytes > self.max_bytes:
                self._drop(next(iter(self._items)))

    def _drop(self, key: str) -> None:
        _, value = self._items.pop(key)
        self._bytes -= len(value)

    def describe(self) -> dict[str, Any]:
        with self._lock:
            n, size = len(self._items), self._bytes
        return {"backend": self.backend, "healthy": True, "items": n, "bytes": size}

    def __len__(self) -> int:
        return len(self._items)
