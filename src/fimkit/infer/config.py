"""Which model an engine loads and how: its settings, kept free of imports so CLI help stays instant."""

from __future__ import annotations

from dataclasses import dataclass

from fimkit.settings import setting

BACKENDS = ("llama-cpp", "transformers", "openai")


@dataclass(frozen=True)
class EngineConfig:
    """Which model to load and how; the flags of `fimkit serve`, `complete`, `lsp` and `eval`."""

    model: str = setting("gemma-3-270m", "model reference: embedded name, .gguf file or Hugging Face folder "
                         "(for the openai backend: the remote model's name)")
    backend: str = setting("llama-cpp", "llama-cpp (GGUF, in-process), transformers (HF folder or GGUF) or "
                           "openai (a remote OpenAI-compatible server: vLLM, llama.cpp, Ollama)", choices=BACKENDS)
    n_ctx: int = setting(2048, "context window in tokens")
    threads: int | None = setting(None, "CPU threads for llama.cpp (default: all cores)")
    fim_format: str | None = setting(None, "override the detected FIM format: FAMILY:LAYOUT or prefix-only "
                                     "(e.g. qwen2.5-coder:psm)")
    base_url: str | None = setting(None, "openai backend: the remote server, e.g. http://127.0.0.1:8000/v1")
    remote_api_key: str | None = setting(None, "openai backend: bearer token for the remote server")
    cache_reuse: bool = setting(True, "keep the KV cache of the previous prompt (off only to measure what it saves)")
