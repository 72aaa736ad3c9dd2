"""Ollama's view of a FIM format: the TEMPLATE and the Modelfile, derived from the renderer itself.

Ollama fills ``{{ .Prompt }}`` (the code before the cursor) and ``{{ .Suffix }}`` (after it) into
a Go template. Rather than spelling each layout's template by hand (where Code Llama's ``"<PRE> "``
once lost its space), the template is the registry's own rendering of two placeholders, so the
exported Modelfile, ``/api/show`` and every prompt fimkit renders always agree.
"""

from __future__ import annotations

from fimkit.formats.render import FimFormat

_PROMPT, _SUFFIX = "\x00fimkit-prompt\x00", "\x00fimkit-suffix\x00"


def ollama_template(fmt: FimFormat) -> str:
    """The Go template Ollama renders a request with: the FIM layout when a suffix is sent, else the
    plain prompt (what Ollama's ``insert`` capability expects)."""
    if not fmt.is_fim:
        return "{{ .Prompt }}"
    rendered = fmt.render(_PROMPT, _SUFFIX, sanitize=False)
    fim = rendered.replace(_PROMPT, "{{ .Prompt }}").replace(_SUFFIX, "{{ .Suffix }}")
    return f"{{{{- if .Suffix }}}}{fim}{{{{- else }}}}{{{{ .Prompt }}}}{{{{- end }}}}"


def modelfile_text(source: str, fmt: FimFormat, *, num_ctx: int = 2048, comment: str | None = None) -> str:
    """An Ollama Modelfile for ``source`` (a GGUF path relative to the Modelfile, or a model name)."""
    lines = [f"# {comment or 'Written by fimkit'}: {fmt.spec}", f"FROM {source}",
             f'TEMPLATE """{ollama_template(fmt)}"""']
    lines += [f'PARAMETER stop "{s}"' for s in fmt.stop_strings()]
    lines += ["PARAMETER temperature 0", "PARAMETER num_predict 128", f"PARAMETER num_ctx {num_ctx}"]
    return "\n".join(lines) + "\n"
