"""Training speed of ``fimkit adapt``'s LoRA on the embedded Gemma-3-270m: the loss normalized over
the whole 262k-token vocabulary (``--softmax full``, the baseline) against the tokens the
repository's training text uses (``--softmax seen``).

    .venv/bin/python benchmarks/bench_adapt_softmax.py              # peft's training files, 8 steps each (~8 min)
    .venv/bin/python benchmarks/bench_adapt_softmax.py --repo PATH --steps 4

Both train adapt's own configuration (next-token records of the split's training files, LoRA rank 64,
batch 2 x accumulation 2, 512-token windows, the same seed and so the same batches), each in its own
process so peak memory is its own. Tokens/s counts the tokens of steps 2..N (the first step warms
up). Whether the faster steps also learn as much is a separate question, answered by
``bench_adapt_objectives.py --rows rank64,rank64-seen``.
"""

from __future__ import annotations

import argparse
import json
import sysconfig
import tempfile
from pathlib import Path

from common import print_result, print_table, run_role

from fimkit.adapt.config import AdaptConfig


def make_data(repo: str, path: Path) -> int:
    from fimkit.adapt.records import training_records
    from fimkit.adapt.split import split_repositories
    from fimkit.data.jsonl import write_jsonl

    split = split_repositories([repo], method="files", heldout_fraction=0.2, seed=0)
    count = 0
    with write_jsonl(path) as write:
        for record in training_records(split.train, objective="next-token", chunk_chars=512 * 3 - 100, seed=0):
            write(record)
            count += 1
    return count


def role(data: Path, softmax: str, steps: int, out: Path) -> dict:
    from fimkit.train.config import load_config
    from fimkit.train.trainer import train

    adapt = AdaptConfig()
    logged = []
    cfg = load_config(None, {"data": str(data), "output": str(out), "fim_format": "prefix-only", "loss": "all",
                             "softmax": softmax, "max_steps": steps, "eval_fraction": 0.0, "save_every": 10_000,
                             "eval_every": 10_000, "seq_len": adapt.seq_len, "lora.rank": adapt.rank,
                             "lora.alpha": 2 * adapt.rank, "optim.lr": adapt.lr, "optim.batch_size": adapt.batch_size,
                             "optim.grad_accum": adapt.grad_accum, "optim.warmup_steps": 5})
    train(cfg, log=logged.append)
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    kept = next((m for m in logged if m.startswith("softmax over the")), "")
    return {"tokens": rows[-1]["tokens"] - rows[0]["tokens"], "seconds": rows[-1]["elapsed_s"] - rows[0]["elapsed_s"],
            "losses": [r["loss"] for r in rows], "kept": kept}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo", default=str(Path(sysconfig.get_paths()["purelib"]) / "peft"))
    ap.add_argument("--steps", type=int, default=8, help="optimizer steps each (the first is not timed)")
    ap.add_argument("--role", choices=("full", "seen"), help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.steps < 2:
        raise SystemExit("--steps must be 2 or more: the first step is not timed")
    if args.role:
        with tempfile.TemporaryDirectory() as tmp:
            result = role(Path(args.data), args.role, args.steps, Path(tmp) / "run")
        print_result(result)
        return 0
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "train.jsonl"
        records = make_data(args.repo, data)
        for softmax in ("full", "seen"):
            results[softmax] = run_role(__file__, softmax, "--data", str(data), "--steps", str(args.steps))
    f, s = results["full"], results["seen"]
    tf, ts = f["tokens"] / f["seconds"], s["tokens"] / s["seconds"]
    print()
    print_table([
        ("softmax full (262k rows, baseline)", f"{tf:.0f} tokens/s, peak {f['peak_rss_mb']:.0f} MB", "1.00x"),
        ("softmax seen", f"{ts:.0f} tokens/s, peak {s['peak_rss_mb']:.0f} MB", f"{ts / tf:.2f}x; {s['kept']}"),
    ])
    print(f"\n{Path(args.repo).name}: {records} next-token records; {args.steps} optimizer steps each (steps 2..N "
          f"timed: {f['tokens']} tokens), adapt's LoRA (rank {AdaptConfig().rank}), batch 2 x accumulation 2.")
    print(f"training loss by step, full: {f['losses']}\n                       seen: {s['losses']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
