"""``fimkit stats``: what editors did with a server's completions, per arm and experiment, read from a
running server's /v1/stats or from the telemetry database itself. Thin: read, check the shape, print."""

from __future__ import annotations

import json
import os

from fimkit.cli_serve import MAX_INPUT_BYTES
from fimkit.errors import FimkitError


def register(sub, formatter, dedent) -> None:
    p = sub.add_parser(
        "stats", formatter_class=formatter, help="accept rate, characters accepted and latency per arm, with verdicts",
        description=dedent("""
            What editors did with the completions a server gave, from its telemetry: per arm (the adapter a
            request was routed to, or base) and per experiment of the --routes file, the accept rate with
            its 95% interval, characters accepted per shown completion, mean latency, and each arm against
            the experiment's first (its control): better, worse, no difference shown, or not yet (fewer
            than 30 shown completions in an arm). Reads a running server's /v1/stats (--server) or the
            telemetry database directly (default: $FIMKIT_HOME/telemetry.sqlite, read-only).
        """),
        epilog=dedent("""
            examples:
              fimkit stats                                   this machine's telemetry database
              fimkit stats --server http://team-box:5000     a team server (with --api-key if it has one)
              fimkit stats --json                            the same numbers as /v1/stats
        """),
    )
    p.add_argument("--server", help="base URL of a running fimkit serve")
    p.add_argument("--api-key", default=os.environ.get("FIMKIT_API_KEY"), help="bearer key of --server")
    p.add_argument("--db", help="telemetry database (default: $FIMKIT_HOME/telemetry.sqlite)")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.set_defaults(func=cmd_stats)


def cmd_stats(args) -> int:
    """A running server's /v1/stats or the database's own numbers; anything that is not what fimkit
    writes (a reply of another shape, a damaged database, a column of the wrong type) is one line."""
    import sqlite3

    if args.server:
        import urllib.error
        import urllib.request

        from fimkit.settings import check_url

        check_url(args.server, "--server")
        source = f"{args.server.rstrip('/')}/v1/stats"
        req = urllib.request.Request(source, headers={"Authorization": f"Bearer {args.api_key}"} if args.api_key else {})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw = resp.read(MAX_INPUT_BYTES + 1)
            if len(raw) > MAX_INPUT_BYTES:
                raise ValueError(f"a reply over {MAX_INPUT_BYTES:,} bytes")
            stats = json.loads(raw.decode("utf-8"))
        except urllib.error.HTTPError as exc:
            raise FimkitError(f"{args.server} answered {exc.code}: {exc.read(4096).decode('utf-8', 'replace')[:200]}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise FimkitError(f"cannot read {args.server}/v1/stats: {exc}") from None
    else:
        from contextlib import closing

        from fimkit.data.usage import open_readonly
        from fimkit.paths import fimkit_home
        from fimkit.serve.telemetry import arm_report

        source = str(args.db or fimkit_home() / "telemetry.sqlite")
        try:
            with closing(open_readonly(source)) as db:
                stats = arm_report(db)
        except sqlite3.Error as exc:
            raise FimkitError(f"{source}: cannot read this telemetry database ({exc})") from None
    try:
        text = render_arms(stats)
    except (AttributeError, KeyError, TypeError, ValueError, IndexError):
        raise FimkitError(f"{source}: not the per-arm statistics fimkit serve gives (/v1/stats)") from None
    print(json.dumps(stats, indent=2) if args.json else text)
    return 0


def render_arms(stats: dict) -> str:
    """The per-arm numbers of /v1/stats as plain-text tables."""

    def ci(v, digits=1, scale=1.0):
        return f"[{v[0] * scale:.{digits}f}, {v[1] * scale:.{digits}f}]" if v else ""

    def table(arms: dict, versus: dict | None = None) -> list[str]:
        rows = [f"  {'arm':<16}{'shown':>7}  {'accepted % [95%]':<22}{'chars/shown [95%]':<22}{'latency ms [95%]':<24}verdict"]
        for name, a in arms.items():
            rate = f"{a['accept_rate'] * 100:.1f} {ci(a['accept_rate_95'], 1, 100)}" if a["accept_rate"] is not None else "-"
            chars = (f"{a['chars_accepted_per_shown']:.1f} {ci(a['chars_95'])}"
                     if a["chars_accepted_per_shown"] is not None else "-")
            lat = f"{a['mean_latency_ms']:.0f} {ci(a['latency_95'], 0)}" if a["mean_latency_ms"] is not None else "-"
            v = (versus or {}).get(name)
            verdict = "control" if versus is not None and v is None else ""
            if v:
                diff = v.get("difference_95")
                verdict = v["verdict"] + (f" ({v['accept_rate_difference'] * 100:+.1f} pts, 95% "
                                          f"{ci(diff, 1, 100)})" if diff else "")
            rows.append(f"  {name:<16}{a['shown']:>7}  {rate:<22}{chars:<22}{lat:<24}{verdict}")
        return rows

    out = []
    for name, exp in (stats.get("experiments") or {}).items():
        out += [f"experiment {name} (control: {exp['control']})", *table(exp["arms"], exp["versus"]), ""]
    out += ["all routed completions, by arm (not randomized: no verdict)", *table(stats.get("by_arm") or {})]
    if not stats.get("by_arm"):
        out.append("  (none yet: completions are counted once an editor reports them via /v1/events)")
    return "\n".join(out)
