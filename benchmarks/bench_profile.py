"""Choosing a model's profile (fimkit/models/profiles.toml) on code fimkit did not write, rule by rule.

    .venv/bin/python benchmarks/bench_profile.py record --model qwen2.5-coder-0.5b --variant psm-1024
    .venv/bin/python benchmarks/bench_profile.py rules  --model qwen2.5-coder-0.5b --variant psm-1024
    .venv/bin/python benchmarks/bench_profile.py compare --model qwen2.5-coder-0.5b --variants psm-1024,psm-512

Holes (``fimkit.eval.holes``: line, typed, arguments, condition, 2-4 line blocks) are cut from code fimkit
uses nowhere else: the installed Python packages ``markdown_it`` and ``fsspec`` and npm's own JavaScript
(``/usr/lib/node_modules/npm/lib``); a third of the files, by a hash of the path, is the tuning split
(``--split tune``, the default), the rest is reported (``--split report``). HumanEval is never tuned on.

- record: each hole's prompt is prepared the way ``run_completion`` prepares it under a prompt *variant*
  (layout, prompt budget, suffix budget, healing, repository context) and the model's greedy tokens
  are recorded with their log-probabilities, up to a generous limit, once. Shaping is deterministic
  in those tokens, so every combination of shaping rules can then be scored offline, paired, on
  exactly the tokens the live path would have seen (it stops early; that only saves time).
- rules: the middle each shaping configuration makes of the recorded tokens, against the raw model
  (its tokens up to its end token; for one-line holes the first non-blank line) and against all
  rules on (the previous release's pipeline): exact match, edit similarity and parses per hole kind,
  each rule switched off alone, with paired 95% bootstrap intervals.
- compare: the same shaping over two or more prompt variants (layout, budgets, healing, context).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

from bench_typing import at_column_0, tasks_for

from fimkit.eval.metrics import edit_similarity, exact_match, paired_difference_ci
from fimkit.infer import CompletionRequest, SamplingParams
from fimkit.infer.complete import prepare
from fimkit.infer.context.budget import MAX_CHARS_PER_TOKEN, ContextBudget, head_chars, tail_chars
from fimkit.infer.shaping import DEFAULT_RULES, RULES, ShapeConfig, Shaper
from fimkit.syntax import error_count

OUT = Path("reports/profile")
KINDS = ("line", "typed", "arguments", "condition", "block", "line@col0")
ONE_LINE = ("line", "typed", "arguments", "condition", "line@col0")
RECORD_TOKENS = {"block": 128}  # the rest: 64 (a line never needs more)


@dataclass(frozen=True)
class Variant:
    """How a prompt is prepared: FIM layout, prompt budget, the suffix's budget, healing, context."""

    layout: str = "psm"
    prompt_tokens: int = 1024
    suffix: str = "definition"  # definition (to the end of the enclosing one), scope, blank (next blank line)
    suffix_share: float = 0.3
    healing: str = "word"
    anchor: str = "line"  # what of the cursor's line goes after the middle sentinel (fimkit.infer.context.anchor)
    repository: str = "repository"  # the file's path in Qwen's repository-level header; file-sep: none

    @classmethod
    def parse(cls, name: str) -> Variant:
        """``psm-1024``, ``spm-paper-512-scope``, ``psm-1024-heal-off``, ``psm-512-suffix0.15``,
        ``psm-1024-word`` (only the word being typed after the middle sentinel, not the line),
        ``psm-1024-code`` (the line but its indentation after the middle sentinel),
        ``psm-1024-nopath`` (no repository-level header naming the file)."""
        out = cls()
        parts = name.split("-")
        if parts[:2] == ["spm", "paper"]:
            out, parts = replace(out, layout="spm-paper"), parts[2:]
        elif parts[0] in ("psm", "prefix"):
            out, parts = replace(out, layout="prefix-only" if parts[0] == "prefix" else "psm"), parts[1:]
            if parts[:1] == ["only"]:
                parts = parts[1:]
        while parts:
            p = parts.pop(0)
            if p.isdigit():
                out = replace(out, prompt_tokens=int(p))
            elif p in ("definition", "scope", "blank"):
                out = replace(out, suffix=p)
            elif p == "heal":
                out = replace(out, healing=parts.pop(0))
            elif p.startswith("suffix"):
                out = replace(out, suffix_share=float(p[len("suffix"):]))
            elif p == "word":
                out = replace(out, anchor="off")
            elif p == "code":
                out = replace(out, anchor="code")
            elif p == "nopath":
                out = replace(out, repository="file-sep")
            else:
                raise SystemExit(f"unknown variant part {p!r} in {name!r}")
        return out


def holes(split: str, per_kind: int, seed: int = 0):
    """``per_kind`` holes of each kind per language (blocks: 2 to 4 lines). ``line@col0``: the line holes
    again with the cursor at the start of the line and the next statement after it, the shape of
    HumanEval's single-line tasks (``bench_typing.at_column_0``)."""
    tasks = tasks_for(split, KINDS[:5], 6, 10_000, seed)
    tasks += [c for t in tasks if t.kind == "line" and (c := at_column_0(t))]
    out = []
    for kind in KINDS:
        for language in ("python", "javascript"):
            mine = [t for t in tasks if t.kind == kind and t.language == language
                    and (kind != "block" or 2 <= t.middle.strip("\n").count("\n") + 1 <= 4)]
            out += mine[:per_kind]
    return out


def load_engine_for(model: str, variant: Variant, threads: int | None):
    from fimkit.infer.engines.choice import EngineConfig, load_engine
    from fimkit.models import inspect_model, resolve_model

    family = inspect_model(resolve_model(model)).detection.family
    spec = "prefix-only" if variant.layout == "prefix-only" or family is None else f"{family.name}:{variant.layout}"
    engine = load_engine(EngineConfig(model=model, fim_format=spec, threads=threads, prompt_tokens=variant.prompt_tokens))
    engine.profile = replace(engine.profile, anchor=variant.anchor, repository=variant.repository,
                             suffix_share=variant.suffix_share, suffix_scope=variant.suffix)
    return engine


def request_for(task, variant: Variant, max_tokens: int) -> CompletionRequest:
    return CompletionRequest(task.prefix, task.suffix, language=task.language, filename=task.path,
                             healing=variant.healing, min_shown_logprob=None,
                             sampling=SamplingParams(max_tokens=max_tokens))


def budget_for(variant: Variant) -> ContextBudget:
    return ContextBudget(prompt_tokens=variant.prompt_tokens, suffix_share=variant.suffix_share,
                         suffix_scope=variant.suffix)


def record_path(model: str, variant: str, split: str) -> Path:
    return OUT / f"{Path(model).name}--{variant}--{split}.jsonl"


def part_record(args) -> None:
    from tqdm import tqdm

    variant = Variant.parse(args.variant)
    tasks = [t for t in holes(args.split, args.per_kind) if not args.kinds or t.kind in args.kinds.split(",")]
    path = record_path(args.model, args.variant, args.split)
    done = {json.loads(ln)["id"] for ln in path.open()} if path.is_file() else set()
    todo = [t for t in tasks if t.id not in done]
    if not todo:
        print(f"{path}: all {len(tasks)} holes recorded")
        return
    engine = load_engine_for(args.model, variant, args.threads)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        for task in tqdm(todo, desc=f"record {args.variant}"):
            limit = RECORD_TOKENS.get(task.kind, 64)
            request = request_for(task, variant, limit)
            prepared = prepare(engine, request, budget_for(variant))
            params = replace(request.sampling, healing=prepared.back_off)
            start = time.perf_counter()
            gen = engine.generate(prepared.prompt, params)
            pieces = [(p.text, p.logprob, p.healing) for p in gen]
            fh.write(json.dumps({"id": task.id, "kind": task.kind, "language": task.language, "held": prepared.held,
                                 "pieces": pieces, "stop": gen.stop_reason, "prompt_tokens": gen.stats.prompt_tokens,
                                 "ms": round((time.perf_counter() - start) * 1000, 1)}) + "\n")
            fh.flush()
    engine.close()


def load_records(model: str, variant: str, split: str) -> dict[str, dict]:
    path = record_path(model, variant, split)
    return {r["id"]: r for r in map(json.loads, path.open())}


def shape(task, rec: dict, config: ShapeConfig, n_ctx: int = 2048) -> str:
    """The middle ``run_completion`` returns for these recorded tokens under ``config``."""
    window = n_ctx * MAX_CHARS_PER_TOKEN
    shaper = Shaper(tail_chars(task.prefix, window), head_chars(task.suffix, window), config, held_blanks=rec["held"])
    for text, logprob, healing in rec["pieces"]:
        _, stop = shaper.feed(text, logprob, healing=healing)
        if stop:
            break
    return shaper.finish()[1].text


def raw_middle(task, rec: dict) -> str:
    """The raw model: its tokens to its end token (or the limit); one-line holes keep the first line
    (at column 0, the first non-blank one, as the issue's raw run did)."""
    from fimkit.infer.postprocess import heal_leading_blanks

    text = heal_leading_blanks("".join(p[0] for p in rec["pieces"]), rec["held"])
    if task.kind in ONE_LINE:
        if task.prefix.endswith("\n") or not task.prefix:
            body = text.lstrip("\n")
            return body.split("\n", 1)[0] + ("\n" if "\n" in body else "")
        return text.split("\n", 1)[0]
    return text


def score(task, middle: str) -> dict:
    parses = error_count(task.prefix + middle + task.suffix, task.language)
    return {"exact": float(exact_match(middle, task.middle)), "edit_sim": edit_similarity(middle, task.middle),
            "parses": None if parses is None else float(parses == 0)}


def profile_rules(model: str) -> frozenset[str]:
    """The shaping rules the model's profile (fimkit/models/profiles.toml) chose on the tuning split."""
    from fimkit.models import inspect_model, resolve_model
    from fimkit.models.profile import profile_for

    family = inspect_model(resolve_model(model)).detection.family
    return frozenset(profile_for(family.name if family else None).rules)


def configs_for(args) -> dict[str, ShapeConfig]:
    """Today's rules (the previous release's), every rule, and every rule but one, for each rule; then the
    model's profile and the profile with each rule switched the other way (on -> off, off -> on)."""
    every = frozenset(RULES)
    out = {"today's rules": ShapeConfig(rules=DEFAULT_RULES), "all rules": ShapeConfig(rules=every)}
    for rule in RULES:
        out[f"without {rule}"] = ShapeConfig(rules=every - {rule})
    out["no rules"] = ShapeConfig(rules=frozenset())
    chosen = profile_rules(args.model)
    out["profile"] = ShapeConfig(rules=chosen)
    for rule in RULES:
        out[f"profile {'-' if rule in chosen else '+'} {rule}"] = ShapeConfig(rules=chosen ^ {rule})
    for extra in (args.only or "").split(";"):
        if extra.strip():
            out[f"only {extra}"] = ShapeConfig(rules=frozenset(r.strip() for r in extra.split(",") if r.strip()))
    return out


def table(tasks, middles: dict[str, dict[str, str]], base: str) -> tuple[list[tuple[str, str, str]], tuple]:
    """One row per configuration: per kind, exact match / edit similarity / parses, each marked + or -
    where the paired 95% interval of its difference from ``base`` excludes 0."""
    kinds = [k for k in KINDS if any(t.kind == k for t in tasks)]
    values = {}
    for name, m in middles.items():
        for kind in kinds:
            mine = [t for t in tasks if t.kind == kind]
            values[name, kind] = [score(t, m[t.id]) for t in mine]
    rows = []
    for name in middles:
        cells = []
        for kind in kinds:
            parts = []
            for metric, fmt in (("exact", "{:.0%}"), ("edit_sim", "{:.2f}"), ("parses", "{:.0%}")):
                vals = [v[metric] for v in values[name, kind]]
                ref = [v[metric] for v in values[base, kind]]
                if any(v is None for v in vals):
                    continue
                mark = ""
                if name != base:
                    lo, hi = paired_difference_ci(vals, ref)
                    mark = "+" if lo > 0 else "-" if hi < 0 else ""
                parts.append(fmt.format(sum(vals) / len(vals)) + mark)
            cells.append(" ".join(parts))
        rows.append((name, *cells))
    header = ("configuration", *[f"{k} ({sum(t.kind == k for t in tasks)}): EM ES parses" for k in kinds])
    return rows, header


def print_rows(rows, header) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")


def part_rules(args) -> None:
    tasks = {t.id: t for t in holes(args.split, args.per_kind)}
    recs = load_records(args.model, args.variant, args.split)
    tasks = [tasks[i] for i in recs if i in tasks]
    configs = configs_for(args)
    middles = {"raw": {t.id: raw_middle(t, recs[t.id]) for t in tasks}}
    for name, config in configs.items():
        middles[name] = {t.id: shape(t, recs[t.id], replace(config, language=t.language)) for t in tasks}
    print(f"\n## {args.model} {args.variant}, {args.split} split: shaping configurations against the raw model")
    print_rows(*table(tasks, middles, "raw"))
    print("(+ / -: the paired 95% interval of the difference from the raw model excludes 0)")
    profile = ["raw", "profile"] + [name for name in middles if name.startswith("profile ")]
    print(f"\n## {args.model} {args.variant}, {args.split} split: each rule switched on or off against the profile")
    print_rows(*table(tasks, {name: middles[name] for name in profile}, "profile"))
    print("(+ / -: the paired 95% interval of the difference from the profile's rules excludes 0)")
    if args.show:
        for t in tasks:
            if t.kind == args.show:
                print(f"--- {t.id}\nTARGET {t.middle!r}\nRAW    {middles['raw'][t.id]!r}\nALL    {middles['all rules'][t.id]!r}"
                      f"\nTOKENS {''.join(p[0] for p in recs[t.id]['pieces'])[:300]!r}")


def part_compare(args) -> None:
    names = args.variants.split(",")
    tasks = {t.id: t for t in holes(args.split, args.per_kind)}
    recs = {v: load_records(args.model, v, args.split) for v in names}
    ids = set.intersection(*(set(r) for r in recs.values())) & set(tasks)
    tasks = [tasks[i] for i in sorted(ids)]
    rules = frozenset(r.strip() for r in args.rules.split(",") if r.strip()) if args.rules is not None else None
    middles = {}
    for v in names:
        middles[v] = {t.id: shape(t, recs[v][t.id], ShapeConfig(rules=rules, language=t.language)) for t in tasks}
        middles[v + " raw"] = {t.id: raw_middle(t, recs[v][t.id]) for t in tasks}
    for v in names:
        ms = sorted(r["ms"] for r in recs[v].values())
        print(f"{v}: {len(ms)} holes, median {ms[len(ms) // 2]:.0f} ms per hole (prompt + {RECORD_TOKENS} tokens)")
    print(f"\n## {args.model}, {args.split} split: prompt variants (shaping rules {args.rules or 'all'})")
    print_rows(*table(tasks, middles, names[0]))
    print(f"(+ / -: the paired 95% interval of the difference from {names[0]} excludes 0)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("part", choices=("record", "rules", "compare"))
    ap.add_argument("--model", default="qwen2.5-coder-0.5b")
    ap.add_argument("--variant", default="psm-1024")
    ap.add_argument("--variants", default="psm-1024,psm-512")
    ap.add_argument("--split", default="tune", choices=("tune", "report"))
    ap.add_argument("--per-kind", type=int, default=20, help="holes of each kind per language")
    ap.add_argument("--threads", type=int)
    ap.add_argument("--kinds", help="record: only these hole kinds (comma-separated)")
    ap.add_argument("--only", help="rules: extra configurations, ';'-separated lists of the rules they keep")
    ap.add_argument("--rules", help="compare: the shaping rules applied (comma-separated; default all)")
    ap.add_argument("--show", help="rules: print each hole of this kind")
    args = ap.parse_args()
    {"record": part_record, "rules": part_rules, "compare": part_compare}[args.part](args)


if __name__ == "__main__":
    main()
