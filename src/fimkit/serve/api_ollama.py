"""Ollama's API: ``POST /api/generate`` (``prompt`` + ``suffix``, or a raw prompt the client rendered;
streams NDJSON unless ``stream: false``), ``GET /api/tags`` and ``POST /api/show`` (whose template is
the same one ``fimkit export`` writes into a Modelfile)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request

from fimkit.formats.ollama import modelfile_text, ollama_template
from fimkit.infer import CompletionRequest, CompletionResult, SamplingParams
from fimkit.serve import fields as F
from fimkit.serve.bodies import read_json, validate
from fimkit.serve.config import ServerConfig
from fimkit.serve.http import finish_reason, now_iso, service

router = APIRouter()


class OllamaOptions(F.Body):
    temperature: F.Temperature = 0.0
    num_predict: int | None = None
    top_p: F.TopP = 0.95
    top_k: F.TopK = 40
    seed: F.Seed | None = None
    stop: list[str] | str | None = None


class OllamaBody(F.FimkitOptions):
    model: str = ""
    prompt: str = ""
    suffix: str | None = None
    raw: bool = False
    stream: bool = True  # Ollama streams unless told not to
    options: OllamaOptions = OllamaOptions()
    keep_alive: Any = None


def to_request(body: OllamaBody, config: ServerConfig) -> CompletionRequest:
    prefix, suffix, middle_start = body.prompt, body.suffix or "", ""
    if body.suffix is None:
        parsed = F.parse_rendered_prompt(body.prompt)
        if parsed:
            prefix, suffix, middle_start = parsed
    o = body.options
    sampling = SamplingParams(max_tokens=F.max_tokens(o.num_predict, config), temperature=o.temperature,
                              top_p=o.top_p, top_k=o.top_k, seed=o.seed)
    return CompletionRequest(prefix, suffix, middle_start=middle_start, stop=F.stops(o.stop), sampling=sampling,
                             **F.options(body, config))


def final(result: CompletionResult, model: str, response: str) -> dict:
    st = result.stats
    ns = 1_000_000
    return {
        "model": model, "created_at": now_iso(), "response": response, "done": True,
        "done_reason": finish_reason(result), "context": [],
        "total_duration": int((st.prompt_ms + st.predicted_ms) * ns), "load_duration": 0,
        "prompt_eval_count": st.prompt_tokens, "prompt_eval_duration": int(st.prompt_ms * ns),
        "eval_count": st.predicted_tokens, "eval_duration": int(st.predicted_ms * ns),
    }


@router.post("/api/generate")
async def generate(request: Request):
    svc = service(request)
    body = validate(OllamaBody, await read_json(request, svc.config.max_request_bytes))
    creq, model = to_request(body, svc.config), body.model or svc.engine.name
    if body.stream:
        return svc.stream(
            request,
            creq, "/api/generate",
            lambda text: json.dumps({"model": model, "created_at": now_iso(), "response": text, "done": False}) + "\n",
            lambda result, _: json.dumps(final(result, model, "")) + "\n", "application/x-ndjson")
    _, result = await svc.complete(request, creq, "/api/generate", early=body.early_reply)
    return F.with_context(final(result, model, result.text), body, result)


@router.get("/api/tags")
async def tags(request: Request):
    info = service(request).engine.info()
    return {"models": [{
        "name": info.model, "model": info.model, "modified_at": now_iso(), "size": info.size_bytes, "digest": "",
        "details": {"format": "gguf" if info.backend == "llama-cpp" else info.backend,
                    "family": info.architecture or "", "quantization_level": info.quantization or ""},
    }]}


@router.post("/api/show")
async def show(request: Request):
    svc = service(request)
    await read_json(request, svc.config.max_request_bytes)
    info = svc.engine.info()
    return {"modelfile": modelfile_text(info.model, info.fim_format, num_ctx=info.n_ctx,
                                        comment=f"served by fimkit ({info.mode})"),
            "parameters": "", "template": ollama_template(info.fim_format),
            "details": {"format": "gguf", "family": info.architecture or info.backend},
            "model_info": {"fimkit.mode": info.mode, "fimkit.fim_format": info.fim_format.spec},
            "capabilities": ["completion", "insert"], "fimkit": info.as_dict()}
