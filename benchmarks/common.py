"""What every benchmark script shares: the Markdown table its results are printed as, and the
child processes that measure one side each (so each side's peak memory is its own)."""

from __future__ import annotations

import json
import resource
import subprocess
import sys


def print_result(result: dict) -> None:
    """In a child process: add its peak resident memory to ``result`` and print it for ``run_role``."""
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(result))


def run_role(script: str, role: str, *args: str) -> dict:
    """Run ``script --role ROLE ARGS`` in a fresh process and return what its ``print_result`` printed."""
    out = subprocess.run([sys.executable, script, "--role", role, *args], capture_output=True, text=True)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"{role} failed:\n{out.stderr[-3000:]}")
    return json.loads(line[7:])


def print_table(rows: list[tuple[str, str, str]], headers: tuple[str, str, str] = ("what", "measured", "notes")) -> None:
    width = max(len(r[0]) for r in [headers, *rows])
    print(f"| {headers[0].ljust(width)} | {headers[1]} | {headers[2]} |")
    print(f"|{'-' * (width + 2)}|---|---|")
    for name, value, note in rows:
        print(f"| {name.ljust(width)} | {value} | {note} |")
