"""Typing into a PSM prompt keeps its beginning: what was typed since the anchor goes after the middle
sentinel, so the suffix is not read again on every keystroke (issue 34, item 5)."""

from dataclasses import replace

from infer.fakes import ScriptedEngine

from fimkit.infer import CompletionRequest, SamplingParams
from fimkit.infer.complete import prepare, profile_budget
from fimkit.infer.context.anchor import MAX_TYPED_LINES

FILE = "import os\n\n\ndef read(path):\n    with open(path) as fh:\n        data = fh.read()\n"
SUFFIX = "\n    return data\n\n\ndef other():\n    pass\n"


def prompt_for(engine, prefix, suffix=SUFFIX, **kw):
    request = CompletionRequest(prefix, suffix, language="python", sampling=SamplingParams(max_tokens=32), **kw)
    return prepare(engine, request, profile_budget(engine)).prompt


def engine(anchor="line", **kw):
    e = ScriptedEngine(fim_format="qwen2.5-coder:psm", **kw)
    e.healing = "off"
    e.profile = replace(e.profile, anchor=anchor)
    return e


def test_typing_on_appends_after_the_middle_sentinel():
    e = engine()
    first = prompt_for(e, FILE + "    print(")
    head, typed = first.split("<|fim_middle|>")
    # The prefix ends at the cursor's line, the suffix is the rest of the function, the line goes after.
    assert typed == "    print(" and head.endswith("fh.read()\n<|fim_suffix|>\n    return data")
    # Every later keystroke, new lines included, only appends: the start of the prompt stays the same.
    for more in ("    print(da", "    print(data)\n", "    print(data)\n    lines = data.split("):
        prompt = prompt_for(e, FILE + more)
        assert prompt.startswith(head + "<|fim_middle|>") and prompt.endswith(more)


def test_a_changed_suffix_or_another_place_takes_a_new_anchor_at_the_line_start():
    e = engine()
    first = prompt_for(e, FILE + "    print(")
    changed = prompt_for(e, FILE + "    print(d", suffix=")" + SUFFIX)  # the editor closed the bracket
    assert changed.split("<|fim_middle|>")[1] == "    print(d"
    assert changed.split("<|fim_middle|>")[0] != first.split("<|fim_middle|>")[0]
    elsewhere = prompt_for(e, "x = 1\ny = ")
    assert elsewhere.endswith("<|fim_middle|>y =")  # its trailing space is held back for the model to write


def test_typing_far_from_the_anchor_takes_a_new_one():
    e = engine()
    prompt_for(e, FILE)
    lines = "".join(f"    v{i} = {i}\n" for i in range(MAX_TYPED_LINES + 2))
    prompt = prompt_for(e, FILE + lines)
    assert prompt.endswith("<|fim_middle|>")  # the cursor at a line start: nothing typed after the new anchor


def test_the_same_options_are_part_of_the_anchor():
    e = engine()
    first = prompt_for(e, FILE + "    x = ")
    other = prompt_for(e, FILE + "    x = 1", filename="other.py")
    assert other.split("<|fim_middle|>")[1] == "    x = 1"
    assert other != first


def test_anchored_at_the_code_the_indentation_stays_in_the_prefix():
    e = engine("code")
    first = prompt_for(e, FILE + "    print(")
    assert first.split("<|fim_middle|>")[1] == "print(" and "fh.read()\n    <|fim_suffix|>" in first
    assert prompt_for(e, FILE + "    print(data)\n    x").startswith(first.split("<|fim_middle|>")[0])


def test_no_anchor_for_a_profile_without_one():
    e = engine("off")
    assert prompt_for(e, FILE + "    print(").endswith("<|fim_middle|>")


def test_an_spm_prompt_appends_and_its_suffix_and_first_line_stay_put():
    """SPM ends with the prefix: typing appends; the anchor keeps the fitted suffix and the prefix's
    start from moving while half-typed code is parsed again."""
    spm = ScriptedEngine(fim_format="qwen2.5-coder:spm-paper")
    spm.healing = "off"
    spm.profile = replace(spm.profile, anchor="code")
    first = prompt_for(spm, FILE + "    print(")
    assert first.startswith("<|fim_prefix|><|fim_suffix|>\n    return data<|fim_middle|>import os") and first.endswith("print(")
    # Half-typed code that changes what encloses the cursor (a new def): the prompt still only grows.
    later = prompt_for(spm, FILE + "    print(data)\n\ndef g(x):\n    return x + ")
    assert later.startswith(first) and later.endswith("return x +")


def test_healing_backs_off_the_word_inside_the_typed_text():
    e = engine()
    e.healing, e.can_heal = "word", True
    request = CompletionRequest(FILE + "    result = da", SUFFIX, language="python")
    prepared = prepare(e, request, profile_budget(e))
    assert prepared.prompt.endswith("<|fim_middle|>    result = da")
    assert prepared.back_off.chars == 2  # the engine re-spells "da" from the tokens before it


def test_a_warm_up_and_the_completions_after_it_share_the_anchor():
    """The editor's warm-up (max_tokens 0) evaluates the prompt the completions at that place then reuse."""
    e = engine()
    request = CompletionRequest(FILE + "    ", SUFFIX, language="python", sampling=SamplingParams(max_tokens=0))
    warm = prepare(e, request, profile_budget(e)).prompt
    later = prompt_for(e, FILE + "    print(")
    assert later.startswith(warm) and later.endswith("print(")
