"""Summaries of an evaluation: per-contender metrics with bootstrap intervals, per-category breakdowns,
latency; written as JSON (machines), Markdown (people) and PNG plots."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from fimkit.eval.metrics import bootstrap_ci, paired_difference_ci, pass_at_k, percentile
from fimkit.fileio import atomic_output


def _per_task(rows) -> dict[str, list]:
    by_task: dict[str, list] = defaultdict(list)
    for r in rows:
        by_task[r.task_id].append(r)
    return by_task


def _task_scores(rows, k_values) -> dict[str, dict[str, float]]:
    """Per task: pass@k (when executed), exact match and edit similarity averaged over its samples."""
    out = {}
    for task_id, samples in _per_task(rows).items():
        scores = {
            "exact_match": sum(s.exact for s in samples) / len(samples),
            "edit_similarity": sum(s.edit_sim for s in samples) / len(samples),
        }
        executed = [s for s in samples if s.passed is not None]
        if executed:
            c = sum(s.passed for s in executed)
            for k in k_values:
                if k <= len(executed):
                    scores[f"pass@{k}"] = pass_at_k(len(executed), c, k)
        parsed = [s for s in samples if s.parses is not None]
        if parsed:
            scores["parses"] = sum(s.parses for s in parsed) / len(parsed)
        out[task_id] = scores
    return out


def _metric_block(task_scores: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    metrics: dict[str, dict[str, float]] = {}
    names = sorted({m for s in task_scores.values() for m in s})
    for name in names:
        values = [s[name] for s in task_scores.values() if name in s]
        lo, hi = bootstrap_ci(values)
        metrics[name] = {"mean": sum(values) / len(values), "ci_low": lo, "ci_high": hi, "tasks": len(values)}
    return metrics


def summarize(rows, *, samples: int) -> dict:
    """The report: contenders in first-seen order, each with metrics, breakdowns and latency."""
    k_values = [k for k in (1, 5, 10, 100) if k <= samples]
    by_contender: dict[str, list] = defaultdict(list)
    for r in rows:
        by_contender[r.contender].append(r)
    report = {"contenders": {}, "comparisons": []}
    baseline_name, baseline_scores = None, None
    for name, crow in by_contender.items():
        scores = _task_scores(crow, k_values)
        block = {"metrics": _metric_block(scores), "breakdown": {}}
        for field_name in ("lines", "cursor", "kind", "position"):
            groups = defaultdict(list)
            for r in crow:
                if getattr(r, field_name):
                    groups[getattr(r, field_name)].append(r)
            if len(groups) > 1 or (field_name == "kind" and groups):
                block["breakdown"][field_name] = {g: {"tasks": len(_per_task(rs)), **{m: v["mean"] for m, v in _metric_block(_task_scores(rs, [1])).items()}}
                                                 for g, rs in sorted(groups.items())}
        ttft = [r.ttft_ms for r in crow]
        total = [r.total_ms for r in crow]
        tokens = sum(r.tokens for r in crow)
        gen_s = sum(max(r.total_ms - r.ttft_ms, 0) for r in crow) / 1000
        block["latency"] = {
            "ttft_p50_ms": percentile(ttft, 50), "ttft_p95_ms": percentile(ttft, 95),
            "total_p50_ms": percentile(total, 50), "total_p95_ms": percentile(total, 95),
            "tokens_per_second": (tokens - len(crow)) / gen_s if gen_s > 0 else None, "samples": len(crow),
        }
        report["contenders"][name] = block
        if baseline_name is None:
            baseline_name, baseline_scores = name, scores
            continue
        metric = "pass@1" if any("pass@1" in s for s in scores.values()) else "exact_match"
        common = [t for t in scores if t in baseline_scores and metric in scores[t] and metric in baseline_scores[t]]
        a = [scores[t][metric] for t in common]
        b = [baseline_scores[t][metric] for t in common]
        if common:
            lo, hi = paired_difference_ci(a, b)
            report["comparisons"].append({
                "contender": name, "baseline": baseline_name, "metric": metric, "tasks": len(common),
                "difference": sum(a) / len(a) - sum(b) / len(b), "ci_low": lo, "ci_high": hi,
                "verdict": "better" if lo > 0 else "worse" if hi < 0 else "no significant difference",
            })
    return report


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.1f}"


def markdown(report: dict, title: str) -> str:
    lines = [f"# {title}", ""]
    meta = report.get("meta", {})
    if meta:
        lines += [f"- {k}: {v}" for k, v in meta.items()] + [""]
    metric_names = sorted({m for c in report["contenders"].values() for m in c["metrics"]},
                          key=lambda m: (not m.startswith("pass"), m))
    header = "| contender | " + " | ".join(f"{m} (95% CI)" for m in metric_names) + " | TTFT p50/p95 ms | total p50/p95 ms | tokens/s |"
    lines += [header, "|" + "---|" * (len(metric_names) + 4)]
    for name, c in report["contenders"].items():
        cells = []
        for m in metric_names:
            v = c["metrics"].get(m)
            cells.append("-" if v is None else f"{_pct(v['mean'])} ({_pct(v['ci_low'])}-{_pct(v['ci_high'])})")
        lat = c["latency"]
        tps = "-" if lat["tokens_per_second"] is None else f"{lat['tokens_per_second']:.0f}"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {lat['ttft_p50_ms']:.0f} / {lat['ttft_p95_ms']:.0f} | "
                     f"{lat['total_p50_ms']:.0f} / {lat['total_p95_ms']:.0f} | {tps} |")
    lines.append("")
    lines.append("Scores are percentages over tasks; edit similarity is 1 - Levenshtein / max length.")
    for comp in report["comparisons"]:
        lines.append(f"- {comp['contender']} vs {comp['baseline']} on {comp['metric']}: "
                     f"{100 * comp['difference']:+.1f} points (95% CI {100 * comp['ci_low']:+.1f} to "
                     f"{100 * comp['ci_high']:+.1f}, {comp['tasks']} tasks): {comp['verdict']}")
    for name, c in report["contenders"].items():
        for field_name, groups in c["breakdown"].items():
            lines += ["", f"**{name}** by {field_name}:", "", "| " + field_name + " | tasks | " + " | ".join(metric_names) + " |",
                      "|" + "---|" * (len(metric_names) + 2)]
            for g, vals in groups.items():
                lines.append(f"| {g} | {vals['tasks']} | " + " | ".join(_pct(vals.get(m)) for m in metric_names) + " |")
    return "\n".join(lines) + "\n"


def plots(report: dict, rows, out_dir: Path) -> list[Path]:
    """Bar chart of the main metrics with intervals, and latency distributions; PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    names = list(report["contenders"])
    metric_names = [m for m in ("pass@1", "exact_match", "edit_similarity", "parses")
                    if any(m in c["metrics"] for c in report["contenders"].values())]
    fig, ax = plt.subplots(figsize=(max(6, 2 + 1.5 * len(names) * len(metric_names) / 2), 4))
    width = 0.8 / max(1, len(names))
    for i, name in enumerate(names):
        ms = report["contenders"][name]["metrics"]
        xs = [j + i * width for j in range(len(metric_names))]
        means = [100 * ms[m]["mean"] if m in ms else 0 for m in metric_names]
        errs = [[100 * (ms[m]["mean"] - ms[m]["ci_low"]) if m in ms else 0 for m in metric_names],
                [100 * (ms[m]["ci_high"] - ms[m]["mean"]) if m in ms else 0 for m in metric_names]]
        ax.bar(xs, means, width, yerr=errs, capsize=3, label=name)
    ax.set_xticks([j + width * (len(names) - 1) / 2 for j in range(len(metric_names))], metric_names)
    ax.set_ylabel("% (95% bootstrap CI)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8)
    ax.set_title(report.get("meta", {}).get("benchmark", "evaluation"))
    fig.tight_layout()
    path = out_dir / "scores.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path)

    fig, ax = plt.subplots(figsize=(6, 4))
    for name in names:
        ax.hist([r.total_ms for r in rows if r.contender == name], bins=40, alpha=0.5, label=name)
    ax.set_xlabel("total latency per completion (ms)")
    ax.set_ylabel("samples")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = out_dir / "latency.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path)
    return written


def write_reports(report: dict, rows, out_dir: Path, title: str) -> tuple[list[Path], str | None]:
    """Write report.json, report.md and the PNG plots; returns the paths and a note if plots were skipped."""

    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_output(out_dir / "report.json") as tmp:
        tmp.write_text(json.dumps(report, indent=2))
    with atomic_output(out_dir / "report.md") as tmp:
        tmp.write_text(markdown(report, title))
    paths = [out_dir / "report.json", out_dir / "report.md"]
    try:
        paths += plots(report, rows, out_dir)
    except ImportError:
        return paths, "plots skipped: matplotlib is not installed (pip install 'fimkit[eval]')"
    return paths, None
