"""MkDocs hook: pages written when the site is built, so they cannot drift from what they show. The
command-line reference comes from fimkit's own argparse definitions (exactly what `fimkit VERB --help`
says); the home page is the README, its links into docs/ made relative to the site."""

from __future__ import annotations

from pathlib import Path

MARKER = "<!-- cli-reference -->"
README = "<!-- readme -->"


def cli_reference() -> str:
    from fimkit.cli import build_parser

    parser = build_parser()
    verbs = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    out = ["## fimkit", "", "```text", parser.format_help().rstrip(), "```", ""]
    for name, sub in verbs.choices.items():
        out += [f"## fimkit {name}", "", "```text", sub.format_help().rstrip(), "```", ""]
    return "\n".join(out)


def readme(config) -> str:
    text = (Path(config["docs_dir"]).parent / "README.md").read_text(encoding="utf-8")
    return text.replace("](docs/", "](")


def on_page_markdown(markdown: str, page, config, files) -> str:
    if MARKER in markdown:
        return markdown.replace(MARKER, cli_reference())
    if README in markdown:
        return markdown.replace(README, readme(config))
    return markdown
