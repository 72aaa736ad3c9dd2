"""Paired comparison of two `fimkit eval` output folders on the tasks both ran (for example the same
benchmark before and after a change, each run by its own version of fimkit):

    .venv/bin/python benchmarks/compare_runs.py reports/before reports/after

Prints exact match, edit similarity and "parses" per hole kind and overall, with the paired
difference (after - before) and its 95% bootstrap interval.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from common import print_table

from fimkit.eval.metrics import paired_difference_ci


def load(folder: str) -> dict[str, dict]:
    rows = {}
    for line in (Path(folder) / "results.jsonl").read_text().splitlines():
        row = json.loads(line)
        rows[row["task_id"]] = row
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before")
    ap.add_argument("after")
    args = ap.parse_args()
    before, after = load(args.before), load(args.after)
    common = sorted(set(before) & set(after))
    groups = defaultdict(list)
    for task in common:
        groups[before[task]["kind"] or before[task]["lines"]].append(task)
        groups["all"].append(task)
    rows = []
    for kind, tasks in sorted(groups.items(), key=lambda kv: (kv[0] == "all", kv[0])):
        for metric, key in (("exact match", "exact"), ("edit similarity", "edit_sim"), ("parses", "parses")):
            pairs = [(before[t][key], after[t][key]) for t in tasks if before[t][key] is not None and after[t][key] is not None]
            if not pairs:
                continue
            a, b = [float(x) for x, _ in pairs], [float(y) for _, y in pairs]
            lo, hi = paired_difference_ci(b, a)  # after - before
            rows.append((f"{kind} ({len(pairs)}): {metric}", f"{sum(a) / len(a):.3f} -> {sum(b) / len(b):.3f}",
                         f"{sum(b) / len(b) - sum(a) / len(a):+.3f} (95% CI {lo:+.3f} to {hi:+.3f})"))
    print_table(rows, ("tasks: metric", "before -> after", "paired difference"))


if __name__ == "__main__":
    main()
