"""The HTTP server: app setup (lifespan, auth, limits, queue, metrics) around the API dialects.

Endpoints: POST /complete (the seed's, ``api_seed``), POST /v1/completions and GET /v1/models
(OpenAI, ``api_openai``; Tabby's shape, ``api_tabby``), POST /infill (llama.cpp, ``api_llama``),
POST /api/generate, GET /api/tags, POST /api/show (Ollama, ``api_ollama``), POST /v1/events and
GET /v1/stats (telemetry), GET /health, GET /metrics. Every dialect runs through ``Service``
(``http.py``), so queueing, cancellation, metrics, telemetry and errors are the same for all.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from fimkit import __version__
from fimkit.errors import FimkitError
from fimkit.infer import Engine
from fimkit.serve import api_llama, api_ollama, api_openai, api_seed
from fimkit.serve.bodies import HTTPError, error_response, fimkit_error_response, read_json
from fimkit.serve.guard import Guard, authorized
from fimkit.serve.http import ServerConfig, Service, service
from fimkit.serve.metrics import Metrics
from fimkit.serve.telemetry import Telemetry

__all__ = ["ServerConfig", "create_app"]

log = logging.getLogger("fimkit.serve")
HEALTH = {"ok": "ok", "loading": "loading", "restarting": "engine restarting"}  # an engine process's state


def create_app(engine: Engine | Callable[[], Engine], config: ServerConfig = ServerConfig()) -> FastAPI:
    """The ASGI app. ``engine`` may be a factory: it then loads once, in the app's lifespan."""
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        loaded = engine() if callable(engine) and not isinstance(engine, Engine) else engine
        telemetry = Telemetry.open_or_off(config.telemetry_path) if config.telemetry_path else None
        app.state.service = Service(loaded, config, metrics, telemetry)
        yield
        app.state.service.scheduler.close()
        if telemetry is not None:
            telemetry.close()

    app = FastAPI(title="fimkit", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.add_middleware(Guard, bind_host=config.host, api_key=config.api_key, cors_origins=config.cors_origins,
                       allowed_hosts=config.allowed_hosts, metrics=metrics)

    @app.exception_handler(StarletteHTTPException)
    async def routing_error(request: Request, exc: StarletteHTTPException):
        # 404 and 405 in the same {"error": ...} shape as every other error.
        message = {404: f"no endpoint {request.url.path}; see GET /health for a live server",
                   405: f"{request.method} is not allowed on {request.url.path}"}.get(exc.status_code, str(exc.detail))
        return error_response(exc.status_code, message, getattr(exc, "headers", None))

    @app.exception_handler(HTTPError)
    async def http_error(request: Request, exc: HTTPError):
        return error_response(exc.status, exc.message, exc.headers)

    @app.exception_handler(FimkitError)
    async def fimkit_error(request: Request, exc: FimkitError):
        return fimkit_error_response(exc)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        # A bug, not the client's doing: the traceback goes to the log, the client gets one JSON line.
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return error_response(500, f"the server failed on this request ({type(exc).__name__}); its log has the "
                                   "details")

    for module in (api_seed, api_openai, api_llama, api_ollama):
        app.include_router(module.router)

    def telemetry_of(request: Request) -> Telemetry:
        tel = service(request).telemetry
        if tel is None:
            raise HTTPError(404, "telemetry is off on this server (--no-telemetry, or its database could not be "
                                 "opened: the server's log says why)")
        return tel

    @app.post("/v1/events")
    async def events(request: Request):
        data = await read_json(request, config.max_request_bytes)
        # Validated here, stored by the telemetry writer: nothing on this path waits on SQLite.
        return {"ok": True, "type": telemetry_of(request).record_event(data)}

    @app.get("/v1/stats")
    async def stats(request: Request):
        router = service(request).router
        await asyncio.to_thread(router.refresh)  # the experiments as the routes file says now
        orders = {e.name: tuple(a for a, _ in e.arms) for e in router.table.experiments}
        return await asyncio.to_thread(telemetry_of(request).stats, orders)

    @app.get("/health")
    async def health(request: Request):
        """Whether completions can be served now (``loading`` while a restarted engine loads its model,
        when requests get 503), for anyone; what the server runs and how it routes (the routes file's
        path, adapter and experiment names) only with the key, when the server has one."""
        svc = service(request)
        engine = svc.engine
        process = getattr(engine, "process", None)
        status = HEALTH[process.state] if process is not None else "ok"
        if not authorized(request.headers, config.api_key):
            return {"status": status}
        await asyncio.to_thread(svc.router.refresh)  # a routes edit shows at once, read off the event loop
        info = engine.info()
        return {"status": status, "model": info.model, "backend": info.backend, "mode": info.mode,
                "queue_depth": svc.scheduler.depth, "running": len(svc.scheduler.running), "parallel": engine.parallel,
                "adapters": list(engine.adapters), "routes": svc.router.describe(),
                "engine_restarts": process.restarts if process is not None else None, "version": __version__,
                "model_choice": svc.model_choice, "profile": engine.profile.name}

    @app.get("/metrics")
    async def metrics_endpoint(request: Request):
        svc = service(request)
        tel = svc.telemetry
        return PlainTextResponse(metrics.render(svc.scheduler.depth, tel.errors if tel else 0, tel.dropped if tel else 0),
                                 media_type="text/plain; version=0.0.4")

    return app
