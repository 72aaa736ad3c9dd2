import numpy as np
import pytest

from fimkit.errors import CorruptFileError
from fimkit.models.gguf_meta import read_gguf_header


def write_tiny_gguf(path, tokens=("<pad>", "<eos>", "a", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"), fim=True):
    """A small but well-formed GGUF written with gguf-py (the reference writer)."""
    import gguf

    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("tiny")
    w.add_context_length(128)
    w.add_tokenizer_model("gpt2")
    w.add_token_list(list(tokens))
    w.add_token_scores([0.0] * len(tokens))
    if fim:
        w.add_uint32("tokenizer.ggml.fim_pre_token_id", 3)
        w.add_uint32("tokenizer.ggml.fim_suf_token_id", 4)
        w.add_uint32("tokenizer.ggml.fim_mid_token_id", 5)
    w.add_tensor("token_embd.weight", np.arange(len(tokens) * 8, dtype=np.float32).reshape(len(tokens), 8))
    w.add_tensor("output_norm.weight", np.ones(8, dtype=np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def test_reads_metadata_tokens_and_tensors(tmp_path):
    h = read_gguf_header(write_tiny_gguf(tmp_path / "t.gguf"))
    assert h.architecture == "llama" and h.get("general.name") == "tiny"
    assert h.get("tokenizer.ggml.tokens")[3] == "<|fim_prefix|>"
    assert len(h.get("tokenizer.ggml.scores")) == 6  # not decoded, length still known
    assert {t.name: t.shape for t in h.tensors} == {"token_embd.weight": (8, 6), "output_norm.weight": (8,)}
    assert h.get("tokenizer.ggml.fim_mid_token_id") == 5


def test_truncated_file_is_named_as_such(tmp_path):
    path = write_tiny_gguf(tmp_path / "t.gguf")
    data = path.read_bytes()
    h = read_gguf_header(path)
    last_byte = max(h.data_offset + t.offset + t.nbytes() for t in h.tensors)  # the writer pads after it
    for cut in (30, len(data) // 3, last_byte - 1):
        (tmp_path / "cut.gguf").write_bytes(data[:cut])
        with pytest.raises(CorruptFileError, match="truncated"):
            read_gguf_header(tmp_path / "cut.gguf")


def test_other_files_are_refused_clearly(tmp_path):
    (tmp_path / "x.gguf").write_bytes(b"PK\x03\x04" + b"\0" * 100)
    with pytest.raises(CorruptFileError, match="not a GGUF"):
        read_gguf_header(tmp_path / "x.gguf")
    (tmp_path / "tiny.gguf").write_bytes(b"GGUF")
    with pytest.raises(CorruptFileError, match="too short"):
        read_gguf_header(tmp_path / "tiny.gguf")
