"""GGUF export through llama.cpp's own converter (from the pinned llama.cpp sources), with fimkit's FIM
metadata added as it writes, and fimkit's writer only for tokenizers the converter does not know."""

import json
import os
import sys
from pathlib import Path

import pytest

from fimkit.errors import FimkitError
from fimkit.export import convert
from fimkit.formats import FimFormat

QWEN = FimFormat.parse_spec("qwen2.5-coder:psm")


def _tokenizer_json(folder: Path, tokens: dict[str, int]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    added = [{"id": i, "content": t} for t, i in tokens.items() if t.startswith("<|")]
    vocab = {t: i for t, i in tokens.items() if not t.startswith("<|")}
    (folder / "tokenizer.json").write_text(json.dumps({"model": {"type": "BPE", "vocab": vocab}, "added_tokens": added}))
    return folder


def test_fim_keys_come_from_the_models_own_vocabulary(tmp_path):
    folder = _tokenizer_json(tmp_path / "m", {"a": 0, "<|fim_prefix|>": 5, "<|fim_suffix|>": 6, "<|fim_middle|>": 7,
                                               "<|endoftext|>": 8, "<|fim_pad|>": 9})
    meta = convert.fim_metadata(folder, QWEN)
    assert meta["tokenizer.ggml.fim_pre_token_id"] == ("uint32", 5) and meta["tokenizer.ggml.fim_mid_token_id"] == ("uint32", 7)
    assert meta["fimkit.fim_format"] == ("string", "qwen2.5-coder:psm") and convert.fim_metadata(folder, None) == {}
    missing = _tokenizer_json(tmp_path / "n", {"a": 0, "<|fim_prefix|>": 5})
    with pytest.raises(FimkitError, match="has no <\\|fim_suffix\\|>, <\\|fim_middle\\|>"):
        convert.fim_metadata(missing, QWEN)


def stand_in_converter(tmp_path, monkeypatch, script: str) -> None:
    """``script`` as convert_hf_to_gguf.py in a stand-in llama.cpp folder that has the real gguf-py,
    and FIMKIT_LLAMA_CONVERT pointing at it."""
    real = convert.converter_dir()
    fake = tmp_path / "llama.cpp"
    fake.mkdir()
    (fake / "gguf-py").symlink_to(real / "gguf-py")
    (fake / "convert_hf_to_gguf.py").write_text(script)
    monkeypatch.setenv("FIMKIT_LLAMA_CONVERT", str(fake))


def test_the_converter_runs_unchanged_and_its_gguf_gets_fimkits_keys(tmp_path, monkeypatch):
    """A stand-in converter script that writes a GGUF with the converter's own gguf-py: the child adds
    the keys fimkit passes before the header is written."""
    stand_in_converter(tmp_path, monkeypatch,
                       "import sys, gguf\n"
                       "out = sys.argv[sys.argv.index('--outfile') + 1]\n"
                       "w = gguf.GGUFWriter(out, 'llama')\n"
                       "w.add_string('general.name', 'stand-in')\n"
                       "w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()\n")
    out = tmp_path / "out.gguf"
    convert.run_converter("convert_hf_to_gguf.py", ["model", "--outfile", str(out)], tmp_path / "log",
                          {"tokenizer.ggml.fim_pre_token_id": ("uint32", 5), "fimkit.fim_format": ("string", "x:psm")})
    from fimkit.models.gguf_meta import read_gguf_header

    meta = read_gguf_header(out).metadata
    assert meta["general.name"] == "stand-in" and meta["tokenizer.ggml.fim_pre_token_id"] == 5
    assert meta["fimkit.fim_format"] == "x:psm"


def test_relative_paths_reach_the_converter_as_the_user_meant_them(tmp_path, monkeypatch):
    """The converter runs in its own folder: a model folder and an output named relative to the user's
    working directory (what `fimkit pipeline` passes) must still be found there."""
    stand_in_converter(tmp_path, monkeypatch,
                       "import os, sys, gguf\n"
                       "if not os.path.isdir(sys.argv[1]): sys.exit(f'{sys.argv[1]} is not a directory')\n"
                       "w = gguf.GGUFWriter(sys.argv[sys.argv.index('--outfile') + 1], 'llama')\n"
                       "w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()\n")
    work = tmp_path / "work"
    (work / "merged").mkdir(parents=True)
    monkeypatch.chdir(work)
    out = convert.convert_hf(Path("merged"), Path("out.f16.gguf"))
    assert (work / "out.f16.gguf").is_file() and out == Path("out.f16.gguf")


def test_a_failing_converter_is_one_line_with_its_log(tmp_path, monkeypatch):
    fake = tmp_path / "llama.cpp"
    (fake / "gguf-py" / "gguf").mkdir(parents=True)
    (fake / "gguf-py" / "gguf" / "__init__.py").write_text("class GGUFWriter:\n    def write_header_to_file(self): pass\n")
    (fake / "convert_hf_to_gguf.py").write_text("raise SystemExit('unsupported architecture Frobnicator')\n")
    monkeypatch.setenv("FIMKIT_LLAMA_CONVERT", str(fake))
    with pytest.raises(FimkitError, match="convert_hf_to_gguf.py failed: unsupported architecture Frobnicator"):
        convert.run_converter("convert_hf_to_gguf.py", [], tmp_path / "log.txt")


def test_without_the_converter_the_error_says_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setenv("FIMKIT_LLAMA_CONVERT", str(tmp_path / "nowhere"))
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    with pytest.raises(FimkitError, match="make install"):
        convert.converter_dir()


@pytest.mark.slow
def test_a_tokenizer_the_converter_does_not_know_falls_back_to_fimkits_writer(tmp_path):
    """The real converter refuses a tokenizer trained from scratch (its pre-tokenizer is unknown to it);
    fimkit's llama-family writer takes over, and llama.cpp loads the result with its FIM keys."""
    from conftest import build_tiny_model, build_tiny_tokenizer

    tok = build_tiny_tokenizer("fimkit")
    build_tiny_model("llama", len(tok)).save_pretrained(tmp_path / "hf")
    tok.save_pretrained(tmp_path / "hf")
    out = convert.convert_hf(tmp_path / "hf", tmp_path / "tiny.gguf", fim_format=FimFormat.parse_spec("fimkit:psm"))
    assert "BPE pre-tokenizer was not recognized" in (tmp_path / "tiny.gguf.convert.log").read_text()
    from fimkit.infer.engines.llama_cpp import LlamaCppEngine
    from fimkit.models import resolve_model

    engine = LlamaCppEngine(resolve_model(str(out)), n_ctx=128)
    assert engine.fim_format.spec == "fimkit:psm"
    engine.close()
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".tmp-")]  # no temporary file left behind
