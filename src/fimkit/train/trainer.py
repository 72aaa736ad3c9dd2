"""`fimkit train`: LoRA fine-tuning for FIM, resumable, with a self-describing run folder.

Why a loop of our own rather than transformers' Trainer: the loss is computed from logits only
at the positions that carry a label. Gemma's output layer has 262k rows; with ``loss: middle``
most positions are prompt, and skipping their logits is the largest saving on a CPU
(fim-facts section 8). Batches are bucketed by length (little padding). Multi-process runs
(``accelerate launch``) average the LoRA gradients across processes (DDP semantics; gloo on CPU).

Run folder: hyperparameters.yaml, fimkit.json (base model and its hash, FIM format, added
tokens), tokenizer/, metrics.jsonl, checkpoints/step-N (adapter, optimizer, RNG; written to a
temporary name and renamed), and adapter/ when training ends.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import time
from pathlib import Path

from fimkit.errors import FimkitError, require
from fimkit.formats import FimFormat
from fimkit.train.config import TrainConfig, to_yaml
from fimkit.train.examples import IGNORE, Example, load_examples


def _precision(requested: str, device: str, torch):
    """(autocast dtype or None, label). bf16 autocast on CPUs that do bf16 in hardware."""
    if requested == "fp32":
        return None, "fp32"
    if device == "cuda":
        if requested in ("auto", "bf16") and torch.cuda.is_bf16_supported():
            return torch.bfloat16, "bf16"
        return torch.float16, "fp16"
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    if requested == "bf16" or (requested == "auto" and ("avx512_bf16" in flags or "amx_bf16" in flags)):
        return torch.bfloat16, "bf16"
    return None, "fp32"


def label_loss(causal_lm, input_ids, attention_mask, labels, torch):
    """Cross-entropy over labelled positions only: the output layer runs on those rows, nothing else."""
    hidden = causal_lm.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    targets = labels[:, 1:]
    keep = targets != IGNORE
    rows = hidden[:, :-1][keep]
    logits = causal_lm.get_output_embeddings()(rows).float()
    cap = getattr(causal_lm.config, "final_logit_softcapping", None)
    if cap:
        logits = torch.tanh(logits / cap) * cap
    return torch.nn.functional.cross_entropy(logits, targets[keep]), int(keep.sum())


def batches(examples: list[Example], size: int, seed: int, epoch: int) -> list[list[Example]]:
    """Length-bucketed batches in a seeded order: similar lengths together, little padding."""
    rng = random.Random(f"{seed}:{epoch}")
    order = sorted(examples, key=lambda e: (len(e.ids), rng.random()))
    groups = [order[i : i + size] for i in range(0, len(order), size)]
    rng.shuffle(groups)
    return groups


def collate(group: list[Example], pad_id: int, torch):
    width = max(len(e.ids) for e in group)
    ids = torch.full((len(group), width), pad_id, dtype=torch.long)
    labels = torch.full((len(group), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(group), width), dtype=torch.long)
    for i, e in enumerate(group):
        ids[i, : len(e.ids)] = torch.tensor(e.ids)
        labels[i, : len(e.labels)] = torch.tensor(e.labels)
        mask[i, : len(e.ids)] = 1
    return ids, mask, labels


class Checkpoints:
    """checkpoints/step-N folders, written whole or not at all; the two newest are kept."""

    def __init__(self, run: Path):
        self.root = run / "checkpoints"

    def latest(self) -> Path | None:
        done = sorted(p for p in self.root.glob("step-*") if p.is_dir() and (p / "state.json").is_file())
        return done[-1] if done else None

    def save(self, step: int, model, optimizer, state: dict, torch) -> Path:
        from peft import get_peft_model_state_dict

        final = self.root / f"step-{step:07d}"
        tmp = self.root / f".tmp-step-{step:07d}-{os.getpid()}"
        try:
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            torch.save(get_peft_model_state_dict(model), tmp / "adapter.pt")
            torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
            torch.save({"python": random.getstate(), "torch": torch.get_rng_state()}, tmp / "rng.pt")
            (tmp / "state.json").write_text(json.dumps(state))
            os.replace(tmp, final)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            last = self.latest()
            raise FimkitError(
                f"checkpoint at step {step} could not be written ({exc.strerror or exc}); nothing half-written was "
                f"kept. Free disk space and run the same command to resume"
                + (f" from {last.name}" if last else "")
            ) from exc
        for old in sorted(p for p in self.root.glob("step-*") if p.is_dir())[:-2]:
            shutil.rmtree(old, ignore_errors=True)
        return final

    def load(self, path: Path, model, optimizer, torch) -> dict:
        from peft import set_peft_model_state_dict

        set_peft_model_state_dict(model, torch.load(path / "adapter.pt", weights_only=False))
        optimizer.load_state_dict(torch.load(path / "optimizer.pt", weights_only=False))
        rng = torch.load(path / "rng.pt", weights_only=False)
        random.setstate(rng["python"])
        torch.set_rng_state(rng["torch"])
        return json.loads((path / "state.json").read_text())


def _lr(step: int, total: int, cfg) -> float:
    warm = max(1, cfg.optim.warmup_steps)
    if step < warm:
        return cfg.optim.lr * (step + 1) / warm
    progress = (step - warm) / max(1, total - warm)
    return cfg.optim.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def _exact_match(causal_lm, tok, fmt: FimFormat, holes, torch, max_new: int = 32) -> float | None:
    """Greedy single-line exact match on held-out holes (the quick quality signal during training)."""
    single = [h for h in holes if "\n" not in h[1].strip("\n")]
    if not single:
        return None
    stop = {tok.token_id(fmt.family.eot)} if fmt.is_fim else set()
    if tok.eos_id is not None:
        stop.add(tok.eos_id)
    hits = 0
    causal_lm.eval()
    with torch.no_grad():
        for prefix, middle, suffix in single:
            ids = torch.tensor([([tok.bos_id] if tok.bos_id is not None else []) + tok.encode(fmt.render(prefix, suffix))])
            out = causal_lm.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new,
                                     do_sample=False, eos_token_id=list(stop) or None, pad_token_id=tok.pad_id or 0)
            text = tok.decode([t for t in out[0, ids.shape[1]:].tolist() if t not in stop])
            hits += text.split("\n", 1)[0].strip() == middle.strip()
    causal_lm.train()
    return hits / len(single)


def train(cfg: TrainConfig, *, progress: bool = False, log=print) -> Path:
    """Train (or resume) the run in ``cfg.output``; returns the run folder."""
    torch = require("torch", extra="train", purpose="training")
    peft = require("peft", extra="train", purpose="LoRA training")
    from tqdm import tqdm

    from fimkit.train.model import load_base

    accelerate = require("accelerate", extra="train", purpose="training")
    acc = accelerate.Accelerator(cpu=not torch.cuda.is_available())
    rank, world, main = acc.process_index, acc.num_processes, acc.is_main_process
    device = "cuda" if torch.cuda.is_available() else "cpu"
    run = Path(cfg.output)
    fmt = FimFormat.parse_spec(cfg.fim_format)
    random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    base = load_base(cfg.model, fmt, load_in=cfg.load_in, new_token_init=cfg.new_token_init, device=device)
    tok = base.tokenizer
    train_ex, held = load_examples(cfg.data, tok, fmt, seq_len=cfg.seq_len, loss=cfg.loss,
                                   eval_fraction=cfg.eval_fraction, seed=cfg.seed, log=log if main else None)
    lcfg = peft.LoraConfig(
        r=cfg.lora.rank, lora_alpha=cfg.lora.alpha, lora_dropout=cfg.lora.dropout, target_modules=list(cfg.lora.targets),
        trainable_token_indices={"embed_tokens": base.new_token_ids} if base.new_token_ids else None, task_type="CAUSAL_LM",
    )
    model = peft.get_peft_model(base.model, lcfg)
    causal_lm = model.get_base_model()
    if cfg.gradient_checkpointing:
        causal_lm.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        causal_lm.enable_input_require_grads()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay)
    autocast_dtype, precision = _precision(cfg.precision, device, torch)
    steps_per_epoch = max(1, math.ceil(len(train_ex) / (cfg.optim.batch_size * cfg.optim.grad_accum * world)))
    total = max(1, int(steps_per_epoch * cfg.optim.epochs))
    if cfg.max_steps:
        total = min(total, cfg.max_steps)

    ckpt = Checkpoints(run)
    state = {"step": 0, "tokens": 0, "elapsed": 0.0}
    resumed = ckpt.latest()
    if resumed is not None:
        state = ckpt.load(resumed, model, optimizer, torch)
        if main:
            log(f"resuming from {resumed} (step {state['step']})")
    if main:
        run.mkdir(parents=True, exist_ok=True)
        (run / "hyperparameters.yaml").write_text(to_yaml(cfg))
        (run / "fimkit.json").write_text(json.dumps({
            "kind": "lora-run", "base_model": cfg.model, "base_path": str(base.model_path), "base_kind": base.model_kind,
            "base_hash": base.base_hash, "fim_format": fmt.spec, "added_tokens": tok.added,
            "new_token_ids": base.new_token_ids, "vocab_size": tok.vocab_size, "precision": precision,
            "train_examples": len(train_ex), "heldout_examples": len(held),
        }, indent=2))
        (run / "tokenizer").mkdir(exist_ok=True)
        tok.tokenizer.save(str(run / "tokenizer" / "tokenizer.json"))
    metrics = open(run / "metrics.jsonl", "a") if main else None
    holes = [e.hole for e in held if e.hole][: cfg.eval_holes]
    pad = tok.pad_id if tok.pad_id is not None else 0
    start = time.perf_counter() - state["elapsed"]
    bar = tqdm(total=total, initial=state["step"], desc="train", unit=" steps", disable=not (progress and main))
    model.train()
    step, accum = state["step"], 0
    window_tokens, window_start = 0, time.perf_counter()
    epoch = step // steps_per_epoch
    done_batches = (step % steps_per_epoch) * cfg.optim.grad_accum
    stop_reason = "finished"
    while step < total:
        groups = batches(train_ex, cfg.optim.batch_size, cfg.seed, epoch)
        groups = groups[: len(groups) // world * world][rank::world]  # equal counts: no rank waits alone
        for group in groups[done_batches:]:
            ids, mask, labels = collate(group, pad, torch)
            ids, mask, labels = ids.to(device), mask.to(device), labels.to(device)
            with torch.autocast(device_type=device, dtype=autocast_dtype, enabled=autocast_dtype is not None):
                loss, n = label_loss(causal_lm, ids, mask, labels, torch)
            (loss / cfg.optim.grad_accum).backward()
            window_tokens += int(mask.sum())
            accum += 1
            if accum < cfg.optim.grad_accum:
                continue
            if world > 1:
                for p in params:
                    if p.grad is not None:
                        torch.distributed.all_reduce(p.grad)
                        p.grad /= world
            torch.nn.utils.clip_grad_norm_(params, cfg.optim.max_grad_norm)
            for g in optimizer.param_groups:
                g["lr"] = _lr(step, total, cfg)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            accum = 0
            step += 1
            state["tokens"] += window_tokens * world
            now = time.perf_counter()
            tps = window_tokens * world / max(now - window_start, 1e-9)
            window_tokens, window_start = 0, now
            state.update(step=step, elapsed=now - start)
            loss_value = float(loss.detach())
            row = {"step": step, "loss": round(loss_value, 4), "lr": optimizer.param_groups[0]["lr"],
                   "tokens": state["tokens"], "tokens_per_s": round(tps, 1), "elapsed_s": round(now - start, 1)}
            if main and held and (step % cfg.eval_every == 0 or step == total):
                row.update(_evaluate(causal_lm, held, holes, tok, fmt, cfg, pad, device, autocast_dtype, torch))
            if main:
                metrics.write(json.dumps(row) + "\n")
                metrics.flush()
                bar.update(1)
                bar.set_postfix(loss=f"{loss_value:.3f}", tok_s=f"{tps:.0f}")
            budget_hit = cfg.max_minutes is not None and (now - start) / 60 >= cfg.max_minutes
            if main and (step % cfg.save_every == 0 or step == total or budget_hit):
                ckpt.save(step, model, optimizer, state, torch)
            if budget_hit:
                stop_reason = f"time budget of {cfg.max_minutes} min"
                break
            if step >= total:
                break
        if stop_reason != "finished" or step >= total:
            break
        epoch += 1
        done_batches = 0
    bar.close()
    if main:
        model.save_pretrained(run / "adapter")
        meta = json.loads((run / "fimkit.json").read_text())
        meta.update(steps=step, tokens=state["tokens"], stopped=stop_reason, train_seconds=round(state["elapsed"], 1))
        (run / "fimkit.json").write_text(json.dumps(meta, indent=2))
        metrics.close()
        log(f"trained {step} steps ({state['tokens']} tokens, {state['elapsed'] / 60:.1f} min, {precision}); "
            f"stopped: {stop_reason}; run folder {run}")
    acc.wait_for_everyone()
    return run


def _evaluate(causal_lm, held, holes, tok, fmt, cfg, pad, device, autocast_dtype, torch) -> dict:
    causal_lm.eval()
    losses = []
    with torch.no_grad():
        for group in batches(held[:32], cfg.optim.batch_size, cfg.seed, 0):
            ids, mask, labels = (t.to(device) for t in collate(group, pad, torch))
            with torch.autocast(device_type=device, dtype=autocast_dtype, enabled=autocast_dtype is not None):
                loss, _ = label_loss(causal_lm, ids, mask, labels, torch)
            losses.append(float(loss))
    causal_lm.train()
    out = {"eval_loss": round(sum(losses) / len(losses), 4)} if losses else {}
    em = _exact_match(causal_lm, tok, fmt, holes, torch)
    if em is not None:
        out["eval_exact_match"] = round(em, 4)
    return out

