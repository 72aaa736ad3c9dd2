"""Training settings: declared once here, set by flags or one YAML file, saved in the run folder.

Defaults follow the seed: LoRA rank 16, alpha 32, dropout 0.05 on the attention and FFN
projections; 3 epochs, batch 4, gradient accumulation 2, learning rate 2e-4, 100 warmup steps;
bf16 where the hardware has it (fp16 on CUDA without bf16, else fp32). fimkit's own choices:
the FIM format defaults to ``fimkit:spm-paper`` (for a base without FIM tokens, SPM keeps the
middle a continuation of the prefix and learns much faster than PSM: fim-facts section 8), new
sentinel rows start at the mean embedding, and the loss is on the middle only. ``method: full``
trains every weight instead of adapters (the LoRA settings are then unused).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fimkit.errors import FimkitError
from fimkit.settings import diff_settings, dump_yaml, load_settings, read_yaml_mapping, setting, to_mapping

PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")

SOFTMAXES = ("full", "seen")
# Budgets and bookkeeping: changing them does not change what the checkpoints are a run of.
FREE_ON_RESUME = ("output", "max_steps", "max_minutes", "eval_every", "save_every")


@dataclass
class LoraSettings:
    rank: int = setting(16, "LoRA rank: the inner width of each low-rank update")
    alpha: int = setting(32, "LoRA alpha: updates are scaled by alpha / rank")
    dropout: float = setting(0.05, "dropout on the input of the LoRA matrices")
    targets: tuple[str, ...] = setting(PROJECTIONS, "module names that get LoRA matrices, comma-separated")


@dataclass
class OptimSettings:
    epochs: float = setting(3.0, "passes over the training examples (fractions allowed)")
    batch_size: int = setting(4, "examples per micro-batch, per process")
    grad_accum: int = setting(2, "micro-batches per optimizer step")
    lr: float = setting(2e-4, "peak learning rate (AdamW): linear warmup, then cosine decay to 10%")
    warmup_steps: int = setting(100, "optimizer steps of linear learning-rate warmup")
    weight_decay: float = setting(0.0, "AdamW weight decay")
    max_grad_norm: float = setting(1.0, "gradients are clipped to this norm")


@dataclass
class TrainConfig:
    model: str = setting("gemma-3-270m", "base model: an embedded name, a .gguf file or a Hugging Face directory")
    data: str = setting("data/fim_training.jsonl",
                        "JSON lines from `fimkit samples` / `fimkit fim`, or a `fimkit tokenize` folder")
    output: str = setting("fim-model-lora", "the run folder; a folder with checkpoints is resumed")
    fim_format: str = setting("fimkit:spm-paper", "FAMILY:LAYOUT trained (see: fimkit models --formats)")
    seq_len: int = setting(512, "longest example in tokens; longer holes are trimmed or skipped")
    method: str = setting("lora", "lora: train low-rank adapters (megabytes, saved as adapter/); full: train every "
                          "weight (about 16 bytes of memory a parameter: 4.3 GB for 270M) and save the whole "
                          "model as model/", choices=("lora", "full"))
    loss: str = setting("middle", "middle: loss on the middle and EOT only; all: on every token",
                        choices=("middle", "all"))
    softmax: str = setting("full", "full: the loss normalizes over the whole vocabulary; seen: over the tokens the "
                           "training labels use, which skips most of a large output layer (Gemma: 262k rows) and "
                           "makes loss-on-every-token training faster", choices=SOFTMAXES)
    precision: str = setting("auto", "auto: bf16 where the CPU/GPU has it, else fp16 on CUDA, else fp32",
                             choices=("auto", "bf16", "fp16", "fp32"))
    gradient_checkpointing: bool = setting(False, "recompute activations in the backward pass: less memory, slower")
    load_in: str = setting("none", "load the base quantized with bitsandbytes (CUDA only)",
                           choices=("none", "8bit", "4bit"))
    max_steps: int | None = setting(None, "stop after this many optimizer steps (checkpointed)")
    max_minutes: float | None = setting(None, "stop after this many minutes of training (checkpointed)")
    eval_fraction: float = setting(0.05, "share of the examples held out for evaluation, chosen by source file")
    eval_every: int = setting(50, "evaluate on the held-out examples every N optimizer steps")
    eval_holes: int = setting(16, "held-out holes scored by single-line exact match at each evaluation")
    save_every: int = setting(25, "write a checkpoint every N optimizer steps")
    seed: int = setting(0, "seed of the held-out split, the batch order and the initialization")
    new_token_init: str = setting("mean", "how the embedding rows of added FIM tokens start",
                                  choices=("mean", "random"))
    lora: LoraSettings = setting(LoraSettings, "LoRA")
    optim: OptimSettings = setting(OptimSettings, "optimizer", flag="")

    def validate(self) -> TrainConfig:
        """Ranges and cross-field checks; types and choices were checked when the settings were read."""
        if self.seq_len < 32:
            raise FimkitError("seq_len must be at least 32 tokens")
        if not 0 <= self.eval_fraction < 0.5:
            raise FimkitError("eval_fraction must be in [0, 0.5)")
        positive = {"optim.batch_size": self.optim.batch_size, "optim.grad_accum": self.optim.grad_accum,
                    "optim.epochs": self.optim.epochs, "optim.lr": self.optim.lr, "lora.rank": self.lora.rank,
                    "eval_every": self.eval_every, "save_every": self.save_every,
                    "max_steps": self.max_steps, "max_minutes": self.max_minutes}
        for key, value in positive.items():
            if value is not None and value <= 0:
                raise FimkitError(f"{key} must be greater than 0, got {value}")
        if not 0 <= self.lora.dropout < 1:
            raise FimkitError("lora.dropout must be in [0, 1)")
        if self.method == "full" and self.load_in != "none":
            raise FimkitError("method full trains every weight, which a quantized base (load_in) cannot; "
                              "use method lora with load_in, or load_in none")
        if not self.lora.targets:
            raise FimkitError("lora.targets must name at least one module")
        return self


def load_config(path: str | Path | None = None, overrides: dict | None = None) -> TrainConfig:
    """Defaults, then the YAML file (its ``train:`` mapping if it has one), then explicit overrides
    (dotted keys such as "optim.lr"; None means not given): the last one wins."""
    return load_settings(TrainConfig, path, overrides, section="train").validate()


def to_yaml(config: TrainConfig) -> str:
    return dump_yaml(config)


def changed_settings(saved: str | Path, config: TrainConfig) -> dict[str, tuple]:
    """{dotted key: (saved, new)} for the settings that differ from a run's hyperparameters.yaml,
    leaving out those free to change on resume."""
    return diff_settings(read_yaml_mapping(saved), to_mapping(config), ignore=FREE_ON_RESUME,
                         defaults=to_mapping(TrainConfig()))


def check_same_settings(saved: str | Path, config: TrainConfig, *, allow_change: bool, log) -> None:
    """Refuse to resume a run under other settings: resuming with another learning rate or LoRA rank
    silently trains something that is neither run. ``allow_change`` logs the changes instead."""
    changes = changed_settings(saved, config)
    if not changes:
        return
    listing = "; ".join(f"{key}: {old!r} -> {new!r}" for key, (old, new) in changes.items())
    if not allow_change:
        raise FimkitError(f"{Path(saved).parent} holds checkpoints of a run with other settings ({listing}); "
                          "pass --allow-config-change to resume anyway, or use a new --output")
    log(f"resuming with changed settings: {listing}")
