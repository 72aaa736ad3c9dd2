"""The server's front door, as a plain ASGI middleware: local-server hygiene, auth and metrics.

In order, for every HTTP request:
1. ``Host`` must name this machine when the server listens on loopback (DNS rebinding: a page on
   ``evil.example`` resolving to 127.0.0.1 sends its own host name), as Ollama does;
2. a browser ``Origin`` must be one of ``--cors-origin`` (any web page can otherwise post to a local
   server); an allowed origin's preflight is answered here, before auth, with the CORS headers;
3. the API key, on everything but ``/health`` and preflights (``/health`` without it says only whether
   the server is up: what it runs and how it routes is configuration, shown with the key);
4. a body must be ``application/json``: browsers send text/plain, form and multipart bodies
   cross-origin without a preflight, so refusing them closes that door even without an Origin.
Every answer, refused or not, is counted in the metrics under a bounded label (the known paths and
"other"), so unknown paths cannot grow ``/metrics``. Being a plain ASGI layer (not Starlette's
BaseHTTPMiddleware) it passes the client's disconnect through, which cancels abandoned requests.
"""

from __future__ import annotations

import hmac
import ipaddress
import time

from starlette.responses import Response

from fimkit.serve.bodies import error_response
from fimkit.serve.metrics import Metrics

KNOWN_PATHS = {"/complete", "/v1/completions", "/v1/models", "/infill", "/api/generate", "/api/tags", "/api/show",
               "/v1/events", "/v1/stats", "/health", "/metrics"}
LOCAL_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}
JSON_TYPES = ("application/json",)


def is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def authorized(headers, api_key: str | None) -> bool:
    """Whether ``headers`` (any mapping with lower-case ``get``) carry ``api_key``, or the server has
    none. Compared in constant time: a key is not guessed a character at a time."""
    if not api_key:
        return True
    auth = headers.get("authorization", "")
    token = auth[7:].strip() if auth.lower().startswith("bearer ") else headers.get("x-api-key", "")
    return hmac.compare_digest(token.encode("utf-8", "surrogateescape"), api_key.encode("utf-8", "surrogateescape"))


def host_name(header: str) -> str:
    """The name in a Host header, without its port ("[::1]:5000" -> "::1")."""
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class Guard:
    def __init__(self, app, *, bind_host: str, api_key: str | None, cors_origins: tuple[str, ...],
                 allowed_hosts: tuple[str, ...], metrics: Metrics):
        self.app, self.api_key, self.metrics = app, api_key, metrics
        self.origins = set(cors_origins)
        self.check_host = is_loopback(bind_host)
        self.hosts = {h.lower() for h in allowed_hosts}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        path = scope.get("path", "")
        label = path if path in KNOWN_PATHS else "other"
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        status = [500]
        finished, left = [False], [False]

        async def counted_send(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                if origin and origin in self.origins:
                    message = dict(message, headers=list(message.get("headers", [])) + self._cors(origin))
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                finished[0] = True
            try:
                await send(message)
            except OSError:  # the client is gone (ASGI 2.4 servers say so when a stream writes to it)
                left[0] = True
                raise

        async def watched_receive():
            message = await receive()
            if message["type"] == "http.disconnect":
                left[0] = True
            return message

        origin = headers.get("origin")
        refusal = self._refuse(scope, headers, origin)
        try:
            if refusal is not None:
                code, message, extra = refusal
                # The same {"error": ...} body every other error has; a preflight's answer is empty.
                reply = Response(status_code=code) if message is None else error_response(code, message, extra)
                await reply(scope, receive, counted_send)
            else:
                await self.app(scope, watched_receive, counted_send)
        finally:
            # A stream the client abandoned went out as a 200 it never received whole: count it as
            # what it was, a closed request (499, as for a non-streamed one).
            code = 499 if left[0] and not finished[0] else status[0]
            self.metrics.observe_request(label, code, time.perf_counter() - start)

    def _refuse(self, scope, headers: dict, origin: str | None):
        """(status, message or None for an empty answer, extra headers or None) when the request must
        not reach the app, else None."""
        method, path = scope.get("method", "GET"), scope.get("path", "")
        host = host_name(headers.get("host", "")).lower()
        if self.check_host and host and not (is_loopback(host) or host in LOCAL_NAMES or host in self.hosts):
            return 403, (f"Host '{host}' is not this server's: a loopback server answers only to localhost names "
                         "(start it with --allowed-host NAME to accept another)"), None
        if origin is not None and origin not in self.origins:
            return 403, (f"browser origin '{origin}' is not allowed; start the server with --cors-origin "
                         f"{origin} to allow it"), None
        if method == "OPTIONS" and origin is not None:
            return 204, None, None  # an allowed origin's preflight: CORS headers are added on the way out
        if path != "/health" and not authorized(headers, self.api_key):
            return 401, "missing or wrong API key: send 'Authorization: Bearer <key>'", {"WWW-Authenticate": "Bearer"}
        if method in ("POST", "PUT", "PATCH"):
            ctype = headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if ctype not in JSON_TYPES and not ctype.endswith("+json"):
                return 415, (f"request body must be JSON: send 'Content-Type: application/json' "
                             f"(got {ctype or 'none'!r})"), None
        return None

    @staticmethod
    def _cors(origin: str) -> list[tuple[bytes, bytes]]:
        return [(b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin"),
                (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
                (b"access-control-allow-headers", b"Authorization, Content-Type, X-Api-Key"),
                (b"access-control-max-age", b"600")]
