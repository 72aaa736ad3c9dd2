"""`fimkit export --format hf`: a GGUF as the Hugging Face folder vLLM and transformers load, with its
tokenizer and FIM format, giving the GGUF's own greedy tokens; inputs and existing outputs untouched."""

import json
import subprocess
import sys

import pytest

from fimkit.errors import FimkitError

pytestmark = pytest.mark.slow


def test_a_gguf_becomes_a_folder_that_completes_as_the_gguf_does(tiny_fim_gguf, tmp_path, fimkit_home):
    from fimkit.export.hf import export_hf
    from fimkit.infer.engines.contract import SamplingParams
    from fimkit.infer.engines.hf import TransformersEngine
    from fimkit.infer.engines.llama_cpp import LlamaCppEngine
    from fimkit.models import resolve_model

    before = tiny_fim_gguf.read_bytes()
    out = export_hf(str(tiny_fim_gguf), tmp_path / "hf", log=lambda m: None)
    assert tiny_fim_gguf.read_bytes() == before
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "fimkit.json"} <= {
        f.name for f in out.iterdir()}
    assert json.loads((out / "fimkit.json").read_text())["fim_format"] == "fimkit:psm"
    hf = TransformersEngine(resolve_model(str(out)), n_ctx=256)
    gguf = LlamaCppEngine(resolve_model(str(tiny_fim_gguf)), n_ctx=256)
    assert hf.fim_format.spec == gguf.fim_format.spec == "fimkit:psm"
    prompt = gguf.fim_format.render("def add(a, b):\n    return ", "\n")
    ours = [p.token_id for p in hf.generate(prompt, SamplingParams(max_tokens=8))]
    theirs = [p.token_id for p in gguf.generate(prompt, SamplingParams(max_tokens=8))]
    gguf.close()
    assert ours == theirs and len(ours) == 8
    with pytest.raises(FimkitError, match="already exists"):
        export_hf(str(tiny_fim_gguf), out, log=lambda m: None)


def test_the_cli_writes_it_and_refuses_lora_only(tiny_fim_gguf, tmp_path, fimkit_home):
    run = [sys.executable, "-m", "fimkit", "export", str(tiny_fim_gguf), "--format", "hf", "--output"]
    done = subprocess.run([*run, str(tmp_path / "hf")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "fimkit serve --backend vllm --model" in done.stderr
    bad = subprocess.run([*run, str(tmp_path / "x"), "--lora-only"], capture_output=True, text=True)
    assert bad.returncode != 0 and "--lora-only" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
