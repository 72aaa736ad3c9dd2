"""`fimkit merge`: the LoRA adapter folded into full weights, checked against the adapter before saving.

The merged folder is a plain Hugging Face model (config.json, safetensors) plus the tokenizer with
its FIM tokens (tokenizer.json, tokenizer_config.json) and fimkit.json (FIM format, base model,
the measured logits difference). It is written to a temporary name and renamed when whole.
"""

from __future__ import annotations

import json
from pathlib import Path

from fimkit.errors import FimkitError, require
from fimkit.fileio import atomic_output
from fimkit.formats import FimFormat
from fimkit.runs import base_ref, read_lora_run
from fimkit.train.model import load_base

PARITY_TOLERANCE = 1e-3  # fp32; merging reorders additions, nothing more


def _probe_ids(tok, fmt: FimFormat):
    prefix = "def fibonacci(n):\n    if n < 2:\n        return n\n    return "
    return ([tok.bos_id] if tok.bos_id is not None else []) + tok.encode(fmt.render(prefix, "\n\nprint(fibonacci(9))\n"))


def write_model_folder(model, tok, fmt: FimFormat, output: Path, record: dict) -> Path:
    """A Hugging Face model folder that fimkit, transformers and the exporter all read: safetensors,
    config, tokenizer.json with the FIM tokens, tokenizer_config.json naming BOS/EOS/PAD, and
    fimkit.json; written to a temporary name and renamed when whole."""
    with atomic_output(output, replace_dir=True) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tok.tokenizer.save(str(tmp / "tokenizer.json"))

        def name(tid):
            return tok.tokenizer.id_to_token(tid) if tid is not None else None

        (tmp / "tokenizer_config.json").write_text(json.dumps({
            "tokenizer_class": "PreTrainedTokenizerFast", "bos_token": name(tok.bos_id), "eos_token": name(tok.eos_id),
            "pad_token": name(tok.pad_id), "additional_special_tokens": list(fmt.family.sentinels()) if fmt.is_fim else [],
            "model_max_length": getattr(model.config, "max_position_embeddings", 2048),
        }, indent=2))
        (tmp / "fimkit.json").write_text(json.dumps(record, indent=2))
    return Path(output)


def merge(run_dir: str | Path, output: str | Path, *, log=print) -> dict:
    torch = require("torch", extra="train", purpose="merging")
    peft = require("peft", extra="train", purpose="merging")
    run_dir, output = Path(run_dir), Path(output)
    meta = read_lora_run(run_dir)
    fmt = FimFormat.parse_spec(meta["fim_format"])
    ref = base_ref(meta)
    base = load_base(ref, fmt)
    if base.base_hash != meta["base_hash"]:
        raise FimkitError(f"the base model {ref} is not the one {run_dir} was trained on "
                          f"({base.base_hash} vs {meta['base_hash']}); merge with the original base")
    if base.tokenizer.vocab_size != meta["vocab_size"]:
        raise FimkitError(f"vocabulary size {base.tokenizer.vocab_size} differs from the run's {meta['vocab_size']}")
    model = peft.PeftModel.from_pretrained(base.model, str(run_dir / "adapter")).eval()
    ids = torch.tensor([_probe_ids(base.tokenizer, fmt)])
    with torch.no_grad():
        before = model(input_ids=ids).logits.float()
        merged = model.merge_and_unload().eval()
        after = merged(input_ids=ids).logits.float()
    diff = float((before - after).abs().max())
    if not diff <= PARITY_TOLERANCE:
        raise FimkitError(f"merged logits differ from the adapter's by {diff:.2e} (> {PARITY_TOLERANCE}); not saved")
    record = {"kind": "merged", "fim_format": fmt.spec, "base_model": meta["base_model"], "base_path": meta["base_path"],
              "base_hash": meta["base_hash"], "run": str(run_dir), "added_tokens": meta["added_tokens"],
              "logits_max_abs_diff": diff, "model_type": merged.config.model_type}
    write_model_folder(merged, base.tokenizer, fmt, output, record)
    log(f"merged {run_dir} into {output} (logits max |diff| {diff:.1e} against the adapter)")
    return record
