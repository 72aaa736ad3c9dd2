"""The typed settings layer: one declaration gives flags, checked YAML and the saved file."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import pytest
import yaml

from fimkit.errors import FimkitError
from fimkit.settings import (
    add_flags,
    build,
    diff_settings,
    dump_yaml,
    load_settings,
    overrides_from_args,
    setting,
    to_mapping,
)


@dataclass
class Inner:
    rank: int = setting(16, "the rank")
    names: tuple[str, ...] = setting(("a", "b"), "some names")


@dataclass
class Solver:
    lr: float = setting(2e-4, "learning rate")
    batch_size: int = setting(4, "batch size", short="b")


@dataclass
class Outer:
    seq_len: int = setting(512, "tokens")
    steps: int | None = setting(None, "a budget")
    mode: str = setting("x", "how", choices=("x", "y"))
    fast: bool = setting(False, "go fast")
    inner: Inner = setting(Inner, "inner settings")
    solver: Solver = setting(Solver, "solver settings", flag="")


def _file(tmp_path, text):
    f = tmp_path / "train.yaml"
    f.write_text(text)
    return f


def test_yaml_exponents_become_floats(tmp_path):
    text = "solver:\n  lr: 2e-4\n"
    assert yaml.safe_load(text)["solver"]["lr"] == "2e-4"  # YAML 1.1: no dot, so a string
    cfg = load_settings(Outer, _file(tmp_path, text))
    assert cfg.solver.lr == 0.0002 and isinstance(cfg.solver.lr, float)


@pytest.mark.parametrize("text,message", [
    ("seq_len: abc\n", "train.yaml: seq_len: expected an integer, got 'abc'"),
    ("seq_len: 1.5\n", "seq_len: expected an integer, got 1.5"),
    ("seq_len: true\n", "seq_len: expected an integer, got true"),
    ("solver:\n  lr: abc\n", "train.yaml: solver.lr: expected a number, got 'abc'"),
    ("solver:\n  lr: false\n", "solver.lr: expected a number, got false"),
    ("solver:\n  lr: .nan\n", "solver.lr: expected a number"),
    ("fast: maybe\n", "fast: expected true or false, got 'maybe'"),
    ("mode: z\n", "mode: expected one of x, y, got 'z'"),
    ("seq_len: null\n", "seq_len: expected an integer, got null"),
    ("inner:\n  names: [a, 3]\n", "inner.names: expected a list of names"),
    ("inner: 3\n", "inner: expected a mapping of settings, got 3"),
    ("seq_lne: 3\n", "seq_lne: unknown setting; did you mean seq_len?"),
    ("inner:\n  rnak: 3\n", r"inner\.rnak: unknown setting; did you mean inner\.rank\? \(known in inner: rank, names\)"),
    ("model: 3\n", "model: unknown setting"),
])
def test_wrong_values_name_the_file_the_key_and_what_was_expected(tmp_path, text, message):
    with pytest.raises(FimkitError, match=message):
        load_settings(Outer, _file(tmp_path, text))


@pytest.mark.parametrize("text,value", [("yes", True), ("no", False), ("1", True), ("0", False), ("true", True),
                                        ("'off'", False), ("'YES'", True)])
def test_bool_spellings(tmp_path, text, value):
    assert load_settings(Outer, _file(tmp_path, f"fast: {text}\n")).fast is value


def test_conversions():
    cfg = build(Outer, {"steps": None, "seq_len": 128, "inner": {"names": "q, k,v", "rank": 8.0}}, "x")
    assert (cfg.steps, cfg.seq_len, cfg.inner.names, cfg.inner.rank) == (None, 128, ("q", "k", "v"), 8)
    assert build(Outer, {"steps": 12, "inner": {"names": ["q"]}}, "x").inner.names == ("q",)
    # a quoted number in a file is a string, most likely a mistake: refused, naming the key
    with pytest.raises(FimkitError, match="steps: expected an integer, got '12'"):
        build(Outer, {"steps": "12"}, "x")
    assert build(Outer, {"solver": {"lr": 1}}, "x").solver.lr == 1.0
    assert build(Outer, {}, "x") == Outer()


def test_defaults_are_not_shared():
    a, b = Outer(), Outer()
    a.inner.rank = 1
    assert b.inner.rank == 16


def test_overrides_win_and_name_themselves(tmp_path):
    f = _file(tmp_path, "train:\n  seq_len: 256\n  inner:\n    rank: 4\n")
    cfg = load_settings(Outer, f, {"inner.rank": 8, "steps": None, "solver.lr": 0.1}, section="train")
    assert (cfg.seq_len, cfg.inner.rank, cfg.steps, cfg.solver.lr) == (256, 8, None, 0.1)
    with pytest.raises(FimkitError, match="overrides: inner.rank: expected an integer"):
        load_settings(Outer, f, {"inner.rank": "many"}, section="train")
    with pytest.raises(FimkitError, match="settings: nope: unknown setting"):
        load_settings(Outer, None, {"nope": 1})


def _parser():
    parser = argparse.ArgumentParser(prog="t")
    add_flags(parser, Outer)
    return parser


def test_a_flag_for_every_setting_with_dotted_dests():
    actions = {a.dest: a for a in _parser()._actions if a.dest != "help"}
    assert set(actions) == {"seq_len", "steps", "mode", "fast", "inner.rank", "inner.names", "solver.lr",
                            "solver.batch_size"}
    flags = {a.dest: a.option_strings for a in actions.values()}
    assert flags["inner.rank"] == ["--inner-rank"] and flags["solver.lr"] == ["--lr"]  # a group with flag=""
    assert flags["solver.batch_size"] == ["--batch-size", "-b"] and flags["fast"] == ["--fast", "--no-fast"]
    assert actions["seq_len"].help == "tokens (default: 512)" and all(a.default is None for a in actions.values())
    assert "inner settings (YAML: inner.*)" in _parser().format_help()


def test_only_the_flags_given_override():
    args = _parser().parse_args(["--lr", "3e-4", "--inner-names", "q,v", "--no-fast", "-b", "2"])
    assert overrides_from_args(args, Outer) == {"solver.lr": 3e-4, "inner.names": ("q", "v"), "fast": False,
                                                "solver.batch_size": 2}
    assert overrides_from_args(_parser().parse_args([]), Outer) == {}


def test_flags_over_the_file(tmp_path):
    f = _file(tmp_path, "seq_len: 256\nfast: true\nsolver:\n  lr: 1e-3\n")
    args = _parser().parse_args(["--lr", "5e-4"])
    cfg = load_settings(Outer, f, overrides_from_args(args, Outer))
    assert (cfg.seq_len, cfg.fast, cfg.solver.lr) == (256, True, 5e-4)


@pytest.mark.parametrize("argv,message", [(["--seq-len", "abc"], "expected an integer"),
                                          (["--mode", "z"], "expected one of x, y"),
                                          (["--steps", "none"], "expected an integer")])
def test_bad_flag_values_exit_with_the_reason(argv, message, capsys):
    with pytest.raises(SystemExit):
        _parser().parse_args(argv)
    assert message in capsys.readouterr().err


def test_prefix_and_skip_for_a_group_alone():
    parser = argparse.ArgumentParser()
    add_flags(parser, Inner, prefix="inner", skip=("inner.names",))
    args = parser.parse_args(["--inner-rank", "3"])
    assert overrides_from_args(args, Outer) == {"inner.rank": 3}


def test_saved_yaml_round_trips(tmp_path):
    cfg = Outer(steps=3, inner=Inner(names=("q",)))
    assert to_mapping(cfg)["inner"] == {"rank": 16, "names": ["q"]}
    f = tmp_path / "saved.yaml"
    f.write_text(dump_yaml(cfg))
    assert load_settings(Outer, f) == cfg


def test_diff_settings():
    old = {"a": 1, "g": {"x": [1, 2], "y": 2}, "gone": 1}
    new = {"a": 1, "g": {"x": [1, 3], "y": 5}, "added": 2}
    assert diff_settings(old, new, ignore=("g.y",)) == {"g.x": ([1, 2], [1, 3]), "gone": (1, "(unset)"),
                                                        "added": ("(unset)", 2)}


def test_a_help_that_states_its_default_is_not_given_a_second_one():
    @dataclass
    class Threads:
        threads: int | None = setting(None, "CPU threads (default: all cores)")

    parser = argparse.ArgumentParser(prog="t")
    add_flags(parser, Threads)
    (action,) = [a for a in parser._actions if a.dest == "threads"]
    assert action.help == "CPU threads (default: all cores)"
