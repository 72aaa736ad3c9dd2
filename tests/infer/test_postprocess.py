from fimkit.infer import postprocess as pp


def test_mid_line_detection():
    assert pp.cursor_mid_line(")\n    return x")
    assert not pp.cursor_mid_line("\n    return x")
    assert not pp.cursor_mid_line("   \nfoo")


def test_retyped_rest_of_line_is_dropped():
    assert pp.drop_retyped_rest_of_line("10))", "))\nnext()") == "10"
    assert pp.drop_retyped_rest_of_line("10", "))\n") == "10"


def test_suffix_repetition_uses_the_first_non_blank_suffix_line():
    suffix = "\n\n\nif __name__ == \"__main__\":\n    print(fibonacci(10))\n"
    assert pp.first_suffix_line(suffix) == 'if __name__ == "__main__":'
    assert pp.repeats_suffix('if __name__ == "__main__":', suffix)
    assert pp.repeats_suffix("print(fib(11))", "\nprint(fib(10))", 0.8)
    assert not pp.repeats_suffix("print(fib(11))", "\nprint(fib(10))", 0.99)
    # Mid-line: the cursor's own line is not "the suffix's next line".
    assert pp.first_suffix_line(")\n    return x\n") == "    return x"


def test_scope_and_n_indent():
    prefix = "def f(n):\n    if n < 2:\n        return n\n    return "
    assert pp.leaves_scope("def g():", prefix) and not pp.leaves_scope("    x = 1", prefix)
    assert not pp.leaves_scope("anything", "top = ")  # indent 0: nothing is less
    assert pp.below_n_indent("  x", 4) and not pp.below_n_indent("    x", 4) and not pp.below_n_indent("x", None)


def test_repetition_of_lines_and_blocks():
    assert pp.repeats_previous(["a = 1", "a = 1"])
    assert pp.repeats_previous(["x", "if a:", "    b()", "if a:", "    b()"])
    assert not pp.repeats_previous(["a = 1", "b = 1"])
    assert not pp.repeats_previous(["", ""])  # blank lines are not a repetition


def test_character_runs_at_a_line_end_are_cut():
    assert pp.cut_char_repeats("x = f(" + ")" * 20) == ("x = f()", True)
    assert pp.cut_char_repeats("0, " * 12) == ("0, ", True)
    assert pp.cut_char_repeats("a = [1, 2, 3]") == ("a = [1, 2, 3]", False)


def test_trailing_blanks_are_held_back_and_healed():
    assert pp.hold_trailing_blanks("    return ") == ("    return", " ")
    assert pp.heal_leading_blanks(" x + 1", " ") == "x + 1"
    assert pp.heal_leading_blanks("\tx", " ") == "x"
    assert pp.heal_leading_blanks("x", "") == "x"


def test_useless_completions():
    assert pp.is_useless("  \n ", "x = ")
    assert pp.is_useless("    a = b + 1", "    a = b + 1\n")  # only repeats the line above
    assert not pp.is_useless("b + 1", "x = ")
