"""The inference core, in three parts:
- ``engines``: the engine contract (what a backend can and cannot do, token healing included) and
  the backends (llama.cpp in-process, transformers, a remote OpenAI-compatible server), and the
  choice between them;
- ``context``: what the prompt shows besides the cursor: the budget that fits it in the window and
  repository context (the workspace index, its outlines, the chunks chosen for a cursor);
- here: ``run_completion``, the one completion path that the server, the CLI, the language server,
  evaluation, training and the demo all call, with rendering, candidates, line-by-line shaping
  and post-processing.

Nothing here knows about HTTP; backends (llama.cpp, transformers, a remote server) load lazily.
The names below are imported on first use, so reading ``EngineConfig`` for `fimkit --help` does
not load the whole core.
"""

from __future__ import annotations

import importlib

_HOME = {
    "BACKENDS": "config", "EngineConfig": "config", "load_engine": "engines.choice", "run_completion": "complete",
    "ContextBudget": "context.budget", "CompletionRequest": "engines.contract", "CompletionResult": "engines.contract",
    "Engine": "engines.contract", "EngineInfo": "engines.contract", "Generation": "engines.contract",
    "GenerationStats": "engines.contract", "SamplingParams": "engines.contract", "TokenPiece": "engines.contract",
}
__all__ = sorted(_HOME)


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module 'fimkit.infer' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"fimkit.infer.{_HOME[name]}"), name)
    globals()[name] = value
    return value
