"""Cycle detection in a directed graph using an explicit-stack DFS.

A recursive DFS is the textbook approach, but Python's default recursion
limit (~1000) makes it fragile on long dependency chains. Here we keep our own
stack of (node, iterator) pairs so the depth is bounded only by memory.
"""

WHITE, GREY, BLACK = 0, 1, 2


def find_cycle(adjacency):
    """Return a list of nodes forming a cycle, or an empty list if acyclic.

    ``adjacency`` maps each node to an iterable of successors. Nodes that only
    appear as successors are treated as having no outgoing edges.
    """
    colour = {}
    parent = {}

    for root in adjacency:
        if colour.get(root, WHITE) != WHITE:
            continue
        colour[root] = GREY
        stack = [(root, iter(adjacency.get(root, ())))]
        while stack:
            node, children = stack[-1]
            advanced = False
            for child in children:
                state = colour.get(child, WHITE)
                if state == WHITE:
                    colour[child] = GREY
                    parent[child] = node
                    stack.append((child, iter(adjacency.get(child, ()))))
                    advanced = True
                    break
                if state == GREY:
                    # Back edge: walk parent pointers from node up to child.
                    cycle = [child]
                    walker = node
                    while walker != child:
                        cycle.append(walker)
                        walker = parent[walker]
                    cycle.append(child)
                    cycle.reverse()
                    return cycle
            if not advanced:
                colour[node] = BLACK
                stack.pop()
    return []


def is_acyclic(adjacency):
    return not find_cycle(adjacency)


if __name__ == "__main__":
    deps = {
        "app": ["lib", "log"],
        "lib": ["core"],
        "core": ["util"],
        "util": ["lib"],
        "log": [],
    }
    print("cycle:", " -> ".join(find_cycle(deps)))
    deps["util"] = []
    print("acyclic now?", is_acyclic(deps))
