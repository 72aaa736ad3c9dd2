"""0/1 knapsack solved by dynamic programming over capacities."""
from dataclasses import dataclass
from typing import List, Sequence, Tuple


@dataclass(frozen=True)
class Item:
    name: str
    weight: int
    value: int


def knapsack(items: Sequence[Item], capacity: int) -> Tuple[int, List[Item]]:
    """Choose a subset of items maximising value within ``capacity``.

    ``best[c]`` holds the best value achievable with capacity ``c`` using the
    items processed so far. Iterating capacities *downwards* ensures each item
    is used at most once -- iterating upwards would turn this into the
    unbounded knapsack.

    To recover the chosen items without a full 2-D table of values, we keep a
    boolean ``took[i][c]`` matrix, which is cheaper than storing integers.
    """
    if capacity < 0:
        raise ValueError("capacity must be non-negative")
    best = [0] * (capacity + 1)
    took = [[False] * (capacity + 1) for _ in items]

    for idx, item in enumerate(items):
        for cap in range(capacity, item.weight - 1, -1):
            with_item = best[cap - item.weight] + item.value
            if with_item > best[cap]:
                best[cap] = with_item
                took[idx][cap] = True

    chosen = []
    cap = capacity
    for idx in range(len(items) - 1, -1, -1):
        if took[idx][cap]:
            chosen.append(items[idx])
            cap -= items[idx].weight
    chosen.reverse()
    return best[capacity], chosen


if __name__ == "__main__":
    gear = [
        Item("tent", 5, 60),
        Item("stove", 3, 50),
        Item("camera", 4, 70),
        Item("book", 2, 30),
        Item("jacket", 3, 40),
    ]
    total, picks = knapsack(gear, 10)
    print("value:", total)
    print("items:", [p.name for p in picks], "weight:", sum(p.weight for p in picks))
