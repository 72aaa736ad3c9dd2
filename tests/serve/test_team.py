"""`fimkit serve --backend llama-server` as a team runs it: a real process supervising a real
llama-server on a tiny GGUF with two LoRA adapters, a routing table, and 1,000 mixed requests from
three repositories at once, none of which may get another repository's adapter."""

import json
import random
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import write_adapter
from team_traffic import PROMPTS, REPOS, call, check_a_thousand_mixed_requests, complete, start_team_server

from fimkit.errors import FimkitError
from fimkit.infer.engines.server_process import find_binary

pytestmark = pytest.mark.slow

try:
    find_binary()
except FimkitError as exc:  # pragma: no cover - `make test` builds it first
    pytest.skip(f"no llama-server: {exc}", allow_module_level=True)

@pytest.fixture(scope="module")
def team(tiny_fim_gguf, tmp_path_factory):
    root = tmp_path_factory.mktemp("team")
    a = write_adapter(root / "a.gguf", tiny_fim_gguf, seed=1)
    b = write_adapter(root / "b.gguf", tiny_fim_gguf, seed=2)
    base, proc, routes = start_team_server(root, str(tiny_fim_gguf), a, b, "--backend", "llama-server")
    yield base, proc, routes, root / "home"
    proc.terminate()
    proc.wait(timeout=20)


def test_a_thousand_mixed_requests_never_get_another_repositorys_adapter(team):
    base = team[0]
    health = json.loads(urllib.request.urlopen(base + "/health").read())
    assert health["backend"] == "llama-server" and health["parallel"] == 4 and health["adapters"] == ["a", "b"]
    check_a_thousand_mixed_requests(base)


def test_hostile_routing_headers_are_a_400_naming_the_header(team):
    base = team[0]
    for header, value in (("X-Fimkit-Repository", "x" * 5000), ("X-Fimkit-User", "a\tb")):
        status, body, _ = call(base, "/v1/completions", {"prompt": "x = ", "max_tokens": 2}, {header: value})
        assert status == 400 and header in body["error"]["message"]


def test_rollback_by_editing_the_routes_file_takes_effect_without_a_restart(team):
    base, _, routes, _ = team
    i = 0
    _, before = complete(base, "shop", i)
    _, plain = complete(base, "elsewhere", i)
    routes.write_text(routes.read_text() + "rollback: base\n")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if complete(base, "shop", i)[1] == plain:
            break
        time.sleep(0.3)
    assert complete(base, "shop", i)[1] == plain != before
    health = json.loads(urllib.request.urlopen(base + "/health").read())
    assert health["routes"]["rollback"] == "base" and health["routes"]["reloads"] >= 1


@pytest.mark.integration
def test_adapters_per_repository_on_the_embedded_fim_model(embedded_gguf, tmp_path):
    """The same team set-up on the default model, Qwen2.5-Coder 0.5B: two adapters on the real base,
    mixed concurrent requests from three repositories, none answered with another repository's adapter."""
    a = write_adapter(tmp_path / "a.gguf", embedded_gguf, seed=1, rank=2, alpha=0.5)
    b = write_adapter(tmp_path / "b.gguf", embedded_gguf, seed=2, rank=2, alpha=0.5)
    base, proc, _ = start_team_server(tmp_path, str(embedded_gguf), a, b, "--backend", "llama-server",
                                      "--n-ctx", "512", "--parallel", "2")  # later flags win
    try:
        expected = {(i, repo): complete(base, repo, i) for i in range(len(PROMPTS)) for repo in REPOS}
        assert all(status == 200 for status, _ in expected.values())
        distinct = [i for i in range(len(PROMPTS)) if len({expected[i, r][1] for r in REPOS}) == 3]
        assert len(distinct) >= 2, expected
        jobs = [(repo, i) for i in distinct for repo in REPOS] * 4
        random.Random(3).shuffle(jobs)
        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(lambda job: complete(base, job[0], job[1]), jobs))
        crossed = [(job, text) for job, (_, text) in zip(jobs, answers, strict=True) if text != expected[job[1], job[0]][1]
                   and any(text == expected[job[1], other][1] for other in REPOS if other != job[0])]
        assert all(status == 200 for status, _ in answers) and not crossed, crossed[:5]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
