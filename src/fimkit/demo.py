"""``fimkit demo``: an embedded model (by default the one --model auto serves) completing one real FIM hole
through llama.cpp."""

from __future__ import annotations

import time
from dataclasses import dataclass

from fimkit.formats import FimFormat
from fimkit.infer.complete import run_completion
from fimkit.infer.engines.contract import CompletionRequest, CompletionResult, SamplingParams
from fimkit.infer.engines.llama_cpp import LlamaCppEngine
from fimkit.models import DEFAULT_MODEL, resolve_model

# A hole in the middle of a function: the suffix (the call below) must not be written again.
DEMO_PREFIX = '''def fibonacci(n: int) -> int:
    """Return the n-th Fibonacci number."""
    if n < 2:
        return n
    return '''
DEMO_SUFFIX = '''


if __name__ == "__main__":
    print(fibonacci(10))
'''


@dataclass(frozen=True)
class DemoResult:
    model_path: str
    architecture: str | None
    quantization: str | None
    detection: str
    load_s: float
    completion: CompletionResult


def run_demo(model: str = DEFAULT_MODEL, *, max_tokens: int = 48, prefix: str = DEMO_PREFIX,
             suffix: str = DEMO_SUFFIX, fim_format: str | None = None, progress: bool = False,
             log=None) -> DemoResult:
    """Resolve (assemble) the model, load it in llama.cpp and complete one hole, greedily.

    ``fim_format`` overrides detection ("fimkit:psm", "prefix-only"); by default the model's own
    record, GGUF keys or vocabulary decide.
    """
    fmt = FimFormat.parse_spec(fim_format) if fim_format else None
    resolved = resolve_model(model, progress=progress, log=log)
    start = time.perf_counter()
    engine = LlamaCppEngine(resolved, n_ctx=1024, fim_format=fmt)
    load_s = time.perf_counter() - start
    completion = run_completion(
        engine, CompletionRequest(prefix, suffix, sampling=SamplingParams(max_tokens=max_tokens), language="python")
    )
    return DemoResult(
        str(resolved.path), engine.model_info.architecture, engine.model_info.quantization,
        f"{engine.fim_format.spec} ({engine.model_info.detection.source}; layout: its profile's)" if fmt is None
        else f"{fmt.spec} (given)", load_s, completion,
    )
