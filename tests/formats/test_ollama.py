"""One Ollama template source: /api/show and the exported Modelfile agree for every family and
layout, and Ollama's substitution of the template gives exactly the prompt fimkit renders."""

import re

import pytest

from fimkit.formats import FIM_LAYOUTS, FimFormat, families
from fimkit.formats.ollama import modelfile_text, ollama_template

# Every family in every layout it can render (a family without a middle sentinel: Dolma's SPM only).
FORMATS = [FimFormat(f, layout) for f in families().values() for layout in FIM_LAYOUTS
           if f.middle or layout == "spm-dolma"]


def fill(template: str, prompt: str, suffix: str) -> str:
    """Ollama's Go template for the two fields fimkit uses, applied the way Ollama does."""
    if suffix:
        body = re.search(r"\{\{- if \.Suffix \}\}(.*)\{\{- else \}\}", template, re.S).group(1)
    else:
        body = re.search(r"\{\{- else \}\}(.*)\{\{- end \}\}", template, re.S).group(1)
    return body.replace("{{ .Prompt }}", prompt).replace("{{ .Suffix }}", suffix)


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.spec)
def test_template_renders_what_fimkit_renders(fmt):
    prefix, suffix = "def add(a, b):\n    return ", "\n\nprint(add(1, 2))\n"
    assert fill(ollama_template(fmt), prefix, suffix) == fmt.render(prefix, suffix)
    assert fill(ollama_template(fmt), prefix, "") == prefix


def test_code_llama_keeps_the_space_after_its_sentinels():
    fmt = FimFormat.parse_spec("codellama:psm")
    assert "<PRE> {{ .Prompt }}" in ollama_template(fmt) and " <SUF>" in ollama_template(fmt)


@pytest.mark.parametrize("fmt", FORMATS + [FimFormat(None, "prefix-only")], ids=lambda f: f.spec)
def test_modelfile_carries_the_same_template_and_stops(fmt):
    text = modelfile_text("./model.gguf", fmt)
    assert f'TEMPLATE """{ollama_template(fmt)}"""' in text and "FROM ./model.gguf" in text
    assert [line for line in text.splitlines() if line.startswith("PARAMETER stop")] == [
        f'PARAMETER stop "{s}"' for s in fmt.stop_strings()]
