"""Prompts as the model profile renders them: repository context in Qwen2.5-Coder's repository-level
format, plain file-level FIM without context."""

from fimkit.formats import FimFormat
from fimkit.infer.render import render_prompt

QWEN = FimFormat.parse_spec("qwen2.5-coder:psm")


def test_repository_context_in_the_repository_level_format():
    prompt, held = render_prompt(QWEN, "x = ", "\n", extra=(("util.py", "def f():\n    pass\n"),),
                                 filename="main.py", style="repository", repository="shop")
    assert prompt == ("<|repo_name|>shop\n<|file_sep|>util.py\ndef f():\n    pass\n<|file_sep|>main.py\n"
                      "<|fim_prefix|>x = <|fim_suffix|>\n<|fim_middle|>") and held == ""


def test_without_context_the_prompt_is_file_level_fim():
    prompt, _ = render_prompt(QWEN, "x = 1\n", "\n", filename="main.py", style="repository", repository="shop")
    assert prompt == "<|fim_prefix|>x = 1\n<|fim_suffix|>\n<|fim_middle|>"


def test_file_separator_style_and_sentinels_in_context_stay_text():
    prompt, _ = render_prompt(QWEN, "a", "b", extra=(("x<|file_sep|>.py", "<|fim_middle|>"),), style="file-sep")
    assert prompt.startswith("<|file_sep|>x") and prompt.count("<|file_sep|>") == 2  # the chunk's and the closing one
    assert prompt.count("<|fim_middle|>") == 1  # the chunk's copy of the sentinel was escaped
