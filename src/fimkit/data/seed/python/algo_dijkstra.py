"""Single-source shortest paths on graphs with non-negative edge weights."""
from __future__ import annotations

import heapq
import math
from typing import Dict, Hashable, List, Mapping, Optional, Tuple

WeightedGraph = Mapping[Hashable, Mapping[Hashable, float]]


def dijkstra(
    graph: WeightedGraph, source: Hashable
) -> Tuple[Dict[Hashable, float], Dict[Hashable, Hashable]]:
    """Compute distances and predecessor links from ``source``.

    Uses a binary heap with lazy deletion: instead of a decrease-key
    operation (which ``heapq`` lacks) we push a fresh entry and skip stale
    ones when they surface. The heap may hold duplicates, but the total
    work stays O((V + E) log V).
    """
    dist: Dict[Hashable, float] = {source: 0.0}
    prev: Dict[Hashable, Hashable] = {}
    settled = set()
    # The counter breaks ties so heapq never has to compare vertices,
    # which may not be orderable (e.g. mixed types or custom objects).
    counter = 0
    heap: List[Tuple[float, int, Hashable]] = [(0.0, counter, source)]

    while heap:
        d, _, u = heapq.heappop(heap)
        if u in settled:
            continue
        settled.add(u)
        for v, weight in graph.get(u, {}).items():
            if weight < 0:
                raise ValueError(f"negative edge {u!r}->{v!r}: {weight}")
            candidate = d + weight
            if candidate < dist.get(v, math.inf):
                dist[v] = candidate
                prev[v] = u
                counter += 1
                heapq.heappush(heap, (candidate, counter, v))
    return dist, prev


def reconstruct(prev: Dict[Hashable, Hashable], source: Hashable, target: Hashable) -> Optional[list]:
    if target != source and target not in prev:
        return None
    route = [target]
    while route[-1] != source:
        route.append(prev[route[-1]])
    return route[::-1]


if __name__ == "__main__":
    roads = {
        "A": {"B": 4, "C": 2},
        "B": {"C": 5, "D": 10},
        "C": {"E": 3},
        "E": {"D": 4},
        "D": {},
    }
    distances, predecessors = dijkstra(roads, "A")
    for city in sorted(distances):
        print(city, distances[city], reconstruct(predecessors, "A", city))
