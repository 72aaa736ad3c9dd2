"""Choosing and loading an engine: llama.cpp in-process (default), transformers, a supervised engine server
(llama-server, vLLM), or a remote OpenAI-compatible server."""

from __future__ import annotations

import shlex

from fimkit.errors import FimkitError
from fimkit.formats import FimFormat
from fimkit.infer.config import BACKENDS, SERVER_BACKENDS, EngineConfig, adapter_names
from fimkit.infer.engines.contract import Engine
from fimkit.models import resolve_model
from fimkit.models.adapter import check_adapter, find_adapter


def preflight(config: EngineConfig, *, log=None, progress: bool = False):
    """Everything about ``config`` that can be checked without loading a model: the format, the model
    file, the adapter (header and shapes against the base). Commands call it before they print or bind
    anything, so a mistake is one line at start. Returns the resolved model (None for a remote one)."""
    if config.backend not in BACKENDS:
        raise FimkitError(f"unknown backend {config.backend!r}; choose one of: {', '.join(BACKENDS)}")
    if config.fim_format:
        FimFormat.parse_spec(config.fim_format)
    if config.backend in SERVER_BACKENDS and config.lora:
        raise FimkitError(f"--lora with --backend {config.backend}: give it a name instead, --adapter NAME=PATH, and "
                          "route repositories to it (serve --routes)")
    if config.lora and config.backend != "llama-cpp":
        raise FimkitError(f"--lora needs the llama-cpp backend; with {config.backend}, merge the adapter first "
                          "(fimkit merge RUN) and serve the merged model")
    if config.engine_args and config.backend not in SERVER_BACKENDS:
        raise FimkitError("--engine-args are flags for the engine server fimkit starts: they need --backend "
                          "llama-server or vllm")
    if config.engine_args:
        from fimkit.infer.engines.server_process import check_engine_args
        from fimkit.infer.engines.vllm_process import OWNED

        try:
            args = shlex.split(config.engine_args)
        except ValueError as exc:
            raise FimkitError(f"--engine-args {config.engine_args!r}: {exc}") from None
        # where the engine listens and who may call it are fimkit's
        check_engine_args(args, *((OWNED, "vllm") if config.backend == "vllm" else ()))
    if config.backend == "vllm" and not config.base_url:
        from fimkit.infer.engines.vllm_process import find_python

        find_python()  # no vLLM installed: say how to get one before anything loads
    if config.backend == "openai":
        if not config.base_url:
            raise FimkitError("the openai backend needs --base-url, e.g. http://127.0.0.1:8000/v1")
        return None
    resolved = resolve_model(config.model, log=log, progress=progress)
    if resolved.lora is not None and config.backend != "llama-cpp":
        raise FimkitError(f"{config.model} is adapted with a LoRA adapter, which needs the llama-cpp backend")
    if config.backend == "llama-server" and resolved.kind != "gguf":
        raise FimkitError(f"the llama-server backend serves GGUF files; {config.model} is a Hugging Face folder: "
                          "export it first (fimkit export RUN)")
    for name, path in adapter_names(config.adapters).items():
        if config.backend == "vllm":
            from fimkit.infer.engines.vllm import peft_adapter

            if not config.base_url:  # one already running loaded its adapters from its own disk
                peft_adapter(path)
            continue
        try:
            check_adapter(find_adapter(path), resolved.path)
        except FimkitError as exc:
            raise FimkitError(f"--adapter {name}: {str(exc).removeprefix('--lora ')}") from None
    adapter = find_adapter(config.lora) if config.lora else resolved.lora
    if adapter is not None:
        if resolved.kind != "gguf":
            raise FimkitError(f"--lora applies to a GGUF model; {config.model} is a Hugging Face folder: export it "
                              "first (fimkit export)")
        check_adapter(adapter, resolved.path)
    return resolved


def load_engine(config: EngineConfig, *, log=None) -> Engine:
    preflight(config, log=log)
    fmt = FimFormat.parse_spec(config.fim_format) if config.fim_format else None
    # Each backend module is imported only when chosen: they pull in urllib, tokenizers or llama.cpp.
    if config.backend == "openai":
        from fimkit.infer.engines.remote import OpenAIEngine

        return _with_budget(OpenAIEngine(config.base_url, config.model, fim_format=fmt,
                                         api_key=config.remote_api_key, n_ctx=config.n_ctx), config)

    resolved = resolve_model(config.model, log=log)
    if config.backend == "llama-server":
        from fimkit.infer.engines.llama_server import LlamaServerEngine
        from fimkit.paths import fimkit_home

        return _with_budget(LlamaServerEngine(resolved, n_ctx=config.n_ctx, parallel=config.parallel,
                                              threads=config.threads, fim_format=fmt,
                                              adapters=adapter_names(config.adapters), base_url=config.base_url,
                                              engine_args=tuple(shlex.split(config.engine_args or "")),
                                              api_key=config.remote_api_key,
                                              log_path=fimkit_home() / "logs" / "llama-server.log"), config)
    if config.backend == "vllm":
        from fimkit.infer.engines.vllm import VllmEngine
        from fimkit.paths import fimkit_home

        return _with_budget(VllmEngine(resolved, n_ctx=config.n_ctx, parallel=config.parallel, fim_format=fmt,
                                       adapters=adapter_names(config.adapters), base_url=config.base_url,
                                       api_key=config.remote_api_key,
                                       engine_args=tuple(shlex.split(config.engine_args or "")),
                                       log_path=fimkit_home() / "logs" / "vllm.log", log=log), config)
    if config.backend == "transformers":
        from fimkit.infer.engines.hf import TransformersEngine

        return _with_budget(TransformersEngine(resolved, n_ctx=config.n_ctx, fim_format=fmt), config)
    from fimkit.infer.engines.llama_cpp import LlamaCppEngine

    return _with_budget(LlamaCppEngine(resolved, n_ctx=config.n_ctx, n_threads=config.threads, fim_format=fmt,
                                       cache_reuse=config.cache_reuse, prompt_caches=config.prompt_caches,
                                       lookup_decoding=config.lookup_decoding, lora=config.lora), config)


def _with_budget(engine: Engine, config: EngineConfig) -> Engine:
    """``--prompt-tokens`` over the engine's own default (by device class, or the whole window), and
    ``--candidates``."""
    if config.prompt_tokens:
        engine.prompt_tokens = config.prompt_tokens
    if config.candidates > 1 and type(engine).score is Engine.score:
        engine.close()  # a llama-server child must not outlive the refusal
        raise FimkitError(f"--candidates {config.candidates} needs a backend that scores text (llama-cpp or "
                          f"transformers); the {engine.backend} backend does not")
    engine.candidates = config.candidates
    engine.healing = config.healing or engine.profile.healing
    return engine
