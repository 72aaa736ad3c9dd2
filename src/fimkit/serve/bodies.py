"""Reading a request safely and saying what was wrong with it: bodies past the size limit, bad UTF-8
or JSON, non-finite numbers, unpaired surrogates and deep nesting are refused with a 4xx that names the
field, before any of it reaches a tokenizer, the engine or SQLite; errors go out as JSON.
"""

from __future__ import annotations

import json

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from fimkit.errors import FimkitError


class HTTPError(Exception):
    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def error_response(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "code": status}}, status_code=status, headers=headers)


def fimkit_error_response(exc: FimkitError) -> JSONResponse:
    """A domain error answered with the status of its kind: the client's fault (400), a busy server
    (503), or a model backend that failed (502) or cannot be reached (503)."""
    headers = {"Retry-After": "1"} if exc.http_status == 503 else None
    return error_response(exc.http_status, str(exc), headers)


async def read_json(request: Request, limit: int) -> dict:
    """The body as a JSON object; 413 past ``limit``, 400 for bad UTF-8 or JSON, never a 500."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise HTTPError(413, f"request body of {int(length):,} bytes is over the {limit:,}-byte limit")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPError(413, f"request body is over the {limit:,}-byte limit")
    try:
        text = bytes(body).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HTTPError(400, f"request body is not valid UTF-8 (byte {exc.start})") from None
    try:
        data = json.loads(text, parse_constant=_no_constants) if text.strip() else {}
    except json.JSONDecodeError as exc:
        # exc.msg may already name the place ("... at line 1"): say it once.
        raise HTTPError(400, f"request body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise HTTPError(400, "request body is nested too deeply") from None
    except ValueError as exc:  # NaN/Infinity, or an integer of thousands of digits
        raise HTTPError(400, f"request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise HTTPError(400, f"request body must be a JSON object, not {type(data).__name__}")
    _check_strings(data)
    return data


def _no_constants(name: str):
    raise ValueError(f"{name} is not a JSON number; send a finite number or null")


def _check_strings(data: dict, max_depth: int = 32) -> None:
    """Strings that cannot be encoded (a lone surrogate such as "\\ud800") and structures nested deeper
    than any API needs are refused here, naming the field, before they reach a tokenizer or SQLite."""
    stack = [((), data)]
    while stack:
        path, value = stack.pop()
        if len(path) > max_depth:
            raise HTTPError(400, f"field '{_where(path)}': nested more than {max_depth} levels deep")
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise HTTPError(422, f"field '{_where(path)}': contains an unpaired surrogate "
                                     f"({value[exc.start]!r} at character {exc.start}), which is not text") from None
        elif isinstance(value, dict):
            for key in value:
                try:
                    key.encode("utf-8")
                except UnicodeEncodeError:
                    raise HTTPError(422, f"a field name in '{_where(path)}' contains an unpaired surrogate") from None
            stack.extend(((*path, k), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend(((*path, i), v) for i, v in enumerate(value))


def _where(path: tuple) -> str:
    return ".".join(str(p) for p in path) or "body"


def validate(model: type, data: dict):
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise HTTPError(422, f"field '{where}': {first['msg']}{more}") from None
