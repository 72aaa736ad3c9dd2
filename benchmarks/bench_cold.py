"""The first completion in a new place: fimkit serve against a bare llama-cpp-python loop, cold, after a
warm-up and while typing (the model --model auto serves, or --model; 2 threads, one-line holes cut from a
real repository).

    .venv/bin/python benchmarks/bench_cold.py                   # jinja2's holes, ~6 minutes on 2 cores
    .venv/bin/python benchmarks/bench_cold.py --repo PATH --holes 15

(1) profile: one cold request through ``run_completion`` in-process, under cProfile: where the time goes.
(2) cold: each hole in a different file, nothing cached. The server (``POST /v1/completions`` with the
    suffix, as editors send it) against a plain llama-cpp-python greedy loop that gets the same number of
    prompt tokens (the end of the prefix) and stops at the end of the line. Also the server with the
    other budget (``--other-budget``, default the whole 2,048 window). Exact match of the
    first line for all three. Targets: server <= 1.1x the bare loop; cold p50 <= 3 s.
(3) after a warm-up: the editor sent ``max_tokens: 0`` when the cursor arrived, then asks. Target < 500 ms.
(4) typing: the hole's line typed character by character, a completion every 3 characters. Target < 150 ms.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time

from bench_context import repo_path
from bench_serve import Server
from common import print_table

from fimkit.eval.holes import HoleConfig, cut_holes
from fimkit.eval.metrics import percentile as pct


def pick(repo: str, n: int):
    """One line hole per file (a new place each time), end-of-line holes: the editor's common case."""
    seen, out = set(), []
    for t in cut_holes(repo_path(repo), HoleConfig(seed=3, per_file=5, languages=("python",))):
        path = t.id.split(":", 1)[0]
        if t.kind == "line" and path not in seen and len(t.prefix) > 2000:
            seen.add(path)
            out.append(t)
    return out[:n]


def first_line(text: str) -> str:
    return text.strip("\n").split("\n", 1)[0].strip()


def profile_one(task, model: str) -> str:
    from fimkit.infer import CompletionRequest, SamplingParams, run_completion
    from fimkit.infer.config import EngineConfig
    from fimkit.infer.engines.choice import load_engine

    engine = load_engine(EngineConfig(model=model, threads=2))
    request = CompletionRequest(task.prefix, task.suffix, language="python", sampling=SamplingParams(max_tokens=64))
    prof = cProfile.Profile()
    start = time.perf_counter()
    prof.enable()
    result = run_completion(engine, request)
    prof.disable()
    total = (time.perf_counter() - start) * 1000
    engine.close()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(8)
    body = [ln for ln in out.getvalue().splitlines() if ln.strip()][-9:]
    st = result.stats
    head = (f"one cold request: {total:.0f} ms = prompt {st.prompt_tokens} tokens in {st.prompt_ms:.0f} ms "
            f"({st.prompt_ms / max(1, st.prompt_tokens):.2f} ms/token) + {st.predicted_tokens} tokens decoded in "
            f"{st.predicted_ms:.0f} ms + {total - st.prompt_ms - st.predicted_ms:.0f} ms everything else")
    return head + "\n" + "\n".join(body)


def bare_loop(llm, task, n_prompt: int, family=None) -> tuple[float, str]:
    """A plain greedy loop on as many prompt tokens as the server used: the end of the prefix for a
    prefix-only model; for a FIM model its PSM prompt, the prefix's end and the suffix's start in the
    server's shares (60/30)."""
    tokens = llm.tokenize(task.prefix.rstrip(" \t").encode(), add_bos=False, special=False)
    if family is None:
        tokens = [llm.token_bos()] + tokens[-(n_prompt - 1):]
    else:
        special = [llm.tokenize(s.encode(), add_bos=False, special=True)[0] for s in family.structural()]
        suffix = llm.tokenize(task.suffix.encode(), add_bos=False, special=False)[: max(1, n_prompt * 3 // 10)]
        tokens = [special[0], *tokens[-max(1, n_prompt - len(suffix) - 3):], special[1], *suffix, special[2]]
    llm.reset()
    out, start = b"", time.perf_counter()
    for tok in llm.generate(tokens, temp=0.0, top_k=1, repeat_penalty=1.0):
        if tok == llm.token_eos():
            break
        out += llm.detokenize([tok])
        if b"\n" in out.lstrip(b"\n") or len(out) > 400:
            break
    return (time.perf_counter() - start) * 1000, out.decode("utf-8", "replace")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo", default="jinja2")
    ap.add_argument("--holes", type=int, default=15)
    ap.add_argument("--model", default="auto", help="the model served (default: what --model auto picks here)")
    ap.add_argument("--other-budget", default="2048", help="the prompt budget compared with the default")
    args = ap.parse_args()
    tasks = pick(args.repo, args.holes)
    print(f"{len(tasks)} one-line holes from {args.repo}, one per file\n", flush=True)

    import llama_cpp

    from fimkit.models import inspect_model, resolve_model

    resolved = resolve_model(args.model)
    family = inspect_model(resolved).detection.family
    print(f"model: {resolved.name}\n" + profile_one(tasks[0], resolved.name) + "\n", flush=True)
    llm = llama_cpp.Llama(model_path=str(resolved.path), n_ctx=4096, n_threads=2, verbose=False)
    rows, cold = [], {}
    for label, flags in (("fimkit serve (default budget)", ()),
                         (f"fimkit serve, --prompt-tokens {args.other_budget}", ("--prompt-tokens", args.other_budget))):
        server = Server("--threads", "2", "--model", resolved.name, *flags)
        lat, bare, exact, bare_exact, prompt = [], [], 0, 0, []
        try:
            for task in tasks:
                body = {"prompt": task.prefix, "suffix": task.suffix, "max_tokens": 64, "temperature": 0,
                        "language": "python"}
                ms, data = server.post("/v1/completions", body)
                n_prompt = data["usage"]["prompt_tokens"]
                lat.append(ms)
                prompt.append(n_prompt)
                exact += first_line(data["choices"][0]["text"]) == first_line(task.middle)
                b_ms, b_text = bare_loop(llm, task, n_prompt, family)
                bare.append(b_ms)
                bare_exact += first_line(b_text) == first_line(task.middle)
                print(f"  {label}: {ms:.0f} ms vs bare {b_ms:.0f} ms, {n_prompt} prompt tokens", flush=True)
            if not flags:  # (3) and (4) on the default server
                warm, typing = [], []
                for task in tasks:
                    # The cursor arrives at the line (the start of the hole): the editor warms it, then asks.
                    server.post("/v1/completions", {"prompt": task.prefix, "suffix": task.suffix, "max_tokens": 0})
                    ms, _ = server.post("/v1/completions", {"prompt": task.prefix, "suffix": task.suffix,
                                                            "max_tokens": 64, "temperature": 0})
                    warm.append(ms)
                    line = first_line(task.middle)
                    for i in range(3, len(line) + 1, 3):
                        ms, _ = server.post("/v1/completions", {"prompt": task.prefix + line[:i], "suffix": task.suffix,
                                                                "max_tokens": 64, "temperature": 0})
                        typing.append(ms)
        finally:
            server.close()
        n = len(tasks)
        ratio = statistics.median(lat) / statistics.median(bare)
        cold[label] = lat
        rows.append((f"cold: {label}", f"p50 {statistics.median(lat) / 1000:.2f} s, p95 {pct(lat, 95) / 1000:.2f} s; "
                     f"EM {exact}/{n}", f"{statistics.mean(prompt):.0f} prompt tokens; {ratio:.2f}x the bare loop "
                     "(target <= 1.10x)"))
        rows.append((f"cold: bare llama-cpp-python, same prompt length as {label}",
                     f"p50 {statistics.median(bare) / 1000:.2f} s, p95 {pct(bare, 95) / 1000:.2f} s; EM {bare_exact}/{n}",
                     "greedy, stop at the end of the line"))
        if not flags:
            rows.append(("after a warm-up (max_tokens 0 when the cursor arrives)",
                         f"p50 {statistics.median(warm):.0f} ms, p95 {pct(warm, 95):.0f} ms", "target < 500 ms"))
            rows.append(("typing (a completion every 3 characters)",
                         f"p50 {statistics.median(typing):.0f} ms, p95 {pct(typing, 95):.0f} ms",
                         f"{len(typing)} requests; target < 150 ms"))
    labels = list(cold)
    rows.append((f"cold p50, default / --prompt-tokens {args.other_budget}", f"{statistics.median(cold[labels[0]]) / statistics.median(cold[labels[1]]):.2f}x",
                 "target: default p50 <= 3 s"))
    llm.close()
    print_table(rows)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(__file__))
    main()
