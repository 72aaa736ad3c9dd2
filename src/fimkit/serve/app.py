"""The HTTP server: every completion API editors speak, over one engine and one pipeline.

Endpoints: POST /complete (the seed's), POST /v1/completions (OpenAI; Tabby's shape too),
GET /v1/models, POST /infill (llama.cpp), POST /api/generate, GET /api/tags, POST /api/show
(Ollama), POST /v1/events and GET /v1/stats (telemetry), GET /health, GET /metrics.
Bodies are read by hand so that size limits (413), invalid UTF-8 and invalid JSON (400) and
wrong types (422) always get a clear 4xx, never a 500.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from pydantic import ValidationError

from fimkit import __version__
from fimkit.errors import FimkitError
from fimkit.serve import protocol as P
from fimkit.serve.complete import run_completion
from fimkit.serve.engine import CompletionRequest, CompletionResult, Engine
from fimkit.serve.metrics import Metrics
from fimkit.serve.postprocess import cursor_mid_line
from fimkit.serve.scheduler import QueueFull, Scheduler
from fimkit.serve.telemetry import Telemetry


@dataclass(frozen=True)
class ServerConfig:
    """api_key: required as a bearer token when set. max_queue: waiting requests before 503.
    max_request_bytes: larger bodies get 413. default_max_tokens / max_tokens_cap: when a client
    sends none / the most it may ask for. min_confidence: server-wide confidence gate (None: off).
    cors_origins: browser origins allowed (none by default). telemetry_path: SQLite file or None."""

    api_key: str | None = None
    max_queue: int = 16
    max_request_bytes: int = 2_000_000
    default_max_tokens: int = 128
    max_tokens_cap: int = 512
    min_confidence: float | None = None
    cors_origins: tuple[str, ...] = ()
    telemetry_path: str | None = None


class HTTPError(Exception):
    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def _error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "code": status}}, status_code=status, headers=headers)


async def read_json(request: Request, limit: int) -> dict:
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
        data = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise HTTPError(400, f"request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(data, dict):
        raise HTTPError(400, f"request body must be a JSON object, not {type(data).__name__}")
    return data


def validate(model: type, data: dict):
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise HTTPError(422, f"field '{where}': {first['msg']}{more}") from None


def create_app(engine: Engine | Callable[[], Engine], config: ServerConfig = ServerConfig()) -> FastAPI:
    """The ASGI app. ``engine`` may be a factory: it then loads once, in the app's lifespan."""
    state: dict = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        state["engine"] = engine() if callable(engine) and not isinstance(engine, Engine) else engine
        state["scheduler"] = Scheduler(config.max_queue)
        state["telemetry"] = Telemetry(config.telemetry_path) if config.telemetry_path else None
        state["started"] = time.time()
        yield
        state["scheduler"].close()

    app = FastAPI(title="fimkit", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None)
    metrics = Metrics()
    if config.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(config.cors_origins), allow_methods=["*"],
                           allow_headers=["*"])

    @app.middleware("http")
    async def guard(request: Request, call_next):
        start = time.perf_counter()
        path = request.url.path
        if config.api_key and path != "/health":
            auth = request.headers.get("authorization", "")
            token = auth[7:].strip() if auth.lower().startswith("bearer ") else request.headers.get("x-api-key", "")
            if token != config.api_key:
                response = _error(401, "missing or wrong API key: send 'Authorization: Bearer <key>'",
                                  {"WWW-Authenticate": "Bearer"})
                metrics.observe_request(path, 401, time.perf_counter() - start)
                return response
        try:
            response = await call_next(request)
        except HTTPError as exc:
            response = _error(exc.status, exc.message, exc.headers)
        metrics.observe_request(path if path in KNOWN_PATHS else "other", response.status_code, time.perf_counter() - start)
        return response

    @app.exception_handler(HTTPError)
    async def http_error(request: Request, exc: HTTPError):
        return _error(exc.status, exc.message, exc.headers)

    @app.exception_handler(FimkitError)
    async def fimkit_error(request: Request, exc: FimkitError):
        return _error(400, str(exc))

    def engine_() -> Engine:
        return state["engine"]

    def describe() -> dict:
        return engine_().describe()

    async def complete(request: Request, creq: CompletionRequest) -> CompletionResult:
        eng = engine_()
        try:
            job = state["scheduler"].submit(lambda cancel, push: run_completion(eng, creq, cancel=cancel))
        except QueueFull as exc:
            raise HTTPError(503, f"server busy: {exc}; retry shortly", {"Retry-After": "1"}) from None
        while True:
            done, _ = await asyncio.wait({job.future}, timeout=0.05)
            if done:
                break
            if await request.is_disconnected():
                job.cancel.set()
        result = job.future.result()
        if result is None:
            raise HTTPError(499, "client closed the request")
        metrics.observe_generation(result)
        return result

    def record(completion_id: str, creq: CompletionRequest, result: CompletionResult, endpoint: str) -> None:
        tel = state["telemetry"]
        if tel is not None:
            st = result.stats
            tel.record_completion(completion_id, endpoint=endpoint, model=engine_().name,
                                  mid_line=cursor_mid_line(creq.suffix, creq.prefix), language=creq.language, chars=len(result.text),
                                  latency_ms=st.prompt_ms + st.predicted_ms)

    def stream_response(creq: CompletionRequest, render_delta, render_final,
                        media_type: str, done_line: str | None = None) -> StreamingResponse:
        eng = engine_()
        try:
            job = state["scheduler"].submit(
                lambda cancel, push: run_completion(eng, creq, cancel=cancel, on_delta=push), stream=True)
        except QueueFull as exc:
            raise HTTPError(503, f"server busy: {exc}; retry shortly", {"Retry-After": "1"}) from None

        async def body():
            try:
                while True:
                    delta = await job.deltas.get()
                    if delta is None:
                        break
                    yield render_delta(delta)
                result = await job.future
                if result is not None:
                    metrics.observe_generation(result)
                    yield render_final(result)
                if done_line:
                    yield done_line
            finally:
                job.cancel.set()  # a client that went away mid-stream stops the generation

        return StreamingResponse(body(), media_type=media_type)

    # ---- the seed's API --------------------------------------------------------------------------
    @app.post("/complete")
    async def seed_complete(request: Request):
        body = validate(P.SeedBody, await read_json(request, config.max_request_bytes))
        creq = P.from_seed(body, config.default_max_tokens, config.max_tokens_cap, config.min_confidence)
        result = await complete(request, creq)
        cid = f"cmpl-{uuid.uuid4().hex[:24]}"
        record(cid, creq, result, "/complete")
        return {"completion": result.text, "success": True, "id": cid, "stop_type": result.stop_type,
                "gated": result.gated}

    # ---- OpenAI (and Tabby) ---------------------------------------------------------------------
    @app.post("/v1/completions")
    async def openai_completions(request: Request):
        body = validate(P.OpenAIBody, await read_json(request, config.max_request_bytes))
        if body.echo:
            raise HTTPError(400, "echo is not supported: fimkit returns only the middle")
        if body.stream and body.n > 1:
            raise HTTPError(400, "stream with n > 1 is not supported; send n separate requests")
        cid, created, model = f"cmpl-{uuid.uuid4().hex[:24]}", int(time.time()), engine_().name
        first = P.from_openai(body, config.default_max_tokens, config.max_tokens_cap, config.min_confidence)
        if body.stream:
            def delta(text):
                chunk = {"id": cid, "object": "text_completion", "created": created, "model": model,
                         "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": None}]}
                return f"data: {json.dumps(chunk)}\n\n"

            def final(result):
                record(cid, first, result, "/v1/completions")
                chunk = {"id": cid, "object": "text_completion", "created": created, "model": model,
                         "choices": [{"index": 0, "text": "", "logprobs": None, "finish_reason": _finish(result)}],
                         "usage": _usage(result)}
                return f"data: {json.dumps(chunk)}\n\n"

            return stream_response(first, delta, final, "text/event-stream", "data: [DONE]\n\n")
        choices, usage = [], {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        for i in range(body.n):
            creq = first if i == 0 else P.from_openai(body, config.default_max_tokens, config.max_tokens_cap,
                                                       config.min_confidence, index=i)
            result = await complete(request, creq)
            choices.append({"index": i, "text": result.text, "finish_reason": _finish(result),
                            "logprobs": _openai_logprobs(result) if body.logprobs is not None else None})
            for k, v in _usage(result).items():
                usage[k] += v
            if i == 0:
                record(cid, creq, result, "/v1/completions")
        if body.segments is not None:  # Tabby's response shape
            return {"id": cid, "choices": [{"index": c["index"], "text": c["text"]} for c in choices]}
        return {"id": cid, "object": "text_completion", "created": created, "model": model, "choices": choices,
                "usage": usage}

    @app.get("/v1/models")
    async def openai_models():
        d = describe()
        return {"object": "list", "data": [{"id": d["model"], "object": "model", "created": int(state["started"]),
                                            "owned_by": "fimkit", "fimkit": d}]}

    # ---- llama.cpp ------------------------------------------------------------------------------
    @app.post("/infill")
    async def infill(request: Request):
        body = validate(P.InfillBody, await read_json(request, config.max_request_bytes))
        creq = P.from_infill(body, config.default_max_tokens, config.max_tokens_cap, config.min_confidence)
        model = engine_().name
        if body.stream:
            return stream_response(creq,
                lambda text: f"data: {json.dumps({'content': text, 'stop': False})}\n\n",
                lambda result: f"data: {json.dumps(_infill_reply(result, model, final_content=''))}\n\n",
                "text/event-stream")
        result = await complete(request, creq)
        record(f"infill-{uuid.uuid4().hex[:20]}", creq, result, "/infill")
        return _infill_reply(result, model)

    # ---- Ollama ---------------------------------------------------------------------------------
    @app.post("/api/generate")
    async def ollama_generate(request: Request):
        body = validate(P.OllamaBody, await read_json(request, config.max_request_bytes))
        creq = P.from_ollama(body, config.default_max_tokens, config.max_tokens_cap, config.min_confidence)
        model = body.model or engine_().name
        if body.stream:
            return stream_response(creq,
                lambda text: json.dumps({"model": model, "created_at": _now(), "response": text, "done": False}) + "\n",
                lambda result: json.dumps(_ollama_final(result, model, "")) + "\n",
                "application/x-ndjson")
        result = await complete(request, creq)
        return _ollama_final(result, model, result.text)

    @app.get("/api/tags")
    async def ollama_tags():
        d, eng = describe(), engine_()
        info = getattr(eng, "info", None)
        return {"models": [{
            "name": d["model"], "model": d["model"], "modified_at": _now(), "size": getattr(info, "size_bytes", 0) or 0,
            "digest": "", "details": {"format": "gguf" if d["backend"] == "llama-cpp" else d["backend"],
                                      "family": getattr(info, "architecture", None) or "",
                                      "quantization_level": getattr(info, "quantization", None) or ""},
        }]}

    @app.post("/api/show")
    async def ollama_show(request: Request):
        await read_json(request, config.max_request_bytes)
        d = describe()
        fmt = engine_().fim_format
        if fmt.is_fim:
            f = fmt.family
            template = (f"{{{{- if .Suffix }}}}{f.prefix}{{{{ .Prompt }}}}{f.suffix}{{{{ .Suffix }}}}{f.middle}"
                        "{{- else }}{{ .Prompt }}{{- end }}")
        else:
            template = "{{ .Prompt }}"
        return {"modelfile": f"# served by fimkit ({d['mode']})\nFROM {d['model']}\n", "parameters": "",
                "template": template, "details": {"format": "gguf", "family": d["backend"]},
                "model_info": {"fimkit.mode": d["mode"], "fimkit.fim_format": d["fim_format"]},
                "capabilities": ["completion", "insert"], "fimkit": d}

    # ---- telemetry, health, metrics ---------------------------------------------------------------
    @app.post("/v1/events")
    async def events(request: Request):
        data = await read_json(request, config.max_request_bytes)
        tel = state["telemetry"]
        if tel is None:
            raise HTTPError(404, "telemetry is off on this server (started with --no-telemetry)")
        kind = tel.record_event(data)
        return {"ok": True, "type": kind}

    @app.get("/v1/stats")
    async def stats():
        tel = state["telemetry"]
        if tel is None:
            raise HTTPError(404, "telemetry is off on this server (started with --no-telemetry)")
        return tel.stats()

    @app.get("/health")
    async def health():
        d = describe()
        return {"status": "ok", "model": d["model"], "backend": d["backend"], "mode": d["mode"],
                "queue_depth": state["scheduler"].depth, "version": __version__}

    @app.get("/metrics")
    async def metrics_endpoint():
        return PlainTextResponse(metrics.render(state["scheduler"].depth), media_type="text/plain; version=0.0.4")

    return app


KNOWN_PATHS = {"/complete", "/v1/completions", "/v1/models", "/infill", "/api/generate", "/api/tags", "/api/show",
               "/v1/events", "/v1/stats", "/health", "/metrics"}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _finish(result: CompletionResult) -> str:
    return "length" if result.stop_type == "limit" else "stop"


def _usage(result: CompletionResult) -> dict:
    st = result.stats
    return {"prompt_tokens": st.prompt_tokens, "completion_tokens": st.predicted_tokens,
            "total_tokens": st.prompt_tokens + st.predicted_tokens}


def _openai_logprobs(result: CompletionResult) -> dict:
    return {"tokens": [str(t) for t in result.tokens], "token_logprobs": result.logprobs, "top_logprobs": None,
            "text_offset": None, "mean_logprob": result.mean_logprob}


def _timings(result: CompletionResult) -> dict:
    st = result.stats
    evaluated = st.prompt_tokens - st.cached_tokens
    return {
        "prompt_n": evaluated, "prompt_ms": round(st.prompt_ms, 3),
        "prompt_per_token_ms": round(st.prompt_ms / evaluated, 3) if evaluated else 0.0,
        "prompt_per_second": round(evaluated / (st.prompt_ms / 1000), 3) if st.prompt_ms and evaluated else 0.0,
        "predicted_n": st.predicted_tokens, "predicted_ms": round(st.predicted_ms, 3),
        "predicted_per_token_ms": round(st.predicted_ms / st.predicted_tokens, 3) if st.predicted_tokens else 0.0,
        "predicted_per_second": round(st.predicted_tokens / (st.predicted_ms / 1000), 3) if st.predicted_ms else 0.0,
    }


def _infill_reply(result: CompletionResult, model: str, final_content: str | None = None) -> dict:
    stop_type = result.stop_type if result.stop_type in ("eos", "limit", "word") else "eos"
    return {
        "content": result.text if final_content is None else final_content, "tokens": result.tokens, "stop": True,
        "stop_type": stop_type, "stopping_word": result.stopping_word, "model": model,
        "tokens_cached": result.stats.cached_tokens, "tokens_evaluated": result.stats.prompt_tokens,
        "tokens_predicted": result.stats.predicted_tokens, "truncated": result.truncated, "timings": _timings(result),
        "fimkit": {"stop_reason": result.stop_type, "gated": result.gated, "mean_logprob": result.mean_logprob},
    }


def _ollama_final(result: CompletionResult, model: str, response: str) -> dict:
    st = result.stats
    ns = 1_000_000
    return {
        "model": model, "created_at": _now(), "response": response, "done": True,
        "done_reason": "length" if result.stop_type == "limit" else "stop", "context": [],
        "total_duration": int((st.prompt_ms + st.predicted_ms) * ns), "load_duration": 0,
        "prompt_eval_count": st.prompt_tokens, "prompt_eval_duration": int(st.prompt_ms * ns),
        "eval_count": st.predicted_tokens, "eval_duration": int(st.predicted_ms * ns),
    }
