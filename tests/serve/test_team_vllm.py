"""`fimkit serve --backend vllm` as a team runs it: a real fimkit process supervising the real vLLM server
(its CPU build, `make vllm`) on a tiny Qwen2 folder with two PEFT adapters and a routing table. 1,000
mixed requests from three repositories, none of which may get another repository's adapter; then the
engine is killed and fimkit must answer 503 + Retry-After while it restarts, and answer again after;
and when fimkit itself is killed, no vLLM process may outlive it."""

import json
import os
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import build_tiny_qwen_dir, write_peft_adapter
from team_traffic import call, check_a_thousand_mixed_requests, start_team_server

from fimkit.errors import FimkitError
from fimkit.infer.engines.vllm_process import find_python

pytestmark = [pytest.mark.slow, pytest.mark.vllm]

try:
    find_python()
except FimkitError as exc:  # pragma: no cover - make test installs it (and then requires it)
    if os.environ.get("FIMKIT_REQUIRE_VLLM"):
        raise
    pytest.skip(f"no vLLM: {exc}", allow_module_level=True)

@pytest.fixture(scope="module")
def team(tmp_path_factory):
    root = tmp_path_factory.mktemp("team-vllm")
    model = build_tiny_qwen_dir(root / "tiny")
    a = write_peft_adapter(root / "a", model, seed=1)
    b = write_peft_adapter(root / "b", model, seed=2)
    base, proc, _ = start_team_server(root, str(model), a, b, "--backend", "vllm",
                                      "--engine-args", "--enforce-eager --dtype float32")
    yield base, proc, root
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=20)


def test_a_thousand_mixed_requests_never_get_another_repositorys_adapter(team):
    base = team[0]
    health = json.loads(urllib.request.urlopen(base + "/health").read())
    assert health["status"] == "ok" and health["backend"] == "vllm" and health["adapters"] == ["a", "b"]
    check_a_thousand_mixed_requests(base)


def test_streams_and_early_replies_come_from_the_same_middle(team):
    base, _, _ = team
    body = {"prompt": "class A:\n    def f(self, ", "suffix": "):\n        pass\n", "max_tokens": 12}
    status, whole, _ = call(base, "/v1/completions", body)
    assert status == 200
    text = whole["choices"][0]["text"]
    req = urllib.request.Request(base + "/v1/completions", json.dumps({**body, "stream": True}).encode(),
                                 {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        events = [line[6:] for line in r.read().decode().splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    streamed = "".join(json.loads(e)["choices"][0]["text"] for e in events[:-1] if json.loads(e)["choices"])
    assert streamed == text
    status, early, _ = call(base, "/v1/completions", {**body, "early_reply": True})
    assert status == 200 and text.startswith(early["choices"][0]["text"])


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        out += [int(c) for c in (task / "children").read_text().split()]
    return out


def _group(pgid: int) -> list[int]:
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def test_an_engine_killed_mid_service_is_restarted_with_503s_meanwhile(team):
    base, proc, _ = team
    guard = _children(proc.pid)
    assert len(guard) == 1
    server = _children(guard[0])
    assert server, "vLLM's server runs under fimkit's guard"
    os.kill(server[0], signal.SIGKILL)
    seen_503, deadline = False, time.monotonic() + 300
    while time.monotonic() < deadline:
        status, body, headers = call(base, "/v1/completions", {"prompt": "x = (", "suffix": ")\n", "max_tokens": 4})
        if status == 503:
            seen_503 = True
            assert headers.get("Retry-After") and "vllm" in json.dumps(body).lower()
        elif status == 200 and seen_503:
            break
        else:
            assert status == 200, body  # the kill not noticed yet
        time.sleep(0.5)
    assert seen_503 and status == 200
    health = json.loads(urllib.request.urlopen(base + "/health").read())
    assert health["status"] == "ok" and health["engine_restarts"] == 1


def test_no_vllm_process_outlives_a_killed_fimkit(team):
    _, proc, _ = team
    guard = _children(proc.pid)[0]
    assert len(_group(guard)) >= 3  # the guard, vLLM's server, its engine core (and workers)
    proc.kill()
    proc.wait(timeout=20)
    deadline = time.monotonic() + 30
    while _group(guard) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _group(guard) == []
