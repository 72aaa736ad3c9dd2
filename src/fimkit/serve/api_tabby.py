"""Tabby's completion API: ``POST /v1/completions`` with ``segments`` (prefix, suffix, filepath...),
answering ``{id, choices: [{index, text}]}``. It shares the path with OpenAI's; the OpenAI module
hands a body with ``segments`` over to this one."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from pydantic import Field

from fimkit.infer import CompletionRequest, SamplingParams
from fimkit.serve import fields as F
from fimkit.serve.bodies import validate
from fimkit.serve.config import ServerConfig
from fimkit.serve.http import service


class TabbySnippet(F.Body):
    filepath: str = ""
    body: str = ""


class TabbySegments(F.Body):
    """Tabby's segments; its declarations, snippets from changed files and clipboard are repository
    context, in that priority."""

    prefix: str | None = None  # Tabby sends null for an empty prefix
    suffix: str | None = None
    filepath: str | None = None
    declarations: list[TabbySnippet] | None = Field(None, max_length=F.MAX_EXTRA_CHUNKS)
    relevant_snippets_from_changed_files: list[TabbySnippet] | None = Field(None, max_length=F.MAX_EXTRA_CHUNKS)
    relevant_snippets_from_recently_opened_files: list[TabbySnippet] | None = Field(None, max_length=F.MAX_EXTRA_CHUNKS)
    clipboard: str | None = None


class TabbyBody(F.FimkitOptions):
    segments: TabbySegments
    temperature: F.Temperature | None = None
    seed: F.Seed | None = None
    mode: Any = None


def to_request(body: TabbyBody, config: ServerConfig) -> CompletionRequest:
    seg = body.segments
    sampling = SamplingParams(max_tokens=F.max_tokens(None, config), temperature=body.temperature or 0.0,
                              seed=body.seed)
    snippets = [*(seg.declarations or ()), *(seg.relevant_snippets_from_changed_files or ()),
                *(seg.relevant_snippets_from_recently_opened_files or ())]
    extra = [(s.filepath, s.body) for s in snippets] + ([("clipboard", seg.clipboard)] if seg.clipboard else [])
    options = F.options(body, config, filename=seg.filepath or body.filename)
    options["extra"] = (*options["extra"], *extra)
    return CompletionRequest(seg.prefix or "", seg.suffix or "", sampling=sampling, **options)


async def complete(request: Request, data: dict) -> dict:
    svc = service(request)
    body = validate(TabbyBody, data)
    cid, result = await svc.complete(request, to_request(body, svc.config), "/v1/completions", early=body.early_reply)
    return F.with_context({"id": cid, "choices": [{"index": 0, "text": result.text}]}, body, result)
