"""Training settings: declared once here, set by flags or one YAML file, saved in the run folder.

Defaults follow the seed: LoRA rank 16, alpha 32, dropout 0.05 on the attention and FFN
projections; 3 epochs, batch 4, gradient accumulation 2, learning rate 2e-4, 100 warmup steps;
bf16 where the hardware has it (fp16 on CUDA without bf16, else fp32). fimkit's own choices:
the base is the embedded FIM model, trained in its own FIM format; a base without FIM tokens gets
``fimkit:spm-paper`` (SPM keeps the middle a continuation of the prefix and learns much faster than
PSM: fim-facts section 8), new sentinel rows starting at the mean embedding; the loss is on the
middle only. ``method: full``
trains every weight instead of adapters (the LoRA settings are then unused).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fimkit.errors import FimkitError
from fimkit.settings import check, diff_settings, dump_yaml, load_settings, read_yaml_mapping, setting, to_mapping

PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")

SOFTMAXES = ("full", "seen")
# Budgets and bookkeeping: changing them does not change what the checkpoints are a run of.
FREE_ON_RESUME = ("output", "max_steps", "max_minutes", "eval_every", "save_every")


@dataclass
class LoraSettings:
    rank: int = setting(16, "LoRA rank: the inner width of each low-rank update", min=1, max=4096)
    alpha: int = setting(32, "LoRA alpha: updates are scaled by alpha / rank", min=1, max=65_536)
    dropout: float = setting(0.05, "dropout on the input of the LoRA matrices", min=0.0, max=0.99)
    targets: tuple[str, ...] = setting(PROJECTIONS, "module names that get LoRA matrices, comma-separated")


@dataclass
class OptimSettings:
    epochs: float = setting(3.0, "passes over the training examples (fractions allowed)", min=1e-6, max=1e6)
    batch_size: int = setting(4, "examples per micro-batch, per process", min=1, max=65_536)
    grad_accum: int = setting(2, "micro-batches per optimizer step", min=1, max=65_536)
    lr: float = setting(2e-4, "peak learning rate (AdamW): linear warmup, then cosine decay to 10%",
                        min=1e-12, max=1.0)
    warmup_steps: int = setting(100, "optimizer steps of linear learning-rate warmup", min=0, max=10_000_000)
    weight_decay: float = setting(0.0, "AdamW weight decay", min=0.0, max=10.0)
    max_grad_norm: float = setting(1.0, "gradients are clipped to this norm", min=1e-6, max=1e6)


@dataclass
class TrainConfig:
    model: str = setting("qwen2.5-coder-0.5b", "base model: an embedded name, a .gguf file or a Hugging Face directory")
    data: str = setting("data/fim_training.jsonl",
                        "JSON lines from `fimkit samples` / `fimkit fim`, or a `fimkit tokenize` folder")
    output: str = setting("fim-model-lora", "the run folder; a folder with checkpoints is resumed")
    fim_format: str = setting("auto", "FAMILY:LAYOUT trained (see: fimkit models --formats); auto: the model's own "
                              "when it has FIM tokens (its profile's layout), else fimkit:spm-paper (tokens added)")
    seq_len: int = setting(512, "longest example in tokens; longer holes are trimmed or skipped", min=32,
                           max=131_072)
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
    max_steps: int | None = setting(None, "stop after this many optimizer steps (checkpointed)", min=1,
                                    max=1_000_000_000)
    max_minutes: float | None = setting(None, "stop after this many minutes of training (checkpointed)", min=1e-3,
                                        max=1e7)
    eval_fraction: float = setting(0.05, "share of the examples held out for evaluation, chosen by source file",
                                   min=0.0, max=0.49)
    eval_every: int = setting(50, "evaluate on the held-out examples every N optimizer steps", min=1,
                              max=1_000_000_000)
    eval_holes: int = setting(16, "held-out holes scored by single-line exact match at each evaluation", min=0,
                              max=1_000_000)
    save_every: int = setting(25, "write a checkpoint every N optimizer steps", min=1, max=1_000_000_000)
    seed: int = setting(0, "seed of the held-out split, the batch order and the initialization")
    new_token_init: str = setting("mean", "how the embedding rows of added FIM tokens start",
                                  choices=("mean", "random"))
    lora: LoraSettings = setting(LoraSettings, "LoRA")
    optim: OptimSettings = setting(OptimSettings, "optimizer", flag="")

    def validate(self) -> TrainConfig:
        """Cross-field checks; types, choices and ranges are checked as the settings are read (and
        ``check`` does the same for an instance made in code)."""
        for where, obj in (("", self), ("lora.", self.lora), ("optim.", self.optim)):
            try:
                check(obj)
            except FimkitError as exc:
                raise FimkitError(f"{where}{exc}") from None
        if self.method == "full" and self.load_in != "none":
            raise FimkitError("method full trains every weight, which a quantized base (load_in) cannot; "
                              "use method lora with load_in, or load_in none")
        if not self.lora.targets:
            raise FimkitError("lora.targets must name at least one module")
        return self


def fim_format_of(config: TrainConfig):
    """The FIM format a run trains: ``fim_format``, or for ``auto`` the base's own (the layout its model
    profile serves) when it has FIM tokens, else fimkit:spm-paper, whose tokens are added (fim-facts
    section 8: SPM learns far faster than PSM on a base without FIM training)."""
    from fimkit.formats import FimFormat
    from fimkit.models import inspect_model, resolve_model
    from fimkit.models.profile import served_format

    if config.fim_format != "auto":
        return FimFormat.parse_spec(config.fim_format)
    detection = inspect_model(resolve_model(config.model)).detection
    return served_format(detection) if detection.is_fim else FimFormat.parse_spec("fimkit:spm-paper")


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
