"""A client that asks for it (``early_reply``, as fimkit's editors do) gets a middle that may span lines
at its first line, generated on in the background; the request after the user accepts that line is
answered from the same generation (issue 26, item 2). Every other client gets the whole middle, on every
dialect, streamed or not, with real usage counts (issue 34, item 4)."""

import asyncio
import json
import time

import pytest
from infer.fakes import ScriptedEngine
from serve.test_hostile import client_for

from fimkit.infer import CompletionRequest
from fimkit.serve.continuation import Continuations, first_lines

pytest.importorskip("httpx")

PREFIX = "def total(items):\n    result = 0\n"
SUFFIX = "\n\ndef other():\n    pass\n"
LINES = ["    for item in items:\n", "        result += item\n", "    return result\n"]


def engine(delay=0.0):
    pieces = [(piece, -0.1) for line in LINES for piece in (line[:6], line[6:])]
    return ScriptedEngine(pieces, delay=delay, fim_format="prefix-only")


def test_first_lines_of_released_text():
    assert first_lines("") is None and first_lines("\n\n") is None
    assert first_lines("    a = 1") == "    a = 1"
    assert first_lines("    a = 1\n    b = 2") == "    a = 1"
    assert first_lines("\n    b = 2\n    c") == "\n    b = 2"


def test_accepting_the_first_line_gets_the_next_without_a_new_generation():
    slow = engine(delay=0.05)  # ~0.3 s for the whole middle
    c, _ = client_for(slow)
    body = {"prompt": PREFIX, "suffix": SUFFIX, "max_tokens": 64, "language": "python", "early_reply": True}
    with c:
        start = time.perf_counter()
        reply = c.post("/v1/completions", json=body).json()
        first = reply["choices"][0]["text"]
        assert first == LINES[0].rstrip("\n")
        usage = reply["usage"]  # what the generation had cost when the first line went out: real, not zeros
        assert usage["prompt_tokens"] > 0 and 2 <= usage["completion_tokens"] < len(LINES) * 2
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
        assert slow.generated < len(LINES) * 2  # answered before the generation ended
        assert time.perf_counter() - start < 0.3 * 2
        prompts = len(slow.prompts)
        second = c.post("/v1/completions", json={**body, "prompt": PREFIX + first}).json()["choices"][0]["text"]
        assert second == "\n" + LINES[1].rstrip("\n")
        third = c.post("/v1/completions", json={**body, "prompt": PREFIX + first + second}).json()["choices"][0]["text"]
        assert third == "\n" + LINES[2].rstrip("\n")
        assert len(slow.prompts) == prompts  # no new generation for either
        assert "fimkit_completions_continued_total 2" in c.get("/metrics").text
        # A request that continues nothing starts its own generation.
        c.post("/v1/completions", json={**body, "prompt": "x = "})
        assert len(slow.prompts) == prompts + 1


def test_a_new_request_stops_the_generation_ahead():
    slow = ScriptedEngine([(f"    v{i} = {i}\n", -0.1) for i in range(200)], delay=0.02, fim_format="prefix-only")
    c, _ = client_for(slow)
    with c:
        c.post("/v1/completions", json={"prompt": "def f():\n", "max_tokens": 200, "early_reply": True})
        c.post("/v1/completions", json={"prompt": "y = ", "suffix": "\n", "max_tokens": 2})
        assert slow.generated < 150  # the first generation stopped instead of running to 200 tokens


def test_no_early_reply_waits_for_the_whole_middle():
    c, _ = client_for(engine(), early_reply=False)
    with c:
        text = c.post("/v1/completions", json={"prompt": PREFIX, "suffix": SUFFIX, "max_tokens": 64,
                                               "language": "python", "early_reply": True}).json()["choices"][0]["text"]
    assert text.count("\n") >= 1


WHOLE = "".join(LINES).rstrip("\n")
DIALECTS = {
    "openai": ("/v1/completions", {"prompt": PREFIX, "suffix": SUFFIX, "max_tokens": 64},
               lambda r: r["choices"][0]["text"]),
    "infill": ("/infill", {"input_prefix": PREFIX, "input_suffix": SUFFIX, "n_predict": 64}, lambda r: r["content"]),
    "ollama": ("/api/generate", {"prompt": PREFIX, "suffix": SUFFIX, "stream": False, "options": {"num_predict": 64}},
               lambda r: r["response"]),
    "tabby": ("/v1/completions", {"segments": {"prefix": PREFIX, "suffix": SUFFIX}}, lambda r: r["choices"][0]["text"]),
    "seed": ("/complete", {"prefix": PREFIX, "suffix": SUFFIX, "max_tokens": 64}, lambda r: r["completion"]),
}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_plain_client_gets_the_whole_middle_on_every_dialect(dialect):
    """What Continue, llama.vscode, Tabby and Ollama clients send: no early_reply field. The whole block
    comes back, body included, and the reply's counts are the generation's own."""
    path, body, text_of = DIALECTS[dialect]
    c, _ = client_for(engine(delay=0.01))
    with c:
        reply = c.post(path, json={**body, "language": "python"}).json()
    assert text_of(reply) == WHOLE, reply
    if dialect == "openai":
        assert reply["usage"]["completion_tokens"] == len(LINES) * 2 and reply["choices"][0]["finish_reason"] == "stop"
    if dialect == "infill":
        assert reply["tokens_predicted"] == len(LINES) * 2 and reply["fimkit"]["stop_reason"] != "line"


@pytest.mark.parametrize("dialect", ["openai", "infill", "ollama"])
def test_a_plain_stream_carries_the_whole_middle_line_by_line(dialect):
    path, body, _ = DIALECTS[dialect]
    c, _ = client_for(engine(delay=0.01))
    with c:
        raw = c.post(path, json={**body, "stream": True, "language": "python"}).text
    events = [json.loads(line.removeprefix("data: ")) for line in raw.splitlines()
              if line.strip() and line.strip() != "data: [DONE]"]
    if dialect == "openai":
        deltas = [e["choices"][0]["text"] for e in events]
        assert events[-1]["usage"]["completion_tokens"] == len(LINES) * 2
    elif dialect == "infill":
        deltas = [e["content"] for e in events]
    else:
        deltas = [e["response"] for e in events]
    assert "".join(deltas) == WHOLE
    assert len([d for d in deltas if d]) >= 2  # released as the lines complete, not in one piece at the end


def test_a_continuation_is_found_only_for_the_same_request_and_accepted_text():
    async def check():
        store = Continuations()
        base = CompletionRequest(PREFIX, SUFFIX)
        entry = store.start(base)
        entry.add("    for item in items:\n        result += item")
        assert store.find(CompletionRequest(PREFIX + "    for item", SUFFIX)) == (entry, len("    for item"))
        assert store.find(CompletionRequest(PREFIX + "    while", SUFFIX)) is None  # typed something else
        assert store.find(CompletionRequest(PREFIX + "    for", "other suffix")) is None
        assert store.find(CompletionRequest(PREFIX + "    for", SUFFIX, language="python")) is None
        assert await entry.next_lines(len("    for item"), 1) == " in items:"
        assert await entry.next_lines(len("    for item in items:"), 0.05) == "\n        result += item"
        assert await entry.next_lines(len(entry.text), 0.05) is None  # not yet: time out
        entry.finish("eos")
        assert await entry.next_lines(len(entry.text), 0.05) == ""

    asyncio.run(check())


def test_a_failed_or_refused_request_leaves_no_continuation_to_wait_for():
    """A request that errors (or is refused) must not leave an unfinished continuation that the
    same request, sent again, would wait on until its deadline."""
    from fimkit.errors import BackendError

    class Failing(ScriptedEngine):
        def _produce(self, gen, prompt, params, cancel):
            raise BackendError("the backend says no")
            yield

    c, _ = client_for(Failing(fim_format="prefix-only"), request_timeout_s=30)
    body = {"prompt": PREFIX, "suffix": SUFFIX, "max_tokens": 8, "early_reply": True}
    with c:
        assert c.post("/v1/completions", json=body).status_code == 502
        start = time.perf_counter()
        assert c.post("/v1/completions", json=body).status_code == 502
        assert time.perf_counter() - start < 10


@pytest.mark.parametrize("dialect", DIALECTS)
def test_early_reply_takes_only_a_boolean(dialect):
    path, body, _ = DIALECTS[dialect]
    c, _ = client_for(engine())
    with c:
        for value in (1, "true", None, [True], {"on": True}, 1e308):
            r = c.post(path, json={**body, "early_reply": value})
            assert r.status_code == 422 and "early_reply" in r.text, (value, r.text)
        lone = c.post(path, content=json.dumps({**body, "early_reply": "\ud800"}).encode("utf-8", "surrogatepass"),
                      headers={"content-type": "application/json"})
        assert lone.status_code in (400, 422) and lone.status_code < 500, lone.text
