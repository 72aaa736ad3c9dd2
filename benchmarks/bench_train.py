"""Training speed on the embedded Gemma-3-270m: fimkit train against a plain transformers Trainer + peft run.

    .venv/bin/python benchmarks/bench_train.py             # 6 optimizer steps each (~10 minutes on 2 cores)
    .venv/bin/python benchmarks/bench_train.py --steps 3

Both train the same LoRA (rank 16 on all projections, the new FIM rows) on the same examples
(fimkit samples, batch 4 x accumulation 2), each in its own process so peak memory is its own:
  fimkit    loss and logits only on the middle, length-bucketed batches, bf16 autocast where the CPU has it;
  baseline  transformers Trainer, padding to the longest in the batch, loss on all positions, fp32.
Tokens/s counts the real (unpadded) tokens of the batches trained on. Target: >= 2x the baseline's
tokens/s at equal or lower peak memory.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from common import print_result, print_table, run_role


def make_data(path: Path, count: int) -> None:
    from fimkit.data.jsonl import write_jsonl
    from fimkit.data.seed import SamplesConfig, make_examples

    with write_jsonl(path) as write:
        for ex in make_examples(SamplesConfig(count=count)):
            write(ex)


def role_ours(data: Path, steps: int, out: Path) -> dict:
    from fimkit.train.config import load_config
    from fimkit.train.trainer import train

    cfg = load_config(None, {"data": str(data), "output": str(out), "max_steps": steps, "eval_fraction": 0.0,
                             "save_every": 10_000, "eval_every": 10_000, "seq_len": 512})
    train(cfg, log=lambda m: None)
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return {"tokens": rows[-1]["tokens"], "seconds": rows[-1]["elapsed_s"]}


def role_baseline(data: Path, steps: int, out: Path) -> dict:
    import peft
    import torch
    from transformers import Trainer, TrainingArguments

    from fimkit.formats import FimFormat
    from fimkit.train.config import PROJECTIONS
    from fimkit.train.examples import load_examples
    from fimkit.train.model import load_base

    fmt = FimFormat.parse_spec("fimkit:spm-paper")
    base = load_base("gemma-3-270m", fmt)
    train_ex, _ = load_examples(str(data), base.tokenizer, fmt, seq_len=512, loss="all", eval_fraction=0.0, seed=0)
    model = peft.get_peft_model(base.model, peft.LoraConfig(
        r=16, lora_alpha=32, lora_dropout=0.05, target_modules=list(PROJECTIONS), task_type="CAUSAL_LM",
        trainable_token_indices={"embed_tokens": base.new_token_ids}))
    rows = [{"input_ids": e.ids} for e in train_ex]
    pad = base.tokenizer.pad_id or 0
    counted = {"tokens": 0}

    def collate(batch):
        width = max(len(b["input_ids"]) for b in batch)
        ids = torch.full((len(batch), width), pad)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, b in enumerate(batch):
            ids[i, : len(b["input_ids"])] = torch.tensor(b["input_ids"])
            mask[i, : len(b["input_ids"])] = 1
        labels = ids.masked_fill(mask == 0, -100)
        counted["tokens"] += int(mask.sum())
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}

    args = TrainingArguments(output_dir=str(out), per_device_train_batch_size=4, gradient_accumulation_steps=2,
                             max_steps=steps, learning_rate=2e-4, warmup_steps=0, logging_steps=1, report_to=[],
                             save_strategy="no", use_cpu=True, dataloader_num_workers=0, remove_unused_columns=False)
    trainer = Trainer(model=model, args=args, train_dataset=rows, data_collator=collate)
    start = time.perf_counter()
    trainer.train()
    return {"tokens": counted["tokens"], "seconds": time.perf_counter() - start}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--role", choices=("ours", "baseline"), help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.role:
        with tempfile.TemporaryDirectory() as tmp:
            fn = role_ours if args.role == "ours" else role_baseline
            result = fn(Path(args.data), args.steps, Path(tmp) / "run")
        print_result(result)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data.jsonl"
        make_data(data, 400)
        results = {}
        for role in ("baseline", "ours"):
            results[role] = run_role(__file__, role, "--data", str(data), "--steps", str(args.steps))
    b, o = results["baseline"], results["ours"]
    tb, to = b["tokens"] / b["seconds"], o["tokens"] / o["seconds"]
    print()
    print_table([
        ("transformers Trainer + peft (pad to longest, loss on all, fp32)", f"{tb:.0f} tokens/s, peak {b['peak_rss_mb']:.0f} MB", "1.00x"),
        ("fimkit train (middle-only loss and logits, bucketing, autocast)", f"{to:.0f} tokens/s, peak {o['peak_rss_mb']:.0f} MB",
         f"{to / tb:.2f}x (target >= 2x at <= the baseline's memory: {'yes' if o['peak_rss_mb'] <= b['peak_rss_mb'] else 'no'})"),
    ])
    print(f"\n{args.steps} optimizer steps each, batch 4 x grad accumulation 2, LoRA r16 on all projections.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
