"""Golden cases for the line rules, drawn from real outputs of the embedded model (prefix-only)."""

import pytest

from fimkit.infer.shaping import ShapeConfig, Shaper


def shape(prefix, suffix, tokens, **config):
    """Feed ``tokens`` (text pieces, or (text, logprob)) one by one, as the engine does."""
    shaper = Shaper(prefix, suffix, ShapeConfig(**config))
    streamed = ""
    for t in tokens:
        text, lp = t if isinstance(t, tuple) else (t, -0.1)
        delta, stop = shaper.feed(text, lp)
        streamed += delta
        if stop:
            break
    delta, result = shaper.finish()
    streamed += delta
    return result, streamed


def pieces(text, size=3):
    return [text[i : i + size] for i in range(0, len(text), size)]


DEMO_PREFIX = 'def fibonacci(n: int) -> int:\n    """Return the n-th Fibonacci number."""\n    if n < 2:\n        return n\n    return '
DEMO_SUFFIX = '\n\n\nif __name__ == "__main__":\n    print(fibonacci(10))\n'


def test_demo_hole_stops_where_the_block_ends():
    raw = "fibonacci(n - 1) + fibonacci(n - 2)\n\nprint(fibonacci(5))\nprint(fibonacci(10))\n"
    result, streamed = shape(DEMO_PREFIX, DEMO_SUFFIX, pieces(raw), language="python")
    assert result.text == streamed == "fibonacci(n - 1) + fibonacci(n - 2)"
    assert result.stop_reason == "scope"


def test_model_rewriting_the_suffix_is_cut():
    prefix = "def area(r):\n    "
    suffix = "\n    return result\n"
    raw = "result = 3.14159 * r * r\n    return result\n\n\ndef perimeter(r):"
    result, _ = shape(prefix, suffix, pieces(raw), language="python")
    # Stopped as soon as the next line's first word showed a new statement, before it was complete.
    assert result.text == "result = 3.14159 * r * r" and result.stop_reason == "statement"


def test_mid_line_is_single_line_without_the_retyped_rest():
    result, _ = shape("print(fibonacci(", "))\n", pieces("10))\nprint(fibonacci(20))\n"), language="python")
    assert result.text == "10" and result.stop_reason == "single_line"


def test_parse_check_holds_an_unclosed_block_and_drops_it_at_the_end():
    prefix = "def f(items):\n    total = 0\n"
    suffix = "\n    return total\n"
    # The model opens a call over several lines and runs out of tokens before closing it.
    result, streamed = shape(prefix, suffix, pieces("    total = sum(\n        x * 2 for x in items\n"), language="python")
    assert result.text == streamed == "" and result.trimmed_by_parse
    # Closed, the whole statement is released; a clean first line is released on its own.
    raw = "    total = sum(\n        x * 2 for x in items\n    )\n"
    result, streamed = shape(prefix, suffix, pieces(raw), language="python")
    assert result.text == streamed == raw.rstrip("\n")
    result, _ = shape(prefix, suffix, pieces("    total += 1\n    total = sum(\n"), language="python")
    assert result.text == "    total += 1" and result.trimmed_by_parse


def test_confidence_gate_hides_low_probability_completions_with_a_reason():
    result, streamed = shape("x = ", "\n", [("foo", -4.0), ("bar", -5.0)], min_mean_logprob=-2.0)
    assert result.text == streamed == "" and "under the confidence threshold" in result.gated
    result, _ = shape("x = ", "\n", [("foo", -0.2), ("bar", -0.1)], min_mean_logprob=-2.0)
    assert result.text == "foobar" and result.gated is None


def test_confidence_ends_the_completion_at_a_weak_later_line():
    toks = [("a = 1", -0.1), ("\n", -0.1), ("    b = garbage", -6.0), ("\n", -6.0)]
    result, _ = shape("def f():\n    ", "\n", toks, min_mean_logprob=-2.0)
    assert result.text == "a = 1" and result.stop_reason == "confidence"


def test_repetition_and_character_runs():
    result, _ = shape("x = [\n", "\n]\n", pieces("    1,\n    2,\n    2,\n    2,\n"))
    assert result.text == "    1,\n    2," and result.stop_reason == "repetition"
    result, _ = shape("print(", "\n", pieces("f(" + ")" * 30))
    assert result.text == "f()" and result.stop_reason == "repetition"


def test_n_indent_and_trailing_whitespace():
    result, _ = shape("    if x:\n        ", "\n", pieces("y = 1   \n        z = 2\n    w = 3\n"), n_indent=8)
    assert result.text == "y = 1\n        z = 2"


@pytest.mark.parametrize("size", [1, 2, 5, 100])
def test_streamed_text_equals_the_final_text_for_any_token_split(size):
    raw = "fibonacci(n - 1) + fibonacci(n - 2)\n\nprint(fibonacci(5))\n"
    result, streamed = shape(DEMO_PREFIX, DEMO_SUFFIX, pieces(raw, size), language="python")
    assert streamed == result.text == "fibonacci(n - 1) + fibonacci(n - 2)"


def test_held_blanks_are_healed_across_tokens():
    shaper = Shaper("x =  ", "\n", ShapeConfig(), held_blanks="  ")
    for t in [" ", " 4", "2"]:
        shaper.feed(t, -0.1)
    _, result = shaper.finish()
    assert result.text == "42"


def test_a_middle_that_fixes_a_half_typed_line_may_not_break_it_again():
    prefix, suffix = "def f(a):\n    b = ", "\n"  # the buffer has an error until b gets a value
    result, streamed = shape(prefix, suffix, pieces("a + 1\n    c = (\n"), language="python")
    assert result.text == streamed == "a + 1" and result.trimmed_by_parse


def test_column_zero_inserts_whole_lines_above_the_existing_one():
    """HumanEval single-line holes: the prefix ends with a newline and the suffix starts with the next line."""
    prefix = "def has_close(numbers, t):\n"
    suffix = "        for j in numbers:\n            pass\n"
    raw = "    for i in numbers:\n        for j in numbers:\n"
    result, streamed = shape(prefix, suffix, pieces(raw), language="python")
    assert result.text == streamed == "    for i in numbers:\n" and result.stop_reason == "suffix"


# `make demo`'s fine-tuned GGUF wrote the return value, then the suffix's call again at the same
# indentation, three times, until the token limit (issue 14).
DEMO_RUN_ON = ("fibonacci(n - 1) + fibonacci(n - 2)\n    print(fibonacci(10))\n    print(fibonacci(11))\n"
               "    print(fibonacci(12))\n")


def test_demo_run_on_into_the_suffix_ends_after_the_return():
    result, streamed = shape(DEMO_PREFIX, DEMO_SUFFIX, pieces(DEMO_RUN_ON), language="python")
    assert result.text == streamed == "fibonacci(n - 1) + fibonacci(n - 2)"
    assert result.stop_reason in ("suffix", "dead_code")


@pytest.mark.parametrize("fim_format", ["fimkit:spm-paper", "fimkit:psm", "prefix-only"])
def test_demo_run_on_through_the_completion_path(fim_format):
    from infer.fakes import ScriptedEngine

    from fimkit.infer import CompletionRequest, SamplingParams, run_completion

    engine = ScriptedEngine([(p, -0.2) for p in pieces(DEMO_RUN_ON)], fim_format=fim_format)
    result = run_completion(engine, CompletionRequest(DEMO_PREFIX, DEMO_SUFFIX, language="python",
                                                      sampling=SamplingParams(max_tokens=48)))
    assert result.text == "fibonacci(n - 1) + fibonacci(n - 2)" and result.stop_type != "limit"


def test_a_later_suffix_line_being_rewritten_stops_the_middle():
    prefix = "def load(path):\n    with open(path) as fh:\n        "
    suffix = "\n    data = json.loads(text)\n    return validate(data)\n"
    raw = "text = fh.read()\n    data = json.loads(text)\n    return validate(data)\n"
    result, _ = shape(prefix, suffix, pieces(raw), language="python")
    assert result.text == "text = fh.read()"


def test_code_after_break_at_the_same_indentation_is_dead():
    prefix = "def first(xs):\n    for x in xs:\n        if x:\n            "
    result, _ = shape(prefix, "\n    return None\n", pieces("found = x\n            break\n            found = None\n"),
                      language="python")
    assert result.text == "found = x\n            break" and result.stop_reason == "dead_code"


def test_a_return_with_open_brackets_continues():
    prefix = "def pair(a, b):\n    "
    raw = "return (\n    a,\n    b,\n)\n"
    result, _ = shape(prefix, "\n\n\nprint(pair(1, 2))\n", pieces(raw), language="python", single_line=False)
    assert result.text.startswith("return (\n    a,")


def test_short_suffix_lines_beyond_the_first_do_not_stop_a_block():
    prefix = "function f(xs) {\n  for (const x of xs) {\n    "
    suffix = "\n    count += 1;\n  }\n  return xs;\n}\n"
    raw = "if (x) {\n      g(x);\n    }\n"
    result, _ = shape(prefix, suffix, pieces(raw), language="javascript")
    assert result.text == "if (x) {\n      g(x);\n    }"


def test_a_hole_between_statements_gets_one_compound_statement():
    """A 2-4 line block hole: the model writes the block, then goes on with code of its own."""
    prefix = "def f(x):\n    y = 1\n    "
    suffix = "\n    return y\n"
    raw = "if x:\n        y = 2\n    else:\n        y = 3\n    z = y * 2\n    print(z)\n"
    result, streamed = shape(prefix, suffix, pieces(raw), language="python")
    assert result.text == streamed == "if x:\n        y = 2\n    else:\n        y = 3"
    assert result.stop_reason == "statement"


def test_at_the_end_of_a_block_more_statements_may_follow():
    """The suffix's next line is less indented: the hole is the block's tail, not one statement."""
    prefix = "def f(x):\n    y = 1\n    "
    suffix = "\n\ndef g():\n    pass\n"
    raw = "z = y * 2\n    return z\n\ndef h():\n"
    result, _ = shape(prefix, suffix, pieces(raw), language="python")
    assert result.text == "z = y * 2\n    return z" and result.stop_reason == "scope"


def test_an_indentation_only_cursor_line_bounds_the_scope():
    """The cursor on a line of only indentation (a body or block hole): a less indented line ends it."""
    result, _ = shape("class A:\n    def f(self):\n        ", "\n", pieces("return 1\n    def g(self):\n"),
                      language="python")
    assert result.text == "return 1" and result.stop_reason == "scope"


def test_brackets_left_open_suspend_the_indentation_rules():
    prefix = "def f(x):\n    "
    suffix = "\n    return y\n"
    raw = "y = g(\n  x,\n)\n    z = 1\n"
    result, _ = shape(prefix, suffix, pieces(raw), language="python")
    assert result.text == "y = g(\n  x,\n)" and result.stop_reason == "statement"


def test_a_line_that_ends_the_middle_is_judged_from_its_first_word():
    """Boundary rules need only indentation and the first word: generation stops mid-line. (No
    language: for Python a finished simple statement already stops at its newline.)"""
    prefix, suffix = "def f(x):\n    y = 1\n    ", "\n    return y\n"
    shaper = Shaper(prefix, suffix, ShapeConfig())
    stops = [shaper.feed(piece)[1] for piece in ["y = x + 1", "\n", "    ", "print", "(y, "]]
    assert stops == [False, False, False, False, True]  # "print" alone could still grow; "print(" cannot
    assert shaper.finish()[1].text == "y = x + 1"
    shaper = Shaper(prefix, suffix, ShapeConfig(language="python"))
    for piece in ["if x:\n", "        y = 2\n", "    el", "se:\n", "        y = 3\n"]:
        assert not shaper.feed(piece)[1]  # "el" may become "else", which continues the statement


def test_a_finished_simple_statement_stops_at_its_newline():
    """Python, between two statements: a complete logical line needs no look at the next one."""
    prefix, suffix = "def f(x):\n    y = 1\n    ", "\n    return y\n"
    shaper = Shaper(prefix, suffix, ShapeConfig(language="python"))
    assert shaper.feed("y = x + 1")[1] is False
    assert shaper.feed("\n")[1] is True
    assert shaper.finish()[1].text == "y = x + 1"
    for raw in ("y = g(\n", "if x:\n", "y = x + \\\n", 'doc = """\n'):  # the logical line goes on
        shaper = Shaper(prefix, suffix, ShapeConfig(language="python"))
        assert shaper.feed(raw)[1] is False, raw
    shaper = Shaper(prefix, "\n\ndef g():\n    pass\n", ShapeConfig(language="python"))  # the block's end
    assert shaper.feed("y = x + 1\n")[1] is False


# -- issue 26, item 5: a middle stays in its block whatever the cursor's column ----------------------
CLASS_PREFIX = "class Repo:\n    def load(self, path):\n        data = read(path)\n"
CLASS_SUFFIX = "        return parse(data)\n\n    def save(self, path):\n        write(path, self.data)\n"


def test_at_column_0_a_middle_does_not_dedent_below_the_code_after_it():
    """The cursor at the start of a line, the next statement right after it: the cursor's own line has
    no indentation, so the block the middle is in comes from the code that follows it."""
    raw = "        data = data.strip()\n        return data\n\n    def extra(self):\n        pass\n"
    result, _ = shape(CLASS_PREFIX, CLASS_SUFFIX, pieces(raw), language="python")
    assert "def extra" not in result.text and result.text.startswith("        data = data.strip()")
    assert result.stop_reason in ("scope", "statement", "suffix")


def test_a_first_line_that_would_leave_the_block_is_not_shown():
    result, _ = shape(CLASS_PREFIX, CLASS_SUFFIX, pieces("def extra(self):\n    pass\n"), language="python")
    assert result.text == "" and result.stop_reason == "scope"


def test_a_blank_cursor_line_takes_its_block_from_the_next_statement():
    prefix = "def f(x):\n    y = x + 1\n"
    suffix = "\n    return y\n"
    result, _ = shape(prefix, suffix, pieces("    y *= 2\nprint(f(3))\n"), language="python")
    assert result.text == "    y *= 2"


def test_a_header_is_never_released_without_its_body():
    prefix = "def f(items):\n    total = 0\n"
    suffix = "    return total\n"
    result, _ = shape(prefix, suffix, pieces("    for item in items:"), language="python")
    assert result.text == ""
    result, _ = shape(prefix, suffix, pieces("    for item in items:\n        total += item\n"), language="python")
    assert result.text == "    for item in items:\n        total += item\n"


def test_a_header_whose_body_is_already_below_is_released():
    prefix = "def f(user):\n    if user.is_act"
    suffix = "\n        return True\n    return False\n"
    result, _ = shape(prefix, suffix, pieces("ive():\n"), language="python")
    assert result.text == "ive():"


# -- issue 26, item 6: show what is likely right ----------------------------------------------------
def test_a_middle_is_shown_only_as_far_as_it_is_likely():
    tokens = [("compute", -0.1), ("(", -0.2), ("a", -0.3), (", ", -1.5), ("b", -0.4), (")", -0.1)]
    result, streamed = shape("x = ", "\n", tokens, min_shown_logprob=-1.0)
    assert result.text == streamed == "compute(a" and result.stop_reason == "unlikely"
    # Healing's tokens re-spell what the user typed: they cost nothing.
    shaper = Shaper("x = comp", "\n", ShapeConfig(min_shown_logprob=-1.0))
    shaper.feed("", -5.0, healing=True)
    shaper.feed("ute", -0.5)
    delta, result = shaper.finish()
    assert result.text == "ute"


def test_a_first_token_already_unlikely_shows_nothing():
    result, _ = shape("x = ", "\n", [("zzz", -4.0), ("\n", -0.1)], min_shown_logprob=-2.0)
    assert result.text == "" and result.stop_reason == "unlikely"


def test_a_cut_keeps_whole_lines_before_it_and_the_cut_line_as_far_as_it_goes():
    prefix = "def f(items):\n    total = 0\n"
    raw = [("    for item in items:\n", -0.2), ("        total", -0.3), (" +=", -0.2), (" item * 2", -3.0), ("\n", -0.1)]
    result, _ = shape(prefix, "\n\n", raw, language="python", min_shown_logprob=-1.5)
    assert result.text == "    for item in items:\n        total +="


def test_a_profile_switches_rules_off_one_by_one():
    """Each rule of RULES can be left out (a model profile measured it doing harm); rules a client asks
    for itself (an explicit single_line) still apply."""
    from fimkit.infer.shaping import DEFAULT_RULES

    prefix = "def area(r):\n    "
    suffix = "\n    return result\n"
    raw = ["result = 3.14 * r * r\n", "    return result\n", "print(area(2))\n"]
    every = DEFAULT_RULES
    assert shape(prefix, suffix, raw, rules=every)[0].text == "result = 3.14 * r * r"
    # Without the suffix rule the copy of the suffix's line is not caught there (scope still ends it after).
    assert shape(prefix, suffix, raw, rules=every - {"suffix", "statement"})[0].text == (
        "result = 3.14 * r * r\n    return result")
    assert shape(prefix, suffix, raw, rules=frozenset())[0].text == "result = 3.14 * r * r\n    return result\nprint(area(2))"
    mid = shape("x = f(", ")\n", ["a, b)\n", "y = 2\n"], rules=frozenset())[0]
    assert mid.text == "a, b)\ny = 2"  # no automatic single line, no retyped-rest cut
    assert shape("x = f(", ")\n", ["a, b)\n", "y = 2\n"], rules=frozenset({"single_line", "retyped"}))[0].text == "a, b"
    assert shape("x = f(", ")\n", ["a, b)\n", "y = 2\n"], rules=frozenset(), single_line=True)[0].text == "a, b)"
    with pytest.raises(ValueError, match="unknown shaping rule"):
        ShapeConfig(rules=frozenset({"bogus"}))


def test_mid_statement_the_middle_completes_its_logical_line():
    """logical_line (FIM profiles): code before the cursor on its line, nothing after: the middle ends
    where that line ends, or where the brackets it opened close."""
    rules = frozenset({"logical_line"})
    prefix = "def f(xs):\n    total = sum(x for x in "
    result, _ = shape(prefix, "\n    return total\n", ["xs if x)\n", "    print(total)\n"], rules=rules)
    assert result.text == "xs if x)" and result.stop_reason == "logical_line"
    prefix = "def f(xs):\n    total = compute(\n"
    result, _ = shape("def f(xs):\n    total = compute(", "\n    return total\n",
                      ["\n", "        xs,\n", "        2)\n", "    print(total)\n"], rules=rules)
    assert result.text == "\n        xs,\n        2)"  # the call's arguments, to its closing bracket


def test_at_a_statement_start_the_middle_is_one_statement():
    """one_statement (FIM profiles): the cursor where a statement starts: a simple statement ends with
    its logical line, a compound one when a line comes back to its indentation."""
    rules = frozenset({"one_statement"})
    prefix = "def f(xs):\n    "
    result, _ = shape(prefix, "\n", ["total = sum(xs)\n", "    return total\n"], rules=rules)
    assert result.text == "total = sum(xs)" and result.stop_reason == "one_statement"
    block = ["for x in xs:\n", "        if x:\n", "            print(x)\n", "    else:\n", "        pass\n",
             "    return 1\n"]
    result, _ = shape(prefix, "\n", block, rules=rules)
    assert result.text == "for x in xs:\n        if x:\n            print(x)\n    else:\n        pass"
    js = ["if (x) {\n", "    y()\n", "  }\n", "  z()\n"]
    result, _ = shape("function f() {\n  ", "\n}\n", js, rules=rules, language="javascript")
    assert result.text == "if (x) {\n    y()\n  }"
    # Not at a statement start (text before the cursor): the rule does not apply.
    result, _ = shape("def f(xs):\n    y = ", "\n", ["1\n", "    z = 2\n"], rules=rules)
    assert result.text == "1\n    z = 2"


def test_a_single_line_middle_at_column_0_skips_blank_lines_before_its_line():
    """A FIM model often starts a whole-line middle with a newline: in single-line mode the line is the
    first non-blank one, not an empty answer."""
    prefix = "def f(xs):\n"
    suffix = "    return total\n"
    result, _ = shape(prefix, suffix, ["\n", "    total = sum(xs)\n", "    more()\n"], single_line=True)
    assert result.text == "    total = sum(xs)\n" and result.stop_reason == "single_line"
