"""What every benchmark script shares: the Markdown table its results are printed as."""

from __future__ import annotations


def print_table(rows: list[tuple[str, str, str]], headers: tuple[str, str, str] = ("what", "measured", "notes")) -> None:
    width = max(len(r[0]) for r in [headers, *rows])
    print(f"| {headers[0].ljust(width)} | {headers[1]} | {headers[2]} |")
    print(f"|{'-' * (width + 2)}|---|---|")
    for name, value, note in rows:
        print(f"| {name.ljust(width)} | {value} | {note} |")
