"""LoRA adapter GGUFs, checked before llama.cpp sees them.

llama.cpp trusts an adapter file: an empty, truncated or garbage file, a model passed where an
adapter belongs, or an adapter of another base can end the process with a segmentation fault at
the first completion, long after ``/health`` said all was well. So every adapter is read here
first (header only, milliseconds): a whole GGUF, ``general.type`` ``adapter`` of type ``lora``, the
base's architecture, and ``lora_a``/``lora_b`` pairs whose shapes fit the base's tensors by the
rules llama.cpp applies when it loads them (llama-adapter.cpp). Anything else is a one-line
``FimkitError`` that says what the file is and how to make a good one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from fimkit.errors import CorruptFileError, FimkitError
from fimkit.fileio import regular_file
from fimkit.models.gguf_meta import GGML_TYPE_SIZES, read_gguf_header

HOW = "make one with fimkit export RUN --lora-only --output ADAPTER.gguf"


@dataclass(frozen=True)
class AdapterInfo:
    path: Path
    pairs: int  # lora_a/lora_b pairs
    alpha: float | None


def find_adapter(ref: str | Path) -> Path:
    """The adapter file ``ref`` names: a file, or a folder holding exactly one ``.gguf``."""
    text = str(ref)
    if not text.strip():
        raise FimkitError(f"--lora is empty (an unset variable?): give an adapter GGUF; {HOW}")
    path = Path(text).expanduser()
    if path.is_dir():
        found = sorted(path.glob("*.gguf"))
        if len(found) != 1:
            raise FimkitError(f"--lora {ref}: expected one .gguf adapter in the folder, found {len(found)}; {HOW}")
        path = found[0]
    try:
        return regular_file(path, "--lora")  # /dev/zero or a FIFO is not "no such file", and is never opened
    except FimkitError as exc:
        raise FimkitError(f"{exc}; {HOW}") from None


def check_adapter(adapter: str | Path, base: str | Path) -> AdapterInfo:
    """``adapter`` as a LoRA GGUF that llama.cpp can apply to the GGUF model ``base``, or a FimkitError."""
    adapter, base = Path(adapter), Path(base)
    try:
        header = read_gguf_header(adapter, decode_arrays=frozenset())
    except CorruptFileError as exc:
        raise FimkitError(f"--lora {adapter}: not a usable adapter: {exc}; {HOW}") from None
    kind = header.get("general.type")
    if kind != "adapter":
        what = "a whole model" if kind in (None, "model") else f"general.type {kind!r}"
        raise FimkitError(f"--lora {adapter}: this GGUF is {what}, not a LoRA adapter; serve it with --model, "
                          f"or {HOW}")
    if header.get("adapter.type") != "lora":
        raise FimkitError(f"--lora {adapter}: adapter type {header.get('adapter.type')!r} is not 'lora'; {HOW}")
    alpha = header.get("adapter.lora.alpha")
    if alpha is not None and not (isinstance(alpha, (int, float)) and math.isfinite(alpha)):
        raise FimkitError(f"--lora {adapter}: adapter.lora.alpha is {alpha!r}, not a finite number; {HOW}")
    model = read_gguf_header(base, decode_arrays=frozenset())
    if header.architecture != model.architecture:
        raise FimkitError(f"--lora {adapter}: an adapter for {header.architecture or 'an unknown architecture'}, but "
                          f"{base.name} is {model.architecture}: it was trained on another base model")
    pairs = _pairs(adapter, header.tensors)
    shapes = {t.name: t.shape for t in model.tensors}
    for name, (a, b) in pairs.items():
        if name not in shapes:
            raise FimkitError(f"--lora {adapter}: it adapts {name}, which {base.name} does not have: it was trained "
                              "on another base model")
        _check_shapes(adapter, base, name, shapes[name], a.shape, b.shape)
    return AdapterInfo(adapter, len(pairs), float(alpha) if alpha is not None else None)


def _pairs(adapter: Path, tensors) -> dict:
    halves: dict[str, dict[str, object]] = {}
    for t in tensors:
        stem, dot, half = t.name.rpartition(".")
        if not dot or half not in ("lora_a", "lora_b"):
            raise FimkitError(f"--lora {adapter}: tensor {t.name!r} is not a LoRA matrix (name.lora_a / "
                              f"name.lora_b); {HOW}")
        if t.ggml_type not in GGML_TYPE_SIZES or len(t.shape) != 2:
            raise FimkitError(f"--lora {adapter}: tensor {t.name!r} has an unknown type or {len(t.shape)} "
                              f"dimensions; {HOW}")
        halves.setdefault(stem, {})[half] = t
    if not halves:
        raise FimkitError(f"--lora {adapter}: holds no LoRA matrices; {HOW}")
    out = {}
    for stem, pair in halves.items():
        if len(pair) != 2:
            missing = "lora_b" if "lora_a" in pair else "lora_a"
            raise FimkitError(f"--lora {adapter}: {stem} has no {missing} matrix; the file is incomplete: {HOW}")
        out[stem] = (pair["lora_a"], pair["lora_b"])
    return out


def _check_shapes(adapter: Path, base: Path, name: str, w: tuple, a: tuple, b: tuple) -> None:
    """GGUF shapes list the fastest dimension first: a weight is (n_in, n_out), A (n_in, r), B (r, n_out);
    a token embedding's pair is stored the other way round."""
    if len(w) != 2:
        raise FimkitError(f"--lora {adapter}: it adapts {name}, which is not a matrix in {base.name}")
    if name.startswith("token_embd."):
        fits = w[0] == b[1] and w[1] == a[1]
    else:
        fits = w[0] == a[0] and w[1] == b[1] and a[1] == b[0]
    if not fits:
        raise FimkitError(f"--lora {adapter}: {name}'s matrices {a} and {b} do not fit its shape {w} in {base.name}: "
                          "the adapter was made for another base model (or another size of it)")


def peft_beside(gguf: str | Path) -> Path:
    """Where ``fimkit export --lora-only`` (and so ``fimkit adapt``) keeps the PEFT copy of an adapter it
    wrote as the GGUF ``gguf``: ``NAME.peft/``, the layout vLLM loads."""
    return Path(gguf).with_suffix(".peft")
