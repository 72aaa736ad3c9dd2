"""Adapting to a repository: base vs adapted on held-out code of the same repository, per repository,
through ``fimkit adapt`` itself (the same split, training, adapter and paired evaluation a user gets).

    .venv/bin/python benchmarks/bench_adapt.py                       # huggingface_hub and peft, ~2 hours on 2 cores
    .venv/bin/python benchmarks/bench_adapt.py --repo PATH --minutes 10 --holes 100

Prints, per repository: exact match and edit similarity of the base and the adapted model with
paired 95% intervals, the relative exact-match gain against the issue's goal (+25%), HumanEval
single-line (forgetting), training minutes and tokens, the adapter's size. Run folders are kept
under --work, so an interrupted benchmark resumes.
"""

from __future__ import annotations

import argparse
import sysconfig
from pathlib import Path

from fimkit.adapt.config import AdaptConfig
from fimkit.adapt.run import run_adapt

GOAL = 0.25  # relative exact-match gain over the base on held-out files


def row(name: str, summary: dict) -> str:
    em, es = summary["heldout"]["exact_match"], summary["heldout"]["edit_similarity"]
    he = summary["general"].get("pass@1")
    t = summary["training"]
    rel = em["relative"]
    rel_text = "-" if rel is None else f"{100 * rel:+.0f}% ({'met' if rel >= GOAL and em['verdict'] == 'better' else 'not met'})"
    he_text = "-" if not he else f"{100 * he['base']:.1f}% -> {100 * he['adapted']:.1f}% ({100 * he['ci_low']:+.1f} to {100 * he['ci_high']:+.1f})"
    return (f"| {name} | {em['tasks']} | {100 * em['base']:.1f}% -> {100 * em['adapted']:.1f}% "
            f"({100 * em['ci_low']:+.1f} to {100 * em['ci_high']:+.1f}) | {rel_text} | "
            f"{es['base']:.3f} -> {es['adapted']:.3f} ({es['ci_low']:+.3f} to {es['ci_high']:+.3f}) | {he_text} | "
            f"{(t['train_seconds'] or 0) / 60:.1f} min, {t['tokens']} tokens | {summary['served_bytes'] / 1e6:.1f} MB | "
            f"{summary['recommended']} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    site = Path(sysconfig.get_paths()["purelib"])
    ap.add_argument("--repo", action="append", help="a repository folder (repeatable; default: two installed packages)")
    ap.add_argument("--work", default="bench-adapt", help="where the run folders go (resumed when present)")
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--holes", type=int, default=200)
    ap.add_argument("--general-tasks", type=int, default=200)
    args = ap.parse_args()
    repos = args.repo or [str(site / "huggingface_hub"), str(site / "peft")]
    lines = ["| repository | holes | exact match base -> adapted (paired 95% CI) | relative gain (goal +25%) | "
             "edit similarity | HumanEval single-line pass@1 | training | adapter | recommended |",
             "|---|---|---|---|---|---|---|---|---|"]
    for repo in repos:
        name = Path(repo).name
        # Small packages hold out a larger share of files, so 200 holes still come from held-out files only.
        config = AdaptConfig(minutes=args.minutes, holes=args.holes, general_tasks=args.general_tasks,
                             heldout_fraction=0.2 if sum(1 for _ in Path(repo).rglob("*.py")) > 120 else 0.3)
        summary = run_adapt([repo], Path(args.work) / name, config, log=lambda m, name=name: print(f"[{name}] {m}", flush=True))
        lines.append(row(name, summary))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
