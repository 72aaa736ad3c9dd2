"""Which model an engine loads and how: its settings, kept free of imports so CLI help stays instant."""

from __future__ import annotations

from dataclasses import dataclass

from fimkit.errors import FimkitError
from fimkit.infer.engines.healing import POLICIES
from fimkit.settings import check, check_url, setting

BACKENDS = ("llama-cpp", "transformers", "openai", "llama-server", "vllm")
SERVER_BACKENDS = ("llama-server", "vllm")  # fimkit supervises the engine server: --parallel, --adapter, --engine-args
# Where a suggestion an editor shows is cut: before the token that takes the sum of its tokens'
# log-probabilities below this (the model is then less than ~47% sure of the whole of it). Chosen on
# the tuning split of benchmarks/bench_typing.py (docs/typing.md); the server and
# the language server apply it, evaluation does not (it scores whole middles).
DEFAULT_MIN_SHOWN_LOGPROB = -0.75
NO_CUT = -100.0  # a server or language server set to this cut never cuts: whole middles are shown
MAX_CANDIDATES = 8  # candidate middles ranked per completion, at most (OpenAI's n has the same cap)


@dataclass(frozen=True)
class EngineConfig:
    """Which model to load and how; the flags of `fimkit serve`, `complete`, `lsp` and `eval`."""

    model: str = setting("auto", "model reference: auto (the best embedded model that meets the typing goal on this "
                         "machine, measured once: fimkit models shows which and why), an embedded name "
                         "(qwen2.5-coder-0.5b, qwen2.5-coder-1.5b, gemma-3-270m), a .gguf file or a Hugging Face "
                         "folder (for the openai backend: the remote model's name)")
    backend: str = setting("llama-cpp", "llama-cpp (GGUF, in-process, one request at a time), transformers (HF "
                           "folder or GGUF), openai (a remote OpenAI-compatible server: vLLM, llama.cpp, Ollama) or "
                           "llama-server (llama.cpp's server started and supervised by fimkit, or --base-url of a "
                           "running one: --parallel requests at once, continuous batching, --adapter per "
                           "repository; for a team) or vllm (vLLM started and supervised by fimkit, or --base-url of "
                           "a running one: a GPU pool, LoRA modules per repository; make vllm installs it)",
                           choices=BACKENDS)
    n_ctx: int = setting(2048, "context window in tokens", min=64, max=1_048_576)
    threads: int | None = setting(None, "CPU threads for llama.cpp (default: all cores)", min=1, max=1024)
    fim_format: str | None = setting(None, "override the detected FIM format: FAMILY:LAYOUT or prefix-only "
                                     "(e.g. qwen2.5-coder:psm)")
    base_url: str | None = setting(None, "openai backend: the remote server, e.g. http://127.0.0.1:8000/v1; "
                                   "llama-server and vllm backends: a server already running (fimkit starts none)")
    remote_api_key: str | None = setting(None, "bearer token for the remote server (openai backend, or "
                                         "llama-server and vllm with --base-url)")
    lora: str | None = setting(None, "a LoRA adapter GGUF (fimkit export RUN --lora-only) applied on top of "
                               "--model when it loads: megabytes instead of a merged model (llama-cpp backend)")
    parallel: int = setting(4, "llama-server and vllm backends: requests generated at once (llama-server's slots, "
                            "vLLM's --max-num-seqs), batched together; each holds a whole --n-ctx window",
                            min=1, max=256)
    adapters: tuple[str, ...] = setting((), "llama-server and vllm backends: LoRA adapters loaded beside the base "
                                        "as NAME=PATH, comma-separated (fimkit adapt outputs; vllm takes the PEFT "
                                        "folder); the serve --routes file says which repository gets which",
                                        flag="adapter")
    engine_args: str | None = setting(None, "llama-server and vllm backends: more flags for the server fimkit "
                                      "starts, e.g. '--n-gpu-layers 99' (llama-server) or '--tensor-parallel-size 2 "
                                      "--gpu-memory-utilization 0.8' (vllm)")
    prompt_tokens: int | None = setting(None, "most prompt tokens per completion: cold latency grows with it, "
                                        "quality saturates (default: 1024 on a CPU, 4096 with a GPU, the "
                                        "whole window for the other backends)", min=64, max=1_048_576)
    prompt_caches: int = setting(4, "saved prompt states (KV caches) of recent files, so going back to a "
                                 "file resumes where it was; 0 turns them off", min=0, max=64)
    lookup_decoding: bool = setting(False, "greedy decoding checks drafts copied from the context (prompt-lookup "
                                    "speculative decoding); off by default: 1.03x on a 2-core CPU "
                                    "(benchmarks/bench_decode.py)")
    candidates: int = setting(1, "middles ranked per completion by how well each leads into the suffix "
                              "(InCoder-style); 1 is plain greedy, the default measured best on a CPU "
                              "(docs/evaluation.md, Candidate ranking)", min=1, max=MAX_CANDIDATES)
    cache_reuse: bool = setting(True, "keep the KV cache of the previous prompt (off only to measure what it saves)")
    healing: str | None = setting(None, "token healing when the cursor is mid-word: back the prompt off to the start of "
                                  "the word being typed (word), its last identifier or operator (lexeme), or 1 or 2 "
                                  "tokens, and make the model re-spell it; off turns it off (default: the model "
                                  "profile's, measured: docs/models.md; llama-cpp, llama-server and transformers "
                                  "backends)", choices=POLICIES)

    def __post_init__(self):
        check(self)
        check_window(self.n_ctx, self.prompt_tokens, self.threads)
        for name in ("model", "lora", "base_url"):
            value = getattr(self, name)
            if value is not None and not value.strip():
                raise FimkitError(f"--{name.replace('_', '-')} is empty (an unset variable?): give a value or leave "
                                  "the flag out")
        if self.base_url is not None:
            check_url(self.base_url, "--base-url")
        adapter_names(self.adapters)
        if self.adapters and self.backend not in SERVER_BACKENDS:
            raise FimkitError("--adapter serves several adapters at once and needs --backend llama-server or vllm; for one "
                              "adapter on the in-process engine use --lora PATH")


def adapter_names(adapters: tuple[str, ...]) -> dict[str, str]:
    """``--adapter NAME=PATH,...`` as {name: path}, checked."""
    out: dict[str, str] = {}
    for item in adapters:
        name, sep, path = item.partition("=")
        name, path = name.strip(), path.strip()
        if not sep or not name or not path:
            raise FimkitError(f"--adapter {item!r}: expected NAME=PATH, e.g. --adapter shop=runs/adapt-shop/adapter.gguf")
        if not name.replace("-", "").replace("_", "").replace(".", "").isalnum() or len(name) > 64 or name == "base":
            raise FimkitError(f"--adapter {item!r}: a name is letters, digits, '-', '_' or '.' (at most 64), and "
                              "not 'base' (the model without an adapter)")
        if name in out:
            raise FimkitError(f"--adapter {name!r} is given twice")
        out[name] = path
    return out


def check_window(n_ctx: int, prompt_tokens: int | None, threads: int | None) -> None:
    """The window settings every command that loads an engine takes (serve, complete, eval...)."""
    if n_ctx < 64:
        raise FimkitError(f"n_ctx must be at least 64 tokens, got {n_ctx}")
    if prompt_tokens is not None and not 64 <= prompt_tokens <= n_ctx:
        raise FimkitError(f"prompt_tokens must be between 64 and n_ctx ({n_ctx}), got {prompt_tokens}")
    if threads is not None and threads < 1:
        raise FimkitError(f"threads must be 1 or more, got {threads}")


def check_candidates(n: int) -> None:
    if not 1 <= n <= MAX_CANDIDATES:
        raise FimkitError(f"candidates must be between 1 and {MAX_CANDIDATES}, got {n}")
