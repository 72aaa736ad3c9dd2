"""llama.cpp server's ``POST /infill`` (what llama.vscode and llama.vim send): ``input_prefix``,
``input_suffix``, ``input_extra`` chunks and ``prompt`` (text typed on the cursor's line), answering
with llama.cpp's fields (content, stop_type, timings, tokens_cached...)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from pydantic import Field

from fimkit.infer import CompletionRequest, CompletionResult, SamplingParams
from fimkit.serve import fields as F
from fimkit.serve.bodies import read_json, validate
from fimkit.serve.config import ServerConfig
from fimkit.serve.http import service

router = APIRouter()


class InfillBody(F.FimkitOptions):
    input_prefix: str = ""
    input_suffix: str = ""
    prompt: str = ""
    n_predict: int = -1
    t_max_predict_ms: int | None = Field(None, ge=0)
    n_indent: int | None = Field(None, ge=0)
    cache_prompt: bool = True
    temperature: F.Temperature = 0.0
    top_k: F.TopK = 40
    top_p: F.TopP = 0.95
    stream: bool = False
    seed: F.Seed | None = None
    stop: list[str] = []


def to_request(body: InfillBody, config: ServerConfig) -> CompletionRequest:
    sampling = SamplingParams(max_tokens=F.max_tokens(body.n_predict, config), temperature=body.temperature,
                              top_k=body.top_k, top_p=body.top_p, seed=body.seed)
    return CompletionRequest(
        body.input_prefix, body.input_suffix, middle_start=body.prompt, stop=F.stops(body.stop),
        n_indent=body.n_indent or None, t_max_predict_ms=body.t_max_predict_ms or None, sampling=sampling,
        **F.options(body, config))


def timings(result: CompletionResult) -> dict:
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


def reply(result: CompletionResult, model: str, content: str | None = None) -> dict:
    """llama.cpp's final object; streaming sends the text in deltas, so its final ``content`` is ""."""
    stop_type = result.stop_type if result.stop_type in ("eos", "limit", "word") else "eos"
    return {
        "content": result.text if content is None else content, "tokens": result.tokens, "stop": True,
        "stop_type": stop_type, "stopping_word": result.stopping_word, "model": model,
        "tokens_cached": result.stats.cached_tokens, "tokens_evaluated": result.stats.prompt_tokens,
        "tokens_predicted": result.stats.predicted_tokens, "truncated": result.truncated, "timings": timings(result),
        "fimkit": {"stop_reason": result.stop_type, "gated": result.gated, "mean_logprob": result.mean_logprob},
    }


@router.post("/infill")
async def infill(request: Request):
    svc = service(request)
    body = validate(InfillBody, await read_json(request, svc.config.max_request_bytes))
    creq, model = to_request(body, svc.config), svc.engine.name
    if body.stream:
        return svc.stream(request, creq, "/infill", lambda text: f"data: {json.dumps({'content': text, 'stop': False})}\n\n",
                          lambda result, _: f"data: {json.dumps(reply(result, model, content=''))}\n\n",
                          "text/event-stream")
    _, result = await svc.complete(request, creq, "/infill", completion_id=svc.new_id("infill"), early=body.early_reply)
    return F.with_context(reply(result, model), body, result)
