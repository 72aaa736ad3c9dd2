"""`fimkit export RUN --lora-only`: the LoRA adapter alone, as a GGUF adapter llama.cpp applies at load.

A llama.cpp adapter holds ``<tensor>.lora_a`` / ``<tensor>.lora_b`` pairs and ``adapter.lora.alpha``;
it cannot add tokens. A run that added FIM tokens to the vocabulary therefore has no adapter-only
form, and the export says so rather than writing an adapter that would silently mis-tokenize.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from fimkit.errors import FimkitError, require
from fimkit.export.gguf_writer import _permute, gguf_file
from fimkit.fileio import atomic_output
from fimkit.models import resolve_model
from fimkit.models.adapter import peft_beside
from fimkit.runs import base_ref, read_lora_run

ARCHES = {"llama": "LLAMA", "mistral": "LLAMA", "qwen2": "QWEN2", "gemma3": "GEMMA3", "gemma3_text": "GEMMA3"}


def export_lora(run_dir: str | Path, output: str | Path, *, log=print) -> Path:
    gguf = require("gguf", extra="train", purpose="GGUF export")
    np = require("numpy", extra="train", purpose="GGUF export")
    st = require("safetensors.numpy", package="safetensors", extra="train", purpose="GGUF export")
    run_dir, output = Path(run_dir), Path(output)
    meta = read_lora_run(run_dir)
    if meta.get("added_tokens"):
        raise FimkitError(
            f"{run_dir} added {len(meta['added_tokens'])} FIM tokens to the vocabulary, which a llama.cpp LoRA adapter "
            "cannot carry; export the merged model instead (fimkit merge, then fimkit export)"
        )
    adapter_cfg = json.loads((run_dir / "adapter" / "adapter_config.json").read_text())
    base = resolve_model(base_ref(meta))
    if base.kind == "hf":
        config = json.loads((base.path / "config.json").read_text())
    else:  # a GGUF base (the embedded model): its architecture and head counts as transformers reads them
        transformers = require("transformers", extra="train", purpose="GGUF export")
        try:
            config = transformers.AutoConfig.from_pretrained(str(base.path.parent), gguf_file=base.path.name).to_dict()
        except (ValueError, OSError, KeyError) as exc:
            raise FimkitError(f"--lora-only: transformers cannot read the architecture of {base.path} ({exc})") from exc
    arch = config.get("model_type")
    if arch not in ARCHES:
        raise FimkitError(f"--lora-only supports {', '.join(sorted(ARCHES))}, not {arch!r}")
    names = gguf.TensorNameMap(getattr(gguf.MODEL_ARCH, ARCHES[arch]), config["num_hidden_layers"])
    n_head = config["num_attention_heads"]
    n_kv = config.get("num_key_value_heads", n_head)
    tensors = st.load_file(str(run_dir / "adapter" / "adapter_model.safetensors"))
    gguf_arch = "gemma3" if ARCHES[arch] == "GEMMA3" else "llama" if arch == "mistral" else arch
    with gguf_file(output, gguf_arch) as writer:
        writer.add_string("general.type", "adapter")
        writer.add_string("adapter.type", "lora")
        writer.add_float32("adapter.lora.alpha", float(adapter_cfg["lora_alpha"]))
        pairs = 0
        for key, value in sorted(tensors.items()):
            if ".lora_A." not in key:
                continue
            module = key.split("base_model.model.", 1)[-1].split(".lora_A.")[0]  # model.layers.0.self_attn.q_proj
            b = tensors[key.replace(".lora_A.", ".lora_B.")].astype(np.float32)
            a = value.astype(np.float32)
            target = names.get_name(module + ".weight", try_suffixes=(".weight",))
            if target is None:
                raise FimkitError(f"no GGUF name for {module}")
            if arch in ("llama", "mistral") and module.endswith("q_proj"):
                b = _permute(b, n_head)
            elif arch in ("llama", "mistral") and module.endswith("k_proj"):
                b = _permute(b, n_kv)
            writer.add_tensor(target + ".lora_a", a)
            writer.add_tensor(target + ".lora_b", b)
            pairs += 1
        if not pairs:
            raise FimkitError(f"{run_dir}/adapter holds no LoRA matrices")
    peft = peft_beside(output)
    with atomic_output(peft, replace_dir=True) as tmp:  # vLLM loads LoRA modules in the PEFT layout
        shutil.copytree(run_dir / "adapter", tmp)
    log(f"wrote the LoRA adapter {output} ({pairs} matrices pairs, alpha {adapter_cfg['lora_alpha']}) and its PEFT "
        f"folder {peft} (for --backend vllm)")
    return output

