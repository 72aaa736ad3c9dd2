"""Minimum spanning forest with Kruskal's algorithm.

Kruskal sorts edges once and greedily accepts any edge that joins two
different components. Component membership is tracked with a small inline
union-find so this module has no local dependencies.
"""
from typing import Iterable, List, NamedTuple


class Edge(NamedTuple):
    weight: float
    u: int
    v: int


def kruskal(vertex_count: int, edges: Iterable[Edge]) -> List[Edge]:
    """Return the edges of a minimum spanning forest.

    If the graph is disconnected the result spans each component separately
    and contains fewer than ``vertex_count - 1`` edges.
    """
    leader = list(range(vertex_count))
    rank = [0] * vertex_count

    def root(x: int) -> int:
        while leader[x] != x:
            leader[x] = leader[leader[x]]
            x = leader[x]
        return x

    chosen: List[Edge] = []
    # NamedTuple ordering compares weight first, exactly what we want.
    for edge in sorted(edges):
        ru, rv = root(edge.u), root(edge.v)
        if ru == rv:
            continue  # would close a cycle
        if rank[ru] < rank[rv]:
            ru, rv = rv, ru
        leader[rv] = ru
        if rank[ru] == rank[rv]:
            rank[ru] += 1
        chosen.append(edge)
        if len(chosen) == vertex_count - 1:
            break  # spanning tree complete; remaining edges are irrelevant
    return chosen


if __name__ == "__main__":
    network = [
        Edge(7, 0, 1), Edge(5, 0, 3), Edge(8, 1, 2), Edge(9, 1, 3),
        Edge(7, 1, 4), Edge(5, 2, 4), Edge(15, 3, 4), Edge(6, 3, 5),
        Edge(8, 4, 5), Edge(9, 4, 6), Edge(11, 5, 6),
    ]
    tree = kruskal(7, network)
    for e in tree:
        print(f"{e.u} - {e.v}  ({e.weight})")
    print("total weight:", sum(e.weight for e in tree))
