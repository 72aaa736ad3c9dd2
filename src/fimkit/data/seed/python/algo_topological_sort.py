"""Kahn's algorithm for topological ordering.

We prefer Kahn's algorithm over DFS post-order here because it naturally
reports *which* nodes are stuck when a cycle exists, which is the
information a build tool actually wants to show the user.
"""
from collections import defaultdict, deque
import heapq


class CycleError(ValueError):
    def __init__(self, remaining):
        super().__init__(f"dependency cycle among: {sorted(map(str, remaining))}")
        self.remaining = remaining


def toposort(edges, nodes=(), deterministic=True):
    """Order nodes so that for every edge (a, b), a comes before b.

    ``edges`` is an iterable of (before, after) pairs. Extra isolated nodes
    may be supplied via ``nodes``. With ``deterministic=True`` ties are
    broken by sorting, which keeps output stable across runs (useful for
    reproducible builds) at the cost of a log factor.
    """
    successors = defaultdict(set)
    indegree = defaultdict(int)
    for n in nodes:
        indegree.setdefault(n, 0)
    for before, after in edges:
        indegree.setdefault(before, 0)
        if after not in successors[before]:
            successors[before].add(after)
            indegree[after] += 1

    ready = [n for n, deg in indegree.items() if deg == 0]
    if deterministic:
        heapq.heapify(ready)
        pop, push = heapq.heappop, heapq.heappush
    else:
        ready = deque(ready)
        pop, push = deque.popleft, deque.append

    order = []
    while ready:
        node = pop(ready)
        order.append(node)
        for nxt in successors[node]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                push(ready, nxt)

    if len(order) != len(indegree):
        stuck = {n for n, deg in indegree.items() if deg > 0}
        raise CycleError(stuck)
    return order


if __name__ == "__main__":
    steps = [
        ("fetch", "configure"),
        ("configure", "compile"),
        ("compile", "test"),
        ("compile", "package"),
        ("test", "release"),
        ("package", "release"),
    ]
    print(toposort(steps, nodes=["docs"]))
    try:
        toposort(steps + [("release", "fetch")])
    except CycleError as exc:
        print("error:", exc)
