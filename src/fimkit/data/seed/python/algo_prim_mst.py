"""Prim's minimum spanning tree over an adjacency-list graph.

Prim grows a single tree outward from a start vertex, always taking the
cheapest edge that leaves the tree. It suits dense graphs stored as
adjacency lists better than Kruskal, which needs a global edge sort.
"""
import heapq
from dataclasses import dataclass, field


@dataclass
class UndirectedGraph:
    adj: dict = field(default_factory=dict)

    def connect(self, a, b, cost):
        self.adj.setdefault(a, []).append((cost, b))
        self.adj.setdefault(b, []).append((cost, a))

    def vertices(self):
        return self.adj.keys()


def prim(graph, start=None):
    """Return (total_cost, edges) for the tree containing ``start``."""
    if not graph.adj:
        return 0, []
    if start is None:
        start = next(iter(graph.vertices()))

    in_tree = {start}
    frontier = [(cost, start, nbr) for cost, nbr in graph.adj[start]]
    heapq.heapify(frontier)
    picked = []
    total = 0

    while frontier and len(in_tree) < len(graph.adj):
        cost, src, dst = heapq.heappop(frontier)
        if dst in in_tree:
            continue  # stale entry: dst was reached more cheaply already
        in_tree.add(dst)
        picked.append((src, dst, cost))
        total += cost
        for next_cost, nxt in graph.adj[dst]:
            if nxt not in in_tree:
                heapq.heappush(frontier, (next_cost, dst, nxt))
    return total, picked


if __name__ == "__main__":
    g = UndirectedGraph()
    for a, b, w in [("a", "b", 2), ("a", "d", 6), ("b", "c", 3), ("b", "d", 8),
                    ("b", "e", 5), ("c", "e", 7), ("d", "e", 9)]:
        g.connect(a, b, w)
    cost, edges = prim(g, "a")
    print("cost", cost)
    for e in edges:
        print(*e)
