"""Writing a merged Gemma-3 model to GGUF, with the base model's GGUF as the template.

Gemma's tokenizer, rope and sliding-window settings are already right in the base GGUF (the
embedded model is one), so its metadata is copied key by key; the vocabulary gains the added
FIM tokens as control tokens; the ``fim_*`` keys and ``fimkit.fim_format`` are set; and every
tensor comes from the merged weights under its GGUF name. Two conversions matter: Gemma's
RMSNorm multiplies by (1 + w) where llama.cpp multiplies by w, so norm weights gain 1 (checked
against the base GGUF: the difference is exactly 1), and the tied output layer is not stored.
"""

from __future__ import annotations

import json
from pathlib import Path

from fimkit.errors import FimkitError, require
from fimkit.export.gguf_writer import gguf_file
from fimkit.formats import FimFormat
from fimkit.formats.detect import FIMKIT_GGUF_KEY, gguf_fim_keys

_TOKEN_KEYS = ("tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type")
_REPLACED = {"general.architecture", "general.file_type", *_TOKEN_KEYS, FIMKIT_GGUF_KEY}


def _copy_metadata(reader, writer, gguf) -> None:
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key in _REPLACED or key.startswith("tokenizer.ggml.fim_"):
            continue
        vtype = field.types[0]
        value = field.contents()
        if vtype == gguf.GGUFValueType.ARRAY:
            writer.add_key_value(key, value, vtype, sub_type=field.types[-1])
        else:
            writer.add_key_value(key, value, vtype)


def write_gemma3_gguf(merged_dir: str | Path, template: str | Path, out_path: str | Path, *, fim_format: FimFormat) -> Path:
    gguf = require("gguf", extra="train", purpose="GGUF export")
    np = require("numpy", extra="train", purpose="GGUF export")
    st = require("safetensors.numpy", package="safetensors", extra="train", purpose="GGUF export")
    merged_dir, out_path = Path(merged_dir), Path(out_path)
    config = json.loads((merged_dir / "config.json").read_text())
    tok_json = json.loads((merged_dir / "tokenizer.json").read_text())
    reader = gguf.GGUFReader(str(template))
    base_tokens = reader.fields["tokenizer.ggml.tokens"].contents()
    scores = list(reader.fields["tokenizer.ggml.scores"].contents())
    types = list(reader.fields["tokenizer.ggml.token_type"].contents())
    added = sorted((t["id"], t["content"]) for t in tok_json.get("added_tokens", []) if t["id"] >= len(base_tokens))
    if [i for i, _ in added] != list(range(len(base_tokens), len(base_tokens) + len(added))):
        raise FimkitError(f"{merged_dir}: added token ids are not contiguous after the base vocabulary")
    tokens = list(base_tokens) + [c for _, c in added]
    if len(tokens) != config["vocab_size"]:
        raise FimkitError(f"vocabulary of {len(tokens)} tokens does not match the model's {config['vocab_size']} rows")
    scores += [0.0] * len(added)
    types += [gguf.TokenType.CONTROL] * len(added)  # FIM sentinels are control tokens

    n_layers = config["num_hidden_layers"]
    names = gguf.TensorNameMap(gguf.MODEL_ARCH.GEMMA3, n_layers)
    template_names = {t.name for t in reader.tensors}
    with gguf_file(out_path, "gemma3") as writer:
        _copy_metadata(reader, writer, gguf)
        writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
        writer.add_token_list(tokens)
        writer.add_token_scores(scores)
        writer.add_token_types(types)
        ids = {t: i for i, t in enumerate(tokens)}
        for key, sentinel in gguf_fim_keys(fim_format.family).items():
            if sentinel in ids:
                writer.add_uint32(key, ids[sentinel])
        writer.add_string(FIMKIT_GGUF_KEY, fim_format.spec)
        written = set()
        for shard in sorted(merged_dir.glob("*.safetensors")):
            for hf_name, tensor in st.load_file(str(shard)).items():
                if hf_name == "lm_head.weight":
                    continue  # tied to token_embd
                name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
                if name is None:
                    raise FimkitError(f"{shard.name}: no GGUF name for {hf_name}")
                data = tensor.astype(np.float32)
                if hf_name.endswith("norm.weight"):
                    data = data + 1.0
                writer.add_tensor(name, data.astype(np.float16) if data.ndim == 2 else data)
                written.add(name)
        missing = template_names - written
        if missing:
            raise FimkitError(f"merged model lacks tensors the base GGUF has: {sorted(missing)[:5]}")
    return out_path
