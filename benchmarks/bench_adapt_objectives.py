"""Which training objective ``fimkit adapt`` should use: rows of the same repository, split, budget,
held-out holes and HumanEval tasks, differing only in the objective, the LoRA rank, the softmax, or full fine-tuning instead of LoRA.

    .venv/bin/python benchmarks/bench_adapt_objectives.py                 # peft, every row: ~1 hour a row on 2 cores
    .venv/bin/python benchmarks/bench_adapt_objectives.py --rows next-token,fim50 --repo PATH

Each row is a ``fimkit adapt`` run folder under --work (interrupted rows resume). The base model's
completions do not depend on the row (same split, seed and greedy decoding), so they are computed
once, by the first row that evaluates, and copied into the others' eval folders when their evaluation
starts. Prints, per row: exact match and edit similarity against the base with paired 95% intervals, the
paired exact-match difference against the reference row (``--reference``, default the first row asked
for), HumanEval single-line
pass@1 against the base, the training tokens reached within the budget, and adapt's verdict.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sysconfig
from pathlib import Path

from fimkit.adapt.config import AdaptConfig
from fimkit.adapt.report import paired
from fimkit.adapt.run import run_adapt
from fimkit.eval.runner import ResultLog

# Every row names its objective, method, rank and softmax (and full's learning rate, and the
# quantization of a merged model), so a row means the same when adapt's defaults change; the fim
# rows' softmax is always full.
ROWS = {
    "next-token": {"objective": "next-token", "method": "lora", "rank": 16, "softmax": "full"},
    "fim50": {"objective": "fim", "fim_rate": 0.5, "loss": "all", "method": "lora", "rank": 16,
              "quant": "q4_k_m"},
    "fim50-middle": {"objective": "fim", "fim_rate": 0.5, "loss": "middle", "method": "lora", "rank": 16,
                     "quant": "q8_0"},
    "fim90": {"objective": "fim", "fim_rate": 0.9, "loss": "all", "method": "lora", "rank": 16,
              "quant": "q8_0"},
    "rank64": {"objective": "next-token", "method": "lora", "rank": 64, "softmax": "full"},
    "rank64-seen": {"objective": "next-token", "method": "lora", "rank": 64, "softmax": "seen"},
    "full": {"objective": "next-token", "method": "full", "lr": 5e-5, "quant": "q4_k_m", "softmax": "full"},
    "full-q8": {"objective": "next-token", "method": "full", "lr": 5e-5, "quant": "q8_0", "softmax": "full"},
}
BASE = "gemma-3-270m:auto"


def seed_base_rows(folders: list[Path], folder: Path, stage: str) -> None:
    """Copy the base model's rows into ``folder`` before ``stage`` evaluates, from the first other
    row folder that has them (any row will do: the split and the base model are the same)."""
    name = {"eval": "eval", "general": "eval-general"}.get(stage)
    sources = [f for f in folders if f != folder and (f / name / "results.jsonl").is_file()] if name else []
    if not sources:
        return  # nothing to copy yet: this row computes them
    source = sources[0]
    if json.loads((source / "split.json").read_text()) != json.loads((folder / "split.json").read_text()):
        raise SystemExit(f"{folder} and {source} split the repository differently; their base rows differ")
    copy_base_rows(source / name, folder / name)


def copy_base_rows(source: Path, target: Path) -> None:
    """The base model's rows of the eval folder ``source`` into ``target``, unless it has results already."""
    if (target / "results.jsonl").is_file() or not (source / "results.jsonl").is_file():
        return
    target.mkdir(parents=True, exist_ok=True)
    rows = [line for line in (source / "results.jsonl").read_text().splitlines()
            if line.strip() and json.loads(line)["contender"] == BASE]
    (target / "results.jsonl").write_text("".join(r + "\n" for r in rows))


def adapted_rows(folder: Path, row: str) -> list:
    """The adapted model's held-out rows of one row's folder, relabelled with the row's name
    (every row's adapter has the same label inside its own folder)."""
    rows = ResultLog(folder / "eval" / "results.jsonl").rows.values()
    return [dataclasses.replace(r, contender=row) for r in rows if r.contender != BASE and r.kind != "accepted"]


def pct(block: dict | None) -> str:
    if not block:
        return "-"
    return (f"{100 * block['base']:.1f}% -> {100 * block['adapted']:.1f}% "
            f"({100 * block['ci_low']:+.1f} to {100 * block['ci_high']:+.1f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo", default=str(Path(sysconfig.get_paths()["purelib"]) / "peft"))
    ap.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated, from {', '.join(ROWS)}")
    ap.add_argument("--work", default="bench-adapt-objectives", help="where the run folders go (resumed when present)")
    ap.add_argument("--reference", help="the row the others are compared with, paired (default: the first of --rows)")
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--holes", type=int, default=200)
    ap.add_argument("--general-tasks", type=int, default=200)
    args = ap.parse_args()
    names = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = [r for r in names if r not in ROWS]
    if unknown or not names:
        raise SystemExit(f"--rows: unknown {unknown}; choose from {', '.join(ROWS)}")
    repo = Path(args.repo)
    folders = {r: Path(args.work) / f"{repo.name}-{r}" for r in names}
    ref = args.reference or names[0]
    if ref not in names:
        raise SystemExit(f"--reference: {ref!r} is not one of --rows ({', '.join(names)})")
    summaries = {}
    for r in names:
        config = AdaptConfig(minutes=args.minutes, holes=args.holes, general_tasks=args.general_tasks, **ROWS[r])

        def log(message: str, r=r) -> None:
            print(f"[{r}] {message}", flush=True)
            if message.startswith("== "):
                seed_base_rows(list(folders.values()), folders[r], message[3:])

        summaries[r] = run_adapt([str(repo)], folders[r], config, log=log)

    lines = [f"| row | exact match base -> row (paired 95% CI) | row - {ref} exact match (paired 95% CI) | "
             "edit similarity base -> row | HumanEval single-line pass@1 base -> row | training tokens (steps) | "
             "adapt's verdict |", "|---|---|---|---|---|---|---|"]
    reference_rows = adapted_rows(folders[ref], ref)
    for r in names:
        s = summaries[r]
        em, es = s["heldout"]["exact_match"], s["heldout"]["edit_similarity"]
        versus = paired(reference_rows + adapted_rows(folders[r], r), ref, r, "exact_match") if r != ref else None
        vs_text = "-" if versus is None else (f"{100 * versus['difference']:+.1f} "
                                              f"({100 * versus['ci_low']:+.1f} to {100 * versus['ci_high']:+.1f})")
        t = s["training"]
        lines.append(f"| {r} | {pct(em)} | {vs_text} | {es['base']:.3f} -> {es['adapted']:.3f} | "
                     f"{pct(s['general'].get('pass@1'))} | {t['tokens']} ({t['steps']}) | {s['recommended']} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
