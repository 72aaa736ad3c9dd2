"""Model references: the embedded base model, local GGUF files and Hugging Face directories."""

from fimkit.models.embedded import DEFAULT_MODEL, EMBEDDED, EmbeddedModel, assemble, find_embedded
from fimkit.models.resolve import ModelInfo, ResolvedModel, inspect_model, resolve_model, speaks_fim

__all__ = [
    "DEFAULT_MODEL", "EMBEDDED", "EmbeddedModel", "assemble", "find_embedded",
    "ModelInfo", "ResolvedModel", "inspect_model", "resolve_model", "speaks_fim",
]
