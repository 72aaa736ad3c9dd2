"""How `fimkit eval` completes and executes each task: its settings, importable without the runner."""

from __future__ import annotations

from dataclasses import dataclass

from fimkit.infer.config import check_window
from fimkit.settings import setting


@dataclass(frozen=True)
class EvalConfig:
    """How each task is completed and executed; the flags of `fimkit eval`."""

    samples: int = setting(1, "completions per task (pass@k needs k or more)")
    temperature: float = setting(0.0, "sampling temperature; 0 is greedy")
    max_tokens: int | None = setting(None, "most tokens per completion (default: 64 for single-line, else 256)")
    single_line: bool | None = setting(None, "one-line completions: on (--single-line), never (--no-single-line), "
                                       "or decided by the cursor (default; single-line benchmarks turn it on, "
                                       "their protocol)")
    seed: int = setting(0, "seed of the task sample and of sampling")
    workers: int = setting(2, "parallel test executions in the sandbox")
    timeout_s: float = setting(10.0, "seconds per test execution", flag="timeout")
    n_ctx: int = setting(2048, "context window in tokens")
    prompt_tokens: int | None = setting(None, "most prompt tokens per completion, as in fimkit serve (default: "
                                        "the engine's, by device class)")
    threads: int | None = setting(None, "CPU threads for llama.cpp (default: all cores)")
    min_confidence: float | None = setting(None, "confidence gate, as in fimkit serve")

    def __post_init__(self):
        check_window(self.n_ctx, self.prompt_tokens, self.threads)  # before any task is loaded
