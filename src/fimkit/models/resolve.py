"""Model references resolve here, and only here.

A reference is one of:
- ``auto``: the best embedded model that meets the typing goal on this machine (``fimkit.models.auto``,
  measured once and cached);
- the name of an embedded model (``qwen2.5-coder-0.5b``, alias ``default``; ``qwen2.5-coder-1.5b``,
  ``gemma-3-270m``), assembled on first use;
- a path to a ``.gguf`` file;
- a path to a Hugging Face model directory (``config.json``), or a directory holding one ``.gguf``;
- a Hugging Face Hub id (``org/name``) that is already in the local Hub cache;
- a folder ``fimkit adapt`` wrote: the model its report recommends (the base, with the adapter on top
  only when the adapted model measured significantly better).
Anything else is an error that says where fimkit looked and what to do.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from fimkit.errors import CorruptFileError, ModelNotFoundError
from fimkit.formats.detect import Detection, detect_from_gguf, detect_from_vocab
from fimkit.formats.render import FimFormat
from fimkit.models.embedded import AUTO, EMBEDDED, EmbeddedModel, assemble, find_embedded
from fimkit.models.gguf_meta import FILE_TYPE_NAMES, GGML_TYPE_NAMES, GGUF_MAGIC, read_gguf_header

Kind = Literal["gguf", "hf"]


@dataclass(frozen=True)
class ResolvedModel:
    ref: str  # what the user typed
    name: str
    kind: Kind
    path: Path  # the .gguf file, or the HF directory
    embedded: EmbeddedModel | None = None
    lora: Path | None = None  # a LoRA adapter GGUF applied on top (an adapted folder's recommendation)


def resolve_model(ref: str, *, progress: bool = False, log=None) -> ResolvedModel:
    """Turn a user's model reference into a local file or directory (see the module docstring)."""
    ref = str(ref).strip()
    if not ref:
        raise ModelNotFoundError("empty model reference; pass a model name (see: fimkit models), a .gguf or a directory")
    if ref.lower() == AUTO:
        from fimkit.models.auto import choose

        chosen = resolve_model(choose(log=log).model, progress=progress, log=log)
        return replace(chosen, ref=ref)
    embedded = find_embedded(ref)
    if embedded is not None:
        path = assemble(embedded, progress=progress, log=log)
        return ResolvedModel(ref, embedded.name, "gguf", path, embedded)

    path = Path(ref).expanduser()
    if path.is_file():
        with open(path, "rb") as fh:
            magic = fh.read(4)
        if magic != GGUF_MAGIC:
            raise CorruptFileError(
                f"{path}: not a GGUF model (first bytes {magic!r}); pass a .gguf file or a Hugging Face "
                "model directory (the folder that holds config.json)"
            )
        return ResolvedModel(ref, path.stem, "gguf", path)
    if path.is_dir():
        return _resolve_dir(ref, path)

    cached = _hub_cache_snapshot(ref)
    if cached is not None:
        return _resolve_dir(ref, cached)
    names = ", ".join(m.name for m in EMBEDDED)
    if "/" in ref and not ref.startswith((".", "/", "~")) and ref.count("/") == 1:
        raise ModelNotFoundError(
            f"model '{ref}' looks like a Hugging Face Hub id, but it is not in the local Hub cache and fimkit "
            "never downloads at run time; download it where you have network "
            f"(huggingface-cli download {ref} --local-dir DIR) and pass DIR, or use an embedded model: {names}"
        )
    raise ModelNotFoundError(
        f"unknown model '{ref}': not auto nor an embedded model ({names}; see: fimkit models), and no file or "
        f"directory at {path.resolve()}"
    )


def _resolve_dir(ref: str, path: Path) -> ResolvedModel:
    adapted = _adapted(ref, path)
    if adapted is not None:
        return adapted
    if (path / "config.json").is_file():
        return ResolvedModel(ref, path.name, "hf", path)
    ggufs = sorted(path.glob("*.gguf"))
    if len(ggufs) == 1:
        return ResolvedModel(ref, ggufs[0].stem, "gguf", ggufs[0])
    if len(ggufs) > 1:
        listed = ", ".join(g.name for g in ggufs[:5])
        raise ModelNotFoundError(f"{path} holds several .gguf files ({listed}); pass the one you mean")
    raise ModelNotFoundError(
        f"{path} is neither a Hugging Face model directory (no config.json) nor a folder with a .gguf file"
    )


def _adapted(ref: str, path: Path) -> ResolvedModel | None:
    """The model a ``fimkit adapt`` folder recommends (its fimkit.json ``serve`` entry), or None when
    the folder is not one."""
    meta_path = path / "fimkit.json"
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CorruptFileError(f"{meta_path}: unreadable ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("kind") != "adapted":
        return None
    serve = meta.get("serve")
    if not isinstance(serve, dict) or not isinstance(serve.get("model"), str):
        raise ModelNotFoundError(f"{path}: fimkit adapt has not finished there (no recommendation yet); run the "
                                 "same fimkit adapt command again to resume it")
    model = serve["model"]
    local = path / model
    base = resolve_model(str(local) if local.is_file() else model)
    lora = serve.get("lora")
    if lora is None:
        return base
    adapter = path / str(lora)
    if not adapter.is_file():
        raise ModelNotFoundError(f"{path}: its adapter {adapter.name} is missing; run fimkit adapt again to rebuild it")
    return ResolvedModel(ref, f"{base.name}+{path.name}", base.kind, base.path, base.embedded, adapter)


def _hub_cache_snapshot(ref: str) -> Path | None:
    if ref.count("/") != 1:
        return None
    hub = Path(os.environ.get("HF_HUB_CACHE") or Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "hub")
    snapshots = hub / ("models--" + ref.replace("/", "--")) / "snapshots"
    if not snapshots.is_dir():
        return None
    candidates = sorted((p for p in snapshots.iterdir() if (p / "config.json").is_file()), key=lambda p: p.stat().st_mtime)
    return candidates[-1] if candidates else None


@dataclass(frozen=True)
class ModelInfo:
    """What ``fimkit models`` shows about one model: enough to choose a FIM format and serve it."""

    model: ResolvedModel
    architecture: str | None
    detection: Detection
    vocab_size: int | None
    size_bytes: int
    quantization: str | None = None
    context_length: int | None = None


def inspect_model(model: ResolvedModel) -> ModelInfo:
    """Read a model's header (never its weights) and detect its FIM family."""
    if model.kind == "gguf":
        header = read_gguf_header(model.path)
        tokens = header.get("tokenizer.ggml.tokens")
        arch = header.architecture
        quant = _quant_name(header)
        return ModelInfo(
            model, arch, detect_from_gguf(header.metadata, tokens, name_hint=model.name),
            len(tokens) if tokens is not None else None, model.path.stat().st_size, quant,
            header.get(f"{arch}.context_length") if arch else None,
        )
    config = _read_json(model.path / "config.json")
    vocab = _hf_vocab(model.path)
    detection = (
        _recorded_format(model.path)
        or (detect_from_vocab(vocab, name_hint=model.name) if vocab is not None else Detection(None, "no tokenizer.json"))
    )
    size = sum(p.stat().st_size for p in model.path.glob("*.safetensors")) + sum(
        p.stat().st_size for p in model.path.glob("*.bin")
    )
    text_config = config.get("text_config") or {}
    return ModelInfo(
        model, config.get("model_type"), detection,
        config.get("vocab_size") or text_config.get("vocab_size") or (len(vocab) if vocab else None), size,
        None, config.get("max_position_embeddings") or text_config.get("max_position_embeddings"),
    )


def _quant_name(header) -> str | None:
    """The file type recorded by the converter, else the tensor type holding most weights."""
    ftype = header.get("general.file_type")
    if isinstance(ftype, int) and ftype in FILE_TYPE_NAMES:
        return FILE_TYPE_NAMES[ftype]
    types: dict[int, int] = {}
    for t in header.tensors:
        n = 1
        for d in t.shape:
            n *= d
        types[t.ggml_type] = types.get(t.ggml_type, 0) + n
    if not types:
        return None
    main = max(types, key=types.get)
    return GGML_TYPE_NAMES.get(main, f"type{main}")


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ModelNotFoundError(f"cannot read {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise CorruptFileError(f"{path}: not valid JSON ({exc})") from exc


def _hf_vocab(path: Path) -> set[str] | None:
    """The vocabulary from tokenizer.json (model vocab + added tokens), read without transformers."""
    tok = path / "tokenizer.json"
    if not tok.is_file():
        return None
    data = _read_json(tok)
    vocab = data.get("model", {}).get("vocab") or {}
    tokens = set(vocab) if isinstance(vocab, dict) else {v[0] for v in vocab if v}
    tokens.update(t.get("content", "") for t in data.get("added_tokens", []))
    return tokens


def _recorded_format(path: Path) -> Detection | None:
    """A fimkit run or merged folder records the FIM format it was trained with."""
    record = path / "fimkit.json"
    if not record.is_file():
        return None
    spec = _read_json(record).get("fim_format")
    if not spec:
        return None

    fmt = FimFormat.parse_spec(spec)
    return Detection(fmt.family, f"recorded by fimkit in {record.name}", fmt.layout)


def speaks_fim(ref: str) -> bool:
    """Whether the model ``ref`` names has FIM tokens of its own (its header read, no weights loaded)."""
    return inspect_model(resolve_model(ref)).detection.is_fim
