"""Reading a settings file: one YAML mapping, with errors that name the file."""

from __future__ import annotations

from pathlib import Path

from fimkit.errors import FimkitError


def read_yaml_mapping(path: str | Path) -> dict:
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise FimkitError(f"cannot read {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise FimkitError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise FimkitError(f"{path}: expected a mapping of settings at the top level")
    return data
