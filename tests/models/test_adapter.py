"""LoRA adapter files are checked before llama.cpp sees them: a garbage, empty, truncated or
wrong-kind file once ended the server with SIGSEGV at its first completion (issue 27, finding 1)."""

import json
import subprocess
import sys

import pytest
from conftest import write_adapter

from fimkit.errors import FimkitError
from fimkit.models.adapter import check_adapter, find_adapter

pytest.importorskip("gguf")

@pytest.fixture(scope="module")
def good(tiny_fim_gguf, tmp_path_factory):
    return write_adapter(tmp_path_factory.mktemp("adapter") / "good.gguf", tiny_fim_gguf)


def test_a_well_formed_adapter_passes_and_llama_cpp_applies_it(good, tiny_fim_gguf):
    """The check accepts what llama.cpp accepts: the same file loads and completes."""
    info = check_adapter(good, tiny_fim_gguf)
    assert info.pairs == 4 and info.alpha == 8.0
    llama_cpp = pytest.importorskip("llama_cpp")
    llm = llama_cpp.Llama(model_path=str(tiny_fim_gguf), lora_path=str(good), n_ctx=64, verbose=False)
    assert llm.create_completion("def add(a, b):\n", max_tokens=2, temperature=0)["usage"]["completion_tokens"] >= 1
    llm.close()


@pytest.mark.parametrize("make, needle", [
    (lambda p, base, good: p.write_bytes(b""), "only 0 bytes"),
    (lambda p, base, good: p.write_bytes(b"\x8boM\x91" + bytes(range(256)) * 20), "not a GGUF file"),
    (lambda p, base, good: p.write_bytes(good.read_bytes()[: good.stat().st_size - 100]), "truncated"),
    (lambda p, base, good: p.write_bytes(good.read_bytes()[:40]), "truncated"),
    (lambda p, base, good: p.write_bytes(base.read_bytes()), "a whole model, not a LoRA adapter"),
    (lambda p, base, good: write_adapter(p, base, kind="vocab"), "general.type 'vocab'"),
    (lambda p, base, good: write_adapter(p, base, lora_type=None), "adapter type None is not 'lora'"),
    (lambda p, base, good: write_adapter(p, base, arch="gemma3"), "an adapter for gemma3, but"),
    (lambda p, base, good: write_adapter(p, base, drop=("blk.0.attn_q.weight.lora_b",)), "has no lora_b"),
    (lambda p, base, good: write_adapter(p, base, wrong=("blk.1.attn_v.weight",)), "do not fit its shape"),
    (lambda p, base, good: write_adapter(p, base, extra=("blk.9.ffn_up.weight",)), "which .* does not have"),
    (lambda p, base, good: write_adapter(p, base, alpha=float("nan")), "not a finite number"),
])
def test_a_bad_adapter_is_one_line_naming_what_is_wrong(make, needle, tiny_fim_gguf, good, tmp_path):
    bad = tmp_path / "bad.gguf"
    make(bad, tiny_fim_gguf, good)
    with pytest.raises(FimkitError, match=needle) as err:
        check_adapter(bad, tiny_fim_gguf)
    assert "\n" not in str(err.value)


def test_find_adapter_names_the_problem(tmp_path, good):
    with pytest.raises(FimkitError, match="no such file"):
        find_adapter(tmp_path / "missing.gguf")
    with pytest.raises(FimkitError, match="is empty"):
        find_adapter("  ")
    with pytest.raises(FimkitError, match="found 0"):
        find_adapter(tmp_path)
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "a.gguf").write_bytes(good.read_bytes())
    assert find_adapter(tmp_path / "one") == tmp_path / "one" / "a.gguf"


@pytest.mark.integration
@pytest.mark.parametrize("content", [b"", b"GGUF" + b"\xff" * 60, "base"])
def test_complete_with_a_bad_lora_is_one_line_not_a_crash(content, gemma_gguf, tmp_path):
    """The real embedded model under llama.cpp: before the check, each of these ended with SIGSEGV (139)."""
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(gemma_gguf.read_bytes() if content == "base" else content)
    r = subprocess.run([sys.executable, "-m", "fimkit", "complete", "-", "--lora", str(bad)],
                       input=json.dumps({"prefix": "def add(a, b):\n    return "}), capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 2, (r.returncode, r.stderr[-500:])
    assert r.stderr.startswith("fimkit complete: error: --lora") and len(r.stderr.strip().splitlines()) == 1
