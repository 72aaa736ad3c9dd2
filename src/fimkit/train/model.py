"""Loading a base model for FIM training (and for merging): the model, a FIM-ready tokenizer, and the
embedding rows of any sentinel tokens that had to be added.

The tokenizer comes from ``fimkit.data.tokenizer.load_tokenizer`` (the same one tokenization uses),
so token ids agree everywhere. Added rows start at the mean of the existing embeddings: a random
row makes the model's first FIM predictions noise, the mean makes them neutral (fim-facts section 8).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from fimkit.data.tokenizer import load_tokenizer
from fimkit.errors import FimkitError, require
from fimkit.formats import FimFormat
from fimkit.models import resolve_model
from fimkit.models.hf_folder import dequantized


@dataclass
class LoadedBase:
    model: object
    tokenizer: object  # fimkit.data.tokenizer.FimTokenizer
    new_token_ids: list[int]
    model_ref: str
    model_path: Path
    model_kind: str
    base_hash: str


def base_hash(resolved) -> str:
    """A fingerprint of the base: the pinned sha256 of an embedded model, else size and name of its files."""
    if resolved.embedded is not None:
        return "sha256:" + resolved.embedded.sha256
    h = hashlib.sha256()
    files = [resolved.path] if resolved.kind == "gguf" else sorted(resolved.path.glob("*"))
    for f in files:
        if f.is_file():
            h.update(f"{f.name}:{f.stat().st_size}".encode())
    return "files:" + h.hexdigest()[:32]


def load_base(model_ref: str, fim_format: FimFormat, *, dtype: str = "fp32", load_in: str = "none",
              new_token_init: str = "mean", device: str = "cpu", log=None) -> LoadedBase:
    torch = require("torch", extra="train", purpose="training")
    transformers = require("transformers", extra="train", purpose="training")

    resolved = resolve_model(model_ref)
    if resolved.lora is not None:
        raise FimkitError(f"{model_ref} is a fimkit adapt folder (a base with a LoRA adapter on top); train from its "
                          f"base model ({resolved.path}), or run fimkit adapt again")
    tok = load_tokenizer(model_ref, fim_format.family if fim_format.is_fim else None)
    kwargs: dict = {"torch_dtype": torch.float32}
    if load_in != "none":
        if not torch.cuda.is_available():
            raise FimkitError(f"--load-in {load_in} needs a CUDA GPU (bitsandbytes); on a CPU train in fp32/bf16")
        require("bitsandbytes", extra="train", purpose=f"{load_in} loading")
        kwargs["quantization_config"] = transformers.BitsAndBytesConfig(
            load_in_8bit=load_in == "8bit", load_in_4bit=load_in == "4bit")
    if resolved.kind == "gguf":
        model = transformers.AutoModelForCausalLM.from_pretrained(str(dequantized(resolved, log=log)), **kwargs)
    else:
        model = transformers.AutoModelForCausalLM.from_pretrained(str(resolved.path), **kwargs)
    rows = model.get_input_embeddings().weight.shape[0]
    new_ids = [tok.token_id(s) for s in tok.added]
    if tok.vocab_size > rows:
        with torch.no_grad():
            mean = model.get_input_embeddings().weight.float().mean(dim=0)
            model.resize_token_embeddings(tok.vocab_size, mean_resizing=False)
            emb = model.get_input_embeddings().weight
            for tid in new_ids:
                emb[tid] = mean.to(emb.dtype) if new_token_init == "mean" else torch.randn_like(emb[tid]) * emb.std()
            out = model.get_output_embeddings()
            if out is not None and out.weight is not emb:
                for tid in new_ids:
                    out.weight[tid] = out.weight[:rows].float().mean(dim=0).to(out.weight.dtype)
    model.to(device)
    return LoadedBase(model, tok, new_ids, model_ref, resolved.path, resolved.kind, base_hash(resolved))
