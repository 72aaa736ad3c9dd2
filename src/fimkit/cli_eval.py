"""The eval verb: parse flags, run the evaluation, write and print the report."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from fimkit.errors import FimkitError
from fimkit.settings import add_flags, build, flag_type, overrides_from_args


def register(sub, formatter, dedent) -> None:
    from fimkit.eval.tasks import BENCHMARK_HELP

    p = sub.add_parser(
        "eval", formatter_class=formatter, help="measure completion quality and latency, comparing models and modes",
        description=dedent(f"""
            Evaluate fill-in-the-middle completion the way users get it: every sample goes through the
            server's pipeline (budget, rendering, post-processing), is timed, executed in a sandbox when
            the benchmark has tests, and scored. Several --model and --mode values are compared on the
            same tasks in one table with 95% bootstrap intervals and a paired test against the first
            (so are several --candidates counts).

            benchmarks: {BENCHMARK_HELP}
            modes: auto (the model's own format), psm, spm (paper variant), spm-dolma, prefix-only
            metrics: pass@k (unbiased estimator, executed), exact match, edit similarity
            (1 - Levenshtein / max length), "parses" for holes; per single/multi-line and cursor position.
            Results are appended per sample to OUTPUT/results.jsonl: rerun the same command to resume.
        """),
        epilog=dedent("""
            examples:
              fimkit eval --model gemma-3-270m --benchmark humaneval-single --mode prefix-only
              fimkit eval --model gemma-3-270m --model fim-model-q4_0.gguf --mode prefix-only,auto \\
                  --benchmark humaneval-random-span-light --output reports/compare
              fimkit eval --model fim-model-q4_0.gguf --mode psm,spm --benchmark holes:~/src/myrepo --limit 200
              fimkit eval --benchmark humaneval-multi --limit 100 --samples 10 --temperature 0.2
              fimkit eval --benchmark holes:~/src/myrepo --mode prefix-only --candidates 1,4 --limit 100
              fimkit eval --benchmark holes:~/src/myrepo --context none,workspace --limit 200
              fimkit eval --benchmark typed:~/src/myrepo --healing off,word --limit 300
        """),
    )
    p.add_argument("--model", action="append", help="model reference; repeat to compare (default: auto, the model "
                   "fimkit serve would pick on this machine)")
    p.add_argument("--benchmark", required=True, help="benchmark name (see above)")
    p.add_argument("--mode", default="auto", help="comma-separated modes, each run for every model (default: auto)")
    p.add_argument("--candidates", default="1", metavar="N[,N...]",
                   help="comma-separated candidate counts, each a contender: 1 is greedy, N > 1 ranks N middles "
                        "by how well they lead into the suffix (default: 1)")
    p.add_argument("--context", default="none", metavar="C[,C...]",
                   help="comma-separated repository contexts, each a contender: none; workspace (definitions "
                        "and similar code from the tasks' repository, as `fimkit serve --workspace` gives); "
                        "definitions or similar (one of the two alone) (default: none)")
    p.add_argument("--healing", default=None, metavar="P[,P...]",
                   help="comma-separated token-healing policies, each a contender (off, 1-token, 2-tokens, word, "
                        "lexeme; default: the engine's own)")
    p.add_argument("--workspace", metavar="PATH",
                   help="the repository --context indexes (default: a holes:PATH benchmark's PATH)")
    p.add_argument("--backend", choices=("llama-cpp", "transformers", "llama-server"), default="llama-cpp")
    p.add_argument("--limit", type=flag_type(int, min=1), help="evaluate a seeded sample of N tasks")
    p.add_argument("--output", help="report folder (default: reports/<benchmark>-<time>)")
    from fimkit.eval.config import EvalConfig

    add_flags(p.add_argument_group("completion and execution"), EvalConfig)
    p.set_defaults(func=cmd_eval)


def cmd_eval(args) -> int:
    from fimkit.eval.report import summarize, write_reports
    from fimkit.eval.runner import CONTEXTS, MODES, Contender, EvalConfig, run_eval
    from fimkit.eval.tasks import load_tasks
    from fimkit.infer.config import check_candidates

    values = overrides_from_args(args, EvalConfig)
    models = args.model or ["auto"]
    modes = [m.strip() for m in args.mode.split(",") if m.strip()]
    for m in modes:
        if m not in MODES:
            raise FimkitError(f"unknown mode {m!r}; choose from: {', '.join(MODES)}")
    if values.get("single_line") is None and args.benchmark == "humaneval-single":
        values["single_line"] = True  # the benchmark's protocol: a one-line hole, completed as one line
    config = build(EvalConfig, values, "command line")
    tasks = load_tasks(args.benchmark, limit=args.limit, seed=config.seed)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    safe = args.benchmark.replace(":", "_").replace("/", "_").strip("_")[:60]
    out = Path(args.output or f"reports/{safe}-{stamp}")
    counts = []
    for c in args.candidates.split(","):
        if not c.strip().isdigit():
            raise FimkitError(f"--candidates takes counts such as 1,4, not {c.strip()!r}")
        check_candidates(int(c))
        counts.append(int(c))
    contexts = [c.strip() for c in args.context.split(",") if c.strip()]
    for c in contexts:
        if c not in CONTEXTS:
            raise FimkitError(f"unknown context {c!r}; choose from: {', '.join(CONTEXTS)}")
    workspace = args.workspace or next((args.benchmark.split(":", 1)[1] for kind in ("holes:", "typed:")
                                        if args.benchmark.startswith(kind)), None)
    from fimkit.infer.engines.healing import POLICIES

    healings = [h.strip() for h in args.healing.split(",") if h.strip()] if args.healing else [None]
    for h in healings:
        if h is not None and h not in POLICIES:
            raise FimkitError(f"unknown healing policy {h!r}; choose from: {', '.join(POLICIES)}")
    contenders = [Contender(m, mode, args.backend, n, c, healing=h) for m in models for mode in modes for n in counts
                  for c in contexts for h in healings]
    print(f"fimkit eval: {len(tasks)} tasks x {len(contenders)} contender(s) x {config.samples} sample(s) -> {out}",
          file=sys.stderr)
    start = time.perf_counter()
    results, sandbox = run_eval(contenders, tasks, config, output=out, progress=sys.stderr.isatty(),
                                log=lambda m: print(f"fimkit: {m}", file=sys.stderr), workspace=workspace)
    labels = {c.label for c in contenders}
    task_ids = {t.id for t in tasks}
    rows = [r for r in results.rows.values() if r.contender in labels and r.task_id in task_ids]
    report = summarize(rows, samples=config.samples)
    report["meta"] = {"benchmark": args.benchmark, "tasks": len(tasks), "samples": config.samples,
                      "temperature": config.temperature, "single_line": config.single_line,
                      "max_tokens": config.max_tokens,
                      "execution isolation": sandbox.isolation if any(t.executable for t in tasks) else "not executed",
                      "wall seconds": round(time.perf_counter() - start, 1)}
    paths, note = write_reports(report, rows, out, f"fimkit eval: {args.benchmark}")
    print((out / "report.md").read_text())
    if note:
        print(f"fimkit: {note}", file=sys.stderr)
    print(f"fimkit: wrote {', '.join(str(p) for p in paths)}", file=sys.stderr)
    return 0
