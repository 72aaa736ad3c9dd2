"""The routing table: repositories to adapters, experiments by a stable hash, rollback, and a file that
is read again when it changes (a broken edit keeps the table before it)."""

import os

import pytest

from fimkit.errors import FimkitError
from fimkit.serve import routing
from fimkit.serve.routing import Router, header_name, parse_table

ARMS = ("shop", "pay")


def _write(path, text):
    path.write_text(text)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # a new mtime even within one tick


def test_repositories_default_and_rollback():
    t = parse_table({"repositories": {"shop": "shop", "github.com/acme/pay": "pay"}, "default": "base"}, ARMS, "f")
    assert t.route("shop", "ann").adapter == "shop" and t.route("github.com/acme/pay", None).arm == "pay"
    assert t.route("other", "ann").adapter is None and t.route(None, None).arm == "base"
    back = parse_table({"repositories": {"shop": "shop"}, "rollback": "base"}, ARMS, "f")
    assert back.route("shop", "ann").arm == "base"


def test_experiment_shares_are_stable_and_close_to_asked():
    t = parse_table({"experiments": [{"name": "e1", "arms": {"base": 30, "shop": 70}, "repositories": ["shop"]}]},
                    ARMS, "f")
    arms = [t.route("shop", f"user{i}") for i in range(4000)]
    share = sum(r.arm == "shop" for r in arms) / len(arms)
    assert 0.67 < share < 0.73 and all(r.experiment == "e1" for r in arms)
    assert [t.route("shop", f"user{i}").arm for i in range(50)] == [r.arm for r in arms[:50]]  # same user, same arm
    assert t.route("other", "user1").experiment is None  # not part of it
    by_repo = parse_table({"experiments": [{"name": "e2", "unit": "repository", "arms": {"base": 1, "pay": 1}}]},
                          ARMS, "f")
    assert len({by_repo.route("r1", f"u{i}").arm for i in range(100)}) == 1  # one repository, one arm


@pytest.mark.parametrize("data, needle", [
    ({"repositories": {"shop": "nope"}}, "'nope' is not an arm"),
    ({"repositories": ["shop"]}, "expected a mapping"),
    ({"default": 3}, "3 is not an arm"),
    ({"rollback": "gone"}, "'gone' is not an arm"),
    ({"routes": {}}, "unknown key(s) 'routes'"),
    ({"experiments": {"name": "x"}}, "experiments: expected a list"),
    ({"experiments": [{"arms": {"base": 1, "shop": 1}}]}, "with a name"),
    ({"experiments": [{"name": "x", "arms": {"base": 1}}]}, "two or more arms"),
    ({"experiments": [{"name": "x", "arms": {"base": 1, "shop": -1}}]}, "positive number"),
    ({"experiments": [{"name": "x", "arms": {"base": 1, "shop": float("nan")}}]}, "positive number"),
    ({"experiments": [{"name": "x", "arms": {"base": 1, "shop": True}}]}, "positive number"),
    ({"experiments": [{"name": "x", "arms": {"base": 1, "shop": 1}, "unit": "team"}]}, "use user or repository"),
    ({"experiments": [{"name": "x", "arms": {"base": 1, "shop": 1}, "repositories": "shop"}]}, "list of names"),
    ({"experiments": [{"name": "x", "arms": {"base": 1, "shop": 1}}] * 2}, "used twice"),
])
def test_a_bad_table_names_what_is_wrong(data, needle):
    with pytest.raises(FimkitError, match="f: ") as err:
        parse_table(data, ARMS, "f")
    assert needle in str(err.value)


def test_the_file_is_read_again_when_it_changes_and_a_broken_edit_keeps_the_old_table(tmp_path, monkeypatch):
    monkeypatch.setattr(routing, "CHECK_EVERY_S", float("inf"))  # only the explicit refreshes read it
    path = tmp_path / "routes.yaml"
    _write(path, "repositories: {shop: shop}\n")
    router = Router(str(path), ARMS)
    assert router.route("shop", "u").arm == "shop"
    _write(path, "repositories: {shop: pay}\n")
    assert router.refresh() and router.route("shop", "u").arm == "pay" and router.reloads == 1
    _write(path, "repositories: {shop: [unclosed\n")  # not YAML
    assert not router.refresh() and router.route("shop", "u").arm == "pay" and router.errors == 1
    _write(path, "repositories: {shop: ghost}\n")  # an arm that is not loaded
    assert not router.refresh() and router.route("shop", "u").arm == "pay" and router.errors == 2
    path.unlink()
    for _ in range(3):  # a missing file is one error, not one a second
        router.refresh()
        assert router.route("shop", "u").arm == "pay"
    assert router.errors == 3
    _write(path, "rollback: base\n")
    assert router.refresh() and router.route("shop", "u").arm == "base"  # rollback without a restart


def test_the_rollback_flag_wins_and_start_up_mistakes_are_one_line(tmp_path):
    path = tmp_path / "routes.yaml"
    _write(path, "repositories: {shop: shop}\n")
    assert Router(str(path), ARMS, rollback="base").route("shop", "u").arm == "base"
    with pytest.raises(FimkitError, match="--rollback 'x' is not an arm"):
        Router(str(path), ARMS, rollback="x")
    with pytest.raises(FimkitError, match="no such file"):
        Router(str(tmp_path / "missing.yaml"), ARMS)
    _write(path, "repositories: {shop: ghost}\n")
    with pytest.raises(FimkitError, match="'ghost' is not an arm"):
        Router(str(path), ARMS)


def test_a_router_without_a_file_sends_everything_to_the_base():
    assert Router(None, ARMS).route("shop", "u").adapter is None


@pytest.mark.parametrize("value", ["x" * 201, "a\x00b", "tab\there", "\x1b[31mred"])
def test_header_names_are_bounded_and_printable(value):
    with pytest.raises(FimkitError, match="header X-Fimkit-Repository"):
        header_name(value, "X-Fimkit-Repository")


def test_header_names_pass_through():
    assert header_name(" github.com/acme/shop ", "h") == "github.com/acme/shop"
    assert header_name("", "h") is None and header_name(None, "h") is None


def test_an_unchanged_file_is_not_read_again(tmp_path, monkeypatch):
    monkeypatch.setattr(routing, "CHECK_EVERY_S", float("inf"))
    path = tmp_path / "routes.yaml"
    _write(path, "repositories: {shop: shop}\n")
    router = Router(str(path), ARMS)
    reads = []
    monkeypatch.setattr(router, "_read", lambda: reads.append(1))
    for i in range(200):
        router.refresh()
        router.route("shop", f"u{i}")
    assert not reads and router.reloads == 0


@pytest.mark.parametrize("flags, needle", [
    (["--rollback", "shop"], "--rollback 'shop' is not an arm"),
    (["--routes", "{missing}"], "no such file"),
    (["--routes", "{bad}"], "'ghost' is not an arm"),
    (["--engine-args", "--n-gpu-layers 99"], "need --backend llama-server"),
    (["--backend", "llama-server", "--engine-args", "'unclosed"], "--engine-args"),
    (["--adapter", "shop=x.gguf"], "needs --backend llama-server"),
    (["--backend", "llama-server", "--adapter", "shop"], "expected NAME=PATH"),
    (["--backend", "llama-server", "--adapter", "shop={missing}"], "--adapter shop: "),
    (["--backend", "llama-server", "--parallel", "0"], "--parallel"),
    (["--backend", "llama-server", "--lora", "x.gguf"], "give it a name instead"),
    (["--backend", "llama-server", "--base-url", "not a url"], "expected a server's address"),
    (["--backend", "openai", "--base-url", "localhost:8000/v1"], "expected a server's address"),
])
def test_team_flags_fail_in_one_line_before_anything_starts(flags, needle, tmp_path, capsys, fimkit_home):
    from fimkit.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("repositories: {shop: ghost}\n")
    flags = [f.format(missing=tmp_path / "missing.yaml", bad=bad) for f in flags]
    assert main(["serve", "--port", "0", *flags]) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1, err
