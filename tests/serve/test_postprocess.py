from fimkit.serve.postprocess import (
    cursor_mid_line,
    cut_at_scope_end,
    cut_at_suffix_overlap,
    heal_leading_blanks,
    hold_trailing_blanks,
    keep_single_line,
    postprocess,
)


def test_mid_line_detection():
    assert cursor_mid_line(")\n    return x")
    assert not cursor_mid_line("\n    return x")
    assert not cursor_mid_line("   \nfoo")


def test_single_line_when_text_is_right_of_the_cursor():
    assert keep_single_line("a, b\n    c = 1", ")\n") == "a, b"
    assert keep_single_line("a\nb", "\nrest") == "a\nb"


def test_retyped_rest_of_line_is_dropped():
    # prefix "print(fib(" suffix "))\n": the model wrote "10))" again.
    assert cut_at_suffix_overlap("10))", "))\nnext()") == "10"


def test_cut_before_a_line_that_repeats_the_suffix():
    # Real output of the embedded model on the demo hole (prefix-only).
    middle = "fibonacci(n - 1) + fibonacci(n - 2)\n\n\nif __name__ == \"__main__\":\n    print(fibonacci(5))"
    suffix = "\n\n\nif __name__ == \"__main__\":\n    print(fibonacci(10))\n"
    assert cut_at_suffix_overlap(middle, suffix) == "fibonacci(n - 1) + fibonacci(n - 2)"


def test_cursor_on_an_empty_line_inside_a_block():
    middle = "    x = 1\n    y = 2\n    return x\n"
    assert cut_at_suffix_overlap(middle, "\n    return x\n") == "    x = 1\n    y = 2"


def test_similarity_threshold():
    assert cut_at_suffix_overlap("a\nprint(fib(11))", "\nprint(fib(10))", threshold=0.8) == "a"
    assert cut_at_suffix_overlap("a\nprint(fib(11))", "\nprint(fib(10))", threshold=0.99) == "a\nprint(fib(11))"


def test_block_end_stops_the_middle():
    prefix = "def f(n):\n    if n < 2:\n        return n\n    return "
    middle = "f(n - 1) + f(n - 2)\n\n\ndef g():\n    pass"
    assert cut_at_scope_end(middle, prefix) == "f(n - 1) + f(n - 2)"
    assert cut_at_scope_end("x\ny", "top = ") == "x\ny"  # indent 0: nothing is less


def test_trailing_blanks_are_held_back_and_healed():
    assert hold_trailing_blanks("    return ") == ("    return", " ")
    assert heal_leading_blanks(" x + 1", " ") == "x + 1"
    assert heal_leading_blanks("\tx", " ") == "x"
    assert heal_leading_blanks("x", "") == "x"


def test_postprocess_applies_the_rules_in_order():
    prefix = "def f(n):\n    return "
    assert postprocess("n + 1\n\ndef g():\n    pass", prefix, "\n\nprint(f(1))\n") == "n + 1"
