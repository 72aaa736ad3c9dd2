"""Hypothesis over the request bodies of every dialect: any JSON in any field gets an answer under
500, and the server keeps answering. Field names come from each dialect's own request model, so a
new field is fuzzed without touching this file."""

import json

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from infer.fakes import ScriptedEngine

from fimkit.serve import api_llama, api_ollama, api_openai, api_seed, api_tabby
from fimkit.serve.app import create_app
from fimkit.serve.config import ServerConfig
from fimkit.serve.telemetry import Event

BODIES = {
    "/complete": api_seed.SeedBody, "/v1/completions": api_openai.OpenAIBody, "/infill": api_llama.InfillBody,
    "/api/generate": api_ollama.OllamaBody, "/v1/events": Event,
}

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40),
    st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3),
    st.sampled_from(["", "x = ", "\x00", "<|fim_prefix|>", "<eos>", "def f(\n", "-1", "1e309"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                      max_leaves=12)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    engine = ScriptedEngine([("a", -0.1), (" +", -0.2), (" 1", -0.3), ("\n", -0.1), ("b", -0.1)])
    config = ServerConfig(telemetry_path=str(tmp_path_factory.mktemp("tel") / "t.sqlite"), max_tokens_cap=8)
    with TestClient(create_app(engine, config), base_url="http://localhost") as c:
        yield c


def bodies(model):
    names = list(model.model_fields) + (["segments"] if model is api_openai.OpenAIBody else [])
    return st.dictionaries(st.sampled_from(names + ["unknown_field"]), values, max_size=len(names))


@pytest.mark.parametrize("path", list(BODIES))
def test_any_json_in_any_field_is_answered_below_500(client, path):
    @settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(bodies(BODIES[path]))
    def check(body):
        r = client.post(path, content=json.dumps(body).encode(), headers={"content-type": "application/json"})
        assert r.status_code < 500, (r.status_code, r.text[:300])
        if r.status_code >= 400:
            assert r.json()["error"]["message"]

    check()
    assert client.get("/health").json()["status"] == "ok"
    assert client.get("/v1/stats").status_code == 200


def test_tabby_segments_are_fuzzed_too(client):
    @settings(max_examples=60, deadline=None)
    @given(st.dictionaries(st.sampled_from(list(api_tabby.TabbySegments.model_fields) + ["clipboard"]), values))
    def check(segments):
        r = client.post("/v1/completions", content=json.dumps({"segments": segments}).encode(),
                        headers={"content-type": "application/json"})
        assert r.status_code < 500, (r.status_code, r.text[:300])

    check()
