import json

import pytest
from models.test_gguf_meta import write_tiny_gguf

from fimkit.errors import CorruptFileError, ModelNotFoundError
from fimkit.models import inspect_model, resolve_model


def test_gguf_file_and_folder_with_one_gguf(tmp_path):
    path = write_tiny_gguf(tmp_path / "m.gguf")
    assert resolve_model(str(path)).kind == "gguf"
    assert resolve_model(str(tmp_path)).path == path
    info = inspect_model(resolve_model(str(path)))
    assert info.architecture == "llama" and info.detection.family.name == "fimkit" and info.vocab_size == 6


def test_ambiguous_or_empty_folders_say_what_to_pass(tmp_path):
    write_tiny_gguf(tmp_path / "a.gguf")
    write_tiny_gguf(tmp_path / "b.gguf")
    with pytest.raises(ModelNotFoundError, match="several .gguf"):
        resolve_model(str(tmp_path))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFoundError, match="config.json"):
        resolve_model(str(tmp_path / "empty"))


def test_unknown_names_hub_ids_and_non_models(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(ModelNotFoundError, match="unknown model 'gemma-9b'.*gemma-3-270m"):
        resolve_model("gemma-9b")
    with pytest.raises(ModelNotFoundError, match="never downloads.*huggingface-cli download"):
        resolve_model("bigcode/starcoder2-3b")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(CorruptFileError, match="not a GGUF"):
        resolve_model(str(tmp_path / "notes.txt"))


def test_hub_ids_found_in_the_local_cache(tmp_path, monkeypatch):
    snap = tmp_path / "hub" / "models--acme--tiny" / "snapshots" / "abc123"
    snap.mkdir(parents=True)
    (snap / "config.json").write_text(json.dumps({"model_type": "llama"}))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    assert resolve_model("acme/tiny").path == snap


@pytest.mark.slow
def test_hf_directory_is_inspected_without_loading_weights(tmp_path, tiny_tokenizer):
    from conftest import build_tiny_model

    model = build_tiny_model("llama", len(tiny_tokenizer))
    model.save_pretrained(tmp_path)
    tiny_tokenizer.save_pretrained(tmp_path)
    info = inspect_model(resolve_model(str(tmp_path)))
    assert info.architecture == "llama" and info.detection.family.name == "fimkit"
    assert info.vocab_size == len(tiny_tokenizer) and info.size_bytes > 0
    # fimkit's own record of the trained format wins over the vocabulary.
    (tmp_path / "fimkit.json").write_text(json.dumps({"fim_format": "fimkit:spm-paper"}))
    assert inspect_model(resolve_model(str(tmp_path))).detection.layout == "spm-paper"
