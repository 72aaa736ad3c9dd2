"""Training settings: one dataclass per concern, set by flags or one YAML file, saved in the run folder.

Defaults follow the seed: LoRA rank 16, alpha 32, dropout 0.05 on the attention and FFN
projections; 3 epochs, batch 4, gradient accumulation 2, learning rate 2e-4, 100 warmup steps;
bf16 where the hardware has it (fp16 on CUDA without bf16, else fp32). fimkit's own choices:
the FIM format defaults to ``fimkit:spm-paper`` (for a base without FIM tokens, SPM keeps the
middle a continuation of the prefix and learns much faster than PSM: fim-facts section 8), new
sentinel rows start at the mean embedding, and the loss is on the middle only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path

from fimkit.errors import FimkitError

PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass
class LoraSettings:
    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    targets: tuple[str, ...] = PROJECTIONS


@dataclass
class OptimSettings:
    epochs: float = 3.0
    batch_size: int = 4
    grad_accum: int = 2
    lr: float = 2e-4
    warmup_steps: int = 100
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0


@dataclass
class TrainConfig:
    """model: base model reference. data: JSON lines (fimkit samples / fim output) or a `fimkit tokenize`
    folder. output: the run folder. fim_format: FAMILY:LAYOUT trained. seq_len: longest example in
    tokens. loss: "middle" (only the middle and EOT) or "all". precision: auto, bf16, fp16, fp32.
    load_in: none, 8bit, 4bit (bitsandbytes, CUDA only). max_steps / max_minutes: budgets that end
    training early (checkpointed). eval_fraction: share of examples held out (by source file).
    eval_every / save_every: in optimizer steps. eval_holes: held-out holes for exact match."""

    model: str = "gemma-3-270m"
    data: str = "data/fim_training.jsonl"
    output: str = "fim-model-lora"
    fim_format: str = "fimkit:spm-paper"
    seq_len: int = 512
    loss: str = "middle"
    precision: str = "auto"
    gradient_checkpointing: bool = False
    load_in: str = "none"
    max_steps: int | None = None
    max_minutes: float | None = None
    eval_fraction: float = 0.05
    eval_every: int = 50
    eval_holes: int = 16
    save_every: int = 25
    seed: int = 0
    new_token_init: str = "mean"
    lora: LoraSettings = field(default_factory=LoraSettings)
    optim: OptimSettings = field(default_factory=OptimSettings)

    def validate(self) -> "TrainConfig":
        if self.loss not in ("middle", "all"):
            raise FimkitError(f"loss must be 'middle' or 'all', got {self.loss!r}")
        if self.precision not in ("auto", "bf16", "fp16", "fp32"):
            raise FimkitError(f"precision must be auto, bf16, fp16 or fp32, got {self.precision!r}")
        if self.load_in not in ("none", "8bit", "4bit"):
            raise FimkitError(f"load_in must be none, 8bit or 4bit, got {self.load_in!r}")
        if self.seq_len < 32:
            raise FimkitError("seq_len must be at least 32 tokens")
        if not 0 <= self.eval_fraction < 0.5:
            raise FimkitError("eval_fraction must be in [0, 0.5)")
        if self.new_token_init not in ("mean", "random"):
            raise FimkitError("new_token_init must be 'mean' or 'random'")
        return self


def _build(cls, data: dict, where: str):
    known = {f.name: f for f in fields(cls)}
    unknown = set(data) - set(known)
    if unknown:
        raise FimkitError(f"{where}: unknown setting(s) {sorted(unknown)}; known: {sorted(known)}")
    values = {}
    for name, value in data.items():
        default = getattr(cls(), name) if name in ("lora", "optim") else None
        if is_dataclass(default):
            if not isinstance(value, dict):
                raise FimkitError(f"{where}: '{name}' must be a mapping")
            value = _build(type(default), value, f"{where}.{name}")
        elif name == "targets":
            value = tuple(value)
        values[name] = value
    return cls(**values)


def load_config(path: str | Path | None = None, overrides: dict | None = None) -> TrainConfig:
    """Defaults, then the YAML file, then explicit overrides (flags): the last one wins."""
    from fimkit.settings import read_yaml_mapping

    data: dict = {}
    if path:
        data = read_yaml_mapping(path)
        data = dict(data.get("train", data))
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if "." in key:
            group, name = key.split(".", 1)
            data.setdefault(group, {})[name] = value
        else:
            data[key] = value
    return _build(TrainConfig, data, str(path or "settings")).validate()


def to_yaml(config: TrainConfig) -> str:
    import yaml

    data = asdict(config)
    data["lora"]["targets"] = list(config.lora.targets)
    return yaml.safe_dump(data, sort_keys=False)
