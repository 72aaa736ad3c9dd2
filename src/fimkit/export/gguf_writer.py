"""Writing a Hugging Face causal LM (llama family) to a GGUF that llama.cpp loads.

gguf-py provides the container and tensor names; this module supplies what a converter must:
the hyperparameters, the tokenizer (byte-level BPE as ``gpt2``, every added token typed as a
control token), the FIM metadata (``tokenizer.ggml.fim_*_token_id`` always set, plus
``fimkit.fim_format``, so serving never has to guess), and llama.cpp's rotary layout for
the query and key projections. Output goes to a temporary name and is renamed when whole.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

from fimkit.errors import FimkitError, require
from fimkit.fileio import atomic_output
from fimkit.formats import FimFormat
from fimkit.formats.detect import FIMKIT_GGUF_KEY, gguf_fim_keys

SUPPORTED = {"llama", "mistral", "qwen2"}
TOKEN_NORMAL, TOKEN_CONTROL = 1, 3


@contextmanager
def gguf_file(out_path: Path, arch: str):
    """A GGUFWriter on a temporary name beside ``out_path``; the file is finished and renamed into place
    only if the block succeeds, so a GGUF that exists is a whole one."""
    gguf = require("gguf", extra="train", purpose="GGUF export")
    with atomic_output(out_path) as tmp:
        writer = gguf.GGUFWriter(str(tmp), arch)
        yield writer
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()


def _permute(w, n_head: int):
    """HF stores rotary halves split; llama.cpp expects them interleaved."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _tokenizer_tables(tokenizer_json: dict, vocab_size: int):
    model = tokenizer_json.get("model", {})
    if model.get("type") != "BPE":
        raise FimkitError(f"only byte-level BPE tokenizers can be written to GGUF here, not {model.get('type')!r}")
    vocab: dict[str, int] = dict(model["vocab"])
    added = {t["content"]: t["id"] for t in tokenizer_json.get("added_tokens", [])}
    vocab.update(added)
    tokens = [f"[PAD{i}]" for i in range(vocab_size)]
    types = [TOKEN_NORMAL] * vocab_size
    for tok, tid in vocab.items():
        if tid < vocab_size:
            tokens[tid] = tok
            if tok in added:
                types[tid] = TOKEN_CONTROL
    for i, tok in enumerate(tokens):
        if tok.startswith("[PAD") and tok not in vocab:
            types[i] = 5  # unused
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]
    return tokens, types, merges


def write_gguf(model_dir: str | Path, out_path: str | Path, *, dtype: str = "f16", fim_format: FimFormat | None = None,
               name: str | None = None) -> Path:
    """Write ``model_dir`` (config.json, safetensors, tokenizer.json) as a GGUF at ``out_path``."""
    np = require("numpy", extra="train", purpose="GGUF export")
    gguf = require("gguf", extra="train", purpose="GGUF export")
    safetensors = require("safetensors.numpy", package="safetensors", extra="train", purpose="GGUF export")
    model_dir, out_path = Path(model_dir), Path(out_path)
    config = json.loads((model_dir / "config.json").read_text())
    arch = config.get("model_type")
    if arch not in SUPPORTED:
        raise FimkitError(
            f"GGUF export supports {', '.join(sorted(SUPPORTED))} and gemma3 models, not {arch!r} ({model_dir})"
        )
    tok_json = json.loads((model_dir / "tokenizer.json").read_text())
    vocab_size = config["vocab_size"]
    tokens, types, merges = _tokenizer_tables(tok_json, vocab_size)
    n_head, n_kv = config["num_attention_heads"], config.get("num_key_value_heads", config["num_attention_heads"])
    hidden, n_layers = config["hidden_size"], config["num_hidden_layers"]
    head_dim = config.get("head_dim") or hidden // n_head

    with gguf_file(out_path, "llama") as w:
        w.add_name(name or model_dir.name)
        w.add_context_length(config.get("max_position_embeddings", 2048))
        w.add_embedding_length(hidden)
        w.add_block_count(n_layers)
        w.add_feed_forward_length(config["intermediate_size"])
        w.add_head_count(n_head)
        w.add_head_count_kv(n_kv)
        w.add_rope_dimension_count(head_dim)
        w.add_rope_freq_base(float(config.get("rope_theta", 10000.0)))
        w.add_layer_norm_rms_eps(float(config.get("rms_norm_eps", 1e-6)))
        w.add_vocab_size(vocab_size)
        w.add_file_type(gguf.LlamaFileType.MOSTLY_F16 if dtype == "f16" else gguf.LlamaFileType.ALL_F32)
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre("gpt-2")
        w.add_token_list(tokens)
        w.add_token_types(types)
        w.add_token_merges(merges)
        ids = {t: i for i, t in enumerate(tokens)}
        for key in ("bos", "eos", "pad"):
            tid = config.get(f"{key}_token_id")
            if isinstance(tid, int):
                getattr(w, f"add_{key}_token_id")(tid)
        w.add_add_bos_token(config.get("bos_token_id") is not None)
        if fim_format is not None and fim_format.is_fim:
            for key, sentinel in gguf_fim_keys(fim_format.family).items():
                if sentinel in ids:
                    w.add_uint32(key, ids[sentinel])
            w.add_string(FIMKIT_GGUF_KEY, fim_format.spec)

        names = gguf.TensorNameMap(gguf.MODEL_ARCH.LLAMA, n_layers)
        tied = config.get("tie_word_embeddings", False)
        seen = set()
        for shard in sorted(model_dir.glob("*.safetensors")):
            for hf_name, tensor in safetensors.load_file(str(shard)).items():
                if hf_name.endswith("rotary_emb.inv_freq"):
                    continue
                new = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
                if new is None:
                    raise FimkitError(f"{shard.name}: tensor {hf_name!r} has no GGUF name for {arch}")
                data = tensor.astype(np.float32)
                if hf_name.endswith("q_proj.weight"):
                    data = _permute(data, n_head)
                elif hf_name.endswith("k_proj.weight"):
                    data = _permute(data, n_kv)
                # llama.cpp keeps norms in F32; matrices in the requested type.
                out = data.astype(np.float16) if dtype == "f16" and data.ndim == 2 else data
                w.add_tensor(new, out)
                seen.add(new)
        if "output.weight" not in seen and not tied:
            raise FimkitError(f"{model_dir}: no lm_head weights and tie_word_embeddings is false")
    return out_path
