"""Unweighted shortest paths via breadth-first search.

BFS visits vertices in non-decreasing distance from the source, so the first
time we reach a vertex we have already found a shortest path to it. That lets
us record a single parent pointer per vertex and rebuild the route later.
"""
from collections import deque
from typing import Dict, Hashable, Iterable, List, Mapping, Optional

Graph = Mapping[Hashable, Iterable[Hashable]]


def bfs_parents(graph: Graph, source: Hashable) -> Dict[Hashable, Optional[Hashable]]:
    """Return a parent map for every vertex reachable from ``source``."""
    parents: Dict[Hashable, Optional[Hashable]] = {source: None}
    frontier = deque([source])
    while frontier:
        node = frontier.popleft()
        for neighbour in graph.get(node, ()):
            # Membership in ``parents`` doubles as the "visited" set.
            if neighbour not in parents:
                parents[neighbour] = node
                frontier.append(neighbour)
    return parents


def shortest_path(graph: Graph, source: Hashable, target: Hashable) -> Optional[List[Hashable]]:
    """Return one shortest path from ``source`` to ``target`` or ``None``.

    >>> g = {"a": ["b", "c"], "b": ["d"], "c": ["d"], "d": ["e"]}
    >>> shortest_path(g, "a", "e")
    ['a', 'b', 'd', 'e']
    >>> shortest_path(g, "e", "a") is None
    True
    """
    parents = bfs_parents(graph, source)
    if target not in parents:
        return None
    path = []
    cursor: Optional[Hashable] = target
    while cursor is not None:
        path.append(cursor)
        cursor = parents[cursor]
    path.reverse()
    return path


def distances(graph: Graph, source: Hashable) -> Dict[Hashable, int]:
    """Hop count from ``source`` to each reachable vertex."""
    dist = {source: 0}
    queue = deque([source])
    while queue:
        current = queue.popleft()
        for nxt in graph.get(current, ()):
            if nxt not in dist:
                dist[nxt] = dist[current] + 1
                queue.append(nxt)
    return dist


if __name__ == "__main__":
    import doctest

    doctest.testmod()
    grid_graph = {0: [1, 3], 1: [2], 2: [5], 3: [4], 4: [5], 5: []}
    print(distances(grid_graph, 0))
