"""OpenAI's legacy completions API: ``POST /v1/completions`` (``prompt`` + ``suffix``, or a prompt the
client rendered with FIM sentinels itself, as vLLM clients do) and ``GET /v1/models``. A body with
Tabby's ``segments`` is Tabby's dialect (``api_tabby``)."""

from __future__ import annotations

import json
import time

from fastapi import APIRouter, Request
from pydantic import Field

from fimkit.infer import CompletionRequest, CompletionResult, SamplingParams
from fimkit.infer.config import MAX_CANDIDATES
from fimkit.serve import api_tabby
from fimkit.serve import fields as F
from fimkit.serve.bodies import HTTPError, read_json, validate
from fimkit.serve.http import ServerConfig, finish_reason, service

router = APIRouter()


class OpenAIBody(F.FimkitOptions):
    model: str | None = None
    prompt: str | list[str] = ""
    suffix: str | None = None
    max_tokens: int | None = Field(None, ge=0)  # 0: a warm-up, the prompt evaluated and nothing generated
    temperature: F.Temperature = 0.0
    top_p: F.TopP = 0.95
    n: int = Field(1, ge=1, le=MAX_CANDIDATES)
    stream: bool = False
    stop: str | list[str] | None = None
    logprobs: int | None = Field(None, ge=0, le=5)
    seed: F.Seed | None = None
    echo: bool = False


def to_request(body: OpenAIBody, config: ServerConfig) -> CompletionRequest:
    """n > 1 asks for ranked candidates (``fimkit.infer.candidates``): the likeliest first tokens at
    temperature 0, n samples (seed, seed + 1, ...) above it."""
    prefix = body.prompt if isinstance(body.prompt, str) else "".join(body.prompt)
    suffix, middle_start = body.suffix or "", ""
    if body.suffix is None:
        parsed = F.parse_rendered_prompt(prefix)  # vLLM-style clients render the FIM template themselves
        if parsed:
            prefix, suffix, middle_start = parsed
    sampling = SamplingParams(max_tokens=F.max_tokens(body.max_tokens, config), temperature=body.temperature,
                              top_p=body.top_p, seed=body.seed, top_logprobs=body.logprobs or 0)
    return CompletionRequest(prefix, suffix, middle_start=middle_start, stop=F.stops(body.stop), sampling=sampling,
                             candidates=body.n if body.n > 1 else None, **F.options(body, config))


def usage(result: CompletionResult) -> dict:
    st = result.stats
    return {"prompt_tokens": st.prompt_tokens, "completion_tokens": st.predicted_tokens,
            "total_tokens": st.prompt_tokens + st.predicted_tokens}


def logprobs(result: CompletionResult) -> dict:
    """OpenAI's logprobs object over the generated tokens (before post-processing cut them)."""
    pieces = result.pieces
    offsets, at = [], 0
    for p in pieces:
        offsets.append(at)
        at += len(p.text)
    return {"tokens": [p.text for p in pieces], "token_logprobs": [p.logprob for p in pieces],
            "top_logprobs": [dict(p.top) if p.top else {p.text: p.logprob} for p in pieces],
            "text_offset": offsets, "mean_logprob": result.mean_logprob}


@router.post("/v1/completions")
async def completions(request: Request):
    svc = service(request)
    data = await read_json(request, svc.config.max_request_bytes)
    if "segments" in data:
        return await api_tabby.complete(request, data)
    body = validate(OpenAIBody, data)
    if body.echo:
        raise HTTPError(400, "echo is not supported: fimkit returns only the middle")
    if body.stream and body.n > 1:
        raise HTTPError(400, "stream with n > 1 is not supported; send n separate requests")
    created, model = int(time.time()), svc.engine.name
    first = to_request(body, svc.config)

    def chunk(cid: str, text: str, finish: str | None, **extra) -> str:
        return "data: " + json.dumps({"id": cid, "object": "text_completion", "created": created, "model": model,
                                      "choices": [{"index": 0, "text": text, "logprobs": None,
                                                   "finish_reason": finish}], **extra}) + "\n\n"

    if body.stream:
        cid = svc.new_id()
        return svc.stream(request, first, "/v1/completions", lambda text: chunk(cid, text, None),
                          lambda result, _: chunk(cid, "", finish_reason(result), usage=usage(result)),
                          "text/event-stream", done_line="data: [DONE]\n\n", completion_id=cid)
    cid = svc.new_id()
    _, result = await svc.complete(request, first, "/v1/completions", completion_id=cid, early=body.early_reply)
    # The ranked candidates, best first; fewer than n when candidates came out the same.
    choices = [{"index": i, "text": r.text, "finish_reason": finish_reason(r),
                "logprobs": logprobs(r) if body.logprobs is not None else None}
               for i, r in enumerate([result, *result.alternatives][: body.n])]
    return F.with_context({"id": cid, "object": "text_completion", "created": created, "model": model,
                           "choices": choices, "usage": usage(result)}, body, result)


@router.get("/v1/models")
async def models(request: Request):
    svc = service(request)
    info = svc.engine.info()
    return {"object": "list", "data": [{"id": info.model, "object": "model", "created": int(svc.started),
                                        "owned_by": "fimkit", "fimkit": info.as_dict()}]}
