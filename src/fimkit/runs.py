"""Run folders: what ``fimkit train`` writes and ``merge``, ``export``, ``serve`` and ``eval`` read.

A training run folder describes itself in ``fimkit.json`` (kind "lora-run": the base model, its
hash, the FIM format, added tokens...), beside hyperparameters.yaml, tokenizer/, metrics.jsonl,
checkpoints/ and, once training ends, adapter/ (or model/, every weight, for a full fine-tune:
kind "full-run", ``"method": "full"``). A merged model folder has its own fimkit.json
(kind "merged"). This module owns those names and the reading and writing of the description.
"""

from __future__ import annotations

import json
from pathlib import Path

from fimkit.errors import FimkitError
from fimkit.fileio import write_json
from fimkit.models import find_embedded

META = "fimkit.json"
HYPERPARAMETERS = "hyperparameters.yaml"
ADAPTER = "adapter"
MODEL = "model"  # a full fine-tune's weights: a model folder like fimkit merge writes
TOKENIZER = "tokenizer"
METRICS = "metrics.jsonl"
CHECKPOINTS = "checkpoints"


def read_meta(folder: str | Path) -> dict:
    """A folder's fimkit.json, or a clear error when it has none."""
    path = Path(folder) / META
    if not path.is_file():
        raise FimkitError(f"{folder} is not a fimkit run or model folder (no {META}); pass the folder "
                          "`fimkit train` or `fimkit merge` wrote")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FimkitError(f"{path}: unreadable ({exc}); the run folder is damaged") from exc


def write_meta(folder: str | Path, meta: dict) -> Path:
    return write_json(Path(folder) / META, meta)


def update_meta(folder: str | Path, **changes) -> dict:
    meta = read_meta(folder)
    meta.update(changes)
    write_meta(folder, meta)
    return meta


def read_run(run_dir: str | Path) -> dict:
    """A finished training run's description; a clear error when the folder is not one."""
    run_dir = Path(run_dir)
    if not (run_dir / META).is_file():
        raise FimkitError(f"{run_dir} is not a fimkit training run (no {META}); pass the folder `fimkit train` wrote")
    meta = read_meta(run_dir)
    finished = MODEL if meta.get("method") == "full" else ADAPTER
    if not (run_dir / finished).is_dir():
        raise FimkitError(f"{run_dir} has no {finished}/ folder: training did not finish (resume it with the same "
                          "`fimkit train` command)")
    return meta


def read_lora_run(run_dir: str | Path) -> dict:
    """A finished LoRA run's description: a full fine-tune has no adapter to merge or export alone."""
    meta = read_run(run_dir)
    if meta.get("method") == "full":
        model = Path(run_dir) / MODEL
        raise FimkitError(f"{run_dir} is a full fine-tune: it has no adapter, its weights are the model folder {model}; "
                          f"export that: fimkit export {model} --output model.gguf")
    return meta


def base_ref(meta: dict) -> str:
    """The reference a run was trained from (an embedded name resolves anywhere); its absolute path
    when that reference was a relative path that no longer resolves from here."""

    ref = meta["base_model"]
    if find_embedded(ref) is not None or Path(ref).exists():
        return ref
    return meta["base_path"]
