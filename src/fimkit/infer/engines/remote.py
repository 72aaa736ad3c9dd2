"""The openai backend: a remote OpenAI-compatible server (vLLM, llama.cpp server, Ollama) runs the model.

fimkit renders the FIM prompt itself and sends it as a plain ``prompt`` (vLLM rejects
``suffix``), streams the tokens back over SSE, and applies the same budget and
post-processing as the local backends. Without the remote tokenizer, token counts for the
budget are estimated at 3 characters per token (on the safe side for code).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

from fimkit.errors import BackendError, BackendUnavailableError
from fimkit.formats import FimFormat
from fimkit.infer.engines.contract import Engine, Generation, SamplingParams, TokenPiece


class OpenAIEngine(Engine):
    backend = "openai"

    def __init__(self, base_url: str, model: str, *, fim_format: FimFormat | None = None, api_key: str | None = None,
                 n_ctx: int = 4096, timeout: float = 60.0):
        self.url = base_url.rstrip("/") + "/completions"
        self.name = model
        self.fim_format = fim_format or FimFormat(None, "prefix-only")
        self.api_key, self.n_ctx, self.timeout = api_key, n_ctx, timeout
        self.want_logprobs = True

    def count_tokens(self, text: str) -> int:
        return (len(text) + 2) // 3

    def _open(self, body: dict):
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(self.url, json.dumps(body).encode(), headers, method="POST")
        return urllib.request.urlopen(req, timeout=self.timeout)

    def _produce(self, gen: Generation, prompt: str, params: SamplingParams,
                 cancel: threading.Event | None) -> Iterator[TokenPiece]:
        if params.max_tokens <= 0:  # a warm-up has nothing to warm on a remote server
            gen.stop_reason = "limit"
            return
        body = {"model": self.name, "prompt": prompt, "max_tokens": params.max_tokens, "temperature": params.temperature,
                "top_p": params.top_p, "stream": True}
        if params.seed is not None:
            body["seed"] = params.seed
        stops = [s for s in self.fim_format.stop_strings()][:4]  # OpenAI allows at most 4
        if stops:
            body["stop"] = stops
        if self.want_logprobs:
            body["logprobs"] = max(1, params.top_logprobs)
        stats = gen.stats
        stats.prompt_tokens = self.count_tokens(prompt)
        start = time.perf_counter()
        first = None
        try:
            resp = self._open(body)
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:300]
            if exc.code == 400 and "logprobs" in detail and self.want_logprobs:
                self.want_logprobs = False  # some servers refuse logprobs: retry once without
                yield from self._produce(gen, prompt, params, cancel)
                return
            raise BackendError(f"remote server {self.url} answered {exc.code}: {detail}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise BackendUnavailableError(f"cannot reach the remote server {self.url}: {exc}") from exc
        try:
            for chunk in sse_events(resp, f"remote server {self.url}"):
                if chunk.get("usage"):
                    stats.prompt_tokens = chunk["usage"].get("prompt_tokens", stats.prompt_tokens)
                choice = (chunk.get("choices") or [{}])[0]
                if choice.get("finish_reason"):
                    gen.stop_reason = "limit" if choice["finish_reason"] == "length" else "eos"
                text = choice.get("text") or ""
                if not text:
                    continue
                if first is None:
                    first = time.perf_counter()
                    stats.prompt_ms = (first - start) * 1000
                reported = choice.get("logprobs") or {}
                lps = reported.get("token_logprobs") or []
                tops = reported.get("top_logprobs") or []
                best = tuple(tops[0].items())[: params.top_logprobs] if tops and isinstance(tops[0], dict) else ()
                stats.predicted_tokens += 1
                yield TokenPiece(text, lps[0] if lps else None, None, best)
                if cancel is not None and cancel.is_set():
                    gen.stop_reason = "cancelled"
                    break
            if gen.stop_reason is None:
                gen.stop_reason = "limit" if stats.predicted_tokens >= params.max_tokens else "eos"
        finally:
            resp.close()
            end = time.perf_counter()
            stats.predicted_ms = (end - (first or end)) * 1000
            if first is None:
                stats.prompt_ms = (end - start) * 1000


def sse_events(resp, source: str) -> Iterator[dict]:
    """The JSON objects of a server-sent event stream, until ``[DONE]`` or its end; a line that is not
    JSON, or an ``error`` object the server sends mid-stream, is a BackendError naming ``source``."""
    for raw in resp:
        line = raw.decode("utf-8", "replace").strip()
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            chunk = json.loads(data)
        except ValueError:
            raise BackendError(f"{source} sent a stream line that is not JSON: {data[:80]!r}") from None
        if isinstance(chunk, dict) and "error" in chunk:
            raise BackendError(f"{source}: {chunk['error']}")
        if isinstance(chunk, dict):
            yield chunk
