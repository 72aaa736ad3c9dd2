"""The settings of ``fimkit adapt``, declared once: flags, the saved adapt.yaml and checks come from here.

Defaults: a LoRA on the repository in the base model's own terms (docs/adapting.md): holes in its FIM
format for a FIM model (the default Qwen2.5-Coder: no tokens added), plain next-token text for a model
without FIM tokens (measured best for Gemma-3-270m on a 2-core CPU, which stays prefix-only as it is
served); either way the adapter is megabytes applied on top of the base at load.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from fimkit.adapt.records import OBJECTIVES
from fimkit.adapt.split import SPLITS
from fimkit.errors import FimkitError
from fimkit.settings import check, setting
from fimkit.train.config import SOFTMAXES

DEFAULT_LR = {"lora": 4e-4, "full": 5e-5}  # --lr when not given, by --method
METHODS = tuple(DEFAULT_LR)
MERGED_QUANTS = ("q8_0", "q4_k_m", "f16")

def resolve_objective(config) -> str:
    """``objective: auto``: fim in the model's own format for a FIM model, next-token for one without."""
    if config.objective != "auto":
        return config.objective
    return "fim" if config.base_fim else "next-token"


# What runs saved before these settings existed did: their adapt.yaml lacks the key.
BEFORE_THE_SETTING = {"method": "lora", "quant": "q4_k_m", "softmax": "full"}
# Budgets and bookkeeping: a resumed run may change them and stay the same run.
FREE_ON_RESUME = ("minutes", "threads")


@dataclass(frozen=True)
class AdaptConfig:
    model: str = setting("qwen2.5-coder-0.5b", "the base model to adapt (an embedded name, a .gguf or a Hugging Face "
                         "folder)")
    minutes: float = setting(30.0, "training budget in minutes; the learning-rate schedule is fitted to it "
                             "(on a GPU the same minutes train far more tokens)", min=0.01, max=1e6)
    objective: str = setting("auto", "auto: fim for a model with FIM tokens, next-token for one without; next-token: "
                             "plain text, the model stays prefix-only and the adapter needs no new tokens; fim: holes "
                             "in the model's own FIM format mixed with plain text at --fim-rate (a base without FIM "
                             "tokens gets them added and trained in SPM, so a merged GGUF is written)",
                             choices=("auto", *OBJECTIVES))
    fim_rate: float = setting(0.5, "fim objective: share of pieces turned into holes", min=0.0, max=1.0)
    loss: str = setting("all", "fim objective: all (every section and EOT, as Bavarian et al. advise) or middle",
                        choices=("all", "middle"))
    split: str = setting("auto", "how held-out code is chosen: history (train on the code as of a past commit, "
                         "judge on lines written since), files (whole files held out by a hash of their path), "
                         "auto (history where every repository is a git checkout with enough of it)",
                         choices=SPLITS)
    heldout_fraction: float = setting(0.2, "share of the code held out: files (split files) or lines written "
                                      "after the cut (split history)", min=0.01, max=0.49)
    holes: int = setting(200, "held-out holes the base and the adapted model are judged on", min=1, max=1_000_000)
    general_tasks: int = setting(200, "HumanEval single-line tasks checking the adapted model did not forget "
                                 "general code (0 skips the check)", min=0, max=1_000_000)
    method: str = setting("lora", "lora: a low-rank adapter applied on top of the base (megabytes); full: every "
                          "weight trained (4.3 GB of memory for 270M), served as a merged, quantized GGUF",
                          choices=METHODS)
    quant: str = setting("q8_0", "quantization of a merged model.gguf (fim objective, full method): q8_0 keeps what "
                         "a fine-tune changed (4-bit lost most of a full fine-tune's gain on peft); q4_k_m is ~15% "
                         "smaller", choices=MERGED_QUANTS)
    softmax: str = setting("full", "full: the loss normalizes over the whole vocabulary; seen: over the tokens the "
                           "repository's training text uses, which skips most of Gemma's 262k-row output layer "
                           "(more tokens trained in the same minutes; not with the fim objective, whose new "
                           "sentinel rows are trained)", choices=SOFTMAXES)
    rank: int = setting(64, "LoRA rank (the adapter is ~1 MB a rank: 60 MB at 64)", min=1, max=4096)
    lr: float | None = setting(None, "peak learning rate (default: 4e-4 for lora, since a short run needs more than "
                               "the seed's 2e-4; 5e-5 for full, transformers' default rate for full fine-tuning)",
                               min=1e-12, max=1.0)
    seq_len: int = setting(512, "training window in tokens", min=32, max=131_072)
    batch_size: int = setting(2, "examples per micro-batch", min=1, max=65_536)
    grad_accum: int = setting(2, "micro-batches per optimizer step", min=1, max=65_536)
    seed: int = setting(0, "seed of the split, the records, training and the hole sample")
    threads: int | None = setting(None, "CPU threads for evaluation (default: all cores)", min=1, max=1024)
    usage: str | None = setting(None, "a telemetry database of fimkit serve ($FIMKIT_HOME/telemetry.sqlite): the "
                                "completions you accepted become training examples (half) and held-out holes "
                                "(the other half), and the report shows accept rates per model and language")

    @cached_property
    def base_fim(self) -> bool:
        """Whether the base has FIM tokens of its own: its header is read once per config."""
        from fimkit.models import speaks_fim

        return speaks_fim(self.model)

    @property
    def merges(self) -> bool:
        """Whether the run is served as a merged GGUF (so ``quant`` applies) rather than an adapter: a full
        fine-tune, or FIM tokens added to a base that had none."""
        return self.method == "full" or (resolve_objective(self) == "fim" and not self.base_fim)

    def __post_init__(self):
        check(self)  # types, choices and ranges, for a library caller as for flags
        if self.softmax == "seen" and self.objective == "fim" and not self.base_fim:
            raise FimkitError("softmax seen cannot train the fim objective's new sentinel rows; use softmax full "
                              "with objective fim")
        if self.lr is None:  # resolved here, so adapt.yaml records the rate the run used
            object.__setattr__(self, "lr", DEFAULT_LR[self.method])
