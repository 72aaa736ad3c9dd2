"""The llama-server engine against a real llama-server (built by the Makefile) on real GGUF files:
the same middles as in-process, cancellation that reaches the server, a supervised child that comes
back after a crash and goes away with fimkit, and adapters chosen per request."""

import os
import signal
import threading
import time

import pytest
from conftest import write_adapter

from fimkit.errors import BackendUnavailableError, FimkitError
from fimkit.infer import CompletionRequest, run_completion
from fimkit.infer.config import EngineConfig
from fimkit.infer.engines.choice import load_engine
from fimkit.infer.engines.contract import SamplingParams
from fimkit.infer.engines.server_process import find_binary, get_json

pytestmark = pytest.mark.slow

try:
    find_binary()
except FimkitError as exc:  # pragma: no cover - `make test` builds it first
    pytest.skip(f"no llama-server: {exc}", allow_module_level=True)

PROMPTS = [("def add(a, b):\n    return ", "\n"), ("for i in range(", "):\n    print(i)\n"), ("x = [1, 2, 3]\ny = ", "\n")]
# The cursor mid-word: both engines back the prompt off and heal it.
MID_WORD = [("def add(a, b):\n    ret", "\n"), ("import o", "\n"), ("for item in ite", ":\n    pass\n")]


@pytest.fixture(scope="module")
def adapters(tiny_fim_gguf, tmp_path_factory):
    root = tmp_path_factory.mktemp("adapters")
    return {name: str(write_adapter(root / f"{name}.gguf", tiny_fim_gguf, seed=seed)) for name, seed in (("a", 1), ("b", 2))}


@pytest.fixture(scope="module")
def tiny_server(tiny_fim_gguf, adapters, tmp_path_factory):
    engine = load_engine(EngineConfig(model=str(tiny_fim_gguf), backend="llama-server", n_ctx=256, parallel=3,
                                      adapters=tuple(f"{k}={v}" for k, v in adapters.items())))
    yield engine
    engine.close()


@pytest.fixture(autouse=True)
def no_typing_history(request):
    """Each test starts with no anchors on the shared server: an earlier test's prompt with the same suffix
    would otherwise be taken as where typing began (``context.anchor``), and this test's prompt would differ
    from the fresh in-process engine's it is compared with."""
    if "tiny_server" in request.fixturenames:
        request.getfixturevalue("tiny_server").__dict__.pop("_anchors", None)


def _middle(engine, prefix, suffix, adapter=None, max_tokens=8):
    req = CompletionRequest(prefix, suffix, sampling=SamplingParams(max_tokens=max_tokens, adapter=adapter),
                            parse_check=False)
    return run_completion(engine, req)


def _same(ours, theirs):
    """The same middle, token for token where each token is whole text (the server sends a token that
    ends inside a UTF-8 character together with the next one, and none at the end where no next one
    comes: in-process, those bytes are replacement characters)."""
    def whole(text):
        return text.rstrip("\ufffd")

    assert whole(ours.text) == whole(theirs.text) and whole(ours.raw) == whole(theirs.raw)
    assert ours.stats.predicted_tokens == theirs.stats.predicted_tokens >= 1
    assert set(p.token_id for p in ours.pieces) <= set(p.token_id for p in theirs.pieces)


def test_same_middles_as_the_in_process_engine(tiny_server, tiny_fim_gguf):
    local = load_engine(EngineConfig(model=str(tiny_fim_gguf), n_ctx=256))
    try:
        for prefix, suffix in PROMPTS + MID_WORD:
            ours, theirs = _middle(tiny_server, prefix, suffix), _middle(local, prefix, suffix)
            _same(ours, theirs)
            assert ours.stats.healed_chars == theirs.stats.healed_chars
        assert any(_middle(tiny_server, p, s).stats.healed_chars for p, s in MID_WORD)  # healing ran
        assert tiny_server.info().healing and tiny_server.can_heal
    finally:
        local.close()


def test_adapters_are_chosen_per_request_and_match_the_in_process_lora(tiny_server, tiny_fim_gguf, adapters):
    prefix, suffix = PROMPTS[0]
    seen = {name: _middle(tiny_server, prefix, suffix, name) for name in (None, "a", "b")}
    assert len({r.raw for r in seen.values()}) == 3, seen  # each adapter changes the output its own way
    for name in ("a", "b"):  # the same middle as llama.cpp in-process with that adapter loaded
        local = load_engine(EngineConfig(model=str(tiny_fim_gguf), n_ctx=256, lora=adapters[name]))
        try:
            _same(seen[name], _middle(local, prefix, suffix))
        finally:
            local.close()
    with pytest.raises(FimkitError, match="no adapter .c. on the llama-server engine"):
        _middle(tiny_server, prefix, suffix, "c")


def test_requests_run_at_once_on_its_slots(tiny_server):
    assert tiny_server.parallel == 3
    results, errors = [], []

    def one(i):
        try:
            results.append(_middle(tiny_server, *PROMPTS[i % 3], adapter=(None, "a", "b")[i % 3]).text)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and len(results) == 12


def test_a_crashed_engine_comes_back_and_requests_say_retry_meanwhile(tiny_server):
    proc = tiny_server.process
    pid = proc._proc.pid
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while proc.alive and time.monotonic() < deadline:
        time.sleep(0.02)
    with pytest.raises(BackendUnavailableError, match="restarting; retry"):
        proc.check()
    deadline = time.monotonic() + 60
    while proc.restarts < 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert proc.restarts == 1 and proc.alive and proc._proc.pid != pid
    assert _middle(tiny_server, *PROMPTS[0]).stats.predicted_tokens >= 1
    assert "fimkit starts" in proc.log_path.read_text()  # its log goes to a file


def test_a_running_server_is_used_as_it_is(tiny_server, tiny_fim_gguf, adapters):
    names = tuple(f"{k}={v}" for k, v in adapters.items())
    other = load_engine(EngineConfig(model=str(tiny_fim_gguf), backend="llama-server", n_ctx=256, adapters=names,
                                     base_url=tiny_server.url + "/v1", remote_api_key=tiny_server.key))
    try:
        assert other.process is None and other.parallel == 3
        prefix, suffix = PROMPTS[1]
        assert _middle(other, prefix, suffix, "b").text == _middle(tiny_server, prefix, suffix, "b").text
    finally:
        other.close()
    assert tiny_server.process.alive  # closing a client leaves a server it did not start


def test_cancelling_stops_the_generation_in_the_server(embedded_gguf, tmp_path):
    engine = load_engine(EngineConfig(model=str(embedded_gguf), backend="llama-server", n_ctx=1024, parallel=1))
    try:
        cancel = threading.Event()
        gen = engine.generate("# a long list of every country\ncountries = [\n", SamplingParams(max_tokens=600), cancel)
        for n, _ in enumerate(gen, 1):
            if n == 5:
                cancel.set()
        assert gen.stop_reason == "cancelled"
        stopped = time.monotonic() + 3
        slots = get_json(engine.url + "/slots", key=engine.key)
        while any(s.get("is_processing") for s in slots) and time.monotonic() < stopped:
            time.sleep(0.05)
            slots = get_json(engine.url + "/slots", key=engine.key)
        assert not any(s.get("is_processing") for s in slots)  # the server let go of it within seconds
        metrics = _metrics(engine.url, engine.key)
        assert metrics["llamacpp:tokens_predicted_total"] < 100  # not the 600 asked for
        child = engine.process._proc
    finally:
        engine.close()
    assert child.poll() is not None  # closing the engine stops its server


def test_mistakes_are_one_line(tiny_fim_gguf, tmp_path, monkeypatch):
    with pytest.raises(FimkitError, match="NAME=PATH"):
        EngineConfig(backend="llama-server", adapters=("nopath",))
    with pytest.raises(FimkitError, match="not 'base'"):
        EngineConfig(backend="llama-server", adapters=("base=x.gguf",))
    with pytest.raises(FimkitError, match="needs --backend llama-server"):
        EngineConfig(adapters=("a=x.gguf",))
    monkeypatch.setenv("FIMKIT_LLAMA_SERVER", str(tmp_path / "nowhere"))
    monkeypatch.setenv("PATH", str(tmp_path))
    from fimkit.infer.engines import server_process

    monkeypatch.setattr(server_process.sys, "executable", str(tmp_path / "python"))
    with pytest.raises(FimkitError, match="no llama-server binary found"):
        find_binary()


def _metrics(url: str, key: str) -> dict[str, float]:
    import urllib.request

    req = urllib.request.Request(url + "/metrics", headers={"Authorization": f"Bearer {key}"})
    text = urllib.request.urlopen(req, timeout=5).read().decode()
    return {line.split()[0]: float(line.split()[1]) for line in text.splitlines() if line and not line.startswith("#")}


def test_healing_keeps_the_shortest_allowed_tokens_when_there_are_too_many(tiny_server, monkeypatch):
    from fimkit.infer.engines import remote

    monkeypatch.setattr(remote, "MAX_ALLOWED", 1)  # only the shortest: one that spells part of the rest
    prefix, suffix = MID_WORD[0]
    result = _middle(tiny_server, prefix, suffix)
    healed = [p for p in result.pieces if p.healing]
    assert result.stats.healed_chars == 3 and len(healed) >= 1  # "ret" re-spelled, a token at a time at worst


def test_candidate_ranking_is_refused_at_load_and_the_child_stopped(tiny_fim_gguf):
    with pytest.raises(FimkitError, match="--candidates 2 needs a backend that scores text"):
        load_engine(EngineConfig(model=str(tiny_fim_gguf), backend="llama-server", n_ctx=256, candidates=2))
    import subprocess

    # this engine's command line: the module's own server runs 3 slots, this one the default 4
    mine = f"llama-server --model {tiny_fim_gguf} .* --parallel 4 "
    left = subprocess.run(["pgrep", "-f", mine], capture_output=True, text=True)
    assert not [p for p in left.stdout.split() if p], "a refused engine left its llama-server running"
