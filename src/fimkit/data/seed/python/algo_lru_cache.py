"""A bounded least-recently-used cache.

``collections.OrderedDict`` already maintains a doubly linked list under
the hood, and ``move_to_end`` / ``popitem(last=False)`` are O(1), so we get
the classic hash-map-plus-linked-list design without writing the list.
"""
from collections import OrderedDict
from threading import Lock
from typing import Generic, Hashable, Optional, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_MISSING = object()


class LRUCache(Generic[K, V]):
    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        self.capacity = capacity
        self._data: "OrderedDict[K, V]" = OrderedDict()
        # OrderedDict mutations are not atomic as a group; a lock keeps
        # get() + move_to_end() consistent when shared across threads.
        self._lock = Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: K, default: Optional[V] = None) -> Optional[V]:
        with self._lock:
            value = self._data.get(key, _MISSING)
            if value is _MISSING:
                self.misses += 1
                return default
            self._data.move_to_end(key)
            self.hits += 1
            return value  # type: ignore[return-value]

    def put(self, key: K, value: V) -> None:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
            self._data[key] = value
            if len(self._data) > self.capacity:
                self._data.popitem(last=False)  # evict least recently used

    def __contains__(self, key: object) -> bool:
        # Deliberately does not count as a "use": peeking shouldn't reorder.
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        keys = list(self._data)
        return f"LRUCache(capacity={self.capacity}, keys={keys})"


if __name__ == "__main__":
    cache: LRUCache[str, int] = LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.get("a")          # a is now most recent
    cache.put("c", 3)       # evicts b
    print(cache, "b" in cache)
    print("hit ratio:", cache.hits / (cache.hits + cache.misses))
