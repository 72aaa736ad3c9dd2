"""A tiny random Llama without FIM tokens: train -> kill -> resume -> merge -> export -> llama.cpp infill."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import build_tiny_model, build_tiny_tokenizer

from fimkit.errors import FimkitError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    from fimkit.data.jsonl import write_jsonl
    from fimkit.data.seed import SamplesConfig, make_examples

    root = tmp_path_factory.mktemp("train")
    tok = build_tiny_tokenizer(None)  # a base without FIM tokens: training must add them
    build_tiny_model("llama", len(tok)).save_pretrained(root / "base")
    tok.save_pretrained(root / "base")
    with write_jsonl(root / "data.jsonl") as write:
        for ex in make_examples(SamplesConfig(count=80)):
            write(ex)
    return root


def _train_cmd(root: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "fimkit", "train", "--model", str(root / "base"), "--data", str(root / "data.jsonl"),
            "--output", str(root / "run"), "--seq-len", "256", "--max-steps", "8", "--save-every", "1",
            "--eval-every", "4", "--warmup-steps", "2", "--batch-size", "2", "--grad-accum", "1", *extra]


def test_train_survives_a_kill_and_resumes(work):
    proc = subprocess.Popen(_train_cmd(work), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ckpts = work / "run" / "checkpoints"
    deadline = time.time() + 120
    while time.time() < deadline and not any(ckpts.glob("step-0000003")) and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    kept = sorted(p.name for p in ckpts.glob("step-*"))
    assert kept and not (work / "run" / "adapter").exists()
    assert not list(ckpts.glob(".tmp-*"))  # nothing half-written is taken for a checkpoint
    done = subprocess.run(_train_cmd(work), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "resuming from" in done.stderr
    steps = [json.loads(line)["step"] for line in (work / "run" / "metrics.jsonl").read_text().splitlines()]
    assert steps[-1] == 8 and set(range(1, 9)) <= set(steps)
    meta = json.loads((work / "run" / "fimkit.json").read_text())
    assert meta["fim_format"] == "fimkit:spm-paper" and meta["added_tokens"][:3] == ["<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"]
    assert (work / "run" / "adapter" / "adapter_config.json").exists() and (work / "run" / "hyperparameters.yaml").exists()
    rows = [json.loads(line) for line in (work / "run" / "metrics.jsonl").read_text().splitlines()]
    assert any("eval_loss" in r and "eval_exact_match" in r for r in rows) and all(r["tokens_per_s"] > 0 for r in rows)


def test_merge_export_and_llama_cpp_infill(work):
    from fimkit.export.exporter import export
    from fimkit.infer.complete import run_completion
    from fimkit.infer.engines.contract import CompletionRequest, SamplingParams
    from fimkit.infer.engines.llama_cpp import LlamaCppEngine
    from fimkit.models import resolve_model
    from fimkit.train.merge import merge

    record = merge(work / "run", work / "merged", log=lambda m: None)
    assert record["logits_max_abs_diff"] < 1e-3 and (work / "merged" / "model.safetensors").exists()
    f16 = export(work / "merged", work / "m-f16.gguf", quant="f16", modelfile=work / "Modelfile.fim", log=lambda m: None)
    assert f16.agreement == 1.0
    q4 = export(work / "merged", work / "m-q4_0.gguf", quant="q4_0", log=lambda m: None)
    assert 0.0 <= q4.agreement <= 1.0
    for rep in (f16, q4):
        assert {"tokenizer.ggml.fim_pre_token_id", "tokenizer.ggml.fim_suf_token_id", "tokenizer.ggml.fim_mid_token_id"} <= set(rep.fim_keys)
        assert rep.fim_keys["fimkit.fim_format"] == "fimkit:spm-paper"
    engine = LlamaCppEngine(resolve_model(str(work / "m-q4_0.gguf")), n_ctx=256)
    assert engine.fim_format.spec == "fimkit:spm-paper"
    result = run_completion(engine, CompletionRequest("def add(a, b):\n    return ", "\n", sampling=SamplingParams(max_tokens=8)))
    assert result.stats.predicted_tokens >= 1
    modelfile = (work / "Modelfile.fim").read_text()
    assert "FROM ./m-f16.gguf" in modelfile and "{{ .Suffix }}" in modelfile and 'PARAMETER stop "<|endoftext|>"' in modelfile


def test_full_fine_tune_resumes_and_exports_without_merging(work, tmp_path):
    """method full: every weight trains, checkpoints hold the whole model, the run ends with a model
    folder that exports straight to a GGUF (the run folder is accepted), and LoRA-only verbs refuse it."""
    import torch

    from fimkit.export.exporter import export
    from fimkit.export.lora import export_lora
    from fimkit.train.config import load_config
    from fimkit.train.merge import merge
    from fimkit.train.trainer import train

    settings = {"model": str(work / "base"), "data": str(work / "data.jsonl"), "output": str(tmp_path / "full"),
                "method": "full", "seq_len": 256, "max_steps": 2, "save_every": 1, "eval_every": 100,
                "optim.batch_size": 2, "optim.grad_accum": 1, "optim.warmup_steps": 1, "optim.lr": 1e-3}
    run = train(load_config(None, settings), log=lambda m: None)
    first = torch.load(sorted((run / "checkpoints").glob("step-*"))[-1] / "model.pt", weights_only=False)
    # Not only adapters: a layer no LoRA would touch (the norms) moved too.
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(work / "base").state_dict()
    norm = next(k for k in first if "norm" in k)
    assert not torch.equal(first[norm], base[norm])
    logged = []
    train(load_config(None, {**settings, "max_steps": 3}), log=logged.append)
    assert any("resuming from" in m for m in logged)
    meta = json.loads((run / "fimkit.json").read_text())
    assert meta["kind"] == "full-run" and meta["method"] == "full" and meta["steps"] == 3
    assert not (run / "adapter").exists()
    model_meta = json.loads((run / "model" / "fimkit.json").read_text())
    assert model_meta["method"] == "full" and model_meta["added_tokens"] == meta["added_tokens"]
    report = export(run, tmp_path / "full-f16.gguf", quant="f16", log=lambda m: None)
    assert report.agreement == 1.0 and report.fim_keys["fimkit.fim_format"] == "fimkit:spm-paper"
    for verb in (lambda: merge(run, tmp_path / "merged"), lambda: export_lora(run, tmp_path / "a.gguf")):
        with pytest.raises(FimkitError, match="full fine-tune.*fimkit export .*model"):
            verb()
    with pytest.raises(FimkitError, match="method full.*load_in"):
        load_config(None, {**settings, "load_in": "4bit"})


def test_full_disk_during_a_checkpoint_is_a_clear_error(work, monkeypatch):
    import torch

    from fimkit.train.checkpoints import Checkpoints

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    import peft

    monkeypatch.setattr(peft, "get_peft_model_state_dict", lambda model: {"w": torch.zeros(1)})
    monkeypatch.setattr(torch, "save", full)
    ck = Checkpoints(work / "diskfull")
    with pytest.raises(FimkitError, match="No space left on device.*resume"):
        ck.save(3, None, type("O", (), {"state_dict": lambda self: {}})(), {}, torch)
    assert not list((work / "diskfull" / "checkpoints").iterdir())


def test_bad_inputs(work, tmp_path):
    from fimkit.export.exporter import export
    from fimkit.train.config import load_config
    from fimkit.train.merge import merge
    from fimkit.train.trainer import train

    with pytest.raises(FimkitError, match="unknown model"):
        train(load_config(None, {"model": "no-such-model", "data": str(work / "data.jsonl"), "output": str(tmp_path / "r")}))
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "fimkit.json").write_text("{}")
    with pytest.raises(FimkitError, match="no adapter"):
        merge(tmp_path / "half", tmp_path / "out")
    with pytest.raises(FimkitError, match="not a fimkit training run"):
        merge(tmp_path, tmp_path / "out")
    (tmp_path / "gpt2").mkdir()
    (tmp_path / "gpt2" / "config.json").write_text(json.dumps({"model_type": "gpt2", "vocab_size": 10}))
    (tmp_path / "gpt2" / "tokenizer.json").write_text(json.dumps({"model": {"type": "BPE", "vocab": {}, "merges": []}}))
    with pytest.raises(FimkitError, match="convert_hf_to_gguf.py failed: .*architecture"):
        export(tmp_path / "gpt2", tmp_path / "x.gguf", quant="f16", verify=False)
    assert not (tmp_path / "x.gguf").exists()
    with pytest.raises(FimkitError, match="unknown --quant"):
        export(tmp_path / "gpt2", tmp_path / "x.gguf", quant="q3_bogus")


def test_lora_only_adapter_loads_in_llama_cpp(tmp_path):
    """A base that already has FIM tokens: the adapter alone is enough, and llama.cpp applies it."""
    import llama_cpp

    from fimkit.data.jsonl import write_jsonl
    from fimkit.data.seed import SamplesConfig, make_examples
    from fimkit.export.gguf_writer import write_gguf
    from fimkit.export.lora import export_lora
    from fimkit.formats import FimFormat
    from fimkit.train.config import load_config
    from fimkit.train.trainer import train

    tok = build_tiny_tokenizer("fimkit")
    build_tiny_model("llama", len(tok)).save_pretrained(tmp_path / "base")
    tok.save_pretrained(tmp_path / "base")
    with write_jsonl(tmp_path / "d.jsonl") as write:
        for ex in make_examples(SamplesConfig(count=20)):
            write(ex)
    train(load_config(None, {"model": str(tmp_path / "base"), "data": str(tmp_path / "d.jsonl"), "fim_format": "fimkit:psm",
                             "output": str(tmp_path / "run"), "max_steps": 2, "seq_len": 256}), log=lambda m: None)
    assert json.loads((tmp_path / "run" / "fimkit.json").read_text())["added_tokens"] == []  # reused, not added
    adapter = export_lora(tmp_path / "run", tmp_path / "lora.gguf", log=lambda m: None)
    # ...and beside it the PEFT folder vLLM loads, the run's adapter byte for byte, found from the GGUF's path
    from fimkit.infer.engines.vllm import peft_adapter

    peft = tmp_path / "lora.peft"
    assert peft_adapter(str(adapter)) == peft
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        assert (peft / name).read_bytes() == (tmp_path / "run" / "adapter" / name).read_bytes()
    base = write_gguf(tmp_path / "base", tmp_path / "base.gguf", dtype="f32", fim_format=FimFormat.parse_spec("fimkit:psm"))
    llm = llama_cpp.Llama(model_path=str(base), lora_path=str(adapter), n_ctx=128, verbose=False)
    out = llm.create_completion("def add(a, b):\n", max_tokens=4, temperature=0)
    assert out["usage"]["completion_tokens"] >= 1
    # fimkit serve --lora: the same adapter on top of the base, through the engine every verb uses.
    from fimkit.infer.config import EngineConfig
    from fimkit.infer.engines.choice import load_engine
    from fimkit.infer.engines.contract import SamplingParams

    engine = load_engine(EngineConfig(model=str(base), lora=str(tmp_path / "lora.gguf"), n_ctx=128))
    assert engine.info().model == "base+lora" and engine.lora == adapter
    assert list(engine.generate("def add(a, b):\n", SamplingParams(max_tokens=2)))
    engine.close()
    with pytest.raises(FimkitError, match="no such file"):
        load_engine(EngineConfig(model=str(base), lora=str(tmp_path / "missing.gguf"), n_ctx=128))
    with pytest.raises(FimkitError, match="needs the llama-cpp backend"):
        load_engine(EngineConfig(model=str(base), lora=str(adapter), backend="transformers"))


def test_lora_only_refuses_runs_that_added_tokens(work):
    from fimkit.export.lora import export_lora

    with pytest.raises(FimkitError, match="cannot carry"):
        export_lora(work / "run", work / "x.gguf")
    assert not (work / "x.gguf").exists()


def test_two_processes_with_accelerate_launch(work, tmp_path):
    """Data-parallel on CPU: two processes, gradients averaged, one run folder."""
    import shutil as _shutil

    accelerate = _shutil.which("accelerate", path=str(Path(sys.executable).parent))
    if accelerate is None:
        pytest.skip("accelerate is not installed")
    out = tmp_path / "ddp"
    cmd = [accelerate, "launch", "--cpu", "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no",
           "--dynamo_backend", "no", "-m", "fimkit", "train", "--model", str(work / "base"), "--data", str(work / "data.jsonl"),
           "--output", str(out), "--seq-len", "256", "--max-steps", "3", "--batch-size", "2", "--grad-accum", "1",
           "--save-every", "10"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3]  # one process writes the metrics
    assert (out / "adapter" / "adapter_model.safetensors").exists()
