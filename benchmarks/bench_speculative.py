"""Speculative decoding where it might pay (issue 34, item 5): llama.cpp's prompt-lookup decoding in
process, and Qwen2.5-Coder 0.5B as the draft model of the 1.5B on llama-server, each side by side with
plain greedy decoding on the same holes in one run.

    .venv/bin/python benchmarks/bench_speculative.py                 # ~10 minutes on 2 cores
    .venv/bin/python benchmarks/bench_speculative.py --parts draft --holes 10

Holes: 2-4 line blocks and line holes of the reported split of benchmarks/bench_profile.py (longer
middles are where drafts could pay). Each request gets a warm-up first (``max_tokens`` 0), so the time
measured is decoding, and the middles are compared (greedy: they should be the same).

- lookup: the in-process engine with ``--lookup-decoding`` against without, for each model.
- draft: ``fimkit serve --backend llama-server --model qwen2.5-coder-1.5b`` with ``--engine-args
  '--model-draft <the 0.5B GGUF> --spec-draft-n-max 8'`` against the same server without a draft model.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import urllib.request

from bench_profile import holes
from bench_serve import Server

from fimkit.infer import CompletionRequest, SamplingParams, run_completion
from fimkit.infer.config import EngineConfig
from fimkit.infer.engines.choice import load_engine


def tasks(n: int):
    picked = [t for t in holes("report", 30) if t.kind in ("block", "line")]
    return picked[:n]


def part_lookup(args) -> None:
    for model in args.models.split(","):
        engines = {on: load_engine(EngineConfig(model=model, lookup_decoding=on, prompt_caches=0)) for on in (True, False)}
        rate = {True: [], False: []}
        differ = drafted = accepted = 0
        for i, task in enumerate(tasks(args.holes)):
            out = {}
            for on in ((True, False) if i % 2 == 0 else (False, True)):
                engine = engines[on]
                run_completion(engine, CompletionRequest(task.prefix, task.suffix, language=task.language,
                                                         sampling=SamplingParams(max_tokens=0)))
                result = run_completion(engine, CompletionRequest(task.prefix, task.suffix, language=task.language,
                                                                  sampling=SamplingParams(max_tokens=96)))
                st = result.stats
                out[on] = result.text
                if st.predicted_tokens >= 4 and st.predicted_ms > 0:
                    rate[on].append(st.predicted_tokens / st.predicted_ms * 1000)
                if on:
                    drafted, accepted = drafted + st.drafted_tokens, accepted + st.accepted_tokens
            differ += out[True] != out[False]
        for engine in engines.values():
            engine.close()
        on, off = statistics.median(rate[True]), statistics.median(rate[False])
        print(f"| {model} | lookup decoding | {off:.1f} tokens/s | {on:.1f} tokens/s | {on / off:.2f}x | "
              f"{accepted} of {drafted} drafted tokens kept; {differ} middles differ |", flush=True)


def ask(base: str, task, max_tokens: int) -> dict:
    body = {"prompt": task.prefix, "suffix": task.suffix, "max_tokens": max_tokens, "language": task.language}
    req = urllib.request.Request(base + "/v1/completions", json.dumps(body).encode(), {"Content-Type": "application/json"})
    start = time.perf_counter()
    with urllib.request.urlopen(req, timeout=600) as r:
        reply = json.loads(r.read())
    reply["ms"] = (time.perf_counter() - start) * 1000
    return reply


def part_draft(args) -> None:
    from fimkit.models import resolve_model

    draft = resolve_model("qwen2.5-coder-0.5b").path
    sides = {"plain": (), "0.5B draft": ("--engine-args", f"--model-draft {draft} --spec-draft-n-max 8 --spec-draft-n-min 1")}
    rates, texts = {}, {}
    for name, flags in sides.items():
        server = Server("--backend", "llama-server", "--model", "qwen2.5-coder-1.5b", "--parallel", "1",
                        "--min-shown-logprob", "-100", *flags)
        try:
            rates[name], texts[name] = [], []
            for task in tasks(args.holes):
                ask(server.base, task, 0)
                reply = ask(server.base, task, 96)
                tokens = reply["usage"]["completion_tokens"]
                texts[name].append(reply["choices"][0]["text"])
                if tokens >= 4:
                    rates[name].append(tokens / reply["ms"] * 1000)
        finally:
            server.close()
    plain, drafted = statistics.median(rates["plain"]), statistics.median(rates["0.5B draft"])
    differ = sum(a != b for a, b in zip(texts["plain"], texts["0.5B draft"]))
    print(f"| qwen2.5-coder-1.5b on llama-server | 0.5B as draft model | {plain:.1f} tokens/s | {drafted:.1f} tokens/s "
          f"| {drafted / plain:.2f}x | {differ} of {len(texts['plain'])} middles differ |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", default="lookup,draft")
    ap.add_argument("--models", default="qwen2.5-coder-0.5b,qwen2.5-coder-1.5b")
    ap.add_argument("--holes", type=int, default=16)
    args = ap.parse_args()
    print("| model | speculation | greedy | with it | ratio | notes |\n|---|---|---|---|---|---|")
    for part in args.parts.split(","):
        {"lookup": part_lookup, "draft": part_draft}[part](args)


if __name__ == "__main__":
    main()
