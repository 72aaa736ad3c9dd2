"""A merged Hugging Face model to GGUF with llama.cpp's own converter, then fimkit's FIM metadata.

``convert_hf_to_gguf.py`` (with its ``conversion`` package and the gguf-py it is written against) comes
from the llama.cpp sources the pinned llama-cpp-python vendors; the Makefile extracts it into
``.venv/share/llama.cpp`` (``$FIMKIT_LLAMA_CONVERT`` points elsewhere). It knows every architecture
llama.cpp runs: its hyperparameters, tensor names and layouts, tokenizer and quirks (Gemma's norm
offset, rotary permutations), so fimkit keeps no writer per architecture. What it does not write is the
FIM metadata: ``tokenizer.ggml.fim_*_token_id`` and ``fimkit.fim_format`` are added as it writes the
file (``gguf_child``: the converter runs unchanged, its GGUF writer given the keys), so serving never
guesses. A model
whose tokenizer the converter does not recognise (a tokenizer trained from scratch, as the tests' tiny
models have) is written by fimkit's generic llama-family writer instead (``gguf_writer``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fimkit.errors import FimkitError
from fimkit.fileio import atomic_output
from fimkit.formats import FimFormat
from fimkit.formats.detect import FIMKIT_GGUF_KEY, gguf_fim_keys

_UNKNOWN_TOKENIZER = "BPE pre-tokenizer was not recognized"


def converter_dir() -> Path:
    """Where llama.cpp's converters are: ``$FIMKIT_LLAMA_CONVERT``, else the virtualenv's share/llama.cpp."""
    for candidate in (os.environ.get("FIMKIT_LLAMA_CONVERT"), Path(sys.prefix) / "share" / "llama.cpp"):
        if candidate and (Path(candidate) / "convert_hf_to_gguf.py").is_file():
            return Path(candidate)
    raise FimkitError("llama.cpp's GGUF converter is not installed: `make install` extracts it from the pinned "
                      "llama.cpp sources into .venv/share/llama.cpp (or set FIMKIT_LLAMA_CONVERT to a llama.cpp "
                      "checkout)")


class UnknownTokenizer(FimkitError):
    """The converter does not know this tokenizer's pre-tokenizer (it only converts released ones)."""


def run_converter(script: str, args: list[str], log_path: Path, metadata: dict | None = None) -> None:
    """Run one of llama.cpp's converter scripts in a child process, its output to ``log_path``, with
    ``metadata`` (key -> (gguf-py type, value)) added to the file it writes (``gguf_child``)."""
    root = converter_dir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "gguf-py"), str(root)]), "NO_LOCAL_GGUF": "",
           "FIMKIT_GGUF_METADATA": json.dumps(metadata or {})}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    child = Path(__file__).with_name("gguf_child.py")
    with open(log_path, "w") as out:
        proc = subprocess.run([sys.executable, str(child), str(root / script), *args], stdout=out,
                              stderr=subprocess.STDOUT, env=env, cwd=root)
    if proc.returncode != 0:
        said = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        if any(_UNKNOWN_TOKENIZER in line for line in said):
            raise UnknownTokenizer("llama.cpp's converter does not know this model's tokenizer")
        last = said[-1] if said else f"exit status {proc.returncode}"
        raise FimkitError(f"llama.cpp's {script} failed: {last} (its whole output: {log_path})")


def fim_metadata(model_dir: Path, fim_format: FimFormat | None) -> dict:
    """The FIM keys for a model folder's vocabulary (its tokenizer.json), as ``run_converter`` takes them."""
    if fim_format is None or not fim_format.is_fim:
        return {}
    try:
        tok = json.loads((model_dir / "tokenizer.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FimkitError(f"{model_dir}: cannot read tokenizer.json ({exc})") from exc
    ids = dict(tok.get("model", {}).get("vocab") or {})
    ids.update({t["content"]: t["id"] for t in tok.get("added_tokens", [])})
    missing = [s for s in fim_format.family.structural() if s not in ids]
    if missing:
        raise FimkitError(f"{model_dir}: the vocabulary has no {', '.join(missing)}, so it cannot be served as "
                          f"{fim_format.spec}")
    out = {key: ("uint32", ids[s]) for key, s in gguf_fim_keys(fim_format.family).items() if s in ids}
    out[FIMKIT_GGUF_KEY] = ("string", fim_format.spec)
    return out


def convert_hf(model_dir: Path, out_path: Path, *, outtype: str = "f16", fim_format: FimFormat | None = None,
               log_path: Path | None = None) -> Path:
    """``model_dir`` (config.json, safetensors, tokenizer) as a GGUF at ``out_path``, FIM keys included."""
    log_path = log_path or out_path.with_name(out_path.name + ".convert.log")
    metadata = fim_metadata(model_dir, fim_format)
    try:
        with atomic_output(out_path) as tmp:
            # Absolute: the converter runs in its own folder, not in the user's.
            run_converter("convert_hf_to_gguf.py", [str(Path(model_dir).resolve()), "--outfile",
                                                    str(Path(tmp).resolve()), "--outtype", outtype],
                          log_path, metadata)
    except UnknownTokenizer:
        from fimkit.export.gguf_writer import write_gguf

        write_gguf(model_dir, out_path, dtype="f16" if outtype == "f16" else "f32", fim_format=fim_format,
                   name=model_dir.name)
    return out_path
