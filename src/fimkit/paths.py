"""Where fimkit keeps its own files (assembled models, telemetry, caches)."""

from __future__ import annotations

import os
from pathlib import Path


def fimkit_home() -> Path:
    """``$FIMKIT_HOME``, default ``~/.cache/fimkit``. Created on first use, not on import."""
    env = os.environ.get("FIMKIT_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "fimkit"


def models_dir() -> Path:
    return fimkit_home() / "models"
