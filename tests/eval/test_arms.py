"""Experiment verdicts on telemetry whose difference is known: written through the server's own
telemetry store, read back by the same query /v1/stats and `fimkit stats` use."""

import random

import pytest

from fimkit.eval.arms import ArmOutcomes, compare, newcombe, wilson
from fimkit.serve.telemetry import Telemetry


def test_wilson_and_newcombe_match_published_values():
    # Newcombe (1998), Statistics in Medicine 17, table II: 56/70 vs 48/80 -> 0.0524 to 0.3339 (method 10)
    low, high = newcombe(48, 80, 56, 70)
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)
    assert tuple(round(x, 4) for x in wilson(81, 263)) == (0.2553, 0.3662)


def _telemetry(tmp_path, rates: dict[str, float], n: int, *, seed=0, experiment="e1"):
    tel = Telemetry(tmp_path / "t.sqlite", queue_rows=10_000)  # the test writes faster than a server would
    rng = random.Random(seed)
    for arm, rate in rates.items():
        hits = round(rate * n)
        outcomes = [True] * hits + [False] * (n - hits)  # exactly the rate asked for
        rng.shuffle(outcomes)
        for i, accepted in enumerate(outcomes):
            cid = f"{arm}-{i}"
            tel.record_completion(cid, endpoint="/v1/completions", model="m", mid_line=False, language="python",
                                  chars=20, latency_ms=100.0 + (50 if arm != "base" else 0) + rng.random(),
                                  arm=arm, experiment=experiment)
            tel.record_event({"type": "view", "completion_id": cid})
            tel.record_event({"type": "accept" if accepted else "dismiss", "completion_id": cid,
                              **({"accepted_chars": 12} if accepted else {})})
        assert tel.flush(30)
    return tel


@pytest.mark.parametrize("rates, verdict", [
    ({"base": 0.30, "shop": 0.38}, "better"),
    ({"base": 0.30, "shop": 0.22}, "worse"),
    ({"base": 0.30, "shop": 0.30}, "no difference shown"),
])
def test_the_verdict_matches_a_known_difference(tmp_path, rates, verdict):
    tel = _telemetry(tmp_path, rates, 1000)
    try:
        stats = tel.stats({"e1": ("base", "shop")})
    finally:
        tel.close()
    exp = stats["experiments"]["e1"]
    assert exp["control"] == "base" and exp["versus"]["shop"]["verdict"] == verdict
    diff = exp["versus"]["shop"]["accept_rate_difference"]
    assert diff == pytest.approx(rates["shop"] - rates["base"], abs=1e-6)
    low, high = exp["versus"]["shop"]["difference_95"]
    assert low < diff < high
    shop = exp["arms"]["shop"]
    assert shop["shown"] == 1000 and shop["accept_rate"] == pytest.approx(rates["shop"])
    assert shop["chars_accepted_per_shown"] == pytest.approx(12 * rates["shop"], abs=0.01)
    assert shop["mean_latency_ms"] == pytest.approx(150.5, abs=1) and exp["arms"]["base"]["mean_latency_ms"] < 101
    assert stats["by_arm"]["shop"]["served"] == 1000


def test_too_few_completions_is_not_yet_a_verdict(tmp_path):
    tel = _telemetry(tmp_path, {"base": 0.1, "shop": 0.9}, 20)
    try:
        assert tel.stats()["experiments"]["e1"]["versus"]["shop"]["verdict"] == "not yet"
    finally:
        tel.close()


def test_duplicate_events_count_once_and_an_old_database_gains_the_columns(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:  # the schema before arms existed
        db.execute("CREATE TABLE completions (id TEXT PRIMARY KEY, created REAL, endpoint TEXT, model TEXT, "
                   "mid_line INTEGER, language TEXT, chars INTEGER, latency_ms REAL)")
        db.execute("INSERT INTO completions VALUES ('old', 0, '/complete', 'm', 0, NULL, 3, 5.0)")
    tel = Telemetry(path)
    try:
        for arm in ("base", "shop"):
            tel.record_completion(f"c-{arm}", endpoint="/complete", model="m", mid_line=False, language=None,
                                  chars=5, latency_ms=1.0, arm=arm)
            for _ in range(3):
                tel.record_event({"type": "accept", "completion_id": f"c-{arm}"})
        tel.flush(10)
        stats = tel.stats()
    finally:
        tel.close()
    assert stats["completions_served"] == 3 and stats["experiments"] == {}
    assert stats["by_arm"]["shop"]["accepted"] == 1 and stats["by_arm"]["shop"]["shown"] == 1
    assert stats["by_arm"]["shop"]["chars_accepted_per_shown"] == 5  # no accepted_chars: the whole completion


def test_compare_orders_the_control_first():
    out = compare([ArmOutcomes("base", 100, 30), ArmOutcomes("shop", 100, 45)])
    assert out["control"] == "base" and out["versus"]["shop"]["verdict"] == "better"


def test_fimkit_stats_prints_the_verdict_from_the_database(tmp_path, capsys):
    from fimkit.cli import main

    tel = _telemetry(tmp_path, {"base": 0.30, "shop": 0.38}, 500)
    tel.close()
    assert main(["stats", "--db", str(tmp_path / "t.sqlite")]) == 0
    out = capsys.readouterr().out
    assert "experiment e1 (control: base)" in out and "better (+8.0 pts, 95% [" in out
    assert main(["stats", "--db", str(tmp_path / "t.sqlite"), "--json"]) == 0
    assert '"verdict": "better"' in capsys.readouterr().out
    assert main(["stats", "--db", str(tmp_path / "missing.sqlite")]) == 2
    assert "no telemetry database" in capsys.readouterr().err


def test_fimkit_stats_from_a_server_that_is_not_there_is_one_line(capsys):
    import socket

    from fimkit.cli import main

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main(["stats", "--server", f"http://127.0.0.1:{port}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fimkit stats: error: cannot read http://127.0.0.1:") and len(err.strip().splitlines()) == 1
    assert main(["stats", "--server", "not a url"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
