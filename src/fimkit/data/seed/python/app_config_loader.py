"""Layered configuration: dataclass defaults < YAML/JSON file < environment variables."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml


@dataclass
class DatabaseConfig:
    url: str = "sqlite:///app.db"
    pool_size: int = 5


@dataclass
class AppConfig:
    debug: bool = False
    port: int = 8000
    log_level: str = "INFO"
    allowed_hosts: list[str] = field(default_factory=lambda: ["localhost"])
    database: DatabaseConfig = field(default_factory=DatabaseConfig)


def _coerce(raw: str, current: Any) -> Any:
    # Env vars are always strings; convert based on the default's type.
    if isinstance(current, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(current, int):
        return int(raw)
    if isinstance(current, list):
        return [part.strip() for part in raw.split(",") if part.strip()]
    return raw


def _apply(target: Any, data: dict[str, Any], env_prefix: str) -> None:
    for f in fields(target):
        current = getattr(target, f.name)
        env_name = f"{env_prefix}{f.name.upper()}"
        if hasattr(current, "__dataclass_fields__"):
            _apply(current, data.get(f.name, {}) or {}, f"{env_name}__")
            continue
        if f.name in data:
            setattr(target, f.name, data[f.name])
            current = data[f.name]
        if env_name in os.environ:
            setattr(target, f.name, _coerce(os.environ[env_name], current))


def load_config(path: str | Path | None = None, env_prefix: str = "APP_") -> AppConfig:
    """Build an AppConfig; e.g. APP_DATABASE__POOL_SIZE=10 overrides database.pool_size."""
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        text = p.read_text(encoding="utf-8")
        data = json.loads(text) if p.suffix == ".json" else (yaml.safe_load(text) or {})
        if not isinstance(data, dict):
            raise ValueError(f"{p}: top level must be a mapping")
    config = AppConfig()
    _apply(config, data, env_prefix)
    return config


if __name__ == "__main__":
    os.environ.setdefault("APP_PORT", "9090")
    print(load_config())
