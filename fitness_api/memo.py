"""A small per-process cache with a time-to-live and a size bound (API keys, served plans)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Entries live ``ttl_s`` seconds; when ``max_entries`` is reached the cache starts over.

    Starting over (rather than LRU bookkeeping on every hit) keeps hits at one dict lookup; a
    ``ttl_s`` of 0 disables the cache.
    """

    def __init__(self, ttl_s: float, max_entries: int) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: dict[K, tuple[V, float]] = {}

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def put(self, key: K, value: V) -> None:
        if self.ttl_s <= 0:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (value, time.monotonic() + self.ttl_s)

    def discard_where(self, doomed: Callable[[K, V], bool]) -> int:
        """Drop the entries for which ``doomed(key, value)`` holds; returns how many."""
        keys = [key for key, (value, _) in self._entries.items() if doomed(key, value)]
        for key in keys:
            del self._entries[key]
        return len(keys)

    def __len__(self) -> int:
        return len(self._entries)
