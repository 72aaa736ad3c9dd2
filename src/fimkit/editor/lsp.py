"""``fimkit lsp``: a language server that gives fill-in-the-middle completions to any LSP editor.

- ``textDocument/inlineCompletion`` (LSP 3.18) for clients that show ghost text, and
  ``textDocument/completion`` items (the completion's first line as the label) for older ones;
- full document sync through pygls; prefix/suffix budgeted by lines and characters, an LRU
  cache with typed-ahead reuse, binary or huge buffers refused quietly (no suggestion);
- ``$/cancelRequest`` cancels the request's task, and an in-process generation stops within
  one token; completions come from an in-process engine (``--model``) or a running fimkit or
  llama.cpp/Ollama-compatible server (``--server``);
- warm-ups: when a file is opened or saved, its prompt at the last place completed in it (else
  the top of the file) is evaluated into the model's cache with no token generated (llama.vscode's
  ``n_predict: 0``), so the first completion there does not wait for seconds of prompt evaluation.
  LSP has no cursor-moved notification, so that is the best place the server knows;
- it completes only documents the client opened, from the text the client sent: a request about any
  other URI gets no completion and no file is ever read from disk on a client's word (a completion
  for ``file:///etc/shadow`` would send that file to ``--server``). Framing, one editor per server,
  the TCP token and replies without tracebacks: ``lsp_io``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from dataclasses import dataclass
from urllib.parse import unquote

from fimkit import __version__
from fimkit.editor.context import Budget, CompletionCache, budget, looks_binary
from fimkit.editor.lsp_io import FimkitLanguageServer
from fimkit.infer.complete import run_completion
from fimkit.infer.config import NO_CUT
from fimkit.infer.context.repository import RepoContext
from fimkit.infer.engines.choice import EngineConfig, load_engine
from fimkit.infer.engines.contract import CompletionRequest, SamplingParams


@dataclass(frozen=True)
class LspConfig:
    """model: in-process model reference (used when server is None). server: base URL of a running
    server. api: which of its APIs to call (openai, infill, ollama). max_tokens: per completion."""

    model: str = "auto"
    server: str | None = None
    api: str = "openai"
    api_key: str | None = None
    max_tokens: int = 64
    budget: Budget = Budget()
    warm_up: bool = True
    # Repository context from the client's workspace root: opt-in, since it measured no gain with the
    # embedded 270M model (docs/evaluation.md, "Repository context").
    workspace: bool = False
    # In-process completions are cut where they become unlikely, as the server's are (a server's own
    # setting applies to completions from it); None: the model profile's cut, NO_CUT: none.
    min_shown_logprob: float | None = None


class EngineSource:
    """Completions from an engine loaded in this process (the server's own pipeline)."""

    def __init__(self, model: str, max_tokens: int, min_shown_logprob: float | None = None):
        self.engine = load_engine(EngineConfig(model=model))
        if min_shown_logprob is None:
            min_shown_logprob = self.engine.profile.min_shown_logprob
        self.max_tokens = max_tokens
        self.min_shown_logprob = None if min_shown_logprob is not None and min_shown_logprob <= NO_CUT else min_shown_logprob
        self.lock = threading.Lock()

    def complete(self, prefix: str, suffix: str, language: str | None, cancel: threading.Event,
                 max_tokens: int | None = None, *, filename: str | None = None,
                 context: RepoContext | None = None) -> str:
        """``max_tokens`` 0: a warm-up (the prompt into the cache, nothing generated). ``context``:
        repository context (``--workspace``)."""
        with self.lock:
            if cancel.is_set():
                return ""
            tokens = self.max_tokens if max_tokens is None else max_tokens
            request = CompletionRequest(prefix, suffix, language=language, filename=filename,
                                        sampling=SamplingParams(max_tokens=tokens),
                                        min_shown_logprob=self.min_shown_logprob)
            return run_completion(self.engine, request, cancel=cancel, context=context).text


class HttpSource:
    """Completions from a running server over one of the APIs fimkit serves (and llama.cpp/Ollama do)."""

    def __init__(self, base: str, api: str, api_key: str | None, max_tokens: int, timeout: float = 30.0):
        self.base, self.api, self.api_key, self.max_tokens, self.timeout = base.rstrip("/"), api, api_key, max_tokens, timeout

    def request_body(self, prefix: str, suffix: str, max_tokens: int | None = None, *, filename: str | None = None,
                     extra: tuple[tuple[str, str], ...] = ()) -> tuple[str, dict]:
        """The request for the chosen API; repository context goes as ``input_extra`` (llama.cpp's
        field, which fimkit accepts on every API and other servers ignore)."""
        tokens = self.max_tokens if max_tokens is None else max_tokens
        # early_reply: a fimkit server answers a block with its first line and generates the rest ahead
        # (the completion asked for after it is accepted is then immediate); other servers ignore it.
        common: dict = {"early_reply": True}
        if extra:
            common["input_extra"] = [{"filename": n, "text": t} for n, t in extra]
        if filename:
            common["filename"] = filename
        if self.api == "infill":
            return "/infill", {"input_prefix": prefix, "input_suffix": suffix, "n_predict": tokens, **common}
        if self.api == "ollama":
            return "/api/generate", {"model": "fimkit", "prompt": prefix, "suffix": suffix or "\n", "stream": False,
                                     "options": {"num_predict": tokens, "temperature": 0}, **common}
        return "/v1/completions", {"prompt": prefix, "suffix": suffix, "max_tokens": tokens, "temperature": 0,
                                   **common}

    @staticmethod
    def parse(api: str, data: dict) -> str:
        if api == "infill":
            return str(data.get("content", ""))
        if api == "ollama":
            return str(data.get("response", ""))
        return str((data.get("choices") or [{}])[0].get("text", ""))

    def complete(self, prefix: str, suffix: str, language: str | None, cancel: threading.Event,
                 max_tokens: int | None = None, *, filename: str | None = None,
                 extra: tuple[tuple[str, str], ...] = ()) -> str:
        path, body = self.request_body(prefix, suffix, max_tokens, filename=filename, extra=extra)
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = self._post(path, json.dumps(body).encode(), headers, cancel)
        return "" if cancel.is_set() or data is None else self.parse(self.api, data)

    def _post(self, path: str, body: bytes, headers: dict, cancel: threading.Event) -> dict | None:
        """POST and read the JSON reply; when ``cancel`` is set meanwhile (the user typed on), the
        connection is closed at once, so the server sees the request abandoned and stops generating
        instead of finishing a completion nobody will see (and making the next one wait)."""
        import http.client
        import socket
        from urllib.parse import urlsplit

        url = urlsplit(self.base + path)
        kind = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
        conn = kind(url.hostname, url.port, timeout=self.timeout)
        done = threading.Event()

        def hang_up():
            while not done.wait(0.02):
                if cancel.is_set():
                    with contextlib.suppress(OSError):
                        if conn.sock is not None:
                            conn.sock.shutdown(socket.SHUT_RDWR)
                    return

        watcher = threading.Thread(target=hang_up, daemon=True)
        watcher.start()
        try:
            conn.request("POST", url.path + (f"?{url.query}" if url.query else ""), body, headers)
            reply = conn.getresponse()
            raw = reply.read(MAX_REPLY_BYTES + 1)  # a completion is a few kB: a server may not fill memory
            if len(raw) > MAX_REPLY_BYTES:
                raise OSError(f"{self.base} sent a reply over {MAX_REPLY_BYTES:,} bytes")
            if reply.status >= 400:
                raise OSError(f"{self.base} answered {reply.status}: {raw[:200].decode('utf-8', 'replace')}")
            return json.loads(raw)
        except (OSError, http.client.HTTPException, ValueError):
            if cancel.is_set():
                return None
            raise
        finally:
            done.set()
            conn.close()


MAX_REPLY_BYTES = 4 << 20

LANGUAGE_IDS = {"python": "python", "javascript": "javascript", "javascriptreact": "javascript",
                "typescript": "typescript", "typescriptreact": "typescript", "sql": "sql"}


def create_server(config: LspConfig, source=None):
    """The pygls server. ``source`` is built lazily on the first request unless given (tests)."""
    from lsprotocol import types as t

    server = FimkitLanguageServer("fimkit", __version__)
    cache = CompletionCache()
    state = {"source": source, "requests": 0, "warming": None, "context": None}
    last_place: dict[str, object] = {}  # uri -> the position of the last completion asked there

    def opened(uri: str):
        """The document the client opened, as it sent it, or None (never one read from disk)."""
        return server.workspace.text_documents.get(unquote(uri))

    def get_context() -> RepoContext | None:
        """Repository context over the client's workspace root, indexed in the background on first use."""
        if state["context"] is None and config.workspace and server.workspace.root_path:
            state["context"] = RepoContext()
            state["context"].open_later(server.workspace.root_path)
        return state["context"]

    def ask(source, context, doc, prefix: str, suffix: str, language: str | None, cancel: threading.Event,
            max_tokens: int | None = None) -> str:
        """In an executor thread: complete, with repository context when it is on (the in-process
        engine gathers it itself; a server gets it as ``input_extra``). ``source`` and ``context`` are
        built on the event loop's thread, so two requests never load two engines or two indexes."""
        if isinstance(source, EngineSource):
            return source.complete(prefix, suffix, language, cancel, max_tokens, filename=doc.path, context=context)
        extra = tuple(c.as_extra() for c in context.gather(prefix, suffix, doc.path, language)) if context else ()
        return source.complete(prefix, suffix, language, cancel, max_tokens, filename=doc.path, extra=extra)

    def get_source():
        if state["source"] is None:
            state["source"] = (HttpSource(config.server, config.api, config.api_key, config.max_tokens)
                               if config.server else EngineSource(config.model, config.max_tokens,
                                                                  config.min_shown_logprob))
        return state["source"]

    async def complete_at(uri: str, position) -> str:
        doc = opened(uri)
        if doc is None or looks_binary(doc.source):
            return ""
        text = doc.source
        try:
            offset = doc.offset_at_position(position)
        except (IndexError, ValueError):  # a position past the document: no completion
            return ""
        prefix, suffix = budget(text, offset, config.budget)
        last_place[uri] = position
        if state["warming"] is not None:
            state["warming"].set()  # a warm-up gives way: what it evaluated stays in the cache
        cached = cache.get(prefix, suffix)
        if cached is not None:
            return cached
        cancel = threading.Event()
        loop = asyncio.get_running_loop()
        language = LANGUAGE_IDS.get(doc.language_id or "")
        state["requests"] += 1
        try:
            middle = await loop.run_in_executor(None, ask, get_source(), get_context(), doc, prefix, suffix, language, cancel)
        except asyncio.CancelledError:
            cancel.set()  # the client sent $/cancelRequest (the user typed on): stop generating
            raise
        except Exception as exc:  # noqa: BLE001 - an unreachable server must never break the editor
            server.window_log_message(t.LogMessageParams(type=t.MessageType.Warning, message=f"fimkit: {exc}"))
            return ""
        if middle:
            cache.put(prefix, suffix, middle)
        return middle

    async def warm_up(uri: str) -> None:
        doc = opened(uri)
        if doc is None or not config.warm_up or looks_binary(doc.source):
            return
        text = doc.source
        position = last_place.get(uri) or t.Position(line=min(len(doc.lines), 64), character=0)
        try:
            offset = doc.offset_at_position(position)
        except (IndexError, ValueError):
            offset = len(text)
        prefix, suffix = budget(text, min(offset, len(text)), config.budget)
        cancel = threading.Event()
        if state["warming"] is not None:
            state["warming"].set()
        state["warming"] = cancel
        language = LANGUAGE_IDS.get(doc.language_id or "")
        try:
            await asyncio.get_running_loop().run_in_executor(None, ask, get_source(), get_context(), doc, prefix, suffix, language,
                                                             cancel, 0)
        except Exception as exc:  # noqa: BLE001 - a warm-up is best effort: log, never fail the editor
            server.window_log_message(t.LogMessageParams(type=t.MessageType.Log, message=f"fimkit warm-up: {exc}"))
        finally:
            if state["warming"] is cancel:
                state["warming"] = None

    @server.feature(t.TEXT_DOCUMENT_DID_OPEN)
    async def did_open(ls, params: t.DidOpenTextDocumentParams):
        await warm_up(params.text_document.uri)

    @server.feature(t.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(ls, params: t.DidChangeTextDocumentParams):
        context, doc = state["context"], opened(params.text_document.uri)
        if doc is not None and context is not None and context.index is not None:  # definitions now; BM25 on save
            context.index.update(doc.path, doc.source, rebuild=False)

    @server.feature(t.TEXT_DOCUMENT_DID_SAVE)
    async def did_save(ls, params: t.DidSaveTextDocumentParams):
        context, doc = state["context"], opened(params.text_document.uri)
        if doc is None:
            return  # saved, but never opened here: nothing to warm, nothing to read
        if context is not None and context.index is not None:
            context.index.update(doc.path, doc.source)
        await warm_up(params.text_document.uri)

    # pygls advertises inline completion only when given options: without them the initialize reply
    # omits inlineCompletionProvider and clients that honour capabilities never ask.
    @server.feature(t.TEXT_DOCUMENT_INLINE_COMPLETION, t.InlineCompletionOptions())
    async def inline_completion(ls, params: t.InlineCompletionParams):
        middle = await complete_at(params.text_document.uri, params.position)
        if not middle:
            return t.InlineCompletionList(items=[])
        here = t.Range(start=params.position, end=params.position)
        return t.InlineCompletionList(items=[t.InlineCompletionItem(insert_text=middle, range=here)])

    @server.feature(t.TEXT_DOCUMENT_COMPLETION, t.CompletionOptions(trigger_characters=[".", "(", " ", "\n"]))
    async def completion(ls, params: t.CompletionParams):
        middle = await complete_at(params.text_document.uri, params.position)
        if not middle:
            return t.CompletionList(is_incomplete=True, items=[])
        here = t.Range(start=params.position, end=params.position)
        label = middle.strip().split("\n", 1)[0][:80] or middle[:80]
        item = t.CompletionItem(
            label=label, kind=t.CompletionItemKind.Snippet, detail="fimkit", sort_text="0", filter_text=label,
            insert_text_format=t.InsertTextFormat.PlainText, text_edit=t.TextEdit(range=here, new_text=middle),
        )
        return t.CompletionList(is_incomplete=True, items=[item])

    server.fimkit_state = state
    return server
