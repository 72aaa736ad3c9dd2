"""fimkit adapt end to end on a tiny GGUF base (real LoRA training, a real llama.cpp adapter, real
evaluation through run_completion), the recommendation rule, and the adapted folder as a model."""

import json
from types import SimpleNamespace

import pytest
from test_split_and_records import make_repo, module

from fimkit.adapt.config import AdaptConfig
from fimkit.adapt.report import paired, recommend
from fimkit.errors import FimkitError
from fimkit.models import resolve_model


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory):
    """A tiny random Llama as a GGUF without FIM tokens: a base that is served prefix-only."""
    pytest.importorskip("peft")
    from conftest import build_tiny_model, build_tiny_tokenizer

    from fimkit.export.gguf_writer import write_gguf

    root = tmp_path_factory.mktemp("tiny-base")
    tok = build_tiny_tokenizer(None)
    build_tiny_model("llama", len(tok)).save_pretrained(root / "hf")
    tok.save_pretrained(root / "hf")
    return write_gguf(root / "hf", root / "tiny-base.gguf", dtype="f32")


def test_adapt_trains_judges_and_recommends(tmp_path, tiny_base):
    from fimkit.adapt.run import run_adapt

    repo = make_repo(tmp_path / "proj", 0)
    for i in range(70):
        (repo / f"mod_{i}.py").write_text(module(i) * 4)
    usage = accepted_usage(tmp_path)
    config = AdaptConfig(model=str(tiny_base), minutes=0.05, holes=24, general_tasks=3, seq_len=128,
                         heldout_fraction=0.3, usage=str(usage))
    logged = []
    out = tmp_path / "adapted"
    summary = run_adapt([str(repo)], out, config, log=logged.append)
    # Accepted completions: half trained on, half judged (kind "accepted"), and accept rates reported.
    records = (out / "data" / "train.jsonl").read_text()
    held = summary["by_kind"]["accepted"]["exact_match"]["tasks"]
    assert 0 < held < 8 and records.count("total_") == 8 - held
    assert summary["accept_rates"] and "Accept rate in your editor" in (out / "report.md").read_text()
    assert summary["split"]["method"] == "files" and summary["heldout"]["exact_match"]["tasks"] == 24
    assert summary["training"]["steps"] >= 1 and summary["training"]["tokens"] > 0
    assert summary["general"]["pass@1"]["tasks"] == 3
    assert (out / "adapter.gguf").is_file() and summary["served_file"] == "adapter.gguf"
    rows = [json.loads(line) for line in (out / "eval" / "results.jsonl").read_text().splitlines()]
    assert {r["contender"] for r in rows} == {"tiny-base.gguf:auto", "tiny-base.gguf+adapter:auto"}
    assert "Recommended" in (out / "report.md").read_text() and "](report.png)" in (out / "report.md").read_text()
    assert (out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"  # the chart of every row
    meta = json.loads((out / "fimkit.json").read_text())
    assert meta["kind"] == "adapted" and meta["recommended"] == summary["recommended"]
    # The folder is a model reference: the recommended model, the adapter only when it won.
    resolved = resolve_model(str(out))
    assert resolved.path == tiny_base and (resolved.lora is not None) == (summary["recommended"] == "adapted")
    meta["serve"] = {"model": str(tiny_base), "lora": "adapter.gguf"}
    (out / "fimkit.json").write_text(json.dumps(meta))
    assert resolve_model(str(out)).lora == out / "adapter.gguf"
    from fimkit.infer.config import EngineConfig
    from fimkit.infer.engines.choice import load_engine

    engine = load_engine(EngineConfig(model=str(out), n_ctx=128))
    assert engine.lora == out / "adapter.gguf"
    engine.close()
    # Resuming redoes nothing; other settings are refused; the budget may change.
    again = run_adapt([str(repo)], out, config, log=logged.append)
    assert again["training"] == summary["training"] and any("trained already" in m for m in logged)
    with pytest.raises(FimkitError, match="other settings.*rank: 64 -> 4"):
        run_adapt([str(repo)], out, AdaptConfig(model=str(tiny_base), minutes=0.05, rank=4, holes=24,
                                                 general_tasks=3, seq_len=128, heldout_fraction=0.3))


def test_full_fine_tune_is_judged_as_a_merged_gguf(tmp_path, tiny_base):
    """method full: every weight trained at its own rate, served as a quantized GGUF, never as an adapter."""
    from fimkit.adapt.run import run_adapt

    repo = make_repo(tmp_path / "proj", 0)
    for i in range(70):
        (repo / f"mod_{i}.py").write_text(module(i) * 4)
    config = AdaptConfig(model=str(tiny_base), method="full", minutes=0.03, holes=20, general_tasks=0, seq_len=128,
                         heldout_fraction=0.3, softmax="seen")  # the trained output rows are the kept ones
    assert config.lr == 5e-5 and AdaptConfig().lr == 4e-4 and AdaptConfig(method="full", lr=1e-3).lr == 1e-3
    out = tmp_path / "adapted"
    summary = run_adapt([str(repo)], out, config, log=lambda m: None)
    assert summary["served_file"] == "model.gguf" and not (out / "adapter.gguf").exists()
    from fimkit.models.gguf_meta import read_gguf_header

    assert read_gguf_header(out / "model.gguf").metadata["general.file_type"] == 7  # llama.cpp's MOSTLY_Q8_0
    assert (out / "run" / "model" / "config.json").is_file() and summary["training"]["steps"] >= 1
    rows = [json.loads(line) for line in (out / "eval" / "results.jsonl").read_text().splitlines()]
    assert {r["contender"] for r in rows} == {"tiny-base.gguf:auto", "model.gguf:auto"}
    resolved = resolve_model(str(out))
    assert resolved.lora is None
    assert resolved.path == (out / "model.gguf" if summary["recommended"] == "adapted" else tiny_base)


def test_a_folder_from_before_a_new_setting_still_resumes(tmp_path, tiny_base):
    """adapt.yaml written before ``method`` and ``quant`` existed: a LoRA run, and merged models at q4_k_m."""
    from fimkit.adapt.run import _check_resume

    config = AdaptConfig(model=str(tiny_base))
    _check_resume(tmp_path / "out", [str(tmp_path)], config)
    saved = (tmp_path / "out" / "adapt.yaml").read_text()
    assert "method: lora" in saved and "lr: 0.0004" in saved
    (tmp_path / "out" / "adapt.yaml").write_text(saved.replace("method: lora\n", ""))
    _check_resume(tmp_path / "out", [str(tmp_path)], config)
    with pytest.raises(FimkitError, match="method: 'lora' -> 'full'"):
        _check_resume(tmp_path / "out", [str(tmp_path)], AdaptConfig(model=str(tiny_base), method="full"))
    # The quantization of a merged model means nothing to a run served as an adapter.
    (tmp_path / "out" / "adapt.yaml").write_text(saved.replace("quant: q8_0\n", ""))
    _check_resume(tmp_path / "out", [str(tmp_path)], config)
    (tmp_path / "out" / "adapt.yaml").write_text(saved.replace("quant: q8_0\n", ""))  # rewritten on success
    with pytest.raises(FimkitError, match="quant: 'q4_k_m' -> 'q8_0'"):  # a merged run from before --quant: 4-bit
        _check_resume(tmp_path / "out", [str(tmp_path)], AdaptConfig(model=str(tiny_base), objective="fim"))
    (tmp_path / "out" / "adapt.yaml").write_text(saved.replace("softmax: full\n", ""))  # before --softmax: full
    _check_resume(tmp_path / "out", [str(tmp_path)], config)
    with pytest.raises(FimkitError, match="softmax: 'full' -> 'seen'"):
        _check_resume(tmp_path / "out", [str(tmp_path)], AdaptConfig(model=str(tiny_base), softmax="seen"))


def accepted_usage(tmp_path):
    """A telemetry database in which a user accepted eight completions, through a real fimkit serve app."""
    from fastapi.testclient import TestClient
    from infer.fakes import ScriptedEngine

    from fimkit.serve.app import create_app
    from fimkit.serve.config import ServerConfig

    db = tmp_path / "telemetry.sqlite"
    for i in range(8):
        engine = ScriptedEngine([(f"total_{i}", -0.1), ("\n", -0.1)])
        with TestClient(create_app(engine, ServerConfig(telemetry_path=str(db))), base_url="http://localhost") as c:
            cid = c.post("/complete", json={"prefix": f"def f{i}(x):\n    return ", "suffix": "\n",
                                            "language": "python"}).json()["id"]
            c.post("/v1/events", json={"type": "view", "completion_id": cid})
            c.post("/v1/events", json={"type": "accept", "completion_id": cid})
    return db


def test_adapt_refuses_too_little_code_and_foreign_folders(tmp_path):
    from fimkit.adapt.run import run_adapt

    repo = make_repo(tmp_path / "small", 4)
    with pytest.raises(FimkitError, match="too little code"):
        run_adapt([str(repo)], tmp_path / "out", AdaptConfig(heldout_fraction=0.3), log=lambda m: None)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(FimkitError, match="not a fimkit adapt folder"):
        run_adapt([str(repo)], tmp_path / "busy", AdaptConfig(), log=lambda m: None)
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"
    with pytest.raises(FimkitError, match="at least one repository"):
        run_adapt([], tmp_path / "out2", AdaptConfig())


def test_an_unfinished_adapt_folder_is_not_a_model(tmp_path):
    (tmp_path / "fimkit.json").write_text(json.dumps({"kind": "adapted", "base_model": "x", "serve": None}))
    with pytest.raises(FimkitError, match="has not finished"):
        resolve_model(str(tmp_path))
    (tmp_path / "fimkit.json").write_text(json.dumps({"kind": "adapted", "serve": {"model": "x", "lora": "a.gguf"}}))
    with pytest.raises(FimkitError, match="unknown model 'x'"):
        resolve_model(str(tmp_path))


@pytest.mark.parametrize("field,value", [("minutes", 0), ("minutes", float("nan")), ("heldout_fraction", 0.6),
                                         ("holes", 0), ("fim_rate", 2.0), ("lr", -1.0), ("general_tasks", -1),
                                         ("method", "partial"), ("method", ["full"]), ("quant", "q3_bogus"),
                                         ("softmax", "some"), ("softmax", None)])
def test_bad_settings_name_the_field(field, value):
    with pytest.raises(FimkitError, match=field):
        AdaptConfig(**{field: value})


def test_softmax_seen_is_refused_with_the_fim_objective_when_tokens_are_added(tiny_hf_dir):
    """A base without FIM tokens gets new sentinel rows, which the seen-token softmax cannot train; a FIM
    base keeps its own tokens, so it may."""
    with pytest.raises(FimkitError, match="softmax seen.*sentinel rows"):
        AdaptConfig(model=str(tiny_hf_dir), softmax="seen", objective="fim")


def _row(contender, task, exact, kind="line", passed=None):
    return SimpleNamespace(contender=contender, task_id=task, sample=0, exact=exact, edit_sim=float(exact),
                           passed=passed, kind=kind)


def test_recommendation_needs_a_significant_gain_and_no_forgetting():
    better = [_row("b", f"t{i}", i % 5 == 0) for i in range(100)] + [_row("a", f"t{i}", i % 5 == 0 or i % 3 == 0) for i in range(100)]
    same = [_row("b", f"t{i}", i % 2 == 0) for i in range(50)] + [_row("a", f"t{i}", i % 2 == 0) for i in range(50)]
    he_worse = [_row("b", f"h{i}", True, passed=True) for i in range(60)] + [
        _row("a", f"h{i}", i % 2 == 0, passed=i % 2 == 0) for i in range(60)]
    assert paired(better, "b", "a", "exact_match")["verdict"] == "better"
    assert recommend(better, [], "b", "a")["recommended"] == "adapted"
    assert recommend(same, [], "b", "a")["recommended"] == "base"
    verdict = recommend(better, he_worse, "b", "a")
    assert verdict["recommended"] == "base" and "forgot" in verdict["why"]
    assert verdict["general"]["pass@1"]["verdict"] == "worse"


def test_cli_errors_are_one_line(tmp_path):
    import subprocess
    import sys

    def run(*args):
        return subprocess.run([sys.executable, "-m", "fimkit", "adapt", *args], capture_output=True, text=True,
                              timeout=60)

    missing = run(str(tmp_path / "nope"), "--output", str(tmp_path / "out"))
    assert missing.returncode == 2 and "not a folder" in missing.stderr and "Traceback" not in missing.stderr
    bad = run(str(tmp_path), "--output", str(tmp_path / "out"), "--minutes", "0")
    assert bad.returncode == 2 and "--minutes: expected a number from 0.01" in bad.stderr
    assert run(str(tmp_path), "--output", str(tmp_path / "o"), "--objective", "magic").returncode == 2
