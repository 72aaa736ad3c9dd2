"""Data pipeline speed: `fimkit fim` and `fimkit tokenize` against naive and raw baselines, in one run.

    .venv/bin/python benchmarks/bench_data.py            # >= 50 MB of real code from this machine
    .venv/bin/python benchmarks/bench_data.py --corpus-mb 10   # quicker look

Corpus: Python, JavaScript/TypeScript and SQL files already on disk (the standard library, the
packages installed in .venv), built with fimkit's own corpus builder and split into shards.
Measured, each on the same shards:
  transform  fimkit fim with 1 and 2 processes (MB/s of input) vs a naive single-process loop written
             here (read JSON lines, cut, render, write: no sanitization, no per-record seeding);
  tokenize   fimkit tokenize with 1 and 2 processes (tokens/s) vs raw `tokenizers` encode_batch on the
             same texts (no I/O, no output);
  memory     peak RSS of a 1-process transform on half the shards vs all of them (streaming: flat).
Targets (issue #3): transform >= 0.9x naive per process, >= 1.7x from 1 to 2 processes,
tokenization >= 0.8x raw encode_batch.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import resource
import shutil
import sys
import sysconfig
import time
from pathlib import Path

from common import print_table

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".bench" / "data"


def build_shards(corpus_mb: float, shards: int) -> list[Path]:
    from fimkit.data.corpus import CorpusConfig, build_corpus
    from fimkit.data.jsonl import read_lines, write_jsonl

    corpus = WORK / f"corpus-{corpus_mb:g}mb.jsonl"
    if not corpus.exists():
        sources = [sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"]]
        print(f"building a {corpus_mb:g} MB corpus from {', '.join(sources)} ...", file=sys.stderr)
        stats = build_corpus(sources, corpus, CorpusConfig(max_total_bytes=int(corpus_mb * 1e6)), progress=True)
        print(f"corpus: {stats.kept} files, {stats.kept_bytes / 1e6:.1f} MB", file=sys.stderr)
    shard_dir = WORK / f"shards-{corpus_mb:g}mb-{shards}"
    if not shard_dir.exists():
        tmp = shard_dir.with_name(shard_dir.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        writers = []
        from contextlib import ExitStack

        with ExitStack() as stack:
            writers = [stack.enter_context(write_jsonl(tmp / f"shard{i:02d}.jsonl")) for i in range(shards)]
            for n, line in enumerate(read_lines(corpus)):
                writers[n % shards](line.record)
        tmp.rename(shard_dir)
    return sorted(shard_dir.glob("*.jsonl"))


def naive_transform(files: list[Path], out_dir: Path, fim_rate: float = 0.5, seed: int = 0) -> None:
    """The simplest correct-looking loop: what the speed of the real transform is judged against."""
    rng = random.Random(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    pre, suf, mid = "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"
    for path in files:
        with open(path, encoding="utf-8") as fin, open(out_dir / path.name, "w", encoding="utf-8") as fout:
            for raw in fin:
                record = json.loads(raw)
                text = record["text"]
                if len(text) >= 5 and rng.random() < fim_rate:
                    a, b = sorted(rng.sample(range(len(text) + 1), 2))
                    p, m, s = text[:a], text[a:b], text[b:]
                    if rng.random() < 0.5:
                        text = pre + p + suf + s + mid + m
                    else:
                        text = pre + suf + s + mid + p + m
                    record["text"] = text
                fout.write(json.dumps(record, ensure_ascii=False) + "\n")


def _child_peak_rss_mb(target, *args) -> tuple[float, float]:
    """Run target(*args) in a fresh process; return (seconds, peak RSS MB of that process)."""
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()

    def run():
        start = time.perf_counter()
        target(*args)
        queue.put((time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))

    proc = ctx.Process(target=run)
    proc.start()
    result = queue.get()
    proc.join()
    return result


def best_of(repeats: int, fn, setup=None) -> float:
    times = []
    for _ in range(repeats):
        if setup:
            setup()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus-mb", type=float, default=55.0)
    ap.add_argument("--shards", type=int, default=16)
    ap.add_argument("--tokenizer", default="gemma-3-270m")
    ap.add_argument("--repeats", type=int, default=5, help="best of N for the transform timings")
    args = ap.parse_args()

    from fimkit.data.fim import FimTransformConfig, run_fim
    from fimkit.data.tokenize import TokenizeConfig, TokenizerSection, run_tokenize
    from fimkit.data.tokenizer import load_tokenizer

    files = build_shards(args.corpus_mb, args.shards)
    mb = sum(f.stat().st_size for f in files) / 1e6
    out = WORK / "out"
    cfg = FimTransformConfig(fim_rate=0.5, seed=0)

    naive_out = WORK / "naive-out"

    def ours(processes, subset=files):
        run_fim([str(f) for f in subset], out, cfg, processes=processes)

    def fresh():  # both sides write into an empty folder; deleting old output is not timed
        for d in (out, naive_out):
            shutil.rmtree(d, ignore_errors=True)

    t_naive = best_of(args.repeats, lambda: naive_transform(files, naive_out), fresh)
    t_ours1 = best_of(args.repeats, lambda: ours(1), fresh)
    t_ours2 = best_of(args.repeats, lambda: ours(2), fresh)

    fresh()
    _, rss_half = _child_peak_rss_mb(ours, 1, files[: len(files) // 2])
    fresh()
    _, rss_full = _child_peak_rss_mb(ours, 1, files)

    # Tokenization: raw encode_batch on the very texts fimkit tokenizes (the transformed corpus).
    texts = [json.loads(line)["text"] for f in sorted(out.glob("*.jsonl")) for line in open(f, encoding="utf-8")]
    tok = load_tokenizer(args.tokenizer, "fimkit")  # warms the tokenizer cache
    raw = tok.tokenizer
    start = time.perf_counter()
    n_raw = 0
    for i in range(0, len(texts), 512):
        n_raw += sum(len(e.ids) for e in raw.encode_batch(texts[i : i + 512], add_special_tokens=False))
    t_raw = time.perf_counter() - start
    tok_times = {}
    for processes in (1, 2):
        dest = WORK / f"tokens-{processes}"
        shutil.rmtree(dest, ignore_errors=True)
        tcfg = TokenizeConfig(documents=(str(out),), destination=str(dest), processes=processes,
                              tokenizer=TokenizerSection(name_or_path=args.tokenizer))
        start = time.perf_counter()
        stats = run_tokenize(tcfg)
        tok_times[processes] = (time.perf_counter() - start, stats.tokens)

    rows = [
        ("transform, naive baseline (1 process)", f"{mb / t_naive:.1f} MB/s", "1.00x"),
        ("transform, fimkit fim, 1 process", f"{mb / t_ours1:.1f} MB/s", f"{t_naive / t_ours1:.2f}x naive (target >= 0.9x)"),
        ("transform, fimkit fim, 2 processes", f"{mb / t_ours2:.1f} MB/s", f"{t_ours1 / t_ours2:.2f}x of 1 process (target >= 1.7x)"),
        ("tokenize, raw tokenizers encode_batch", f"{n_raw / t_raw / 1e3:.0f}k tokens/s", "1.00x"),
    ]
    for p, (t, n) in tok_times.items():
        rows.append((f"tokenize, fimkit tokenize, {p} process{'es' if p > 1 else ''}", f"{n / t / 1e3:.0f}k tokens/s",
                     f"{(n / t) / (n_raw / t_raw):.2f}x raw (target >= 0.8x)"))
    rows.append(("transform peak RSS, half vs whole corpus", f"{rss_half:.0f} MB vs {rss_full:.0f} MB", "flat"))
    print(f"\ncorpus: {mb:.1f} MB in {len(files)} shards, {len(texts)} documents; tokenizer {args.tokenizer}; "
          f"{os.cpu_count()} CPUs\n")
    print_table(rows, ("what", "speed", "ratio"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
