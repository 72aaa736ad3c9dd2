"""What every API dialect shares past reading its body (``bodies``): ``Service``, which runs a
completion through the queue, streams it, counts it in the metrics and records it in telemetry.

A dialect module only converts its request body into a ``CompletionRequest`` and renders the
result in its own shape; everything else happens here, the same way for every endpoint.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable
from copy import copy
from dataclasses import replace

from fastapi import Request
from fastapi.responses import StreamingResponse

from fimkit.errors import FimkitError
from fimkit.infer import CompletionRequest, CompletionResult, Engine, run_completion
from fimkit.infer.config import NO_CUT
from fimkit.infer.context.repository import RepoContext
from fimkit.infer.engines.contract import GenerationStats
from fimkit.infer.postprocess import cursor_mid_line
from fimkit.infer.shaping import ENDED
from fimkit.serve.bodies import HTTPError
from fimkit.serve.config import ServerConfig
from fimkit.serve.continuation import Continuation, Continuations, first_lines
from fimkit.serve.metrics import Metrics
from fimkit.serve.routing import Route, Router, header_name
from fimkit.serve.scheduler import QueueFull, Scheduler
from fimkit.serve.telemetry import Telemetry

log = logging.getLogger("fimkit.serve")


def finish_reason(result: CompletionResult) -> str:
    """OpenAI's and Ollama's finish reason: "length" when a limit cut the middle, else "stop"."""
    return "length" if result.stop_type == "limit" else "stop"


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Service:
    """The server's shared state (engine, queue, metrics, telemetry) and the two ways to run a
    completion: whole (``complete``) or streamed (``stream``)."""

    def __init__(self, engine: Engine, config: ServerConfig, metrics: Metrics, telemetry: Telemetry | None):
        if config.min_shown_logprob is None:  # the model profile's cut, decided once the model is known
            config = replace(config, min_shown_logprob=engine.profile.min_shown_logprob)
        elif config.min_shown_logprob <= NO_CUT:
            config = replace(config, min_shown_logprob=None)
        self.engine, self.config, self.metrics, self.telemetry = engine, config, metrics, telemetry
        self.model_choice = model_choice(engine)
        self.scheduler = Scheduler(config.max_queue, workers=max(1, engine.parallel))
        self.started = time.time()
        self.continuations = Continuations()
        self.router = Router(config.routes, engine.adapters, config.rollback)
        self.context: RepoContext | None = None  # without a workspace, only the client's chunks
        if config.workspace:
            self.context = RepoContext()
            self.context.open_later(config.workspace)

    @staticmethod
    def new_id(kind: str = "cmpl") -> str:
        return f"{kind}-{uuid.uuid4().hex[:24]}"

    def _submit(self, creq: CompletionRequest, stream: bool, entry: Continuation | None = None, key: str | None = None):
        engine = self.engine
        deadline = self.config.request_timeout_s
        try:
            if stream:
                def noted(prepared):  # an early answer shows the context its prompt had...
                    if entry is not None:
                        entry.context = prepared.context

                def started(stats):  # ...and what it cost so far
                    if entry is not None:
                        entry.stats = stats

                return self.scheduler.submit(
                    lambda cancel, push: run_completion(engine, creq, cancel=cancel, on_delta=push,
                                                        context=self.context, on_prepared=noted,
                                                        on_start=started),
                    stream=True, deadline_s=deadline, preempt=creq.sampling.max_tokens > 0, key=key)
            return self.scheduler.submit(lambda cancel, push: run_completion(engine, creq, cancel=cancel,
                                                                             context=self.context),
                                         deadline_s=deadline, preempt=creq.sampling.max_tokens > 0, key=key)
        except QueueFull as exc:
            raise HTTPError(503, f"server busy: {exc}; retry shortly", {"Retry-After": "1"}) from None

    def routed(self, request: Request, creq: CompletionRequest) -> tuple[CompletionRequest, Route, str]:
        """``creq`` with the adapter its repository or experiment arm gets (``fimkit.serve.routing``), and
        who is typing: a new request of theirs stops their generating ahead, and a batching engine keeps
        their prompts on one slot (``SamplingParams.affinity``)."""
        repository = header_name(request.headers.get("x-fimkit-repository"), "X-Fimkit-Repository")
        user = header_name(request.headers.get("x-fimkit-user"), "X-Fimkit-User")
        typist = user
        if user is None:  # one address stands for one user; with its file, for one typist (behind a proxy)
            user = request.client.host if request.client is not None else None
            typist = f"{user}\0{creq.filename or ''}"
        route = self.router.route(repository, user)
        if self.engine.parallel > 1 or route.adapter != creq.sampling.adapter:
            creq = replace(creq, sampling=replace(creq.sampling, adapter=route.adapter,
                                                  affinity=typist if self.engine.parallel > 1 else None))
        return creq, route, typist

    async def _continued(self, creq: CompletionRequest, endpoint: str, completion_id: str | None,
                         route: Route) -> tuple[str, CompletionResult] | None:
        """The answer to a request that continues an early-answered generation, from its lines."""
        hit = self.continuations.find(creq)
        if hit is None:
            return None
        entry, offset = hit
        text = await entry.next_lines(offset, self.config.request_timeout_s)
        if text is None or (not text and entry.stop_type not in ENDED):
            return None  # not in time, or the generation was stopped short (a cut, a limit): a new one
        self.metrics.observe_continued()
        # Nothing was evaluated for this request; its text was generated ahead, in these tokens.
        result = CompletionResult(text=text, raw=text, stop_type="line" if text else entry.stop_type,
                                  context=entry.context,
                                  stats=GenerationStats(predicted_tokens=self.engine.count_tokens(text)))
        completion_id = completion_id or self.new_id()
        await self._done(completion_id, endpoint, creq, result, route, count_tokens=False)
        return completion_id, result

    async def _follow(self, job, entry: Continuation) -> None:
        """After an early answer: keep the generation's further lines, then count what it generated."""
        while not job.future.done():
            await asyncio.wait({job.future}, timeout=0.02)
            _drain(job, entry)
        _drain(job, entry)
        try:
            result = job.future.result()
        except Exception:  # noqa: BLE001 - its client was answered; the lines so far stay usable
            result = None
        entry.finish(result.stop_type if result is not None else None)
        if result is not None:
            self.metrics.observe_generation(result)

    async def _done(self, completion_id: str, endpoint: str, creq: CompletionRequest, result: CompletionResult,
                    route: Route, *, count_tokens: bool = True) -> None:
        if count_tokens:
            self.metrics.observe_generation(result)
        # Telemetry is for completions a user could see: not warm-ups, not cancelled ones. A failing
        # database is counted by Telemetry itself and never fails the completion.
        if self.telemetry is not None and creq.sampling.max_tokens > 0 and not result.cancelled:
            st = result.stats
            self.telemetry.record_completion(  # queued for the background writer: never waits on SQLite
                completion_id, endpoint=endpoint, model=self.engine.name,
                mid_line=cursor_mid_line(creq.suffix, creq.prefix), language=creq.language, chars=len(result.text),
                latency_ms=st.prompt_ms + st.predicted_ms, arm=route.arm, experiment=route.experiment,
                context=(creq.prefix, creq.suffix, result.text, creq.filename) if self.config.telemetry_context else None)

    def _early(self, creq: CompletionRequest, asked: bool) -> bool:
        """Whether ``creq`` is answered at its first lines (``fimkit.serve.continuation``): its client
        asked for it, and its middle may span lines, one candidate."""
        single = creq.single_line if creq.single_line is not None else cursor_mid_line(creq.suffix, creq.prefix)
        return (asked and self.config.early_reply and creq.sampling.max_tokens > 0 and not single
                and not creq.t_max_predict_ms and (creq.candidates or self.engine.candidates) <= 1)

    async def complete(self, request: Request, creq: CompletionRequest, endpoint: str,
                       completion_id: str | None = None, *, early: bool = False) -> tuple[str, CompletionResult]:
        """Run ``creq``; a client that disconnects meanwhile cancels it (499). The whole middle, unless
        the client asked for an ``early`` reply: a middle that may span lines is then answered at its
        first lines while the generation goes on (``continuation``), and a request that continues such a
        generation is answered from it."""
        creq, route, typist = self.routed(request, creq)
        early = self._early(creq, early)
        if early:
            continued = await self._continued(creq, endpoint, completion_id, route)
            if continued is not None:
                return continued
        entry = self.continuations.start(creq) if early else None
        try:
            job = self._submit(creq, stream=early, entry=entry, key=typist)
        except HTTPError:
            if entry is not None:
                entry.finish(None)  # nothing will come: no request may wait for it
            raise
        while True:
            try:
                done, _ = await asyncio.wait({job.future}, timeout=0.02 if early else 0.05)
            except asyncio.CancelledError:  # the server is shutting down: the generation stops with it
                job.cancel.set()
                raise
            if entry is not None:
                _drain(job, entry)
                shown = first_lines(entry.text)
                if shown is not None and not done:
                    job.background = True  # this client has its answer; the rest is generated ahead
                    asyncio.get_running_loop().create_task(self._follow(job, entry))
                    result = CompletionResult(text=shown, raw=entry.text, stop_type="line", context=entry.context,
                                              stats=copy(entry.stats))  # what it cost up to now
                    completion_id = completion_id or self.new_id()
                    await self._done(completion_id, endpoint, creq, result, route, count_tokens=False)
                    return completion_id, result
            if done:
                break
            if await request.is_disconnected():
                job.cancel.set()
        result = None
        try:
            result = job.future.result()
        except Exception:
            if not job.expired:
                raise  # past the deadline, a stalled engine's failure is the deadline's doing: 504 below
        finally:
            if entry is not None:
                _drain(job, entry)
                entry.finish(result.stop_type if result is not None else None)
        if job.expired:
            self.metrics.observe_cancelled()
            raise HTTPError(504, f"the request took longer than {self.config.request_timeout_s:g} s "
                                 "(--request-timeout) and was stopped")
        if result is None or result.cancelled:
            # The client left: whatever ran stopped within a token, and nothing is sent or recorded.
            self.metrics.observe_cancelled(result)
            raise HTTPError(499, "client closed the request")
        completion_id = completion_id or self.new_id()
        await self._done(completion_id, endpoint, creq, result, route)
        return completion_id, result

    def stream(self, request: Request, creq: CompletionRequest, endpoint: str, render_delta: Callable[[str], str],
               render_final: Callable[[CompletionResult, str], str], media_type: str, *,
               done_line: str | None = None, completion_id: str | None = None) -> StreamingResponse:
        """Stream ``creq``'s text as it becomes final; ``render_final`` gets the result and its id."""
        creq, route, typist = self.routed(request, creq)
        job = self._submit(creq, stream=True, key=typist)
        completion_id = completion_id or self.new_id()

        async def body():
            delivered = False
            try:
                while True:
                    delta = await job.deltas.get()
                    if delta is None:
                        break
                    yield render_delta(delta)
                try:
                    result = await job.future
                except Exception as exc:  # noqa: BLE001 - the headers are sent: the error goes in-band
                    delivered = True
                    yield stream_error(exc, media_type)
                    if done_line:
                        yield done_line
                    return
                delivered = True
                if result is not None and not result.cancelled:
                    await self._done(completion_id, endpoint, creq, result, route)
                else:  # stopped by the request deadline (a client that left never gets here)
                    self.metrics.observe_cancelled(result)
                if result is not None:
                    yield render_final(result, completion_id)
                if done_line:
                    yield done_line
            finally:
                if not delivered:
                    # The client went away mid-stream: stop the generation, and count it (with the
                    # tokens it had made) as cancelled once the worker lets go of it.
                    job.cancel.set()
                    job.future.add_done_callback(
                        lambda f: self.metrics.observe_cancelled(None if f.cancelled() or f.exception() else f.result()))

        return _Stream(body(), media_type=media_type)


class _Stream(StreamingResponse):
    """A streamed reply whose body is closed as soon as the response ends, however it ends: a client
    that hangs up makes the server's write fail, and the body's own clean-up (which cancels the
    generation) must run then, not whenever the abandoned generator is garbage-collected."""

    async def __call__(self, scope, receive, send):
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.body_iterator.aclose()


def _drain(job, entry: Continuation) -> None:
    """Move the lines a job released so far into its continuation."""
    while True:
        try:
            delta = job.deltas.get_nowait()
        except asyncio.QueueEmpty:
            return
        if delta is not None:
            entry.add(delta)


def stream_error(exc: Exception, media_type: str) -> str:
    """An error after a stream's 200 went out, in the stream's own framing, so a client reads why it
    ended (OpenAI and llama.cpp: an SSE event with an ``error`` object; Ollama: an ``error`` line that
    is also ``done``) instead of a connection that just stops."""
    if isinstance(exc, FimkitError):
        status, message = exc.http_status, str(exc)
    else:
        log.error("completion failed mid-stream", exc_info=exc)
        status, message = 500, f"the completion failed ({type(exc).__name__}); the server's log has the details"
    if media_type == "text/event-stream":
        return "data: " + json.dumps({"error": {"message": message, "code": status}}) + "\n\n"
    return json.dumps({"error": message, "code": status, "done": True}) + "\n"


def model_choice(engine: Engine) -> str | None:
    """Why this model: what ``--model auto`` measured on this machine (None when a model was named)."""
    resolved = getattr(engine, "model", None)
    if getattr(resolved, "ref", None) != "auto":
        return None
    from fimkit.models.auto import cached_choice

    choice = cached_choice()
    return f"auto: {choice.model}, {choice.reason}" if choice is not None else "auto"


def service(request: Request) -> Service:
    return request.app.state.service
