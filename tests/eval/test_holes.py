from fimkit.data.spans import parser_for
from fimkit.eval.holes import HoleConfig, candidates, cut_holes

CODE = '''import os


def load(path, default=None):
    """Read a file."""
    if not os.path.exists(path):
        return default
    with open(path) as fh:
        text = fh.read()
    return text.strip()


TOP_LEVEL = load("x", default="y")
'''


def test_every_candidate_lies_inside_a_function_body():
    spans = candidates(CODE.encode(), "python")
    tree = parser_for("python").parse(CODE.encode())
    fn = next(n for n in tree.root_node.children if n.type == "function_definition")
    body = fn.child_by_field_name("body")
    for kind, items in spans.items():
        for start, end in items:
            assert body.start_byte <= start < end <= body.end_byte, kind
    texts = {kind: {CODE[s:e] for s, e in items} for kind, items in spans.items()}
    assert "return default" in texts["line"] and "not os.path.exists(path)" in texts["condition"]
    assert "path" in texts["arguments"] and any(t.startswith("with open") for t in texts["block"])
    assert 'load("x", default="y")' not in str(texts)  # top-level code is never a hole


def test_cutting_is_deterministic_and_reassembles(tmp_path):
    for i in range(5):
        (tmp_path / f"m{i}.py").write_text(CODE.replace("load", f"load_{i}"))
    a = cut_holes(str(tmp_path), HoleConfig(seed=7))
    b = cut_holes(str(tmp_path), HoleConfig(seed=7))
    c = cut_holes(str(tmp_path), HoleConfig(seed=8))
    assert a == b and a != c
    for t in a:
        source = (tmp_path / t.id.split(":")[0]).read_text()
        assert t.prefix + t.middle + t.suffix == source and t.middle.strip()
    assert {t.kind for t in a} >= {"line", "condition", "arguments"}
    assert {t.cursor for t in a} == {"mid-line", "end-of-line"}
