"""`fimkit lsp` driven over stdio by an LSP client, completions from a stand-in HTTP server and from a
real in-process model."""

import asyncio
import json
import select
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from lsprotocol import types as t
from pygls.lsp.client import LanguageClient

pytestmark = pytest.mark.slow


class CompletionServer:
    """Answers POST /v1/completions with a fixed middle, counting requests; optionally slowly."""

    def __init__(self, text="compute(a, b)", delay=0.0):
        self.text, self.delay, self.requests, self.abandoned = text, delay, [], []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append((self.path, body))
                until = time.monotonic() + outer.delay
                while time.monotonic() < until:  # as a real server does: notice a client that hung up
                    readable, _, _ = select.select([self.connection], [], [], 0.02)
                    if readable and self.connection.recv(1, socket.MSG_PEEK) == b"":
                        outer.abandoned.append(body)
                        return
                reply = json.dumps({"choices": [{"text": outer.text}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self):
        self.httpd.shutdown()


async def _session(args, actions, root_uri=None, env=None):
    client = LanguageClient("test-client", "1")
    await client.start_io(sys.executable, "-m", "fimkit", "lsp", *args, env=env)
    try:
        await client.initialize_async(t.InitializeParams(capabilities=t.ClientCapabilities(), process_id=None,
                                                         root_uri=root_uri))
        client.initialized(t.InitializedParams())
        return await actions(client)
    finally:
        await client.shutdown_async(None)
        client.exit(None)
        await client.stop()


def _open(client, text, uri="file:///tmp/a.py"):
    client.text_document_did_open(t.DidOpenTextDocumentParams(
        text_document=t.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))


def _inline(client, line, character, uri="file:///tmp/a.py"):
    return client.text_document_inline_completion_async(t.InlineCompletionParams(
        text_document=t.TextDocumentIdentifier(uri=uri), position=t.Position(line=line, character=character),
        context=t.InlineCompletionContext(trigger_kind=t.InlineCompletionTriggerKind.Automatic)))


def test_inline_and_classic_completion_with_cache_reuse():
    http = CompletionServer()

    async def actions(client):
        _open(client, "def f(a, b):\n    return \n")
        first = await _inline(client, 1, 11)
        again = await _inline(client, 1, 11)
        classic = await client.text_document_completion_async(t.CompletionParams(
            text_document=t.TextDocumentIdentifier(uri="file:///tmp/a.py"), position=t.Position(line=1, character=11)))
        # The user types "comp": the cached completion is cut, with no request.
        client.text_document_did_change(t.DidChangeTextDocumentParams(
            text_document=t.VersionedTextDocumentIdentifier(uri="file:///tmp/a.py", version=2),
            content_changes=[t.TextDocumentContentChangeWholeDocument(text="def f(a, b):\n    return comp\n")]))
        typed = await _inline(client, 1, 15)
        return first, again, classic, typed

    try:
        first, again, classic, typed = asyncio.run(_session(["--server", http.url], actions))
    finally:
        http.close()
    assert first.items[0].insert_text == "compute(a, b)" and again.items[0].insert_text == "compute(a, b)"
    assert classic.items[0].text_edit.new_text == "compute(a, b)" and classic.items[0].label == "compute(a, b)"
    assert typed.items[0].insert_text == "ute(a, b)"
    warm_ups = [body for _, body in http.requests if body["max_tokens"] == 0]
    completions = [(path, body) for path, body in http.requests if body["max_tokens"] != 0]
    assert len(completions) == 1  # one request served all four answers
    path, body = completions[0]
    assert path == "/v1/completions" and body["prompt"] == "def f(a, b):\n    return " and body["suffix"] == "\n"
    # Opening the file warmed the server's cache: the prompt evaluated, no token asked for.
    assert len(warm_ups) == 1 and warm_ups[0]["prompt"].startswith("def f(a, b):")


def test_server_down_or_binary_buffer_gives_no_suggestion():
    async def actions(client):
        _open(client, "x = \n")
        down = await _inline(client, 0, 4)
        _open(client, "\x00\x01binary", uri="file:///tmp/b.bin")
        binary = await _inline(client, 0, 1, uri="file:///tmp/b.bin")
        return down, binary

    down, binary = asyncio.run(_session(["--server", "http://127.0.0.1:9"], actions))
    assert list(down.items) == [] and list(binary.items) == []


def test_cancel_request_answers_cancelled_and_does_not_block():
    http = CompletionServer(delay=1.5)

    async def actions(client):
        _open(client, "x = \n")
        task = asyncio.ensure_future(_inline(client, 0, 4))
        await asyncio.sleep(0.2)
        task.cancel()  # pygls sends $/cancelRequest for a cancelled request
        with pytest.raises(asyncio.CancelledError):
            await task
        start = time.perf_counter()
        _open(client, "y = \n", uri="file:///tmp/c.py")
        http.delay = 0
        reply = await _inline(client, 0, 4, uri="file:///tmp/c.py")
        return reply, time.perf_counter() - start

    try:
        reply, seconds = asyncio.run(_session(["--server", http.url], actions))
    finally:
        http.close()
    assert reply.items[0].insert_text == "compute(a, b)"
    # The cancelled request's connection was closed, so the server could stop generating for it.
    assert [b["prompt"] for b in http.abandoned if b["max_tokens"] != 0] == ["x = "]


@pytest.mark.integration
def test_in_process_embedded_model(embedded_gguf):
    async def actions(client):
        _open(client, "def add(a, b):\n    return \n")
        return await _inline(client, 1, 11)

    reply = asyncio.run(_session(["--model", str(embedded_gguf), "--max-tokens", "16"], actions))
    assert reply.items[0].insert_text.strip() == "a + b"


def test_initialize_reply_advertises_inline_and_classic_completion():
    """Clients that follow LSP 3.18 ask for ghost text only when the server advertises it."""

    async def run():
        client = LanguageClient("capability-check", "1")
        await client.start_io(sys.executable, "-m", "fimkit", "lsp", "--server", "http://127.0.0.1:9")
        try:
            caps = t.ClientCapabilities(text_document=t.TextDocumentClientCapabilities(
                inline_completion=t.InlineCompletionClientCapabilities(dynamic_registration=False)))
            reply = await client.initialize_async(t.InitializeParams(capabilities=caps, process_id=None))
            client.initialized(t.InitializedParams())
            return reply.capabilities
        finally:
            await client.shutdown_async(None)
            client.exit(None)
            await client.stop()

    capabilities = asyncio.run(run())
    assert capabilities.inline_completion_provider is not None and capabilities.inline_completion_provider is not False
    assert capabilities.completion_provider is not None
    # Saving is announced (the server warms the cache at the last completed place then).
    sync = capabilities.text_document_sync
    assert sync.save is not None and sync.save is not False


def test_saving_warms_the_last_completed_place():
    http = CompletionServer()

    async def actions(client):
        _open(client, "import os\n\n\ndef f(a, b):\n    return \n")
        await _inline(client, 4, 11)
        client.text_document_did_save(t.DidSaveTextDocumentParams(text_document=t.TextDocumentIdentifier(uri="file:///tmp/a.py")))
        await asyncio.sleep(1.0)

    try:
        asyncio.run(_session(["--server", http.url], actions))
    finally:
        http.close()
    warm_ups = [body for _, body in http.requests if body["max_tokens"] == 0]
    assert len(warm_ups) == 2  # on open (top of the file) and on save (where the user completed)
    # The language server asks a fimkit server for the first line early (the rest is generated ahead).
    assert all(body["early_reply"] is True for _, body in http.requests)
    assert warm_ups[1]["prompt"] == "import os\n\n\ndef f(a, b):\n    return " and warm_ups[1]["suffix"] == "\n"


def test_the_workspace_roots_definitions_reach_the_server_as_input_extra(tmp_path):
    """The client's workspace root is indexed in the background; the definition of the function
    being called, from another file, goes to the server as repository context."""
    import os

    root = tmp_path / "proj"
    root.mkdir()
    (root / "shapes.py").write_text("def make_box(width, height, *, depth=1):\n    return (width, height, depth)\n")
    uri = (root / "main.py").as_uri()
    http = CompletionServer()

    async def actions(client):
        _open(client, "from shapes import make_box\n\nbox = make_box(\n", uri=uri)
        for attempt in range(50):  # until the background index is ready
            await _inline(client, 2, 15, uri=uri)
            if any(b.get("input_extra") for _, b in http.requests):
                return
            client.text_document_did_change(t.DidChangeTextDocumentParams(
                text_document=t.VersionedTextDocumentIdentifier(uri=uri, version=attempt + 2),
                content_changes=[t.TextDocumentContentChangeWholeDocument(
                    text="from shapes import make_box\n\nbox = make_box(" + " " * (attempt + 1) + "\n")]))
            await asyncio.sleep(0.2)

    env = {**os.environ, "FIMKIT_HOME": str(tmp_path / "home")}
    try:
        asyncio.run(_session(["--server", http.url, "--workspace"], actions, root_uri=root.as_uri(), env=env))
    finally:
        http.close()
    sent = [b for _, b in http.requests if b.get("input_extra")]
    assert sent, http.requests
    assert sent[0]["input_extra"][0] == {"filename": "shapes.py",
                                         "text": "def make_box(width, height, *, depth=1): ..."}
    assert sent[0]["filename"] == str(root / "main.py")
