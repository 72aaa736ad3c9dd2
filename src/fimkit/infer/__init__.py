"""The inference core: the engine contract and its backends, the context budget, prompt rendering,
line-by-line shaping and post-processing, and ``run_completion``, the one completion path that
the server, the CLI, the language server, evaluation, training and the demo all call.

Nothing here knows about HTTP; backends (llama.cpp, transformers, a remote server) load lazily.
The names below are imported on first use, so reading ``EngineConfig`` for `fimkit --help` does
not load the whole core.
"""

from __future__ import annotations

import importlib

_HOME = {
    "BACKENDS": "backends", "EngineConfig": "config", "load_engine": "backends", "run_completion": "complete",
    "ContextBudget": "context", "CompletionRequest": "engine", "CompletionResult": "engine", "Engine": "engine",
    "EngineInfo": "engine", "Generation": "engine", "GenerationStats": "engine", "SamplingParams": "engine",
    "TokenPiece": "engine",
}
__all__ = sorted(_HOME)


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module 'fimkit.infer' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"fimkit.infer.{_HOME[name]}"), name)
    globals()[name] = value
    return value
