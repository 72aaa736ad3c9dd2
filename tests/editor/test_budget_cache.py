from fimkit.editor.context import Budget, CompletionCache, budget, looks_binary


def test_budget_keeps_the_nearest_whole_lines():
    text = "".join(f"line{i}\n" for i in range(100)) + "x = f(" + ")\n" + "".join(f"after{i}\n" for i in range(100))
    offset = text.index("x = f(") + len("x = f(")
    prefix, suffix = budget(text, offset, Budget(max_prefix_lines=5, max_suffix_lines=3))
    assert prefix == "line96\nline97\nline98\nline99\nx = f("
    assert suffix == ")\nafter0\nafter1"
    prefix, _ = budget(text, offset, Budget(max_prefix_chars=20))
    assert prefix.endswith("x = f(") and len(prefix) <= 20 and prefix.startswith("line")


def test_cache_reuses_a_completion_the_user_is_typing():
    cache = CompletionCache(size=2)
    cache.put("x = ", "\n", "compute(a, b)")
    assert cache.get("x = ", "\n") == "compute(a, b)"
    assert cache.get("x = comp", "\n") == "ute(a, b)"  # typed ahead: no request needed
    assert cache.get("x = cam", "\n") is None  # typed something else
    assert cache.get("x = compute(a, b)", "\n") is None  # nothing left to suggest
    cache.put("a", "", "1")
    cache.put("b", "", "2")
    assert cache.get("x = ", "\n") is None  # evicted (LRU of 2)


def test_binary_and_minified_buffers_are_refused():
    assert looks_binary("abc\x00def") and looks_binary("x" * 20_000) and not looks_binary("def f():\n    pass\n")


def test_budget_starts_the_prefix_on_a_grid_line_so_moving_down_keeps_its_beginning():
    lines = [f"value_{i} = compute({i})" for i in range(400)]
    firsts = set()
    for cursor in range(300, 316):
        text = "\n".join(lines[:cursor]) + "\nnext = "
        prefix, _ = budget(text, len(text), Budget(max_prefix_lines=200))
        first = prefix.split("\n", 1)[0]
        assert lines.index(first) % 16 == 0 and prefix.endswith("next = ") and len(prefix) <= 8000
        firsts.add(first)
    assert len(firsts) <= 2
    text = "\n".join(lines) + "\nnext = "
    prefix, _ = budget(text, len(text), Budget(max_prefix_lines=1000, max_prefix_chars=500))
    assert len(prefix) <= 500 and lines.index(prefix.split("\n", 1)[0]) % 16 == 0
