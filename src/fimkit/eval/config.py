"""How `fimkit eval` completes and executes each task: its settings, importable without the runner."""

from __future__ import annotations

from dataclasses import dataclass

from fimkit.infer.config import check_window
from fimkit.settings import check, setting


@dataclass(frozen=True)
class EvalConfig:
    """How each task is completed and executed; the flags of `fimkit eval`."""

    samples: int = setting(1, "completions per task (pass@k needs k or more)", min=1, max=1000)
    temperature: float = setting(0.0, "sampling temperature; 0 is greedy", min=0.0, max=2.0)
    max_tokens: int | None = setting(None, "most tokens per completion (default: 64 for single-line, else 256)",
                                     min=1, max=100_000)
    single_line: bool | None = setting(None, "one-line completions: on (--single-line), never (--no-single-line), "
                                       "or decided by the cursor (default; single-line benchmarks turn it on, "
                                       "their protocol)")
    seed: int = setting(0, "seed of the task sample and of sampling")
    workers: int = setting(2, "parallel test executions in the sandbox", min=1, max=256)
    timeout_s: float = setting(10.0, "seconds per test execution", flag="timeout", min=0.1, max=3600.0)
    n_ctx: int = setting(2048, "context window in tokens", min=64, max=1_048_576)
    prompt_tokens: int | None = setting(None, "most prompt tokens per completion, as in fimkit serve (default: "
                                        "the engine's, by device class)", min=64, max=1_048_576)
    threads: int | None = setting(None, "CPU threads for llama.cpp (default: all cores)", min=1, max=1024)
    min_confidence: float | None = setting(None, "confidence gate, as in fimkit serve", min=-100.0, max=0.0)

    def __post_init__(self):
        check(self)
        check_window(self.n_ctx, self.prompt_tokens, self.threads)  # before any task is loaded
