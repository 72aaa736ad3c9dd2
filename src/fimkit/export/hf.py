"""`fimkit export --format hf`: any model fimkit serves as a Hugging Face folder (safetensors, config,
tokenizer, fimkit.json with its FIM format), the form vLLM and transformers load.

A GGUF (an embedded model, a pipeline's q4_k_m) is dequantized by transformers once
(``fimkit.models.hf_folder``) and copied out: the weights are exactly the GGUF's values in fp32, so a
4-bit model stays as good as it was, no better, at 4x its size. A merged run is already such a folder:
it is copied with its FIM format recorded. The result is read back before it is renamed into place.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from fimkit.errors import FimkitError
from fimkit.fileio import atomic_output
from fimkit.models import inspect_model, resolve_model
from fimkit.models.hf_folder import dequantized
from fimkit.models.profile import served_format
from fimkit.models.resolve import ResolvedModel
from fimkit.runs import META, read_meta, write_meta

NEEDED = ("config.json", "tokenizer.json", "tokenizer_config.json")


def export_hf(model_ref: str, output: str | Path, *, log=print) -> Path:
    resolved = resolve_model(model_ref, log=log)
    if resolved.lora is not None:
        raise FimkitError(f"{model_ref} is a base with a LoRA adapter: export the base with --format hf and serve the "
                          "adapter beside it (--adapter NAME=PATH; vLLM loads its PEFT folder)")
    output = Path(output)
    if output.exists():
        raise FimkitError(f"{output} already exists: choose another --output, or remove it first")
    fmt = served_format(inspect_model(resolved).detection)
    source = dequantized(resolved, log=log) if resolved.kind == "gguf" else resolved.path
    missing = [name for name in NEEDED if not (source / name).is_file()]
    if missing:
        raise FimkitError(f"{source} lacks {', '.join(missing)}: a Hugging Face model folder needs its config and "
                          "its fast tokenizer (save them with transformers' save_pretrained)")
    with atomic_output(output) as tmp:
        shutil.copytree(source, tmp, ignore=shutil.ignore_patterns(".*", "optimizer*", "checkpoint-*"))
        meta = read_meta(tmp) if (tmp / META).is_file() else {}  # a merged run's, or none
        meta = meta if isinstance(meta, dict) else {}
        write_meta(tmp, {**meta, "fim_format": fmt.spec, "exported_from": str(resolved.path)})
        back = served_format(inspect_model(ResolvedModel(ref=str(tmp), name=output.name, kind="hf", path=tmp)).detection)
        if back.spec != fmt.spec:  # cannot happen: fimkit.json is read first
            raise FimkitError(f"{output}: reads back as {back.spec}, not {fmt.spec}")
    size = sum(f.stat().st_size for f in output.iterdir() if f.is_file())
    log(f"wrote {output} ({size / 2**30:.2f} GiB, FIM format {fmt.spec}): fimkit serve --backend vllm --model {output}")
    return output

