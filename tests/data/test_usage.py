"""The telemetry database read back as data: accepted completions with their context, accept rates."""

import sqlite3

import pytest
from fastapi.testclient import TestClient
from infer.fakes import ScriptedEngine

from fimkit.data.usage import PREFIX_CHARS, accept_rates, accepted_completions
from fimkit.errors import FimkitError
from fimkit.serve.app import create_app
from fimkit.serve.config import ServerConfig


def serve(tmp_path, **config):
    engine = ScriptedEngine([("value", -0.1), (" + 1", -0.1), ("\n", -0.1)])
    app = create_app(engine, ServerConfig(telemetry_path=str(tmp_path / "t.sqlite"), **config))
    return TestClient(app, base_url="http://localhost")


def test_accepted_completions_come_back_as_holes_with_their_context(tmp_path):
    with serve(tmp_path) as c:
        long_prefix = "# pad\n" * 2000 + "def f(x):\n    return "
        ids = [c.post("/complete", json={"prefix": long_prefix, "suffix": "\n\nprint(f(2))\n", "language": "python",
                                          "filename": "pkg/mod.py"}).json()["id"],
               c.post("/complete", json={"prefix": "y = ", "suffix": "\n"}).json()["id"],
               c.post("/complete", json={"prefix": "z = ", "suffix": "\n"}).json()["id"]]
        for cid in ids:
            c.post("/v1/events", json={"type": "view", "completion_id": cid})
        c.post("/v1/events", json={"type": "accept", "completion_id": ids[0]})
        c.post("/v1/events", json={"type": "accepted", "completion_id": ids[1]})
        c.post("/v1/events", json={"type": "dismiss", "completion_id": ids[2]})
    accepted = accepted_completions(tmp_path / "t.sqlite")
    assert [a["id"] for a in accepted] == ids[:2]
    first = accepted[0]
    assert first["middle"] == "value + 1" and first["suffix"] == "\n\nprint(f(2))\n"
    assert first["prefix"].endswith("def f(x):\n    return ") and len(first["prefix"]) == PREFIX_CHARS
    assert first["language"] == "python" and first["filename"] == "pkg/mod.py" and first["model"]
    rates = accept_rates(tmp_path / "t.sqlite")
    (model,) = rates
    assert rates[model]["python"] == {"shown": 1, "accepted": 1, "accept_rate": 1.0}
    assert rates[model]["?"] == {"shown": 2, "accepted": 1, "accept_rate": 0.5}


def test_without_telemetry_context_only_counts_are_kept(tmp_path):
    with serve(tmp_path, telemetry_context=False) as c:
        cid = c.post("/complete", json={"prefix": "y = ", "suffix": "\n"}).json()["id"]
        c.post("/v1/events", json={"type": "accept", "completion_id": cid})
    assert accepted_completions(tmp_path / "t.sqlite") == []
    with sqlite3.connect(tmp_path / "t.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM contexts").fetchone() == (0,)
        assert db.execute("SELECT COUNT(*) FROM completions").fetchone() == (1,)


def test_missing_or_foreign_databases_are_clear_errors(tmp_path):
    with pytest.raises(FimkitError, match="no telemetry database"):
        accepted_completions(tmp_path / "none.sqlite")
    with sqlite3.connect(tmp_path / "other.sqlite") as db:
        db.execute("CREATE TABLE notes (x)")
    with pytest.raises(FimkitError, match="not a fimkit telemetry database"):
        accept_rates(tmp_path / "other.sqlite")
    (tmp_path / "junk.sqlite").write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(FimkitError, match="not a fimkit telemetry database"):
        accepted_completions(tmp_path / "junk.sqlite")


def test_contexts_stay_bounded_and_accepted_ones_are_kept(tmp_path, monkeypatch):
    from fimkit.data import usage

    monkeypatch.setattr(usage, "MAX_CONTEXTS", 10)
    with sqlite3.connect(tmp_path / "t.sqlite") as db:
        db.executescript(usage.SCHEMA)
        for i in range(30):
            db.execute("INSERT INTO contexts VALUES (?, 'p', 's', 't', NULL)", (f"c{i}",))
        for i in (0, 5):
            db.execute("INSERT INTO events (type, completion_id) VALUES ('accept', ?)", (f"c{i}",))
        usage.prune_contexts(db)
        kept = {r[0] for r in db.execute("SELECT id FROM contexts")}
    assert kept == {"c0", "c5", *(f"c{i}" for i in range(20, 30))}  # the newest 10, and the accepted
