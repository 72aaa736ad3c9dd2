"""FIM formats: the one registry of sentinels, layouts, renderers, parsers and detection.

Everything that writes or reads a FIM string (data, training, export, serving,
evaluation) goes through this package.
"""

from fimkit.formats.detect import Detection, detect_from_gguf, detect_from_tokenizer, detect_from_vocab
from fimkit.formats.registry import (
    FIM_LAYOUTS,
    LAYOUT_HELP,
    LAYOUTS,
    FimFamily,
    check_layout,
    families,
    get_family,
    load_families,
)
from fimkit.formats.render import (
    FimFormat,
    FimParseError,
    FimParts,
    decode_document,
    parse,
    render_prefix_only,
    render_psm,
    render_spm_dolma,
    render_spm_paper,
    sanitizer_for,
    split_specials,
)
from fimkit.formats.sanitize import MARK, Sanitizer

__all__ = [
    "Detection", "detect_from_gguf", "detect_from_tokenizer", "detect_from_vocab",
    "FIM_LAYOUTS", "LAYOUTS", "LAYOUT_HELP", "FimFamily", "check_layout", "families", "get_family",
    "load_families", "FimFormat", "FimParseError", "FimParts", "decode_document", "parse", "render_prefix_only",
    "render_psm", "render_spm_dolma", "render_spm_paper", "sanitizer_for", "split_specials", "MARK", "Sanitizer",
]
