"""Choosing and loading an engine: llama.cpp in-process (default), transformers, or a remote server."""

from __future__ import annotations

from dataclasses import dataclass

from fimkit.errors import FimkitError
from fimkit.formats import FimFormat
from fimkit.serve.engine import Engine

BACKENDS = ("llama-cpp", "transformers", "openai")


@dataclass(frozen=True)
class EngineConfig:
    """model: reference (embedded name, .gguf, HF directory; for openai: the remote model's name).
    backend: llama-cpp (GGUF, in-process), transformers (HF dir or GGUF) or openai (a remote
    OpenAI-compatible server such as vLLM, llama.cpp or Ollama; fimkit renders the FIM prompt).
    n_ctx: context window. threads: CPU threads (llama.cpp). fim_format: override detection
    (FAMILY:LAYOUT or prefix-only). base_url / remote_api_key: for the openai backend.
    cache_reuse: keep the KV cache of the previous prompt (off only to measure what it saves)."""

    model: str = "gemma-3-270m"
    backend: str = "llama-cpp"
    n_ctx: int = 2048
    threads: int | None = None
    fim_format: str | None = None
    base_url: str | None = None
    remote_api_key: str | None = None
    cache_reuse: bool = True


def load_engine(config: EngineConfig, *, log=None) -> Engine:
    if config.backend not in BACKENDS:
        raise FimkitError(f"unknown backend {config.backend!r}; choose one of: {', '.join(BACKENDS)}")
    fmt = FimFormat.parse_spec(config.fim_format) if config.fim_format else None
    if config.backend == "openai":
        from fimkit.serve.remote_engine import OpenAIEngine

        if not config.base_url:
            raise FimkitError("the openai backend needs --base-url, e.g. http://127.0.0.1:8000/v1")
        return OpenAIEngine(config.base_url, config.model, fim_format=fmt, api_key=config.remote_api_key,
                            n_ctx=config.n_ctx)
    from fimkit.models import resolve_model

    resolved = resolve_model(config.model, log=log)
    if config.backend == "transformers":
        from fimkit.serve.hf_engine import TransformersEngine

        return TransformersEngine(resolved, n_ctx=config.n_ctx, fim_format=fmt)
    from fimkit.serve.llama_engine import LlamaCppEngine

    return LlamaCppEngine(resolved, n_ctx=config.n_ctx, n_threads=config.threads, fim_format=fmt,
                          cache_reuse=config.cache_reuse)
