from fimkit.infer.context.budget import ContextBudget, fit_context, syntax_suffix


def count(text):  # a stand-in tokenizer: one token per 4 characters
    return (len(text) + 3) // 4


PREFIX = "import os\n\n\nclass Store:\n    def load(self, path):\n        with open(path) as fh:\n            data = "
SUFFIX = "\n        return data\n\n    def save(self, path, data):\n        pass\n\n\ndef unrelated():\n    return 42\n"


def test_suffix_is_kept_to_the_end_of_the_enclosing_definition():
    kept = syntax_suffix(PREFIX, SUFFIX, "python", 40)
    assert kept.endswith("        pass") and "unrelated" not in kept  # class Store ends there


def test_suffix_without_grammar_keeps_a_few_lines():
    assert syntax_suffix(PREFIX, SUFFIX, None, 2) == "\n        return data"


def test_budget_cuts_the_prefix_from_the_top_at_line_boundaries():
    prefix = "".join(f"line_{i} = {i}\n" for i in range(200)) + "x = "
    fitted = fit_context(prefix, "\n", (), n_ctx=256, max_tokens=64, count=count)
    assert fitted.truncated and fitted.prefix.endswith("line_199 = 199\nx = ")
    assert prefix.endswith(fitted.prefix) and fitted.prefix.startswith("line_")
    assert count(fitted.prefix) <= int((256 - 64 - 16) * 0.6) + int((256 - 64 - 16) * 0.3)


def test_suffix_share_and_extra_chunks():
    suffix = "\n" + "".join(f"after_{i} = {i}\n" for i in range(300))
    extra = (("utils.py", "def helper():\n    return 1\n"), ("big.py", "x = 1\n" * 2000))
    fitted = fit_context("x = ", suffix, extra, n_ctx=1024, max_tokens=128, count=count,
                         budget=ContextBudget(suffix_lines=1000))
    assert count(fitted.suffix) <= int((1024 - 128 - 16) * 0.3)
    assert suffix.startswith(fitted.suffix)
    assert [name for name, _ in fitted.extra] == ["utils.py"]  # the big chunk does not fit


def test_prefix_only_models_get_no_suffix_in_the_prompt():
    fitted = fit_context("x = ", "\nprint(x)\n", (), n_ctx=512, max_tokens=64, count=count, use_suffix=False)
    assert fitted.suffix == "" and not fitted.truncated


def test_the_prefix_starts_on_a_grid_line_so_moving_down_keeps_the_prompt_beginning():
    lines = [f"value_{i} = compute({i})" for i in range(400)]
    starts = set()
    for cursor in range(300, 316):  # the cursor moves down fifteen lines
        prefix = "\n".join(lines[:cursor]) + "\n"
        fitted = fit_context(prefix, "\n", (), n_ctx=1024, max_tokens=64, count=count, use_suffix=False, use_extra=False,
                             budget=ContextBudget(prompt_tokens=512))
        first = fitted.prefix.split("\n", 1)[0]
        assert first in lines and lines.index(first) % 16 == 0
        assert count(fitted.prefix) <= 512 - 16
        starts.add(first)
    assert len(starts) <= 2  # the beginning moves in steps of 16 lines, not with every line


def test_the_prompt_budget_caps_what_a_prefix_only_model_reads():
    prefix = "".join(f"line_{i} = {i}\n" for i in range(2000))
    full = fit_context(prefix, "\n", (), n_ctx=4096, max_tokens=64, count=count, use_suffix=False, use_extra=False)
    capped = fit_context(prefix, "\n", (), n_ctx=4096, max_tokens=64, count=count, use_suffix=False, use_extra=False,
                         budget=ContextBudget(prompt_tokens=1024))
    assert count(full.prefix) > 3000 and 700 < count(capped.prefix) <= 1024 - 16
