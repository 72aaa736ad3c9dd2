"""`fimkit export`: merged model -> GGUF (f16, q8_0, q4_0, q4_k_m) -> Ollama Modelfile, then verified.

Verification loads the GGUF in llama.cpp, checks that the FIM sentinels are single control tokens
and that the GGUF names them (``tokenizer.ggml.fim_*`` and ``fimkit.fim_format``, read back), and
compares llama.cpp's greedy tokens with the transformers model's on a few FIM prompts: f16 should
agree token for token (up to near-ties), a 4-bit file reports its agreement.
"""

from __future__ import annotations

import ctypes
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from fimkit.errors import FimkitError, require
from fimkit.export.convert import convert_hf
from fimkit.export.gemma3 import write_gemma3_gguf
from fimkit.fileio import atomic_output
from fimkit.formats import FimFormat
from fimkit.formats.detect import GGUF_FIM_KEYS
from fimkit.formats.ollama import modelfile_text
from fimkit.infer.engines.contract import SamplingParams
from fimkit.infer.engines.hf import TransformersEngine
from fimkit.infer.engines.llama_cpp import LlamaCppEngine
from fimkit.models import resolve_model
from fimkit.models.gguf_meta import read_gguf_header
from fimkit.runs import MODEL

# --quant name -> gguf-py's name of llama.cpp's file type (llama_ftype), looked up when quantizing.
QUANTS = {"f16": "MOSTLY_F16", "q8_0": "MOSTLY_Q8_0", "q4_0": "MOSTLY_Q4_0", "q4_k_m": "MOSTLY_Q4_K_M",
          "q5_k_m": "MOSTLY_Q5_K_M", "q6_k": "MOSTLY_Q6_K"}
PROBES = [
    ("def fibonacci(n):\n    if n < 2:\n        return n\n    return ", "\n\nprint(fibonacci(9))\n"),
    ("import os\n\n\ndef read(path):\n    with open(path) as fh:\n        ", "\n    return data\n"),
    ("const add = (a, b) => ", ";\nconsole.log(add(1, 2));\n"),
]


@dataclass
class ExportReport:
    gguf: str
    quant: str
    seconds: float
    fim_keys: dict = field(default_factory=dict)
    agreement: float | None = None
    modelfile: str | None = None


def quantize(src: Path, dst: Path, quant: str) -> None:
    """llama.cpp's own quantizer (K-quants included), through llama-cpp-python."""
    llama_cpp = require("llama_cpp", package="llama-cpp-python", extra="llama", purpose="quantization")
    try:  # llama.cpp logs a line per tensor while quantizing; keep errors only
        from llama_cpp._logger import set_verbose

        set_verbose(False)
    except ImportError:
        pass
    params = llama_cpp.llama_model_quantize_default_params()
    gguf = require("gguf", extra="train", purpose="quantization")
    params.ftype = int(gguf.LlamaFileType[QUANTS[quant]])
    params.nthread = os.cpu_count() or 1
    with atomic_output(dst) as tmp:
        rc = llama_cpp.llama_model_quantize(str(src).encode(), str(tmp).encode(), ctypes.byref(params))
        if rc != 0 or not tmp.exists():
            raise FimkitError(f"llama.cpp could not quantize {src} to {quant} (code {rc})")


def _agreement(gguf_path: Path, merged_dir: Path, fmt: FimFormat, tokens: int = 12) -> float:

    ll = LlamaCppEngine(resolve_model(str(gguf_path)), n_ctx=512)
    hf = TransformersEngine(resolve_model(str(merged_dir)), n_ctx=512, fim_format=fmt)
    same = total = 0
    for prefix, suffix in PROBES:
        prompt = fmt.render(prefix, suffix)
        a = [p.token_id for p in ll.generate(prompt, SamplingParams(max_tokens=tokens))]
        b = [p.token_id for p in hf.generate(prompt, SamplingParams(max_tokens=tokens))]
        for x, y in zip(a, b):
            total += 1
            if x != y:
                break  # after a divergence the two continue different texts
            same += 1
        total += abs(len(a) - len(b)) if a[: len(b)] == b[: len(a)] else 0
    ll.close()
    return same / total if total else 1.0


def export(merged_dir: str | Path, output: str | Path, *, quant: str = "q4_0", modelfile: str | Path | None = None,
           verify: bool = True, also: tuple[tuple[str, Path], ...] = (), log=print) -> ExportReport:
    """Write ``output`` in ``quant`` (and each (quant, path) in ``also`` from the same f16 file)."""
    merged_dir, output = Path(merged_dir), Path(output)
    if quant not in QUANTS:
        raise FimkitError(f"unknown --quant {quant!r}; choose one of: {', '.join(QUANTS)}")
    if not (merged_dir / "config.json").is_file() and (merged_dir / MODEL / "config.json").is_file():
        merged_dir = merged_dir / MODEL  # a full fine-tune's run folder: its weights are already a model folder
    meta_path = merged_dir / "fimkit.json"
    if not (merged_dir / "config.json").is_file():
        raise FimkitError(f"{merged_dir} is not a merged model folder (no config.json); run `fimkit merge` first")
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    fmt = FimFormat.parse_spec(meta.get("fim_format", "prefix-only"))
    model_type = json.loads((merged_dir / "config.json").read_text()).get("model_type")
    start = time.perf_counter()
    f16 = output.with_name(output.stem + ".f16.gguf") if quant != "f16" else output
    try:
        convert_hf(merged_dir, f16, outtype="f16", fim_format=fmt)
    except FimkitError:
        if model_type not in ("gemma3", "gemma3_text"):
            raise
        # A Gemma-3 base loaded from its GGUF has no sentencepiece model file for the converter's vocabulary
        # step; its own GGUF is the template instead (fimkit.export.gemma3).
        base = resolve_model(meta.get("base_path") or meta.get("base_model", ""))
        if base.kind != "gguf":
            raise
        write_gemma3_gguf(merged_dir, base.path, f16, fim_format=fmt)
    if quant != "f16":
        try:
            quantize(f16, output, quant)
            for extra_quant, extra_path in also:
                quantize(f16, Path(extra_path), extra_quant)
        finally:
            f16.unlink(missing_ok=True)
    seconds = time.perf_counter() - start
    header = read_gguf_header(output)
    keys = {k: v for k, v in header.metadata.items() if k.startswith("tokenizer.ggml.fim_") or k == "fimkit.fim_format"}
    structural = {GGUF_FIM_KEYS[role][0] for role in ("prefix", "suffix", "middle") if getattr(fmt.family, role, None)}
    if fmt.is_fim and not structural <= set(keys):
        raise FimkitError(f"{output}: the FIM token keys did not survive the export")
    report = ExportReport(str(output), quant, seconds, keys)
    if modelfile:
        modelfile = Path(modelfile)
        rel = os.path.relpath(output, modelfile.parent.resolve()) if modelfile.parent.resolve() != output.parent.resolve() else output.name
        modelfile.write_text(modelfile_text(f"./{rel}", fmt))
        report.modelfile = str(modelfile)
    if verify:
        report.agreement = _agreement(output, merged_dir, fmt)
    log(f"exported {output} ({quant}, {output.stat().st_size / 1e6:.0f} MB) in {seconds:.1f} s"
        + (f"; greedy agreement with transformers {report.agreement:.0%}" if report.agreement is not None else ""))
    return report
