"""Fixed-capacity circular buffer that overwrites the oldest item when full.

Useful for "last N log lines" or sliding-window metrics where memory must
stay bounded. Storage is a preallocated list plus a head index and a count,
so appends never allocate.
"""
from typing import Generic, Iterator, List, Optional, TypeVar

T = TypeVar("T")


class RingBuffer(Generic[T]):
    __slots__ = ("_slots", "_head", "_count")

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._slots: List[Optional[T]] = [None] * capacity
        self._head = 0   # index of the oldest element
        self._count = 0

    @property
    def capacity(self) -> int:
        return len(self._slots)

    def is_full(self) -> bool:
        return self._count == len(self._slots)

    def append(self, item: T) -> Optional[T]:
        """Add ``item``; return the evicted element if the buffer was full."""
        cap = len(self._slots)
        tail = (self._head + self._count) % cap
        evicted = None
        if self._count == cap:
            evicted = self._slots[tail]          # tail == head when full
            self._head = (self._head + 1) % cap
        else:
            self._count += 1
        self._slots[tail] = item
        return evicted

    def popleft(self) -> T:
        if not self._count:
            raise IndexError("pop from empty RingBuffer")
        item = self._slots[self._head]
        self._slots[self._head] = None           # drop reference for the GC
        self._head = (self._head + 1) % len(self._slots)
        self._count -= 1
        return item  # type: ignore[return-value]

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[T]:
        cap = len(self._slots)
        for offset in range(self._count):
            yield self._slots[(self._head + offset) % cap]  # type: ignore[misc]

    def __getitem__(self, index: int) -> T:
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError("RingBuffer index out of range")
        return self._slots[(self._head + index) % len(self._slots)]  # type: ignore[return-value]


if __name__ == "__main__":
    window: RingBuffer[float] = RingBuffer(3)
    for reading in [10.0, 12.5, 11.0, 14.0, 9.5]:
        dropped = window.append(reading)
        avg = sum(window) / len(window)
        print(f"in={reading:5} dropped={dropped} avg={avg:.2f} -> {list(window)}")
    print(window.popleft(), window[-1], len(window))
