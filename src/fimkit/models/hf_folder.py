"""A GGUF model as a Hugging Face folder: weights (safetensors), config, tokenizer and FIM format.

Training, merging and adapting load a GGUF base through transformers, which dequantizes it (minutes on a
CPU for Qwen2.5-Coder 0.5B); engines that want Hugging Face weights (vLLM) need the same folder plus the
tokenizer. ``dequantized`` makes it once per GGUF and keeps it in ``$FIMKIT_HOME/models/.dequantized``;
``fimkit export --format hf`` copies it out. The tokenizer is transformers' conversion of the GGUF's
vocabulary, the one fimkit tokenizes with everywhere, so token ids agree with the GGUF engines, and
``fimkit.json`` records the FIM format the GGUF is served with, so the folder is served the same way.
"""

from __future__ import annotations

from pathlib import Path

from fimkit.errors import require
from fimkit.fileio import atomic_output, write_json
from fimkit.paths import models_dir

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")


def dequantized(resolved, *, log=None) -> Path:
    """``resolved`` (a GGUF) as a Hugging Face folder (fp32 safetensors, config, tokenizer, fimkit.json),
    made once and kept. A folder kept by an older fimkit (weights only) gets its tokenizer added."""
    st = resolved.path.stat()
    tag = resolved.embedded.sha256[:16] if resolved.embedded else f"{st.st_size}-{st.st_mtime_ns}"
    folder = models_dir() / ".dequantized" / f"{resolved.path.stem}.{tag}"
    if (folder / "config.json").is_file():
        if not all((folder / name).is_file() for name in (*TOKENIZER_FILES, "fimkit.json")):
            _add_tokenizer(resolved, folder)
        return folder
    transformers = require("transformers", extra="train", purpose="reading a GGUF model's weights")
    torch = require("torch", extra="train", purpose="reading a GGUF model's weights")
    if log:
        log(f"dequantizing {resolved.path.name} into a Hugging Face folder, once (kept in {folder.parent})")
    model = transformers.AutoModelForCausalLM.from_pretrained(str(resolved.path.parent), gguf_file=resolved.path.name,
                                                              torch_dtype=torch.float32)
    # transformers dequantizes GGUF weights to fp32 but keeps a "gguf quantizer" on the model, which
    # forbids save_pretrained; the weights are plain floats, so the model is an ordinary one.
    model.hf_quantizer = None
    try:
        model.is_quantized = False
    except AttributeError:  # a read-only property in some versions: derived from hf_quantizer then
        pass
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    with atomic_output(folder, replace_dir=True) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        _add_tokenizer(resolved, tmp)
    return folder


def _add_tokenizer(resolved, folder: Path) -> None:
    """The GGUF's vocabulary as transformers converts it, and the format the GGUF is served with."""
    from fimkit.models.profile import served_format
    from fimkit.models.resolve import inspect_model

    transformers = require("transformers", extra="train", purpose="reading a GGUF model's tokenizer")
    hf = transformers.AutoTokenizer.from_pretrained(str(resolved.path.parent), gguf_file=resolved.path.name)
    hf.save_pretrained(str(folder))
    fmt = served_format(inspect_model(resolved).detection)
    record = {"kind": "converted", "source": str(resolved.path), "fim_format": fmt.spec}
    write_json(folder / "fimkit.json", record)
