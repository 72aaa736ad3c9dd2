"""The language server's wire: frames read defensively, one editor per server, a token off loopback,
and errors that carry no traceback.

pygls reads LSP frames trustingly. ``Content-Length: 1000000000000`` asks it for a terabyte (the
MemoryError ends the process); a frame shorter than its header says leaves the next header glued to
the rest of the body, where pygls never finds it again (the server is deaf for the rest of the
session); an error in a handler goes back to the client with the server's traceback, and a
notification's error pops up in the editor. ``read_frames`` replaces pygls's loop: a length over
``MAX_FRAME_BYTES`` or one that is not a number is skipped with one log line, a header line that is
not LSP's (an HTTP request's ``Host:``, say: a web page can post to a local port) spoils its frame,
and a ``Content-Length:`` found anywhere in a line starts a new frame, so the server finds its
footing again after any garbage.

Over TCP the server is for one editor, as over stdio: the first session is the only one (a second
connection would see the first's documents), and with a token (required off loopback: ``cli_editor``)
a connection is a session only once its ``initialize`` carries ``initializationOptions.token``;
anything else is answered once and hung up, and the server goes on waiting for its editor.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from threading import Event
from urllib.parse import unquote

from lsprotocol import types
from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

log = logging.getLogger("fimkit.lsp")

MAX_FRAME_BYTES = 64 << 20  # a whole document per change (full sync); far larger buffers are refused anyway
MAX_HEADER_BYTES = 8192
AUTH_TIMEOUT_S = 10.0  # a connection that has not sent its initialize by then is hung up
MAX_PENDING = 8  # connections waiting to authenticate at once
INTERNAL_ERROR = -32603
LENGTH = re.compile(rb"Content-Length:[ \t]*(\S*)[ \t]*\r?\n$")


async def read_frames(readline: Callable[[], Awaitable[bytes]],
                      readexactly: Callable[[int], Awaitable[bytes]]) -> AsyncIterator[bytes]:
    """The bodies of the LSP frames ``readline`` / ``readexactly`` deliver (``readline`` returns at most
    ``MAX_HEADER_BYTES + 1`` bytes; both return b"" at the end), until the stream ends. Bad frames are
    skipped, each with one log line, never with an exception."""
    length: int | None = None
    bad: str | None = None
    while True:
        line = await readline()
        if not line:
            return
        if line in (b"\r\n", b"\n"):  # the end of a header block
            if length is not None and bad is None:
                body = await readexactly(length)
                if len(body) < length:
                    return
                yield body
            elif bad is not None:
                log.warning("fimkit lsp: skipped a frame: %s", bad)
            length, bad = None, None
            continue
        found = LENGTH.search(line) if len(line) <= MAX_HEADER_BYTES else None
        if found is not None:  # a new frame starts here, whatever came before it on the line
            value = found.group(1)
            length, bad = None, None
            if not value.isdigit() or len(value) > 12:
                bad = "its Content-Length is not a byte count"
            elif int(value) > MAX_FRAME_BYTES:
                bad = f"its Content-Length {int(value):,} is over the {MAX_FRAME_BYTES:,}-byte limit"
            else:
                length = int(value)
        elif not line.lower().startswith(b"content-type:") or not line.endswith(b"\n"):
            bad = "a header that is not LSP's"


def _frame(message: dict) -> bytes:
    body = json.dumps(message).encode("utf-8")
    return f"Content-Length: {len(body)}\r\n\r\n".encode() + body


class FimkitProtocol(LanguageServerProtocol):
    """pygls's protocol with replies that carry one line and no traceback, and changes to documents the
    client never opened ignored (pygls answered them with a KeyError popped up in the editor)."""

    def _send_response(self, msg_id, result=None, error=None):
        if error is not None:
            message = ("fimkit lsp could not answer this request; the server's log (stderr) has the details"
                       if error.code == INTERNAL_ERROR else str(error.message).strip().split("\n")[0][:200])
            error = types.ResponseError(code=error.code, message=message)
        return super()._send_response(msg_id, result, error)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams):
        if unquote(params.text_document.uri) not in self.workspace.text_documents:
            log.warning("fimkit lsp: a change to a document that was never opened, ignored")
            return
        yield from super().lsp_text_document__did_change(params)

    def handle_body(self, body: bytes) -> None:
        """Parse one frame's body and hand it on; what cannot be parsed is logged, and a request whose
        parameters are wrong is answered with an error, so the client does not wait for ever."""
        try:
            raw = json.loads(body)
        except (ValueError, RecursionError):
            log.warning("fimkit lsp: skipped a frame whose body is not JSON")
            return
        if not isinstance(raw, dict):
            log.warning("fimkit lsp: skipped a frame whose body is not a JSON object")
            return
        try:
            message = self.structure_message(raw)
        except Exception as exc:  # noqa: BLE001 - pygls's own errors (invalid params) and anything else
            log.warning("fimkit lsp: a %s message with invalid parameters", str(raw.get("method"))[:60])
            if "id" in raw and "method" in raw and isinstance(raw["id"], (int, str)):
                code = getattr(exc, "code", types.ErrorCodes.InvalidParams)
                self._send_response(raw["id"], None, types.ResponseError(code=code, message="invalid parameters"))
            return
        try:
            self.handle_message(message)
        except Exception as exc:  # noqa: BLE001 - one bad message never ends the session
            log.warning("fimkit lsp: could not handle a message (%s)", type(exc).__name__)
            log.debug("fimkit lsp: the message's error", exc_info=exc)


class FimkitLanguageServer(LanguageServer):
    """pygls's server started on fimkit's frame reader (stdio or TCP) and reporting errors to its log only."""

    def __init__(self, name: str, version: str):
        super().__init__(name, version, protocol_cls=FimkitProtocol)

    def report_server_error(self, error: Exception, source) -> None:
        # pygls pops these up in the editor; they are the server's business: its log gets one line.
        log.warning("fimkit lsp: %s", str(error).strip().split("\n")[0][:200])

    def start_io(self, stdin=None, stdout=None) -> None:
        self._stop_event = stop = Event()
        stdin = stdin or sys.stdin.buffer
        self.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))

        async def run() -> None:
            loop = asyncio.get_running_loop()

            async def readline() -> bytes:
                return await loop.run_in_executor(self.thread_pool, stdin.readline, MAX_HEADER_BYTES + 1)

            async def readexactly(n: int) -> bytes:
                return await loop.run_in_executor(self.thread_pool, stdin.read, n)

            async for body in read_frames(readline, readexactly):
                if stop.is_set():
                    return
                self.protocol.handle_body(body)

        try:
            asyncio.run(run())
        except BrokenPipeError:
            log.error("fimkit lsp: the connection to the client is lost; shutting down")
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            self.shutdown()

    def start_tcp(self, host: str, port: int, token: str | None = None) -> None:
        self._stop_event = stop = Event()
        state = {"session": False, "pending": 0}

        def authenticated(body: bytes) -> tuple[bool, object]:
            try:
                raw = json.loads(body)
                options = raw["params"].get("initializationOptions") or {}
                given = options.get("token") if isinstance(options, dict) else None
                ok = raw.get("method") == "initialize" and isinstance(given, str) and hmac.compare_digest(
                    given.encode("utf-8", "surrogateescape"), token.encode("utf-8", "surrogateescape"))
                return ok, raw.get("id")
            except (ValueError, RecursionError, KeyError, TypeError, AttributeError):
                return False, None

        async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            if state["session"] or state["pending"] >= MAX_PENDING:
                writer.close()  # one editor per server: a second would see the first's documents
                return

            async def readline() -> bytes:
                try:
                    return await reader.readline()
                except ValueError:  # a line past the reader's limit: a bad header, skipped
                    return b"x" * (MAX_HEADER_BYTES + 1)

            async def readexactly(n: int) -> bytes:
                try:
                    return await reader.readexactly(n)
                except asyncio.IncompleteReadError:
                    return b""

            frames = read_frames(readline, readexactly).__aiter__()
            session = token is None
            try:
                if not session:
                    state["pending"] += 1
                    try:
                        first = await asyncio.wait_for(frames.__anext__(), AUTH_TIMEOUT_S)
                    except (TimeoutError, StopAsyncIteration):
                        return
                    finally:
                        state["pending"] -= 1
                    ok, msg_id = authenticated(first)
                    if not ok or state["session"]:
                        log.warning("fimkit lsp: refused a connection without the token")
                        if isinstance(msg_id, (int, str)):
                            writer.write(_frame({"jsonrpc": "2.0", "id": msg_id, "error": {
                                "code": types.ErrorCodes.InvalidRequest, "message": "this fimkit lsp needs its "
                                "token: send initializationOptions {\"token\": ...} with initialize"}}))
                            await writer.drain()
                        return
                state["session"] = session = True
                self.protocol.set_writer(writer)
                if token is not None:
                    self.protocol.handle_body(first)
                async for body in frames:
                    if stop.is_set():
                        return
                    self.protocol.handle_body(body)
            finally:
                if session:
                    self.shutdown()  # as over stdio, the server's life is its editor's session
                else:
                    writer.close()

        async def serve() -> None:
            self._server = await asyncio.start_server(connection, host, port)
            async with self._server:
                await self._server.serve_forever()

        try:
            asyncio.run(serve())
        except asyncio.CancelledError:
            pass
        except (KeyboardInterrupt, SystemExit):
            pass
