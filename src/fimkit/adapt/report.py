"""The verdict of ``fimkit adapt``: paired comparisons of base and adapted, and the recommendation.

The adapted model is recommended only when exact match on held-out holes cut from the user's code is
significantly higher (paired bootstrap 95% interval of the difference above zero) and HumanEval
single-line (general code) is not significantly lower; anything else keeps the base.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from fimkit.eval.metrics import paired_difference_ci
from fimkit.fileio import atomic_output

METRICS = {"exact_match": lambda r: float(r.exact), "edit_similarity": lambda r: r.edit_sim,
           "pass@1": lambda r: None if r.passed is None else float(r.passed)}


def paired(rows, base: str, adapted: str, metric: str, *, kind: str | None = None) -> dict | None:
    """Means of both sides and the paired 95% interval of adapted - base, over tasks both answered."""
    score = METRICS[metric]
    by: dict[str, dict[str, float]] = defaultdict(dict)
    for r in rows:
        if (kind is None or r.kind == kind) and r.sample == 0 and score(r) is not None:
            by[r.task_id][r.contender] = score(r)
    common = [t for t, s in by.items() if base in s and adapted in s]
    if not common:
        return None
    a = [by[t][adapted] for t in common]
    b = [by[t][base] for t in common]
    lo, hi = paired_difference_ci(a, b)
    mean_a, mean_b = sum(a) / len(a), sum(b) / len(b)
    return {"tasks": len(common), "base": mean_b, "adapted": mean_a, "difference": mean_a - mean_b,
            "ci_low": lo, "ci_high": hi,
            "relative": (mean_a - mean_b) / mean_b if mean_b else None,
            "verdict": "better" if lo > 0 else "worse" if hi < 0 else "no significant difference"}


def recommend(repo_rows, general_rows, base: str, adapted: str) -> dict:
    kinds = sorted({r.kind for r in repo_rows if r.kind})
    # Accepted completions are reported on their own and left out of the verdict: their middles
    # were written by the model that was served, which favours it.
    code_rows = [r for r in repo_rows if r.kind != "accepted"]
    heldout = {m: paired(code_rows, base, adapted, m) for m in ("exact_match", "edit_similarity")}
    by_kind = {k: {m: paired(repo_rows, base, adapted, m, kind=k) for m in ("exact_match", "edit_similarity")}
               for k in kinds}
    general = {m: paired(general_rows, base, adapted, m) for m in ("pass@1", "exact_match")} if general_rows else {}
    em = heldout["exact_match"]
    forgot = any(v and v["verdict"] == "worse" for v in general.values())
    if em is None or em["verdict"] != "better":
        why = "exact match on held-out code is not significantly higher than the base's"
        choice = "base"
    elif forgot:
        why = "it is better on held-out code but significantly worse on HumanEval single-line (it forgot general code)"
        choice = "base"
    else:
        why = "exact match on held-out code is significantly higher, and HumanEval single-line is not worse"
        choice = "adapted"
    return {"heldout": heldout, "by_kind": by_kind, "general": general, "recommended": choice, "why": why}


def _cell(block: dict | None, pct: bool = True) -> tuple[str, str, str]:
    if not block:
        return "-", "-", "-"
    f = (lambda v: f"{100 * v:.1f}%") if pct else (lambda v: f"{v:.3f}")
    g = (lambda v: f"{100 * v:+.1f}") if pct else (lambda v: f"{v:+.3f}")
    return f(block["base"]), f(block["adapted"]), f"{g(block['difference'])} ({g(block['ci_low'])} to {g(block['ci_high'])})"


def report_markdown(summary: dict) -> str:
    t = summary["training"]
    lines = [
        "# fimkit adapt report", "",
        f"Repositories: {', '.join(summary['repos'])}. Split by {summary['split']['method']}: "
        f"{summary['split']['train_files']} training files, {summary['split']['heldout_files']} held-out files.",
        f"Training ({summary['objective']}): {t.get('steps')} steps, {t.get('tokens')} tokens, "
        f"{(t.get('train_seconds') or 0) / 60:.1f} min of a {summary['minutes_budget']:g}-minute budget; "
        f"{summary['served_file']} is {summary['served_bytes'] / 1e6:.1f} MB.", "",
        "| tasks | metric | n | base | adapted | adapted - base (paired 95% CI) |", "|---|---|---|---|---|---|",
    ]
    for name, block, pct in (("held-out, all", summary["heldout"]["exact_match"], True),
                             ("held-out, all", summary["heldout"]["edit_similarity"], False)):
        metric = "exact match" if pct else "edit similarity"
        lines.append(f"| {name} | {metric} | {block['tasks'] if block else 0} | " + " | ".join(_cell(block, pct)) + " |")
    for kind, blocks in summary["by_kind"].items():
        block = blocks["exact_match"]
        lines.append(f"| held-out, {kind} | exact match | {block['tasks'] if block else 0} | "
                     + " | ".join(_cell(block)) + " |")
    for metric, block in summary["general"].items():
        lines.append(f"| HumanEval single-line | {metric} | {block['tasks'] if block else 0} | "
                     + " | ".join(_cell(block)) + " |")
    lines += ["", f"**Recommended: the {summary['recommended']} model**, because {summary['why']}.", "",
              "![adapted - base per task kind, paired 95% intervals](report.png)", ""]
    rates = summary.get("accept_rates")
    if rates:
        lines += ["Accept rate in your editor (fimkit serve telemetry), per model and language:", "",
                  "| model | language | shown | accepted | accept rate |", "|---|---|---|---|---|"]
        for model, languages in rates.items():
            for language, r in languages.items():
                rate = "-" if r["accept_rate"] is None else f"{100 * r['accept_rate']:.1f}%"
                lines.append(f"| {model} | {language} | {r['shown']} | {r['accepted']} | {rate} |")
        lines.append("")
    return "\n".join(lines)


def _rows(summary: dict) -> list[tuple[str, dict]]:
    """The report's comparisons as (label, block) in table order, in percentage points where they are rates."""
    out = [("held-out, all: exact match", summary["heldout"]["exact_match"]),
           ("held-out, all: edit similarity x100", summary["heldout"]["edit_similarity"])]
    out += [(f"held-out, {kind}: exact match", blocks["exact_match"]) for kind, blocks in summary["by_kind"].items()]
    out += [(f"HumanEval single-line: {metric}", block) for metric, block in summary["general"].items()]
    return [(label, block) for label, block in out if block]


def report_chart(summary: dict, path: Path) -> Path:
    """report.png: adapted - base for every row of the report, with its paired 95% interval, against
    zero (green where the adapted model is significantly better, red where worse). Needs matplotlib."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = _rows(summary)[::-1]  # the first row on top
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(rows) + 1.4))
    for y, (_, b) in enumerate(rows):
        colour = "tab:green" if b["ci_low"] > 0 else "tab:red" if b["ci_high"] < 0 else "tab:gray"
        d, lo, hi = (100 * b[k] for k in ("difference", "ci_low", "ci_high"))
        ax.errorbar(d, y, xerr=[[d - lo], [hi - d]], fmt="o", color=colour, capsize=3)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(range(len(rows)), [f"{label} (n={b['tasks']})" for label, b in rows], fontsize=8)
    ax.set_xlabel("adapted - base, points (paired 95% interval)")
    ax.set_title(f"fimkit adapt: recommended the {summary['recommended']} model", fontsize=10)
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path
