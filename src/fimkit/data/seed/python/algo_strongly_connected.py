"""Strongly connected components with Tarjan's algorithm (iterative).

Tarjan finds all SCCs in one DFS pass by tracking, for each vertex, the
smallest discovery index reachable from its subtree (its "low-link").
A vertex whose low-link equals its own index is the root of an SCC, and
the component is everything above it on the auxiliary stack.

The recursion is unrolled into an explicit work stack so that graphs with
long chains do not hit Python's recursion limit.
"""
from typing import Dict, Hashable, Iterable, List, Mapping


def tarjan_scc(graph: Mapping[Hashable, Iterable[Hashable]]) -> List[List[Hashable]]:
    """Return SCCs in reverse topological order of the condensed graph."""
    index: Dict[Hashable, int] = {}
    low: Dict[Hashable, int] = {}
    on_stack = set()
    component_stack: List[Hashable] = []
    result: List[List[Hashable]] = []
    counter = 0

    for start in graph:
        if start in index:
            continue
        work = [(start, iter(graph.get(start, ())))]
        index[start] = low[start] = counter
        counter += 1
        component_stack.append(start)
        on_stack.add(start)

        while work:
            v, successors = work[-1]
            descended = False
            for w in successors:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    component_stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(graph.get(w, ()))))
                    descended = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if descended:
                continue
            # All successors of v handled: this is the "return" from v.
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
            if low[v] == index[v]:
                scc = []
                while True:
                    w = component_stack.pop()
                    on_stack.discard(w)
                    scc.append(w)
                    if w == v:
                        break
                result.append(scc)
    return result


if __name__ == "__main__":
    g = {
        1: [2], 2: [3], 3: [1, 4],
        4: [5], 5: [6], 6: [4, 7],
        7: [], 8: [7, 8],
    }
    for comp in tarjan_scc(g):
        print(sorted(comp))
    chain = {i: [i + 1] for i in range(5000)}
    print(len(tarjan_scc(chain)), "components in a 5001-node chain")
