"""Docs that cannot rot: the site builds with --strict (no broken link, no page left out), every verb's
--help runs, every `fimkit ...` command the docs show still parses with today's flags, and every curl
example answers 200 with JSON from a live server on the embedded model."""

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fimkit.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]


def code_lines(path: Path) -> list[str]:
    """The commands in a page's fenced code blocks (bash, sh or unmarked), continuation lines joined."""
    out, fenced, kind, pending = [], False, "", ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced, kind = not fenced, line[3:].strip()
            continue
        if not fenced or kind not in ("bash", "sh", ""):
            continue
        line = pending + line.strip()
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        out.append(line)
    return out


def fimkit_commands() -> list[tuple[str, list[str]]]:
    """(page, argv) of every `fimkit ...` command shown, up to a pipe, a redirect or a comment."""
    found = []
    for page in PAGES:
        for line in code_lines(page):
            line = re.sub(r"^(\S+=\S+\s+)+", "", line)  # FIMKIT_API_KEY=secret fimkit ...
            line = re.sub(r"^\.venv/bin/", "", line)
            if not line.startswith("fimkit "):
                continue
            try:
                words = shlex.split(line, comments=True)
            except ValueError:
                continue
            for i, w in enumerate(words):
                if w in ("|", ">", ">>", "&&", ";", "2>&1"):
                    words = words[:i]
                    break
            found.append((page.name, words[1:]))
    return found


def test_the_site_builds_with_strict_links(tmp_path):
    pytest.importorskip("mkdocs")
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                       cwd=ROOT, capture_output=True, text=True, env=dict(os.environ, NO_MKDOCS_2_WARNING="1"))
    assert r.returncode == 0, r.stderr[-3000:]
    cli = (tmp_path / "site" / "cli" / "index.html").read_text()
    for verb in _verbs():
        assert f"fimkit {verb}" in cli  # the reference is generated from the parser: every verb is there


def _verbs() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return list(sub.choices)


@pytest.mark.parametrize("verb", _verbs())
def test_every_verb_has_help(verb, capsys):
    with pytest.raises(SystemExit) as done:
        main([verb, "--help"])
    assert done.value.code == 0 and "usage: fimkit " + verb in capsys.readouterr().out


def test_every_fimkit_command_in_the_docs_still_parses():
    commands = fimkit_commands()
    assert len(commands) > 30  # the pages were read
    parser = build_parser()
    bad = []
    for page, argv in commands:
        if "--help" in argv or "-h" in argv:
            continue
        try:
            parser.parse_args(argv)
        except SystemExit:
            bad.append(f"{page}: fimkit {shlex.join(argv)}")
    assert not bad, "commands in the docs that fimkit no longer accepts:\n" + "\n".join(bad)


def _curls() -> list[tuple[str, str]]:
    return [(page.name, line) for page in PAGES for line in code_lines(page)
            if line.startswith("curl ") and "localhost:5000" in line and "..." not in line]


@pytest.fixture(scope="module")
def live_server(embedded_gguf, tmp_path_factory):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, FIMKIT_HOME=str(tmp_path_factory.mktemp("home")))
    proc = subprocess.Popen([sys.executable, "-m", "fimkit", "serve", "--model", str(embedded_gguf), "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"localhost:{port}"
    for _ in range(600):
        if subprocess.run(["curl", "-sf", f"{base}/health"], capture_output=True).returncode == 0:
            break
        if proc.poll() is not None:
            raise RuntimeError(proc.stderr.read())
        time.sleep(0.1)
    yield base
    proc.terminate()
    proc.wait(timeout=20)


@pytest.mark.slow
def test_every_curl_example_answers_with_json(live_server):
    curls = _curls()
    assert len(curls) >= 10
    for page, line in curls:
        r = subprocess.run(line.replace("localhost:5000", live_server) + " -w '\\n%{http_code}'", shell=True,
                           capture_output=True, text=True, timeout=120)
        body, _, status = r.stdout.rpartition("\n")
        assert r.returncode == 0 and status == "200", f"{page}: {line}\n{status} {body[:300]}"
        json.loads(body)  # every example's reply is JSON
