"""A middle that may span lines is answered at its first line and generated on in the background; the
request after the user accepts that line is answered from the same generation (issue 26, item 2)."""

import asyncio
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
    body = {"prompt": PREFIX, "suffix": SUFFIX, "max_tokens": 64, "language": "python"}
    with c:
        start = time.perf_counter()
        first = c.post("/v1/completions", json=body).json()["choices"][0]["text"]
        assert first == LINES[0].rstrip("\n")
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
        c.post("/v1/completions", json={"prompt": "def f():\n", "max_tokens": 200})
        c.post("/v1/completions", json={"prompt": "y = ", "suffix": "\n", "max_tokens": 2})
        assert slow.generated < 150  # the first generation stopped instead of running to 200 tokens


def test_no_early_reply_waits_for_the_whole_middle():
    c, _ = client_for(engine(), early_reply=False)
    with c:
        text = c.post("/v1/completions", json={"prompt": PREFIX, "suffix": SUFFIX, "max_tokens": 64,
                                               "language": "python"}).json()["choices"][0]["text"]
    assert text.count("\n") >= 1


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
    body = {"prompt": PREFIX, "suffix": SUFFIX, "max_tokens": 8}
    with c:
        assert c.post("/v1/completions", json=body).status_code == 502
        start = time.perf_counter()
        assert c.post("/v1/completions", json=body).status_code == 502
        assert time.perf_counter() - start < 10
