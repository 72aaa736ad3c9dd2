"""Completing where the cursor really is: typed holes, a typing replay, latency while typing, and the
confidence gate, today's completion path against token healing (issue 26).

    .venv/bin/python benchmarks/bench_typing.py --parts tune        # back-off choices, tuning split (~15 min)
    .venv/bin/python benchmarks/bench_typing.py --parts report      # today vs healed, reported split (~40 min)
    .venv/bin/python benchmarks/bench_typing.py --parts replay      # characters saved, precision, latency
    .venv/bin/python benchmarks/bench_typing.py --parts gate        # precision against characters saved (PNG)
    .venv/bin/python benchmarks/bench_typing.py --parts scope       # line and block holes, before and after

Code fimkit uses nowhere else: the Python packages ``markdown_it`` and ``fsspec`` (their installed
sources) and npm's own JavaScript (``/usr/lib/node_modules/npm/lib``). Each file belongs to the tuning
split (a third, by a hash of its path) or to the reported split; choices are made on the first and
reported on the second. The model is the embedded Gemma-3-270m through llama.cpp, prefix-only as it is
served, greedy, through ``run_completion`` (what every API returns).

- tune: typed holes (``fimkit.eval.holes``: a one-line statement cut at a random character, the rest
  of the line missing) under each back-off policy: off (today), 1-token, 2-tokens, word, lexeme.
- report: typed holes and the other hole kinds (line, arguments, condition, block), off against the
  chosen policy, paired, with 95% intervals, per language and per cursor position.
- replay: JetBrains-style typing of whole function bodies, line by line: a request at every word
  boundary and every 4th character; a suggestion whose first line is what the user types next is
  accepted (the user skips those characters); reports exact suggestions, precision of shown ones,
  characters saved and latency.
- gate: the replay's requests on the tuning split, each with the features the gate could use; prints
  and plots (``--plot``) precision against characters saved for thresholds of each.
- scope: line holes with the cursor at column 0 and block holes, completed by the previous release
  (a git worktree of ``--before``) and by this one, paired: parses, edit similarity, exact match.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import re
import time
from dataclasses import dataclass, replace
from pathlib import Path

from common import print_table

from fimkit.eval.config import EvalConfig
from fimkit.eval.holes import KINDS, TYPED, HoleConfig, cut_holes
from fimkit.eval.metrics import paired_difference_ci, percentile
from fimkit.eval.report import summarize
from fimkit.eval.runner import Contender, run_eval

PYTHON = ("markdown_it", "fsspec")
JAVASCRIPT = "/usr/lib/node_modules/npm/lib"
POLICIES = ("off", "1-token", "2-tokens", "word", "lexeme")
OUT = Path("reports/typing")


def repositories() -> list[tuple[str, str, str]]:
    """(name, folder, language) of the code measured here."""
    out = [(name, str(Path(importlib.import_module(name).__file__).parent), "python") for name in PYTHON]
    if Path(JAVASCRIPT).is_dir():
        out.append(("npm", JAVASCRIPT, "javascript"))
    return out


def split_of(repo: str, path: str | None) -> str:
    digest = int(hashlib.sha256(f"{repo}/{path}".encode()).hexdigest()[:8], 16)
    return "tune" if digest % 3 == 0 else "report"


def tasks_for(split: str, kinds: tuple[str, ...], per_file: int, limit: int, seed: int = 0):
    """Holes of ``kinds`` from every repository's files of ``split``, up to ``limit`` per language."""
    import random

    by_language: dict[str, list] = {}
    for repo, folder, language in repositories():
        tasks = cut_holes(folder, HoleConfig(seed=seed, kinds=kinds, per_file=per_file, languages=(language,),
                                             max_files=1000))
        by_language.setdefault(language, []).extend(
            replace(t, id=f"{repo}/{t.id}") for t in tasks if split_of(repo, t.path) == split)
    out = []
    for _language, tasks in sorted(by_language.items()):
        random.Random(seed).shuffle(tasks)
        out += tasks[:limit]
    return out


def evaluate(name: str, tasks, policies: tuple[str, ...], *, single_line: bool | None = None) -> dict:
    contenders = [Contender("gemma-3-270m", "auto", healing=p) for p in policies]
    config = EvalConfig(single_line=single_line, max_tokens=64 if single_line else None)
    results, _ = run_eval(contenders, tasks, config, output=OUT / name, progress=True)
    ids = {t.id for t in tasks}
    rows = [r for r in results.rows.values() if r.task_id in ids and r.contender in {c.label for c in contenders}]
    return {"rows": rows, "labels": [c.label for c in contenders], "report": summarize(rows, samples=1)}


def paired(rows, a: str, b: str, metric: str, where=lambda r: True) -> tuple[float, float, float, float, int]:
    """(mean of a, mean of b, CI low, CI high of b - a, n) over the tasks both scored."""
    ra = {r.task_id: r for r in rows if r.contender == a and where(r)}
    rb = {r.task_id: r for r in rows if r.contender == b and where(r)}
    common = sorted(set(ra) & set(rb))
    if not common:
        return 0.0, 0.0, 0.0, 0.0, 0
    va = [float(getattr(ra[t], metric)) for t in common]
    vb = [float(getattr(rb[t], metric)) for t in common]
    lo, hi = paired_difference_ci(vb, va)
    return sum(va) / len(va), sum(vb) / len(vb), lo, hi, len(common)


def fmt_pair(p, pct=True) -> str:
    a, b, lo, hi, n = p
    if pct:
        return f"{100 * a:.1f}% -> {100 * b:.1f}% ({100 * lo:+.1f} to {100 * hi:+.1f} pts, n={n})"
    return f"{a:.3f} -> {b:.3f} ({lo:+.3f} to {hi:+.3f}, n={n})"


def part_tune(args) -> str:
    tasks = tasks_for("tune", (TYPED,), 6, args.tune_tasks)
    out = evaluate("tune-typed", tasks, POLICIES, single_line=True)
    rows, labels = out["rows"], out["labels"]
    table = []
    for label, policy in zip(labels, POLICIES):
        em = [r.exact for r in rows if r.contender == label]
        es = [r.edit_sim for r in rows if r.contender == label]
        diff = fmt_pair(paired(rows, labels[0], label, "exact")) if label != labels[0] else "(reference)"
        table.append((policy, f"{100 * sum(em) / len(em):.1f}% EM, ES {sum(es) / len(es):.3f} ({len(em)} holes)", diff))
    print("\n## back-off policies, typed holes, tuning split")
    print_table(table, ("policy", "exact match, edit similarity", "exact match against off, paired"))
    best = max(POLICIES[1:], key=lambda p: (
        sum(r.exact for r in rows if r.contender == labels[POLICIES.index(p)]),
        sum(r.edit_sim for r in rows if r.contender == labels[POLICIES.index(p)])))
    (OUT / "chosen-policy.txt").write_text(best + "\n")
    print(f"chosen on the tuning split: {best}")
    return best


def part_report(args) -> None:
    chosen = args.policy or (OUT / "chosen-policy.txt").read_text().strip()
    typed = tasks_for("report", (TYPED,), 6, args.report_tasks)
    out = evaluate("report-typed", typed, ("off", chosen), single_line=True)
    rows, (off, healed) = out["rows"], out["labels"]
    table = [("typed holes, all", fmt_pair(paired(rows, off, healed, "exact")),
              fmt_pair(paired(rows, off, healed, "edit_sim"), pct=False))]
    for language in ("python", "javascript"):
        ids = {t.id for t in typed if t.language == language}

        def where(r, ids=ids):
            return r.task_id in ids

        table.append((f"typed, {language}", fmt_pair(paired(rows, off, healed, "exact", where)),
                      fmt_pair(paired(rows, off, healed, "edit_sim", where), pct=False)))
    for position in ("mid-identifier", "end-of-identifier", "after-dot", "after-operator", "after-space"):
        def where(r, p=position):
            return r.position == p

        table.append((f"typed, {position}", fmt_pair(paired(rows, off, healed, "exact", where)),
                      fmt_pair(paired(rows, off, healed, "edit_sim", where), pct=False)))
    others = tasks_for("report", KINDS, 4, args.other_tasks)
    others = [t for t in others if t.kind != "body"]
    out = evaluate("report-kinds", others, ("off", chosen))
    for kind in ("line", "arguments", "condition", "block"):
        def where(r, k=kind):
            return r.kind == k

        table.append((f"{kind} holes", fmt_pair(paired(out["rows"], off, healed, "exact", where)),
                      fmt_pair(paired(out["rows"], off, healed, "edit_sim", where), pct=False)))
    print(f"\n## today (off) -> healed ({chosen}), reported split, paired 95% intervals")
    print_table(table, ("holes", "exact match", "edit similarity"))


# -- the typing replay --------------------------------------------------------------------------------
_WORD = re.compile(r"[A-Za-z0-9_]")


@dataclass
class Ask:
    """One request of the replay and what came of it."""

    language: str
    shown: str  # the suggestion's first lines as an editor shows them ("" when nothing was shown)
    right: bool  # the code the user goes on to type starts with it
    saved: int  # characters the user need not type when it is right (the editor indents new lines)
    ms: float
    features: dict


def bodies(split: str, n: int, seed: int = 0):
    """``n`` function bodies per language from ``split``: (language, path, text, body start, body end),
    offsets in characters; bodies of 3 to 15 lines and at most 700 characters that start with code."""
    import random

    from fimkit.eval.holes import candidates
    from fimkit.syntax import extension_table

    table = extension_table()
    found = []
    for repo, folder, language in repositories():
        for path in sorted(Path(folder).rglob("*")):
            rel = str(path.relative_to(folder))
            if table.get(path.suffix.lower()) != language or split_of(repo, rel) != split:
                continue
            code = path.read_bytes()
            for lo, hi in candidates(code, language).get("body", []):
                body = code[lo:hi].decode("utf-8", "replace")
                # Code, not prose: bodies that open with a docstring or a comment are left out.
                if 3 <= body.count("\n") <= 15 and len(body) <= 700 and not body.lstrip("{ \n").startswith(
                        ('"""', "'''", "/*", "//", "#", "r\"\"\"")):
                    text = code.decode("utf-8", "replace")
                    a, b = len(code[:lo].decode("utf-8", "replace")), len(code[:hi].decode("utf-8", "replace"))
                    a = text.rfind("\n", 0, a) + 1  # from the start of the body's first line
                    found.append((language, f"{repo}/{rel}", text, a, b))
    out = []
    for language in ("python", "javascript"):
        mine = [f for f in found if f[0] == language]
        random.Random(seed).shuffle(mine)
        out += mine[:n]
    return out


def effective(shown: str) -> int:
    """Characters a user is spared by accepting ``shown``: not the new line's indentation, which the
    editor types."""
    lines = shown.split("\n")
    return len(lines[0]) + sum(len(ln.lstrip(" \t")) + 1 for ln in lines[1:])


def typed_chars(body) -> int:
    """Characters the user types for a body: each line's code and its newline, not its indentation."""
    _, _, text, start, end = body
    return sum(len(ln.strip()) + 1 for ln in text[start:end].split("\n") if ln.strip())


def replay(ask, body, *, every: int = 4) -> list[Ask]:
    """Type ``body`` from its first line to its last, as a user writing it: a request at every word
    boundary, every ``every`` characters, after each new line and right after an accepted suggestion;
    the suffix is the code after the body. A suggestion whose first lines are what comes next is
    accepted (the user skips them)."""
    from fimkit.eval.holes import cursor_position

    language, rel, text, start, end = body
    suffix = text[end:]
    asks: list[Ask] = []
    pos = start + len(text[start:end]) - len(text[start:end].lstrip(" \t"))  # the editor indented line 1
    since, accepted = 0, False
    while pos < end:
        before, nxt = text[pos - 1] if pos else "\n", text[pos]
        boundary = not _WORD.match(before) or not _WORD.match(nxt)
        if accepted or (since > 0 and (boundary or since % every == 0)) or (before == "\n" and since > 0):
            line_start = text.rfind("\n", 0, pos) + 1
            shown, ms, features = ask(text[:pos], suffix, language, rel)
            features["position"] = cursor_position(text[line_start:pos] or "\n", text[pos:pos + 1])
            right = bool(shown.strip()) and text[pos:end].startswith(shown)
            asks.append(Ask(language, shown, right, effective(shown) if right else 0, ms, features))
            if right:
                pos += len(shown)
                since, accepted = 0, True
                continue
        accepted = False
        if nxt == "\n":  # Enter: the editor indents the next line
            pos += 1
            pos += len(text[pos:end]) - len(text[pos:end].lstrip(" \t")) if text.find("\n", pos) != pos else 0
        else:
            pos += 1
        since += 1
    return asks


def http_asker(base: str, max_tokens: int = 64):
    """Requests as the VS Code extension sends them: /v1/completions, prompt and suffix, language and file."""
    import urllib.request

    def ask(prefix, suffix, language, filename):
        body = {"prompt": prefix, "suffix": suffix, "max_tokens": max_tokens, "language": language,
                "filename": filename}
        req = urllib.request.Request(base + "/v1/completions", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
        t0 = time.perf_counter()
        with urllib.request.urlopen(req, timeout=120) as r:
            text = json.loads(r.read())["choices"][0]["text"]
        return first_shown(text, prefix, suffix), (time.perf_counter() - t0) * 1000, {}

    return ask


def engine_asker(engine, policy: str, max_tokens: int = 64):
    """Requests through ``run_completion`` in this process, with what the confidence gate could use."""
    from fimkit.infer import CompletionRequest, SamplingParams, run_completion
    from fimkit.syntax import error_count

    def ask(prefix, suffix, language, filename):
        request = CompletionRequest(prefix, suffix, language=language, filename=filename, healing=policy,
                                    sampling=SamplingParams(max_tokens=max_tokens, top_logprobs=2))
        t0 = time.perf_counter()
        result = run_completion(engine, request)
        ms = (time.perf_counter() - t0) * 1000
        shown = first_shown(result.text, prefix, suffix)
        free = [p for p in result.pieces if not p.healing]
        margin = (free[0].top[0][1] - free[0].top[1][1]) if free and len(free[0].top) > 1 else None
        healing = [p.logprob for p in result.pieces if p.healing and p.logprob is not None]
        window = prefix[-4000:]
        parses = None
        if shown.strip():
            before, after = error_count(window + suffix[:2000], language), error_count(window + shown + suffix[:2000], language)
            parses = None if before is None or after is None else after <= before
        return shown, ms, {"mean_logprob": result.mean_logprob, "margin": margin, "length": len(shown.strip()),
                           "healing_logprob": min(healing) if healing else 0.0, "parses": parses,
                           "first_logprob": free[0].logprob if free else None}

    return ask


def first_shown(text: str, prefix: str, suffix: str) -> str:
    """What an editor shows first of a middle: the rest of the cursor's line, or the first line below it."""
    from fimkit.serve.continuation import first_lines

    return first_lines(text) or ""


def summarize_replay(asks: list[Ask], chars: int) -> dict:
    shown = [a for a in asks if a.shown.strip()]
    right = [a for a in shown if a.right]
    ms = [a.ms for a in asks]
    saved = sum(a.saved for a in right)
    return {"requests": len(asks), "shown": len(shown), "right": len(right),
            "precision": len(right) / len(shown) if shown else 0.0, "chars": chars, "saved": saved,
            "saved_share": saved / chars if chars else 0.0, "p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95)}


def part_replay(args) -> None:
    """Today's server (no healing, the whole middle before answering) against the new defaults."""
    from bench_serve import Server

    chosen = args.policy or (OUT / "chosen-policy.txt").read_text().strip()
    picked = bodies("report", args.bodies)
    chars = sum(typed_chars(b) for b in picked)
    configs = {"today": ("--healing", "off", "--no-early-reply"), "healed + early reply": ("--healing", chosen)}
    rows, summary = [], {}
    for name, flags in configs.items():
        server = Server("--n-ctx", "2048", *flags)
        try:
            asks = [a for body in picked for a in replay(http_asker(server.base), body)]
        finally:
            server.close()
        s = summary[name] = summarize_replay(asks, chars)
        for language in ("python", "javascript"):
            s[language] = summarize_replay([a for a in asks if a.language == language],
                                           sum(typed_chars(b) for b in picked if b[0] == language))
        rows.append((name, f"{s['right']} of {s['shown']} shown right ({100 * s['precision']:.1f}%); "
                     f"{s['requests']} requests", f"{100 * s['saved_share']:.1f}% of {chars} characters saved "
                     f"(Python {100 * s['python']['saved_share']:.1f}%, JavaScript "
                     f"{100 * s['javascript']['saved_share']:.1f}%); p50 {s['p50_ms']:.0f} ms, p95 {s['p95_ms']:.0f} ms"))
    (OUT / "replay.json").write_text(json.dumps(summary, indent=2))
    print(f"\n## typing replay, reported split ({len(picked)} function bodies: "
          f"{sum(b[0] == 'python' for b in picked)} Python, {sum(b[0] == 'javascript' for b in picked)} JavaScript)")
    print_table(rows, ("server", "suggestions right", "characters saved, latency"))


def part_gate(args) -> None:
    """The replay's requests on the tuning split with their features: precision against characters
    saved for a threshold on each feature, written to gate.jsonl for the choice of the default."""
    from fimkit.infer.config import EngineConfig
    from fimkit.infer.engines.choice import load_engine

    chosen = args.policy or (OUT / "chosen-policy.txt").read_text().strip()
    picked = bodies("tune", args.bodies)
    engine = load_engine(EngineConfig())
    asks = [a for body in picked for a in replay(engine_asker(engine, chosen), body)]
    engine.close()
    chars = sum(typed_chars(b) for b in picked)
    with open(OUT / "gate.jsonl", "w") as fh:
        for a in asks:
            fh.write(json.dumps({"language": a.language, "shown": a.shown, "right": a.right, "saved": a.saved,
                                 **a.features}) + "\n")
    base = summarize_replay(asks, chars)
    print(f"\n## the gate, tuning split ({len(picked)} bodies, {len(asks)} requests, healing {chosen})")
    print(f"no gate: {base['right']} of {base['shown']} right ({100 * base['precision']:.1f}%), "
          f"{100 * base['saved_share']:.1f}% of {chars} characters saved")


def at_column_0(task):
    """A line hole as the issue's probe cut it: the cursor at the start of the line (its indentation
    part of the middle), the next statement right after it in the suffix."""
    indent = task.prefix[len(task.prefix.rstrip(" \t")):]
    if not task.suffix.startswith("\n") or not task.prefix[: len(task.prefix) - len(indent)].endswith("\n"):
        return None
    return replace(task, id=task.id + "@col0", prefix=task.prefix[: len(task.prefix) - len(indent)],
                   middle=indent + task.middle + "\n", suffix=task.suffix[1:], kind="line@col0")


def part_scope(args) -> None:
    """The scope rule and the parse check, before (the release before this one, run from a git worktree
    of it) and after, on the same line and block holes, healing off on both sides."""
    import subprocess
    import sys

    tasks = tasks_for("report", ("line", "block"), 4, args.other_tasks)
    tasks = [t for t in tasks if t.kind == "block"] + [c for t in tasks if t.kind == "line" and (c := at_column_0(t))]
    path = OUT / "scope-tasks.jsonl"
    with open(path, "w") as fh:
        for t in tasks:
            fh.write(json.dumps({"id": t.id, "prefix": t.prefix, "suffix": t.suffix, "middle": t.middle,
                                 "language": t.language}) + "\n")
    before = Path("/tmp/fimkit-before")
    if not before.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(before), args.before], check=True)
    sides = {"before": (before / "src", []), "after": (Path("src").resolve(), ["--healing", "off"])}
    for side, (src, extra) in sides.items():
        subprocess.run([sys.executable, "-m", "fimkit", "eval", "--benchmark", f"jsonl:{path}", "--mode", "prefix-only",
                        "--output", str(OUT / f"scope-{side}"), *extra], check=True,
                       env={**os.environ, "PYTHONPATH": str(src)})
    rows = {side: {json.loads(ln)["task_id"]: json.loads(ln) for ln in (OUT / f"scope-{side}" / "results.jsonl").open()}
            for side in sides}
    kinds = {t.id: t.kind for t in tasks}
    table = []
    for kind in ("line@col0", "block"):
        ids = [i for i in rows["before"] if i in rows["after"] and kinds.get(i) == kind]
        for metric in ("parses", "edit_sim", "exact"):
            a = [float(bool(rows["before"][i][metric])) if metric != "edit_sim" else rows["before"][i][metric] for i in ids]
            b = [float(bool(rows["after"][i][metric])) if metric != "edit_sim" else rows["after"][i][metric] for i in ids]
            lo, hi = paired_difference_ci(b, a)
            table.append((f"{kind}: {metric}", f"{sum(a) / len(a):.3f} -> {sum(b) / len(b):.3f}",
                          f"{lo:+.3f} to {hi:+.3f} (n={len(ids)})"))
    print(f"\n## scope rule and parse check, before ({args.before}) -> after, reported split, paired 95% intervals")
    print_table(table, ("holes: metric", "before -> after", "difference"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", default="tune,report,replay", help="comma-separated: tune, report, replay, gate")
    ap.add_argument("--policy", help="the back-off policy to report (default: the one tune chose)")
    ap.add_argument("--tune-tasks", type=int, default=120, help="typed holes per language, tuning split")
    ap.add_argument("--report-tasks", type=int, default=200, help="typed holes per language, reported split")
    ap.add_argument("--other-tasks", type=int, default=120, help="other holes per language, reported split")
    ap.add_argument("--bodies", type=int, default=6, help="function bodies per language in the replay")
    ap.add_argument("--before", default="0c04a08", help="the release the scope part compares against")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    parts = [p.strip() for p in args.parts.split(",")]
    if "tune" in parts:
        part_tune(args)
    if "report" in parts:
        part_report(args)
    if "replay" in parts:
        part_replay(args)
    if "gate" in parts:
        part_gate(args)
    if "scope" in parts:
        part_scope(args)


if __name__ == "__main__":
    main()
