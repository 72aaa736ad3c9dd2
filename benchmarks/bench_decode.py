"""Decoding speed: prompt-lookup drafts (``--lookup-decoding``, the default) against plain greedy decoding,
on the same requests (embedded Gemma-3-270m, 2 threads, holes cut from a real repository).

    .venv/bin/python benchmarks/bench_decode.py                # jinja2, 30 holes, ~4 minutes on 2 cores

Each hole is completed through ``run_completion`` (what every API does) by two in-process engines,
one with drafts and one without, alternating which goes first. The prompt is evaluated by a warm-up
before the timed request, so the time measured is decoding. Prints decoded tokens per second for
both, the ratio (target >= 1.3x where it is on), how many drafted tokens were kept, and how often the
two completions differ (they should not, up to batch rounding).
"""

from __future__ import annotations

import argparse
import statistics

from bench_context import KINDS, repo_path
from common import print_table

from fimkit.eval.holes import HoleConfig, cut_holes
from fimkit.infer import CompletionRequest, SamplingParams, run_completion
from fimkit.infer.config import EngineConfig
from fimkit.infer.engines.choice import load_engine


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo", default="jinja2")
    ap.add_argument("--holes", type=int, default=30)
    ap.add_argument("--max-tokens", type=int, default=96)
    args = ap.parse_args()
    tasks = [t for t in cut_holes(repo_path(args.repo), HoleConfig(seed=5, languages=("python",))) if t.kind in KINDS]
    tasks = tasks[: args.holes]
    engines = {on: load_engine(EngineConfig(threads=2, lookup_decoding=on, prompt_caches=0)) for on in (True, False)}
    speed = {True: [], False: []}
    tokens = {True: 0, False: 0}
    ms = {True: 0.0, False: 0.0}
    drafted = accepted = differ = 0
    for i, task in enumerate(tasks):
        outputs = {}
        for on in ((True, False) if i % 2 == 0 else (False, True)):
            engine = engines[on]
            request = CompletionRequest(task.prefix, task.suffix, language="python", single_line=False,
                                        sampling=SamplingParams(max_tokens=args.max_tokens))
            run_completion(engine, CompletionRequest(task.prefix, task.suffix, sampling=SamplingParams(max_tokens=0)))
            result = run_completion(engine, request)
            st = result.stats
            outputs[on] = result.text
            if st.predicted_tokens >= 4 and st.predicted_ms > 0:
                speed[on].append(st.predicted_tokens / st.predicted_ms * 1000)
                tokens[on] += st.predicted_tokens
                ms[on] += st.predicted_ms
            if on:
                drafted += st.drafted_tokens
                accepted += st.accepted_tokens
        differ += outputs[True] != outputs[False]
        print(f"  {i + 1}/{len(tasks)} {task.kind}", flush=True)
    for engine in engines.values():
        engine.close()
    overall = {on: tokens[on] / ms[on] * 1000 for on in (True, False)}
    print_table([
        ("plain greedy decoding", f"{overall[False]:.1f} tokens/s (median per request {statistics.median(speed[False]):.1f})",
         f"{tokens[False]} tokens, {len(tasks)} holes of {args.repo}"),
        ("prompt-lookup drafts", f"{overall[True]:.1f} tokens/s (median per request {statistics.median(speed[True]):.1f})",
         f"{overall[True] / overall[False]:.2f}x plain (target >= 1.3x); {accepted}/{drafted} drafted tokens kept"),
        ("completions that differ", f"{differ}/{len(tasks)}", "batch rounding can flip a near-tie"),
    ])


if __name__ == "__main__":
    main()
