"""The honest split of ``fimkit adapt``, decided before any training: what the model may learn from
and what it is judged on.

- ``history`` (a git checkout with enough history): train on the code as it was at a cut commit,
  judge on the lines written after it (holes lie wholly on lines added since the cut, in today's
  files). This is the question a team asks: does a model adapted today help with tomorrow's code?
  The cut is the newest first-parent commit after which at least ``heldout_fraction`` of today's
  source lines were written.
- ``files`` (anything else): whole files are held out, chosen by a hash of their path and the seed,
  so the same files are held out on every run; training never sees a held-out file.

Files are listed and filtered as ``fimkit corpus`` does (git ls-files or a .gitignore-aware walk;
binaries, minified, generated and oversized files dropped).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from fimkit.data.corpus import CorpusConfig, iter_sources, read_source, source_text
from fimkit.errors import FimkitError
from fimkit.syntax import extension_table
from fimkit.train.examples import is_held_out

SPLITS = ("auto", "files", "history")
HUNK = re.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@", re.M)


@dataclass
class SourceFile:
    repo: str  # the repository's folder name
    path: str  # relative to the repository
    text: str
    language: str
    lines: set[int] | None = None  # held-out side of a history split: the 0-based lines written after the cut


@dataclass
class Split:
    method: str  # "files" or "history"
    train: list[SourceFile] = field(default_factory=list)
    heldout: list[SourceFile] = field(default_factory=list)
    cuts: dict[str, str] = field(default_factory=dict)  # repository -> the cut commit (history)

    def describe(self) -> dict:
        return {"method": self.method, "cuts": self.cuts,
                "train_files": [f"{f.repo}/{f.path}" for f in self.train],
                "heldout_files": [f"{f.repo}/{f.path}" for f in self.heldout],
                "train_bytes": sum(len(f.text) for f in self.train),
                "heldout_lines": sum(len(f.lines) if f.lines is not None else f.text.count("\n") + 1
                                     for f in self.heldout)}


def split_repositories(repos: list[str], *, method: str = "auto", heldout_fraction: float = 0.2, seed: int = 0,
                       corpus: CorpusConfig = CorpusConfig(min_file_bytes=1)) -> Split:
    """The split of every repository (see the module docstring); ``auto`` takes history where each
    repository has it."""
    if method not in SPLITS:
        raise FimkitError(f"split must be one of {', '.join(SPLITS)}, got {method!r}")
    if not 0 < heldout_fraction < 1:
        raise FimkitError(f"heldout_fraction must be between 0 and 1, got {heldout_fraction}")
    roots = [Path(r).expanduser().resolve() for r in repos]
    for root in roots:
        if not root.is_dir():
            raise FimkitError(f"{root}: not a folder; fimkit adapt takes the folders of your repositories")
    # Finding a cut reads every file and diffs several commits: once per repository, for both uses.
    cuts = {r: _history_cut(r, heldout_fraction, corpus) for r in roots} if method != "files" else {}
    if method == "auto":
        method = "history" if all(cuts.values()) else "files"
    split = Split(method)
    for root in roots:
        if method == "history":
            cut = cuts[root]
            if cut is None:
                raise FimkitError(f"{root}: no git history to split by (a git checkout with a few commits); "
                                  "use --split files")
            split.cuts[root.name] = cut
            _history(root, cut, corpus, split)
        else:
            for f in _sources(root, corpus):
                (split.heldout if is_held_out(f"{f.repo}/{f.path}", heldout_fraction, seed) else split.train).append(f)
    return split


def _sources(root: Path, corpus: CorpusConfig) -> list[SourceFile]:
    table = extension_table()
    out = []
    for path, rel, repo in iter_sources([str(root)]):
        language = table.get(path.suffix.lower())
        if language not in corpus.languages:
            continue
        text, _ = read_source(path, corpus)
        if text is not None:
            out.append(SourceFile(repo, rel, text, language))
    return out


def _git(root: Path, *args: str) -> bytes | None:
    try:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=True, timeout=300).stdout
    except (OSError, subprocess.SubprocessError):
        return None


def _history_cut(root: Path, fraction: float, corpus: CorpusConfig) -> str | None:
    """The newest first-parent commit after which ``fraction`` of today's source lines were added."""
    if not (root / ".git").exists():
        return None
    out = _git(root, "rev-list", "--first-parent", "HEAD")
    commits = out.decode().split() if out else []
    if len(commits) < 2:
        return None
    table = extension_table()
    total = sum(f.text.count("\n") + 1 for f in _sources(root, corpus))
    wanted = fraction * total

    def added(commit: str) -> int:
        stat = _git(root, "-c", "core.quotePath=false", "diff", "--numstat", "-M", "--no-ext-diff", "--no-textconv",
                    commit, "HEAD") or b""
        count = 0
        for line in stat.decode("utf-8", "replace").splitlines():
            plus, _, path = line.split("\t", 2) if line.count("\t") >= 2 else ("-", "", "")
            if plus.isdigit() and table.get(Path(path).suffix.lower()) in corpus.languages:
                count += int(plus)
        return count

    lo, hi = 1, len(commits) - 1  # binary search: lines added since a commit grow as it gets older
    if added(commits[hi]) < wanted:
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if added(commits[mid]) >= wanted:
            hi = mid
        else:
            lo = mid + 1
    return commits[lo]


def _show(root: Path, commit: str, rel: str, corpus: CorpusConfig) -> str | None:
    """A file's text as of ``commit``, through the corpus builder's filters (None: filtered out)."""
    data = _git(root, "show", f"{commit}:{rel}")
    return source_text(data, corpus)[0] if data is not None else None


def _history(root: Path, cut: str, corpus: CorpusConfig, split: Split) -> None:
    """Training: the files as of ``cut``. Held out: today's committed files (HEAD, not the working
    tree, whose uncommitted edits would shift the lines) with the lines added since ``cut``; a file
    renamed since counts only its changed lines, so moved code is never judged as new."""
    table = extension_table()
    listing = _git(root, "ls-tree", "-r", "-z", "--name-only", cut) or b""
    for rel in listing.decode("utf-8", "surrogateescape").split("\0"):
        language = table.get(Path(rel).suffix.lower())
        if rel and language in corpus.languages and (text := _show(root, cut, rel, corpus)) is not None:
            split.train.append(SourceFile(root.name, rel, text, language))
    added: dict[str, set[int]] = {}
    current, after_minus = None, False
    diff = _git(root, "-c", "core.quotePath=false", "diff", "-U0", "-M", "--no-color", "--no-ext-diff",
                "--no-textconv", "--src-prefix=a/", "--dst-prefix=b/", cut, "HEAD") or b""
    for line in diff.split(b"\n"):
        if after_minus and line.startswith(b"+++ "):
            name = line[4:].decode("utf-8", "surrogateescape").rstrip("\t")
            current = added.setdefault(name[2:], set()) if name.startswith("b/") else None
        elif current is not None and (m := HUNK.match(line)):
            start, count = int(m.group(1)), int(m.group(2) if m.group(2) is not None else 1)
            current.update(range(start - 1, start - 1 + count))
        elif line.startswith(b"diff --git "):
            current = None
        after_minus = line.startswith(b"--- ")
    for rel, lines in sorted(added.items()):
        language = table.get(Path(rel).suffix.lower())
        if lines and language in corpus.languages and (text := _show(root, "HEAD", rel, corpus)) is not None:
            split.heldout.append(SourceFile(root.name, rel, text, language, lines))
