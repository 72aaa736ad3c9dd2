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
            features["typed_next"] = text[pos:min(end, pos + 400)]
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


def http_asker(base: str, max_tokens: int = 64, extra: dict | None = None):
    """Requests as the VS Code extension sends them: /v1/completions, prompt and suffix, language and file
    (and ``extra`` fields)."""
    import urllib.request

    def ask(prefix, suffix, language, filename):
        body = {"prompt": prefix, "suffix": suffix, "max_tokens": max_tokens, "language": language,
                "filename": filename, **(extra or {})}
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
        # The shown line's own tokens: what the shaper's confidence gate (min_confidence) averages.
        body = result.raw.lstrip("\n")
        end = len(result.raw) - len(body) + len(body.split("\n", 1)[0])  # where the first non-blank line ends
        line, at = [], 0
        for piece in result.pieces:
            if piece.logprob is not None:
                line.append(piece.logprob)
            at += len(piece.text)
            if at >= end:
                break
        return shown, ms, {"pieces": [(p.text, p.logprob, p.healing) for p in result.pieces], "raw": result.raw,
                           "mean_logprob": result.mean_logprob, "margin": margin, "length": len(shown.strip()),
                           "line_logprob": sum(line) / len(line) if line else None,
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
    """Today's server (no healing, the whole middle before answering, nothing cut) against the new
    defaults, one step at a time: healing and the early reply, then the cut of unlikely tails."""
    from bench_serve import Server

    chosen = args.policy or (OUT / "chosen-policy.txt").read_text().strip()
    picked = bodies("report", args.bodies)
    chars = sum(typed_chars(b) for b in picked)
    whole = {"min_shown_logprob": None}  # an explicit null: this request's middle is not cut
    configs = {"today": (("--healing", "off", "--no-early-reply"), whole),
               "healed + early reply": (("--healing", chosen), whole),
               "healed + early reply + cut (defaults)": ((), {})}
    rows, summary, per_body = [], {}, {}
    for name, (flags, extra) in configs.items():
        server = Server("--n-ctx", "2048", *flags)
        try:
            by_body = [replay(http_asker(server.base, extra=extra), body) for body in picked]
        finally:
            server.close()
        per_body[name] = [(sum(a.saved for a in b if a.right), typed_chars(body), sum(a.right for a in b),
                           sum(bool(a.shown.strip()) for a in b)) for b, body in zip(by_body, picked)]
        asks = [a for b in by_body for a in b]
        s = summary[name] = summarize_replay(asks, chars)
        for language in ("python", "javascript"):
            s[language] = summarize_replay([a for a in asks if a.language == language],
                                           sum(typed_chars(b) for b in picked if b[0] == language))
        rows.append((name, f"{s['right']} of {s['shown']} shown right ({100 * s['precision']:.1f}%); "
                     f"{s['requests']} requests", f"{100 * s['saved_share']:.1f}% of {chars} characters saved "
                     f"(Python {100 * s['python']['saved_share']:.1f}%, JavaScript "
                     f"{100 * s['javascript']['saved_share']:.1f}%); p50 {s['p50_ms']:.0f} ms, p95 {s['p95_ms']:.0f} ms"))
    first, last = list(configs)[0], list(configs)[-1]
    for metric, (num, den) in {"saved_share": (0, 1), "precision": (2, 3)}.items():
        summary[f"{metric}_ratio_ci"] = body_ratio_ci(per_body[last], per_body[first], num, den)
    summary["per_body"] = per_body
    (OUT / "replay.json").write_text(json.dumps(summary, indent=2))
    print(f"\n## typing replay, reported split ({len(picked)} function bodies: "
          f"{sum(b[0] == 'python' for b in picked)} Python, {sum(b[0] == 'javascript' for b in picked)} JavaScript)")
    print_table(rows, ("server", "suggestions right", "characters saved, latency"))
    for metric in ("saved_share", "precision"):
        lo, hi = summary[f"{metric}_ratio_ci"]
        print(f"{metric}, {last} / {first}: {summary[last][metric] / max(summary[first][metric], 1e-9):.2f}x "
              f"(95% interval over bodies, paired: {lo:.2f}x to {hi:.2f}x)")


def body_ratio_ci(a: list[tuple], b: list[tuple], num: int, den: int, *, samples: int = 2000,
                  seed: int = 0) -> tuple[float, float]:
    """95% bootstrap interval of sum(a[num])/sum(a[den]) over sum(b[num])/sum(b[den]), resampling the
    bodies (each body's two replays stay together: paired)."""
    import random

    rng, ratios = random.Random(seed), []
    for _ in range(samples):
        pick = [rng.randrange(len(a)) for _ in a]
        top = sum(a[i][num] for i in pick) / max(sum(a[i][den] for i in pick), 1)
        bottom = sum(b[i][num] for i in pick) / max(sum(b[i][den] for i in pick), 1)
        if bottom > 0:
            ratios.append(top / bottom)
    ratios.sort()
    return ratios[int(0.025 * len(ratios))], ratios[min(len(ratios) - 1, int(0.975 * len(ratios)))]


def part_gate(args) -> None:
    """The replay's requests on the tuning split with their features: precision against characters
    saved for a threshold on each feature, written to gate.jsonl for the choice of the default."""
    from fimkit.infer.config import EngineConfig
    from fimkit.infer.engines.choice import load_engine

    chosen = args.policy or (OUT / "chosen-policy.txt").read_text().strip()
    picked = bodies("tune", args.bodies)
    engine = load_engine(EngineConfig(model=args.model))
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
    (OUT / "gate-chars.txt").write_text(f"{chars}\n")
    analyse_gate(args)


def gate_curve(rows: list[dict], score, chars: int) -> list[tuple[float, float, float, int]]:
    """(threshold, precision, share of characters saved, shown) for every threshold on ``score``: the
    suggestions scoring below it are hidden (an offline estimate: in a live replay a hidden right
    suggestion is typed instead, and what is asked next changes)."""
    shown = sorted((r for r in rows if r["shown"].strip()), key=score)
    right = sum(r["right"] for r in shown)
    saved = sum(r["saved"] for r in shown)
    out = []
    for i, r in enumerate(shown):
        kept = len(shown) - i
        out.append((score(r), right / kept if kept else 0.0, saved / chars, kept))
        right -= r["right"]
        saved -= r["saved"]
    return out


def cut_shown(row: dict, threshold: float) -> tuple[str, bool, int]:
    """(shown, right, saved) had the middle been cut before the token that takes the sum of its
    log-probabilities below ``threshold`` (healing's tokens count 0), from the recorded tokens."""
    at, total = 0, 0.0
    for text, logprob, healing in row["pieces"]:
        if logprob is not None and not healing and text:
            if total + logprob < threshold:
                break
            total += logprob
        at += len(text)
    raw, shown = row["raw"], row["shown"]
    start = raw.find(shown[:8]) if shown[:8] else 0
    cut = shown[: max(0, at - max(start, 0))]
    right = bool(cut.strip()) and row["typed_next"].startswith(cut)
    return cut, right, effective(cut) if right else 0


def analyse_gate(args) -> None:
    """Precision against characters saved for a threshold on each feature of gate.jsonl, the point
    each reaches under the goal (3x the precision, >= 80% of the characters saved), and a PNG."""
    rows = [json.loads(line) for line in (OUT / "gate.jsonl").open()]
    chars = int((OUT / "gate-chars.txt").read_text())
    shown = [r for r in rows if r["shown"].strip()]
    base_precision = sum(r["right"] for r in shown) / len(shown)
    base_saved = sum(r["saved"] for r in shown) / chars
    scores = {
        "mean log-probability": lambda r: r["mean_logprob"] if r["mean_logprob"] is not None else -99.0,
        "shown line's mean log-probability (min_confidence)":
            lambda r: r["line_logprob"] if r.get("line_logprob") is not None else -99.0,
        "first token log-probability": lambda r: r["first_logprob"] if r["first_logprob"] is not None else -99.0,
        "first token margin": lambda r: r["margin"] if r["margin"] is not None else 0.0,
        "mean log-probability, healed cursor +1": lambda r: (r["mean_logprob"] or -99.0) + (r["healing_logprob"] < 0),
    }
    table, curves = [], {}
    for name, score in scores.items():
        curve = curves[name] = gate_curve(rows, score, chars)
        ok = [c for c in curve if c[1] >= 3 * base_precision and c[2] >= 0.8 * base_saved]
        best = max(ok, key=lambda c: c[2]) if ok else max(curve, key=lambda c: c[1] if c[2] >= 0.8 * base_saved else -1)
        table.append((name, f"threshold {best[0]:.2f}: precision {100 * best[1]:.1f}%, {100 * best[2]:.1f}% saved, "
                            f"{best[3]} shown", "meets the goal" if ok else "goal not reached"))
    print(f"no gate: precision {100 * base_precision:.1f}%, {100 * base_saved:.1f}% of characters saved, "
          f"{len(shown)} shown of {len(rows)} requests")
    print_table(table, ("score", "best point", "3x precision at >= 80% saved"))
    # Cutting instead of hiding: the suggestion shown only as far as the model finds it likely.
    cuts = []
    for threshold in (-0.25, -0.5, -0.75, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0):
        kept = [cut_shown(r, threshold) for r in rows if r["shown"].strip()]
        kept = [k for k in kept if k[0].strip()]
        right = [k for k in kept if k[1]]
        saved = sum(k[2] for k in right) / chars
        precision = len(right) / len(kept) if kept else 0.0
        cuts.append((threshold, precision, saved, len(kept)))
    curves["cut where the middle's log-probability falls below t"] = cuts
    print_table([(f"{t:g}", f"precision {100 * p:.1f}%, {100 * v:.1f}% saved, {n} shown",
                  "meets the goal" if p >= 3 * base_precision and v >= 0.8 * base_saved else "")
                 for t, p, v, n in cuts], ("cut at t", "estimate", "3x precision at >= 80% saved"))
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4.5))
        for name, curve in curves.items():
            ax.plot([100 * c[2] for c in curve], [100 * c[1] for c in curve], label=name)
        ax.axhline(300 * base_precision, color="grey", ls="--", lw=0.8, label="3x the precision of showing all")
        ax.axvline(80 * base_saved, color="grey", ls=":", lw=0.8, label="80% of the characters it saves")
        ax.set_xlabel("characters saved (%)")
        ax.set_ylabel("shown suggestions that are right (%)")
        ax.set_title("hiding low-scoring suggestions, or cutting them where unlikely (tuning split)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        print(f"wrote {args.plot}")


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
    of it) and after, on the same line and block holes, healing off on both sides. ``--bare``: the
    requests name no language, as a client that sends neither language nor file name (the parse check
    has no grammar then; only the scope rule keeps a middle in its block)."""
    import subprocess
    import sys

    from fimkit.syntax import error_count

    tasks = tasks_for("report", ("line", "block"), 4, args.other_tasks)
    tasks = [t for t in tasks if t.kind == "block"] + [c for t in tasks if t.kind == "line" and (c := at_column_0(t))]
    tag = "scope-bare" if args.bare else "scope"
    path = OUT / f"{tag}-tasks.jsonl"
    with open(path, "w") as fh:
        for t in tasks:
            fh.write(json.dumps({"id": t.id, "prefix": t.prefix, "suffix": t.suffix, "middle": t.middle,
                                 "language": None if args.bare else t.language}) + "\n")
    before = Path("/tmp/fimkit-before")
    if not before.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(before), args.before], check=True)
    sides = {"before": (before / "src", []), "after": (Path("src").resolve(), ["--healing", "off"])}
    for side, (src, extra) in sides.items():
        subprocess.run([sys.executable, "-m", "fimkit", "eval", "--benchmark", f"jsonl:{path}", "--mode", "prefix-only",
                        "--output", str(OUT / f"{tag}-{side}"), *extra], check=True,
                       env={**os.environ, "PYTHONPATH": str(src)})
    rows = {side: {json.loads(ln)["task_id"]: json.loads(ln) for ln in (OUT / f"{tag}-{side}" / "results.jsonl").open()}
            for side in sides}
    by_id = {t.id: t for t in tasks}

    def value(row, metric):
        if metric == "parses":  # the whole file with the middle in it has no syntax error
            t = by_id[row["task_id"]]
            return float(error_count(t.prefix + row["completion"] + t.suffix, t.language) == 0)
        return float(row[metric])

    table = []
    for kind in ("line@col0", "block"):
        ids = [i for i in rows["before"] if i in rows["after"] and by_id.get(i) and by_id[i].kind == kind]
        for metric in ("parses", "edit_sim", "exact"):
            a = [value(rows["before"][i], metric) for i in ids]
            b = [value(rows["after"][i], metric) for i in ids]
            lo, hi = paired_difference_ci(b, a)
            table.append((f"{kind}: {metric}", f"{sum(a) / len(a):.3f} -> {sum(b) / len(b):.3f}",
                          f"{lo:+.3f} to {hi:+.3f} (n={len(ids)})"))
    print(f"\n## scope rule and parse check, before ({args.before}) -> after, reported split, paired 95% intervals"
          f"{', requests without a language' if args.bare else ''}")
    print_table(table, ("holes: metric", "before -> after", "difference"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", default="tune,report,replay", help="comma-separated: tune, report, replay, gate, gate-analysis, scope")
    ap.add_argument("--policy", help="the back-off policy to report (default: the one tune chose)")
    ap.add_argument("--tune-tasks", type=int, default=120, help="typed holes per language, tuning split")
    ap.add_argument("--report-tasks", type=int, default=200, help="typed holes per language, reported split")
    ap.add_argument("--other-tasks", type=int, default=120, help="other holes per language, reported split")
    ap.add_argument("--bodies", type=int, default=6, help="function bodies per language in the replay")
    ap.add_argument("--before", default="0c04a08", help="the release the scope part compares against")
    ap.add_argument("--bare", action="store_true", help="scope: requests that name no language")
    ap.add_argument("--plot", help="gate: write the precision/characters-saved curves to this PNG")
    ap.add_argument("--model", default="auto", help="gate: the model whose requests are recorded")
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
    if "gate-analysis" in parts:
        analyse_gate(args)
    if "scope" in parts:
        part_scope(args)


if __name__ == "__main__":
    main()
