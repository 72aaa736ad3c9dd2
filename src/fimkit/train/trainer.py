"""`fimkit train`: LoRA (or full) fine-tuning for FIM, resumable, with a self-describing run folder.

Why a loop of our own rather than transformers' Trainer: the loss is computed from logits only
at the positions that carry a label, and optionally over the tokens the labels use (``loss.py``).
Batches are bucketed by length (little padding). accelerate does the rest:
gradient accumulation, mixed precision, and for ``accelerate launch`` runs DDP, which averages
the gradients across processes (gloo on CPU).

Run folder: hyperparameters.yaml, fimkit.json (base model and its hash, FIM format, added
tokens), tokenizer/, metrics.jsonl, checkpoints/step-N (adapter, optimizer, scheduler, RNG;
written to a temporary name and renamed), and adapter/ when training ends (model/, a whole model
folder as `fimkit merge` writes, for ``method: full``). A run resumes only
with the settings its checkpoints were trained with (``--allow-config-change`` to override).
"""

from __future__ import annotations

import json
import math
import random
import time
from pathlib import Path

from tqdm import tqdm

from fimkit import runs
from fimkit.errors import FimkitError, require
from fimkit.eval.metrics import exact_match
from fimkit.eval.runner import EvalConfig, complete_task
from fimkit.eval.task import Task
from fimkit.fileio import write_text
from fimkit.formats import FimFormat
from fimkit.infer.engines.hf import TransformersEngine
from fimkit.train.checkpoints import Checkpoints
from fimkit.train.config import TrainConfig, check_same_settings, fim_format_of, to_yaml
from fimkit.train.examples import IGNORE, Example, load_examples
from fimkit.train.loss import Vocabulary, causal_lm_of, check_output_layer, label_loss, label_loss_module, seen_tokens
from fimkit.train.model import load_base

SIZING_STEPS = 3  # optimizer steps timed before a time budget sizes the schedule


def _precision(requested: str, torch) -> str:
    """bf16, fp16 or fp32 for this hardware: bf16 autocast on CPUs that do bf16 in hardware."""
    if requested == "fp32":
        return "fp32"
    if torch.cuda.is_available():
        return "bf16" if requested in ("auto", "bf16") and torch.cuda.is_bf16_supported() else "fp16"
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    if requested == "bf16" or (requested == "auto" and ("avx512_bf16" in flags or "amx_bf16" in flags)):
        return "bf16"
    return "fp32"


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


def lr_factor(step: int, total: int, warmup_steps: int) -> float:
    """The learning rate of optimizer step ``step`` over the peak: linear warmup, then cosine to 10%."""
    warm = max(1, warmup_steps)
    if step < warm:
        return (step + 1) / warm
    progress = (step - warm) / max(1, total - warm)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def step_stats(losses: list, tokens: int, elapsed: float, torch, reduce_sum=lambda t: t, world: int = 1):
    """(loss, tokens, elapsed seconds) of one optimizer step, the same in every process: the loss is the
    mean over the step's micro-batches in all processes, like the gradient (the last micro-batch alone
    is noise); elapsed is the processes' mean, so that all take the same decision on the time budget.
    ``reduce_sum`` sums a tensor across processes (``lambda t: acc.reduce(t, "sum")``)."""
    local = torch.stack(losses).double().sum()
    counts = torch.tensor([len(losses), tokens, elapsed], dtype=torch.float64, device=local.device)
    total = reduce_sum(torch.cat([local.reshape(1), counts]))
    return float(total[0] / total[1]), int(total[2]), float(total[3]) / world


def check_data(path: str) -> None:
    """Fail before the model loads (a minute on a CPU) when there is no training data."""
    p = Path(path)
    if p.is_dir() and not (p / "tokens.json").is_file():
        raise FimkitError(f"{path}: a folder without tokens.json; pass a JSON lines file or a `fimkit tokenize` folder")
    if not p.exists():
        raise FimkitError(f"{path}: no such file; make one with `fimkit samples` or `fimkit fim`")


def check_resume(run: Path, cfg: TrainConfig, *, allow_change: bool, log) -> Path | None:
    """The checkpoint to resume from, if any, once its settings are known to be these (or allowed to change)."""
    latest = Checkpoints(run).latest()
    if latest is not None and (run / runs.HYPERPARAMETERS).is_file():
        check_same_settings(run / runs.HYPERPARAMETERS, cfg, allow_change=allow_change, log=log)
    return latest


def heldout_exact_match(causal_lm, tok, fmt: FimFormat, holes, *, device: str, n_ctx: int) -> float | None:
    """Single-line exact match on held-out holes: the weights being trained, completed through the
    same path as `fimkit eval` (budget, rendering, shaping, post-processing), so the number in
    metrics.jsonl means what an evaluation of the exported model means. The model must be in eval mode."""

    single = [h for h in holes if "\n" not in h[1].strip("\n")]
    if not single:
        return None
    engine = TransformersEngine.from_loaded(causal_lm, tok, fmt, n_ctx=n_ctx, device=device)
    config = EvalConfig(single_line=True, max_tokens=32)
    hits = 0
    for i, (prefix, middle, suffix) in enumerate(single):
        task = Task(f"heldout-{i}", prefix, suffix, middle, language=None)
        hits += exact_match(complete_task(engine, task, config).text, middle)
    return hits / len(single)


def train(cfg: TrainConfig, *, progress: bool = False, log=print, allow_config_change: bool = False) -> Path:
    """Train (or resume) the run in ``cfg.output``; returns the run folder."""
    check_data(cfg.data)
    t = _Training(cfg, log)
    resume_from = check_resume(t.run, cfg, allow_change=allow_config_change, log=t.log)
    t.setup()
    t.resume(resume_from)
    t.prepare()
    t.write_run_files()
    t.finish(stopped=t.loop(progress))
    return t.run


class _Training:
    """One run's state, from setup to the saved adapter; every process of a multi-process run has one."""

    def __init__(self, cfg: TrainConfig, log):
        self.torch = torch = require("torch", extra="train", purpose="training")
        accelerate = require("accelerate", extra="train", purpose="training")
        self.precision = _precision(cfg.precision, torch)
        self.acc = accelerate.Accelerator(cpu=not torch.cuda.is_available(), gradient_accumulation_steps=cfg.optim.grad_accum,
                                          mixed_precision={"fp32": "no"}.get(self.precision, self.precision))
        self.main = self.acc.is_main_process
        self.log = log if self.main else (lambda msg: None)
        self.cfg, self.run = cfg, Path(cfg.output)
        self.ckpt = Checkpoints(self.run, full=cfg.method == "full")
        self.state = {"step": 0, "tokens": 0, "elapsed": 0.0}

    def setup(self) -> None:
        """The base model with its LoRA (or all its weights trainable), the examples, the optimizer and
        the learning-rate schedule."""
        cfg, torch = self.cfg, self.torch

        self.fmt = fim_format_of(cfg)
        random.seed(cfg.seed)
        torch.manual_seed(cfg.seed)
        self.base = load_base(cfg.model, self.fmt, load_in=cfg.load_in, new_token_init=cfg.new_token_init,
                              device=str(self.acc.device), log=self.log)
        self.tok = self.base.tokenizer
        self.pad = self.tok.pad_id if self.tok.pad_id is not None else 0
        self.train_ex, self.held = load_examples(cfg.data, self.tok, self.fmt, seq_len=cfg.seq_len, loss=cfg.loss,
                                                 eval_fraction=cfg.eval_fraction, seed=cfg.seed, log=self.log)
        self.holes = [e.hole for e in self.held if e.hole][: cfg.eval_holes]
        trained = self.base.model if cfg.method == "full" else self._with_lora(self.base.model)
        if cfg.gradient_checkpointing:
            causal_lm = causal_lm_of(trained)
            causal_lm.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
            causal_lm.enable_input_require_grads()
        vocab = None
        if cfg.softmax == "seen":
            causal_lm = causal_lm_of(trained)
            check_output_layer(causal_lm, torch)
            rows = causal_lm.get_output_embeddings().weight.shape[0]
            vocab = Vocabulary(seen_tokens(self.train_ex), rows, torch, self.acc.device)
            self.log(f"softmax over the {len(vocab)} of {rows} tokens the training labels use")
        self.module = label_loss_module(trained, torch, vocab)
        self.params = [p for p in trained.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(self.params, lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay)
        per_step = cfg.optim.batch_size * cfg.optim.grad_accum * self.acc.num_processes
        self.steps_per_epoch = max(1, math.ceil(len(self.train_ex) / per_step))
        total = max(1, int(self.steps_per_epoch * cfg.optim.epochs))
        self.total = self.planned = min(total, cfg.max_steps) if cfg.max_steps else total
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda step: lr_factor(step, self.total, cfg.optim.warmup_steps))

    def _with_lora(self, model):
        cfg, new_ids = self.cfg, self.base.new_token_ids
        peft = require("peft", extra="train", purpose="LoRA training")
        return peft.get_peft_model(model, peft.LoraConfig(
            r=cfg.lora.rank, lora_alpha=cfg.lora.alpha, lora_dropout=cfg.lora.dropout, target_modules=list(cfg.lora.targets),
            trainable_token_indices={"embed_tokens": new_ids} if new_ids else None, task_type="CAUSAL_LM"))

    def resume(self, checkpoint: Path | None) -> None:
        if checkpoint is None:
            return
        optim = self.cfg.optim
        self.state = state = self.ckpt.load(checkpoint, self.trained, self.optimizer, self.torch, self.scheduler)
        # The settings win over the checkpoint's copies of them: a new budget reshapes the rest of the
        # cosine, and a new lr or weight decay (with --allow-config-change) applies from this step on.
        self.fit_schedule()  # before the rate is set: it depends on where the schedule ends
        self.scheduler.base_lrs = [optim.lr for _ in self.optimizer.param_groups]
        for group in self.optimizer.param_groups:
            group.update(initial_lr=optim.lr, weight_decay=optim.weight_decay,
                         lr=optim.lr * lr_factor(state["step"], self.total, optim.warmup_steps))
        self.log(f"resuming from {checkpoint} (step {state['step']})")

    def fit_schedule(self) -> None:
        """With a time budget, end the cosine where the budget will end, once the first steps have
        shown how long a step takes: a budget that cut training halfway through the schedule would
        stop it at a high learning rate, and the last weights would be its noisiest."""
        cfg, state = self.cfg, self.state
        if not cfg.max_minutes or state["step"] < SIZING_STEPS or state["elapsed"] <= 0:
            return
        fit = max(state["step"] + 1, int(state["step"] * cfg.max_minutes * 60 / state["elapsed"]))
        fit = min(fit, self.planned)  # never past the epochs asked for
        if fit == self.total:
            return
        if self.total == self.planned:
            self.log(f"a {cfg.max_minutes:g}-minute budget fits about {fit} of {self.planned} steps "
                     f"({fit / self.steps_per_epoch:.2f} epochs): the learning-rate schedule ends there")
        self.total = fit
        if getattr(self, "bar", None) is not None:
            self.bar.total = fit
            self.bar.refresh()

    def prepare(self) -> None:
        # load_base put the model on its device already; accelerate moving it again would fail on a
        # bitsandbytes-quantized one. The scheduler stays unprepared: accelerate's would step once per process.
        self.module, self.optimizer = self.acc.prepare(self.module, self.optimizer, device_placement=[False, True])

    @property
    def trained(self):
        """The PEFT model (or the fully trained one) itself, not DDP's wrapper: its state dict has the
        keys merge and export expect."""
        return self.acc.unwrap_model(self.module).trained

    def write_run_files(self) -> None:
        self.metrics = None
        if not self.main:
            return
        cfg, tok = self.cfg, self.tok
        write_text(self.run / runs.HYPERPARAMETERS, to_yaml(cfg))
        runs.write_meta(self.run, {
            "kind": "full-run" if cfg.method == "full" else "lora-run", "base_model": cfg.model, "base_path": str(self.base.model_path),
            "base_kind": self.base.model_kind, "base_hash": self.base.base_hash, "fim_format": self.fmt.spec,
            "method": cfg.method,
            "added_tokens": tok.added, "new_token_ids": self.base.new_token_ids, "vocab_size": tok.vocab_size,
            "precision": self.precision, "train_examples": len(self.train_ex), "heldout_examples": len(self.held),
        })
        (self.run / runs.TOKENIZER).mkdir(exist_ok=True)
        tok.tokenizer.save(str(self.run / runs.TOKENIZER / "tokenizer.json"))
        self.metrics = open(self.run / runs.METRICS, "a")

    def loop(self, progress: bool) -> str:
        """Micro-batches until the step budget or the time budget ends; returns why it stopped."""
        cfg, acc, state = self.cfg, self.acc, self.state
        self.bar = tqdm(total=self.total, initial=state["step"], desc="train", unit=" steps",
                        disable=not (progress and self.main))
        self.last_report = time.perf_counter()
        # Checkpoints from before epoch/batch were saved: derive the position from the step.
        epoch = state.get("epoch", state["step"] // self.steps_per_epoch)
        skip = state.get("batch", (state["step"] % self.steps_per_epoch) * cfg.optim.grad_accum)
        self.start = time.perf_counter() - state["elapsed"]
        self.window, self.window_tokens, self.window_start = [], 0, time.perf_counter()
        self.module.train()
        try:
            while state["step"] < self.total:
                groups = batches(self.train_ex, cfg.optim.batch_size, cfg.seed, epoch)
                world = acc.num_processes
                groups = groups[: len(groups) // world * world][acc.process_index :: world]  # no rank waits alone
                for index in range(skip, len(groups)):
                    if self.micro_step(groups[index]):
                        state.update(epoch=epoch, batch=index + 1)
                        stopped = self.after_step()
                        if stopped:
                            return stopped
                epoch, skip = epoch + 1, 0
            return "finished"
        finally:
            self.bar.close()

    def micro_step(self, group: list[Example]) -> bool:
        """Forward and backward one micro-batch; True when it completed an optimizer step."""
        acc = self.acc
        ids, mask, labels = (t.to(acc.device) for t in collate(group, self.pad, self.torch))
        with acc.accumulate(self.module):
            loss, _ = self.module(ids, mask, labels)
            acc.backward(loss)
            if acc.sync_gradients:
                acc.clip_grad_norm_(self.params, self.cfg.optim.max_grad_norm)
            self.optimizer.step()  # the prepared optimizer skips these between accumulation boundaries
            self.optimizer.zero_grad(set_to_none=True)
        self.window.append(loss.detach())
        self.window_tokens += sum(len(e.ids) for e in group)
        return acc.sync_gradients

    def after_step(self) -> str | None:
        """Schedule, log, evaluate and checkpoint after an optimizer step; a reason when training must stop."""
        cfg, acc, state = self.cfg, self.acc, self.state
        lr = self.optimizer.param_groups[0]["lr"]  # the rate this step used
        now = time.perf_counter()
        loss, tokens, elapsed = step_stats(self.window, self.window_tokens, now - self.start, self.torch,
                                           lambda t: acc.reduce(t, "sum"), acc.num_processes)
        step = state["step"] + 1
        state.update(step=step, tokens=state["tokens"] + tokens, elapsed=elapsed)
        if step == SIZING_STEPS or step % cfg.save_every == 0:  # refitted as evaluations and checkpoints take time
            self.fit_schedule()
        self.scheduler.step()  # after the fit: the next step's rate depends on where the schedule ends
        row = {"step": step, "loss": round(loss, 4), "lr": lr, "tokens": state["tokens"],
               "tokens_per_s": round(tokens / max(now - self.window_start, 1e-9), 1), "elapsed_s": round(elapsed, 1)}
        if self.main and self.held and (step % cfg.eval_every == 0 or step == self.total):
            row.update(self.evaluate())
        if self.main:
            self.metrics.write(json.dumps(row) + "\n")
            self.metrics.flush()
            self.report(step, loss, row["tokens_per_s"], elapsed, now)
        budget_hit = cfg.max_minutes is not None and elapsed / 60 >= cfg.max_minutes
        if self.main and (step % cfg.save_every == 0 or step == self.total or budget_hit):
            self.ckpt.save(step, self.trained, self.optimizer, state, self.torch, self.scheduler)
        # Evaluation and checkpoints are not training: the next step's tokens/s starts after them.
        self.window, self.window_tokens, self.window_start = [], 0, time.perf_counter()
        if budget_hit:
            return f"time budget of {cfg.max_minutes} min"
        return "finished" if step >= self.total else None

    def report(self, step: int, loss: float, tokens_per_s: float, elapsed: float, now: float) -> None:
        """The progress bar (steps, loss, ETA); with a time budget, the minutes left too, since the
        budget may end training before the last step. Without a terminal, a line every tenth of
        the run or every minute, so a log still shows how far along it is."""
        budget = self.cfg.max_minutes
        left = {"budget_left": f"{max(0.0, budget - elapsed / 60):.1f}m"} if budget else {}
        self.bar.update(1)
        self.bar.set_postfix(loss=f"{loss:.3f}", tok_s=f"{tokens_per_s:.0f}", **left)
        if self.bar.disable and (now - self.last_report >= 60 or step == self.total
                                 or step % max(1, self.total // 10) == 0):
            self.last_report = now
            of = f" of a {budget:g}-minute budget" if budget else ""
            self.log(f"train: step {step}/{self.total}, loss {loss:.3f}, {tokens_per_s:.0f} tokens/s, "
                     f"{elapsed / 60:.1f} min{of}")

    def evaluate(self) -> dict:
        """Held-out loss (on up to 32 examples) and single-line exact match."""
        torch = self.torch
        causal_lm = causal_lm_of(self.trained)
        causal_lm.eval()
        losses = []
        with torch.no_grad(), self.acc.autocast():
            for group in batches(self.held[:32], self.cfg.optim.batch_size, self.cfg.seed, 0):
                ids, mask, labels = (t.to(self.acc.device) for t in collate(group, self.pad, torch))
                losses.append(float(label_loss(causal_lm, ids, mask, labels, torch)[0]))
        out = {"eval_loss": round(sum(losses) / len(losses), 4)} if losses else {}
        em = heldout_exact_match(causal_lm, self.tok, self.fmt, self.holes, device=str(self.acc.device),
                                 n_ctx=self.cfg.seq_len + 64)
        causal_lm.train()
        if em is not None:
            out["eval_exact_match"] = round(em, 4)
        return out

    def save_trained(self) -> None:
        """adapter/ for LoRA; for a full fine-tune, model/: a model folder as `fimkit merge` writes,
        which `fimkit export` turns into a GGUF."""
        if self.cfg.method != "full":
            self.trained.save_pretrained(self.run / runs.ADAPTER)
            return
        from fimkit.train.merge import write_model_folder

        model = self.trained
        meta = runs.read_meta(self.run)
        record = {"kind": "merged", "method": "full", "fim_format": self.fmt.spec, "run": str(self.run),
                  "model_type": model.config.model_type,
                  **{k: meta[k] for k in ("base_model", "base_path", "base_hash", "added_tokens")}}
        write_model_folder(model, self.tok, self.fmt, self.run / runs.MODEL, record)

    def finish(self, stopped: str) -> None:
        state = self.state
        if self.main:
            self.save_trained()
            runs.update_meta(self.run, steps=state["step"], tokens=state["tokens"], stopped=stopped,
                             train_seconds=round(state["elapsed"], 1))
            self.metrics.close()
            self.log(f"trained {state['step']} steps ({state['tokens']} tokens, {state['elapsed'] / 60:.1f} min, "
                     f"{self.precision}); stopped: {stopped}; run folder {self.run}")
        self.acc.wait_for_everyone()
        self.acc.end_training()
