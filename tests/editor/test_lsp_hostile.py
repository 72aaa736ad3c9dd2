"""`fimkit lsp` against a hostile client and a careless operator: raw frames on its stdin, documents it
was never given, a TCP port other processes can reach. It serves the editor that opened a document and
no one else, and no frame, however wrong, ends or deafens it."""

import json
import queue
import socket
import subprocess
import sys
import threading
import time

import pytest
from editor.test_lsp import CompletionServer

from fimkit.cli import main

pytestmark = pytest.mark.slow

CANARY = "CANARY_3e7a_never_sent"
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}, "processId": None}}


def frame(message: dict) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def read_messages(stream, out: queue.Queue) -> None:
    """Frames from the server, as it writes them (fimkit's own replies are well formed)."""
    while True:
        length = None
        while True:
            line = stream.readline() if hasattr(stream, "readline") else b""
            if not line:
                out.put(None)
                return
            if line == b"\r\n":
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        out.put(json.loads(stream.read(length)))


class Session:
    """`fimkit lsp` over stdio, spoken to in raw bytes."""

    def __init__(self, *args):
        self.proc = subprocess.Popen([sys.executable, "-m", "fimkit", "lsp", *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.messages: queue.Queue = queue.Queue()
        self.seen: list[dict] = []  # every message, notifications included
        threading.Thread(target=read_messages, args=(self.proc.stdout, self.messages), daemon=True).start()

    def send(self, data: bytes) -> None:
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def reply(self, msg_id, timeout: float = 20.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                message = self.messages.get(timeout=0.2)
            except queue.Empty:
                continue
            if message is None:
                raise AssertionError(f"the server ended: {self.proc.stderr.read().decode()[-2000:]}")
            self.seen.append(message)
            if message.get("id") == msg_id and "method" not in message:
                return message
        raise AssertionError(f"no reply to {msg_id} within {timeout} s")

    def request(self, msg_id, method: str, params: dict) -> dict:
        self.send(frame({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}))
        return self.reply(msg_id)

    def notify(self, method: str, params: dict) -> None:
        self.send(frame({"jsonrpc": "2.0", "method": method, "params": params}))

    def close(self) -> str:
        try:
            self.request(9999, "shutdown", None)
            self.notify("exit", None)
            self.proc.wait(timeout=10)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        return self.proc.stderr.read().decode()


def _completion(uri: str, line: int = 0, character: int = 4) -> dict:
    return {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}


@pytest.fixture
def http():
    server = CompletionServer()
    yield server
    server.close()


def test_only_documents_the_client_opened_are_completed_and_nothing_is_read_from_disk(http, tmp_path):
    secret = tmp_path / "secret.py"
    secret.write_text(f"x = '{CANARY}'\n")
    s = Session("--server", http.url, "--no-warm-up")
    try:
        assert s.request(1, "initialize", INIT["params"])["result"]["capabilities"]
        s.notify("initialized", {})
        never_opened = s.request(2, "textDocument/completion", _completion(secret.as_uri()))
        missing = s.request(3, "textDocument/inlineCompletion", {
            **_completion((tmp_path / "missing.py").as_uri()), "context": {"triggerKind": 2}})
        s.notify("textDocument/didOpen", {"textDocument": {"uri": "file:///w/a.py", "languageId": "python",
                                                           "version": 1, "text": "y = \n"}})
        opened = s.request(4, "textDocument/completion", _completion("file:///w/a.py"))
    finally:
        s.close()
    assert never_opened["result"]["items"] == [] and "error" not in never_opened
    assert missing["result"]["items"] == [] and "error" not in missing  # no traceback saying it is missing
    assert opened["result"]["items"][0]["textEdit"]["newText"] == "compute(a, b)"
    sent = json.dumps([body for _, body in http.requests])
    assert CANARY not in sent and len(http.requests) == 1  # only the opened document went to --server


def test_changes_and_saves_for_unopened_documents_pop_up_nothing(http):
    s = Session("--server", http.url)
    try:
        s.request(1, "initialize", INIT["params"])
        s.notify("textDocument/didChange", {"textDocument": {"uri": "file:///nowhere/a.py", "version": 2},
                                            "contentChanges": [{"text": "x"}]})
        s.notify("textDocument/didSave", {"textDocument": {"uri": "file:///nowhere/b.py"}})
        s.notify("textDocument/didOpen", {"textDocument": {"uri": "file:///w/a.py", "languageId": "python",
                                                           "version": 1, "text": "y = \n"}})
        still = s.request(2, "textDocument/completion", _completion("file:///w/a.py"))
    finally:
        s.close()
    assert still["result"]["items"][0]["textEdit"]["newText"] == "compute(a, b)"
    shown = [m for m in s.seen if m.get("method") == "window/showMessage"]
    assert shown == []


@pytest.mark.parametrize("garbage", [
    b"Content-Length: 1000000000000\r\n\r\n",  # a terabyte: MemoryError ended the process
    b"Content-Length: 1e30\r\n\r\n{}",  # not a byte count
    b"Content-Length: 99999999999999999999999\r\n\r\n",
    b"Content-Length: 12\r\n\r\n" + json.dumps({"jsonrpc": "2.0", "id": 7, "method": "shutdown"}).encode(),  # short
    b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\n0123456789",
    b"Content-Length: 5\r\n\r\n[[[[[",
    b"Content-Length: 2\r\n\r\n[]",
    b"\xff\xfe garbage with no newline at all " * 1000,
    b"\r\n\r\n\r\n",
])
def test_a_bad_frame_is_skipped_and_the_session_goes_on(garbage, http):
    s = Session("--server", http.url, "--no-warm-up")
    try:
        s.send(garbage)
        s.send(b"\r\n" + frame(INIT))  # whatever came before, the next frame is found and answered
        reply = s.reply(1)
        s.notify("textDocument/didOpen", {"textDocument": {"uri": "file:///w/a.py", "languageId": "python",
                                                           "version": 1, "text": "y = \n"}})
        after = s.request(2, "textDocument/completion", _completion("file:///w/a.py"))
        assert s.proc.poll() is None
    finally:
        stderr = s.close()
    assert reply["result"]["capabilities"] and after["result"]["items"]
    assert "Traceback" not in stderr and "MemoryError" not in stderr


def test_a_request_with_wrong_parameters_is_answered_in_one_line(http):
    s = Session("--server", http.url)
    try:
        s.request(1, "initialize", INIT["params"])
        bad = s.request(2, "textDocument/completion", {"textDocument": {"uri": 5}, "position": "top"})
    finally:
        s.close()
    assert "error" in bad and "\n" not in bad["error"]["message"] and "data" not in bad["error"]


def test_an_internal_error_reply_carries_no_traceback():
    import sys as _sys

    from pygls.exceptions import JsonRpcInternalError

    from fimkit.editor.lsp_io import FimkitLanguageServer

    server = FimkitLanguageServer("t", "1")
    sent = []
    server.protocol._send_data = sent.append
    try:
        raise FileNotFoundError(2, "No such file or directory", "/etc/not-here")
    except FileNotFoundError:
        error = JsonRpcInternalError.of(_sys.exc_info()).to_response_error()
    assert error.data and "traceback" in error.data  # what pygls would have sent
    server.protocol._send_response(3, None, error)
    reply = server.protocol._converter.unstructure(sent[0])
    assert "/etc/not-here" not in json.dumps(reply) and "traceback" not in json.dumps(reply).lower()
    assert reply["error"]["code"] == -32603


def _tcp_lsp(port, *flags):
    return subprocess.Popen([sys.executable, "-m", "fimkit", "lsp", "--tcp", "--port", str(port), *flags],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _connect(port, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=10)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _exchange(sock, message: dict) -> dict | None:
    sock.sendall(frame(message))
    out: queue.Queue = queue.Queue()
    threading.Thread(target=read_messages, args=(sock.makefile("rb"), out), daemon=True).start()
    try:
        return out.get(timeout=15)
    except queue.Empty:
        return None


def _hung_up(sock) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_tcp_with_a_token_serves_only_the_editor_that_has_it(http):
    port = _free_port()
    proc = _tcp_lsp(port, "--server", http.url, "--token", "s3cret")
    try:
        intruder = _connect(port)
        refused = _exchange(intruder, {**INIT, "params": {**INIT["params"], "initializationOptions": {"token": "no"}}})
        assert refused["error"]["message"].startswith("this fimkit lsp needs its token")
        assert _hung_up(intruder)
        editor = _connect(port)
        welcome = _exchange(editor, {**INIT, "params": {**INIT["params"], "initializationOptions": {"token": "s3cret"}}})
        assert welcome["result"]["capabilities"]
        second = _connect(port)  # a session is running: nobody else gets in, with or without the token
        second.settimeout(10)
        second.sendall(frame({**INIT, "params": {**INIT["params"], "initializationOptions": {"token": "s3cret"}}}))
        assert _hung_up(second)
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait()


def test_tcp_off_loopback_needs_a_token(capsys, monkeypatch):
    monkeypatch.delenv("FIMKIT_LSP_TOKEN", raising=False)
    assert main(["lsp", "--tcp", "--host", "0.0.0.0", "--server", "http://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert "--token" in err and len(err.strip().splitlines()) == 1
