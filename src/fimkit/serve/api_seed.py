"""The seed's API: ``POST /complete`` with ``{prefix, suffix}``, answering ``{completion}``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import Field

from fimkit.infer import CompletionRequest, SamplingParams
from fimkit.serve import fields as F
from fimkit.serve.bodies import read_json, validate
from fimkit.serve.config import ServerConfig
from fimkit.serve.http import service

router = APIRouter()


class SeedBody(F.FimkitOptions):
    prefix: str
    suffix: str = ""
    max_tokens: int | None = Field(None, ge=0)  # 0: a warm-up, the prompt evaluated and nothing generated
    temperature: F.Temperature = 0.0


def to_request(body: SeedBody, config: ServerConfig) -> CompletionRequest:
    return CompletionRequest(body.prefix, body.suffix, sampling=SamplingParams(
        max_tokens=F.max_tokens(body.max_tokens, config), temperature=body.temperature), **F.options(body, config))


@router.post("/complete")
async def complete(request: Request):
    svc = service(request)
    body = validate(SeedBody, await read_json(request, svc.config.max_request_bytes))
    cid, result = await svc.complete(request, to_request(body, svc.config), "/complete", early=body.early_reply)
    return F.with_context({"completion": result.text, "success": True, "id": cid, "stop_type": result.stop_type,
                           "gated": result.gated}, body, result)
