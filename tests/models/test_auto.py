"""--model auto: the best installed FIM model within the typing goal, measured once per machine."""

import json

import pytest

from fimkit.models import auto
from fimkit.models.embedded import find_embedded


def fake_probe(times):
    calls = []

    def probe(model, threads=None, log=None):
        calls.append(model.name)
        keystroke, cold = times[model.name]
        return auto.Probe(model.name, 0.1, cold, keystroke, keystroke / 8, False)

    return probe, calls


@pytest.fixture(autouse=True)
def measured(monkeypatch):
    monkeypatch.delenv("FIMKIT_AUTO_MODEL", raising=False)  # the suite pins it; these tests measure


@pytest.fixture
def installed(monkeypatch, fimkit_home):
    def use(names):
        monkeypatch.setattr(auto, "_installed", lambda: [find_embedded(n) for n in names])
    return use


def test_picks_the_best_model_within_the_goal_and_caches_it(installed, monkeypatch):
    installed(["qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b", "gemma-3-270m"])
    probe, calls = fake_probe({"qwen2.5-coder-1.5b": (auto.KEYSTROKE_MS * 2, 3.0),
                               "qwen2.5-coder-0.5b": (auto.KEYSTROKE_MS / 2, 3.0)})
    monkeypatch.setattr(auto, "probe", probe)
    choice = auto.choose()
    assert choice.model == "qwen2.5-coder-0.5b" and "too slow here: qwen2.5-coder-1.5b" in choice.reason
    assert calls == ["qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b"]
    assert auto.choose().model == "qwen2.5-coder-0.5b" and len(calls) == 2  # cached: not measured again
    assert json.loads(auto.cache_path().read_text())["model"] == "qwen2.5-coder-0.5b"


def test_a_fast_machine_gets_the_larger_model_and_stops_measuring(installed, monkeypatch):
    installed(["qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b"])
    probe, calls = fake_probe({"qwen2.5-coder-1.5b": (50.0, 0.5), "qwen2.5-coder-0.5b": (20.0, 0.2)})
    monkeypatch.setattr(auto, "probe", probe)
    assert auto.choose().model == "qwen2.5-coder-1.5b" and calls == ["qwen2.5-coder-1.5b"]


def test_when_none_meets_the_goal_the_fastest_fim_model_is_served_and_said_so(installed, monkeypatch):
    installed(["qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b", "gemma-3-270m"])
    probe, _ = fake_probe({"qwen2.5-coder-1.5b": (9000.0, 30.0), "qwen2.5-coder-0.5b": (5000.0, 20.0)})
    monkeypatch.setattr(auto, "probe", probe)
    choice = auto.choose()
    assert choice.model == "qwen2.5-coder-0.5b" and choice.reason.startswith("no installed FIM model meets")


def test_without_a_fim_model_the_prefix_only_one_is_served_unmeasured(installed, monkeypatch):
    installed(["gemma-3-270m"])
    monkeypatch.setattr(auto, "probe", lambda *a, **k: pytest.fail("nothing to measure"))
    choice = auto.choose()
    assert choice.model == "gemma-3-270m" and "no FIM model is installed" in choice.reason


def test_another_machine_or_model_set_measures_again(installed, monkeypatch):
    installed(["qwen2.5-coder-0.5b"])
    probe, calls = fake_probe({"qwen2.5-coder-0.5b": (10.0, 1.0), "qwen2.5-coder-1.5b": (10.0, 1.0)})
    monkeypatch.setattr(auto, "probe", probe)
    auto.choose()
    installed(["qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b"])  # the 1.5B was installed since
    assert auto.cached_choice() is None
    assert auto.choose().model == "qwen2.5-coder-1.5b" and calls == ["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"]


def test_a_corrupt_cache_is_measured_again(installed, monkeypatch):
    installed(["qwen2.5-coder-0.5b"])
    auto.cache_path().parent.mkdir(parents=True, exist_ok=True)
    auto.cache_path().write_text("{not json")
    probe, calls = fake_probe({"qwen2.5-coder-0.5b": (10.0, 1.0)})
    monkeypatch.setattr(auto, "probe", probe)
    assert auto.choose().model == "qwen2.5-coder-0.5b" and calls == ["qwen2.5-coder-0.5b"]


@pytest.mark.integration
def test_the_probe_measures_a_real_model(fimkit_home, embedded_gguf, monkeypatch):
    """The probe loads the real model through llama.cpp and times a cold prompt, a keystroke and decoding."""
    import shutil

    (fimkit_home / "models").mkdir(parents=True)
    shutil.copy(embedded_gguf, fimkit_home / "models" / embedded_gguf.name)  # the assembled copy, not assembled again
    result = auto.probe(find_embedded("qwen2.5-coder-0.5b"), threads=2)
    assert result.cold_ms_per_token > 0 and result.keystroke_ms > 0 and result.decode_ms_per_token > 0
    assert result.keystroke_ms > result.decode_ms_per_token  # a keystroke evaluates and decodes several tokens
    assert result.model in result.describe()


def test_an_operator_can_pin_what_auto_means(monkeypatch, fimkit_home):
    monkeypatch.setenv("FIMKIT_AUTO_MODEL", "qwen2.5-coder-1.5b")
    monkeypatch.setattr(auto, "probe", lambda *a, **k: pytest.fail("a pinned choice is not measured"))
    choice = auto.choose()
    assert choice.model == "qwen2.5-coder-1.5b" and choice.reason == "set by FIMKIT_AUTO_MODEL"
