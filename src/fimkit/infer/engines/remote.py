"""The openai backend: a remote OpenAI-compatible server (vLLM, llama.cpp server, Ollama) runs the model.

fimkit renders the FIM prompt itself and sends it as a plain ``prompt`` (vLLM rejects
``suffix``), streams the tokens back over SSE, and applies the same budget and
post-processing as the local backends. Without the remote tokenizer, token counts for the
budget are estimated at 3 characters per token (on the safe side for code).

Every call to a model server (this backend's and the llama-server engine's) goes through ``post``:
each read has a deadline (the socket's timeout, and for a stream, ``idle_s`` without an event: a
server that sends keep-alive comments forever is cut off too), no line or body is read without a
bound, and the request's cancel event (a client that left, the server's request deadline, shutdown)
reaches a read that is blocked: one watcher thread hangs up the connection of every cancelled call.
"""

from __future__ import annotations

import codecs
import http.client
import json
import socket
import threading
import time
import urllib.error
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from urllib.parse import urlsplit

from fimkit.errors import BackendError, BackendUnavailableError, FimkitError
from fimkit.formats import FimFormat
from fimkit.infer.engines.contract import Engine, Generation, SamplingParams, TokenPiece
from fimkit.infer.engines.server_process import get_json

MAX_LINE_BYTES = 1 << 20  # one stream line: a token's event is a few hundred bytes
MAX_BODY_BYTES = 4 << 20  # a whole (not streamed) reply
SERVER_READ_TIMEOUT_S = 120.0  # an engine server's each read, and a stream's longest silence (a cold prompt on a CPU)
MAX_ALLOWED = 4096  # healing: the most allowed tokens one step sends (a one-letter rest allows thousands)


class Cancelled(Exception):
    """The call's cancel event was set while it waited: the generation ends as "cancelled"."""


class CallError(BackendError):
    """The server answered with an error status (``status``, ``detail``: the start of its body)."""

    def __init__(self, source: str, status: int, detail: str):
        super().__init__(f"{source} answered {status}: {detail}")
        self.status, self.detail = status, detail
        if status == 503:
            self.http_status = 503  # busy or loading: retry, as for an unreachable one


class _Watcher:
    """One thread for every call in flight: it hangs up a call's connection once its cancel event is
    set, so a read blocked on a server that stalls returns at once instead of at its timeout."""

    def __init__(self):
        self._calls: dict[int, tuple[socket.socket, threading.Event]] = {}
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, sock: socket.socket, cancel: threading.Event) -> int:
        """Watch ``sock`` (the socket itself: http.client lets go of it once a reply without a length
        starts, and the reply reads on through it)."""
        with self._cond:
            self._calls[id(sock)] = (sock, cancel)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="fimkit-call-watcher", daemon=True)
                self._thread.start()
            self._cond.notify()
        return id(sock)

    def remove(self, token: int) -> None:
        with self._cond:
            self._calls.pop(token, None)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._calls:
                    self._cond.wait()
                cancelled = [tok for tok, (_, cancel) in self._calls.items() if cancel.is_set()]
                socks = [self._calls.pop(tok)[0] for tok in cancelled]
            for sock in socks:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            time.sleep(0.02)


_WATCHER = _Watcher()


@contextmanager
def post(url: str, body: dict, *, source: str, timeout: float, cancel: threading.Event | None = None,
         headers: dict | None = None):
    """POST ``body`` as JSON and yield the response once its status is a success. An error status is a
    ``CallError``; no connection, a ``BackendUnavailableError``; a cancel event set meanwhile (before
    or while the caller reads), ``Cancelled``. ``timeout`` bounds each read."""
    parts = urlsplit(url)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = kind(parts.hostname, parts.port, timeout=timeout)
    token = resp = None

    def failed(exc: Exception, doing: str) -> Exception:
        if cancel is not None and cancel.is_set():
            return Cancelled()
        return BackendUnavailableError(f"{doing} {source}: {str(exc) or type(exc).__name__}")

    try:
        try:
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            conn.connect()
            if cancel is not None:
                token = _WATCHER.add(conn.sock, cancel)
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            conn.request("POST", path, json.dumps(body).encode(),
                         {"Content-Type": "application/json", **(headers or {})})
            resp = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            raise failed(exc, "cannot reach") from None
        if resp.status >= 400:
            try:
                detail = resp.read(4096).decode("utf-8", "replace")[:300]
            except (OSError, http.client.HTTPException):
                detail = ""
            raise CallError(source, resp.status, detail)
        try:
            yield resp
        except (OSError, http.client.HTTPException) as exc:
            raise failed(exc, "lost the connection to") from None
    finally:
        if token is not None:
            _WATCHER.remove(token)
        if resp is not None:
            resp.close()  # a reply without a length holds the socket itself: the server sees it go now
        conn.close()


@contextmanager
def engine_call(url: str, body: dict, *, source: str, key: str | None, timeout: float,
                cancel: threading.Event | None):
    """One request to an engine server fimkit runs (llama-server, vLLM), with its key: the response while
    the block reads it. A 503 (busy, loading) is a BackendUnavailableError, any other error status a
    BackendError, each naming ``source``."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        with post(url, body, source=source, timeout=timeout, cancel=cancel, headers=headers) as resp:
            yield resp
    except CallError as exc:
        if exc.status == 503:
            raise BackendUnavailableError(f"{source} is busy or loading: {exc.detail}") from None
        raise BackendError(f"{source} answered {exc.status}: {exc.detail}") from None


class ServerBacked:
    """What an engine whose generating runs in an engine server (llama-server, vLLM) adds to the engine
    whose tokenizer it keeps: calls with the server's key, no scoring (no logits to score text with, so
    candidate ranking is refused at load), and the supervised child stopped on close."""

    server_name = "engine server"
    completion_path = "/completion"
    process = None
    url: str
    key: str | None

    @property
    def source(self) -> str:
        """The server as errors name it."""
        return f"{self.server_name} at {self.url}"

    def _call(self, body: dict, cancel: threading.Event | None):
        """One completion request with the engine's key; the response while the block reads it."""
        return engine_call(self.url + self.completion_path, body, source=self.source, key=self.key,
                           timeout=SERVER_READ_TIMEOUT_S, cancel=cancel)

    def _events(self, resp) -> Iterator[dict]:
        """A streamed reply's events, each read within the servers' read deadline."""
        return sse_events(resp, self.source, idle_s=SERVER_READ_TIMEOUT_S)

    def _get(self, path: str):
        """A GET of the running server's own description (a server fimkit did not start), as one-line errors."""
        try:
            return get_json(self.url + path, timeout=5.0, key=self.key)
        except urllib.error.HTTPError as exc:
            hint = ": give its key with --remote-api-key" if exc.code == 401 else ""
            raise FimkitError(f"{self.source} answered {exc.code} to {path}{hint}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise FimkitError(f"cannot read {path} of {self.source}: {exc}") from None

    score = Engine.score

    def close(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None
        super().close()


def heal_by_requests(gen: Generation, tokens: list[int], healing, step, done) -> Iterator[TokenPiece]:
    """Token healing on an engine server, which shows no logits: the tokens that re-spell the backed-off
    text, one request each, ``step(tokens, allowed)`` returning the token the server chose when only
    ``allowed`` could be (or None), so the choice among them is the model's; ``tokens`` grows by each
    (the next step finds the prompt in the server's cache). Past ``MAX_ALLOWED`` allowed tokens the
    shortest are kept, which include every token that spells only part of the rest. The steps report no
    probability (the shown-likelihood cut counts healing steps as certain anyway). ``done(gen)`` says
    whether to stop after a step (cancelled, or out of tokens)."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    gen.stats.healed_chars = len(healing.backed_off.decode("utf-8", "replace"))
    while not healing.done:
        allowed = healing.allowed()
        if not allowed:  # nothing spells it (cannot happen with the prompt's own tokens): stop
            return
        if len(allowed) > MAX_ALLOWED:
            allowed = sorted(allowed, key=lambda t: len(healing.index.pieces[t]))[:MAX_ALLOWED]
        tok = step(tokens, allowed)
        if tok is None or tok not in allowed:  # the server did not hold to them (cannot happen): no healing
            return
        tokens.append(tok)
        gen.stats.predicted_tokens += 1
        yield TokenPiece(decoder.decode(healing.take(tok)), None, tok, healing=True)
        if done(gen):
            return


def read_json(resp, source: str):
    """A whole JSON reply, bounded."""
    raw = resp.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise BackendError(f"{source} sent a reply over {MAX_BODY_BYTES:,} bytes")
    try:
        return json.loads(raw.decode("utf-8"))
    except ValueError:
        raise BackendError(f"{source} sent a reply that is not JSON") from None


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

    def _post(self, body: dict, cancel: threading.Event | None):
        headers = {"Accept": "text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return post(self.url, body, source=f"the remote server {self.url}", timeout=self.timeout, cancel=cancel,
                    headers=headers)

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
            with self._post(body, cancel) as resp:
                for chunk in sse_events(resp, f"the remote server {self.url}", idle_s=self.timeout):
                    if isinstance(chunk.get("usage"), dict):
                        stats.prompt_tokens = chunk["usage"].get("prompt_tokens", stats.prompt_tokens)
                    choice = (chunk.get("choices") or [{}])[0]
                    if not isinstance(choice, dict):
                        continue
                    if choice.get("finish_reason"):
                        gen.stop_reason = "limit" if choice["finish_reason"] == "length" else "eos"
                    text = choice.get("text") or ""
                    if not text or not isinstance(text, str):
                        continue
                    if first is None:
                        first = time.perf_counter()
                        stats.prompt_ms = (first - start) * 1000
                    reported = choice.get("logprobs") if isinstance(choice.get("logprobs"), dict) else {}
                    lps = reported.get("token_logprobs") or []
                    tops = reported.get("top_logprobs") or []
                    best = tuple(tops[0].items())[: params.top_logprobs] if tops and isinstance(tops[0], dict) else ()
                    stats.predicted_tokens += 1
                    lp = lps[0] if lps and isinstance(lps[0], (int, float)) else None
                    yield TokenPiece(text, lp, None, best)
                    if cancel is not None and cancel.is_set():
                        gen.stop_reason = "cancelled"
                        break
            if cancel is not None and cancel.is_set() and gen.stop_reason is None:
                gen.stop_reason = "cancelled"  # hung up by the watcher: the stream just ended
            if gen.stop_reason is None:
                gen.stop_reason = "limit" if stats.predicted_tokens >= params.max_tokens else "eos"
        except Cancelled:
            gen.stop_reason = "cancelled"
        except CallError as exc:
            if exc.status == 400 and "logprobs" in exc.detail and self.want_logprobs and first is None:
                self.want_logprobs = False  # some servers refuse logprobs: retry once without
                yield from self._produce(gen, prompt, params, cancel)
                return
            raise
        finally:
            end = time.perf_counter()
            stats.predicted_ms = (end - (first or end)) * 1000
            if first is None:
                stats.prompt_ms = (end - start) * 1000


def sse_events(resp, source: str, *, idle_s: float = 120.0) -> Iterator[dict]:
    """The JSON objects of a server-sent event stream, until ``[DONE]`` or its end; a line that is not
    JSON, or an ``error`` object the server sends mid-stream, is a BackendError naming ``source``. Each
    line is read with a bound, and ``idle_s`` without an event (keep-alive comments do not count) ends
    it with a BackendError: a server may not hold a slot by talking without answering."""
    last = time.monotonic()
    while True:
        raw = resp.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        if len(raw) > MAX_LINE_BYTES:
            raise BackendError(f"{source} sent a stream line over {MAX_LINE_BYTES:,} bytes")
        line = raw.decode("utf-8", "replace").strip()
        if not line.startswith("data:"):
            if time.monotonic() - last > idle_s:
                raise BackendError(f"{source} sent no event for {idle_s:g} s, only keep-alives")
            continue
        last = time.monotonic()
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            chunk = json.loads(data)
        except ValueError:
            raise BackendError(f"{source} sent a stream line that is not JSON: {data[:80]!r}") from None
        if isinstance(chunk, dict) and "error" in chunk:
            raise BackendError(f"{source}: {str(chunk['error'])[:300]}")
        if isinstance(chunk, dict):
            yield chunk
