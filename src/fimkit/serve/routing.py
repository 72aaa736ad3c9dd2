"""Which adapter serves a request: a routing table per repository, experiments, and rollback.

The table is a YAML file (``fimkit serve --routes routes.yaml``), read again whenever it changes, so
adding a repository, starting an experiment or rolling back needs no restart::

    repositories:               # the repository or workspace an editor reports -> an arm
      shop: shop                #   (an arm is an adapter given with --adapter NAME=PATH, or base)
      github.com/acme/payments: payments
    default: base               # every other request
    experiments:
      - name: shop-adapter
        repositories: [shop]    # who takes part (left out: every request)
        unit: user              # what is hashed: user or repository (each sees one arm, always)
        arms: {base: 50, shop: 50}
    rollback: null              # an arm: every request goes there at once (or serve --rollback ARM)

An editor reports its repository in the ``X-Fimkit-Repository`` header and its user in
``X-Fimkit-User`` (without one, the client's address stands for the user), percent-encoded UTF-8.
The file is read with ``fimkit.fileio``'s careful reader (a regular file of at most
``MAX_ROUTES_BYTES``, UTF-8, strict YAML: no aliases, no key given twice); a request never
waits on it, since a changed file is read by a background thread while requests keep the table they
have. A file that cannot be used keeps the table before it and says why in one log line that quotes
nothing of the file; at start it is one error line.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from fimkit.errors import FimkitError
from fimkit.fileio import read_yaml_file, shown

log = logging.getLogger("fimkit.serve")

BASE = "base"
UNITS = ("user", "repository")
CHECK_EVERY_S = 1.0  # how often a request looks at the file's modification time
MAX_NAME = 200  # longest repository or user name a header may carry (characters, once decoded)
MAX_ROUTES_BYTES = 1_000_000  # a table for thousands of repositories is tens of kB; 5 MB took seconds to parse


@dataclass(frozen=True)
class Experiment:
    name: str
    arms: tuple[tuple[str, float], ...]  # (arm, share), shares summing to 1
    repositories: frozenset[str] | None = None  # None: every request
    unit: str = "user"

    def arm_for(self, key: str) -> str:
        """The arm of ``key`` (a user or repository): a stable hash, so it never changes while the
        experiment's arms and shares stay the same."""
        point = int.from_bytes(hashlib.sha256(f"{self.name}\0{key}".encode()).digest()[:8], "big") / 2**64
        total = 0.0
        for arm, share in self.arms:
            total += share
            if point < total:
                return arm
        return self.arms[-1][0]


@dataclass(frozen=True)
class Route:
    """Where one request goes: ``adapter`` None is the base model; ``arm`` is what telemetry records."""

    arm: str
    experiment: str | None = None

    @property
    def adapter(self) -> str | None:
        return None if self.arm == BASE else self.arm


@dataclass(frozen=True)
class Table:
    repositories: dict[str, str] = field(default_factory=dict)
    default: str = BASE
    experiments: tuple[Experiment, ...] = ()
    rollback: str | None = None

    def route(self, repository: str | None, user: str | None) -> Route:
        if self.rollback is not None:
            return Route(self.rollback)
        for exp in self.experiments:
            if exp.repositories is None or repository in exp.repositories:
                key = user if exp.unit == "user" else repository
                if key:
                    return Route(exp.arm_for(key), exp.name)
        return Route(self.repositories.get(repository or "", self.default))


def parse_table(data: dict, arms: tuple[str, ...], where: str) -> Table:
    """The table in ``data``, every arm checked against the engine's adapters (``arms`` with base)."""
    known = (BASE, *arms)

    # Messages show names and numbers only (``shown``): a wrong file (--routes /etc/shadow) must not
    # end up in the log a line at a time.
    def arm(value, key: str) -> str:
        if not isinstance(value, str) or value not in known:
            raise FimkitError(f"{where}: {key}: {shown(value)} is not an arm; arms are base and the --adapter "
                              f"names ({', '.join(known)})")
        return value

    unknown = [k for k in data if k not in ("repositories", "default", "experiments", "rollback")]
    if unknown:
        raise FimkitError(f"{where}: unknown key(s) {', '.join(sorted(map(shown, unknown))[:5])}; the keys are "
                          "repositories, default, experiments, rollback")
    repos = data.get("repositories") or {}
    if not isinstance(repos, dict):
        raise FimkitError(f"{where}: repositories: expected a mapping of repository -> arm")
    table_repos = {str(name): arm(value, f"repositories.{shown(name)}") for name, value in repos.items()}
    experiments = []
    raw = data.get("experiments") or []
    if not isinstance(raw, list):
        raise FimkitError(f"{where}: experiments: expected a list")
    names = set()
    for i, exp in enumerate(raw):
        at = f"experiments[{i}]"
        if not isinstance(exp, dict) or not isinstance(exp.get("name"), str) or not exp["name"].strip():
            raise FimkitError(f"{where}: {at}: expected a mapping with a name")
        if exp["name"] in names:
            raise FimkitError(f"{where}: {at}: the name {shown(exp['name'])} is used twice")
        names.add(exp["name"])
        extra = [k for k in exp if k not in ("name", "repositories", "unit", "arms")]
        if extra:
            raise FimkitError(f"{where}: {at}: unknown key(s) {', '.join(sorted(map(shown, extra))[:5])}")
        shares = exp.get("arms")
        if not isinstance(shares, dict) or len(shares) < 2:
            raise FimkitError(f"{where}: {at}.arms: expected two or more arms with their shares, e.g. "
                              "{base: 50, shop: 50}")
        for name, share in shares.items():
            arm(name, f"{at}.arms")
            if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share < 1e9:
                raise FimkitError(f"{where}: {at}.arms.{name}: a share is a positive number, got {shown(share)}")
        total = float(sum(shares.values()))
        unit = exp.get("unit", "user")
        if unit not in UNITS:
            raise FimkitError(f"{where}: {at}.unit: {shown(unit)}; use user or repository")
        repos_in = exp.get("repositories")
        if repos_in is not None and (not isinstance(repos_in, list) or not all(isinstance(r, str) for r in repos_in)):
            raise FimkitError(f"{where}: {at}.repositories: expected a list of names")
        experiments.append(Experiment(exp["name"], tuple((a, s / total) for a, s in shares.items()),
                                      frozenset(repos_in) if repos_in is not None else None, unit))
    rollback = data.get("rollback")
    return Table(table_repos, arm(data.get("default", BASE), "default"), tuple(experiments),
                 arm(rollback, "rollback") if rollback is not None else None)


class Router:
    """The routing table of a file, read again when the file changes; ``rollback`` (the serve flag) wins
    over everything. ``route`` never reads the file: at most every ``CHECK_EVERY_S`` it starts a
    background ``refresh``, and the server awaits ``refresh`` off its event loop where it must show
    the newest table (``/health``)."""

    def __init__(self, path: str | None, arms: tuple[str, ...], rollback: str | None = None):
        self.path, self.arms = (Path(path).expanduser() if path else None), arms
        if rollback is not None and rollback not in (BASE, *arms):
            raise FimkitError(f"--rollback {rollback!r} is not an arm; arms are base and the --adapter names "
                              f"({', '.join((BASE, *arms))})")
        self.forced = rollback
        self.reloads = self.errors = 0
        self._refreshing = threading.Lock()  # one reader at a time; the others go on with the table they have
        self._checked = 0.0
        self._stamp: tuple[int, int, int] | None = None
        self.table = self._read() if self.path is not None else Table()
        if self.path is None and arms:
            log.info("adapters %s are loaded but no --routes file sends requests to them", ", ".join(arms))

    def _read(self) -> Table:
        stamp = self._stamp_of()  # taken first: a change made while reading is seen on the next look
        data = read_yaml_file(self.path, "--routes", max_bytes=MAX_ROUTES_BYTES)
        table = parse_table(data, self.arms, f"--routes {self.path}")
        self._stamp = stamp
        return table

    def refresh(self, wait: bool = True) -> bool:
        """Read the file again if it changed (inode, mtime or size) since the last look; True when a new
        table is in place. Whatever the file holds, a failure keeps the table before it, is counted and
        logged in one line, and that version is not tried again until it changes. Blocking (``wait``:
        for a look already under way, a few seconds at most): callers on an event loop run it in a
        thread."""
        if self.path is None or not self._refreshing.acquire(timeout=5.0 if wait else 0):
            return False
        try:
            stamp = self._stamp_of()
            if stamp == self._stamp:
                return False  # unchanged, or still missing (which was said once)
            try:
                table = self._read()
            except Exception as exc:  # noqa: BLE001 - a bad file never takes the table (or a request) with it
                self._stamp = stamp
                self.errors += 1
                why = str(exc) if isinstance(exc, FimkitError) else f"{self.path}: {type(exc).__name__}"
                log.error("routes: keeping the table before this change: %s", why)
                return False
            self.table = table
            self.reloads += 1
            log.warning("routes: read %s again", self.path)
            return True
        finally:
            self._refreshing.release()

    def _refresh_later(self) -> None:
        now = time.monotonic()
        if self.path is None or now - self._checked < CHECK_EVERY_S or self._refreshing.locked():
            return
        self._checked = now
        threading.Thread(target=self.refresh, args=(False,), name="fimkit-routes", daemon=True).start()

    def _stamp_of(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
            return (st.st_ino, st.st_mtime_ns, st.st_size)
        except (OSError, ValueError):
            return None

    def route(self, repository: str | None, user: str | None) -> Route:
        if self.forced is not None:
            return Route(self.forced)
        self._refresh_later()
        return self.table.route(repository, user)

    def describe(self) -> dict:
        t = self.table
        return {"file": str(self.path) if self.path else None, "rollback": self.forced or t.rollback,
                "repositories": len(t.repositories), "default": t.default,
                "experiments": [e.name for e in t.experiments], "reloads": self.reloads, "errors": self.errors}


def header_name(value: str | None, header: str) -> str | None:
    """A repository or user name from a header. A header carries bytes, which the server reads as
    Latin-1, so names travel percent-encoded UTF-8 ("项目" is "%E9%A1%B9%E7%9B%AE", as fimkit's editors
    send them); raw UTF-8 bytes (curl -H 'X-Fimkit-Repository: café') are taken too. Decoded, the
    name must be UTF-8, printable and at most ``MAX_NAME`` characters: else a 400 naming the header."""
    if value is None or not value.strip():
        return None
    if len(value) > MAX_NAME * 12:  # the longest name, every byte of it percent-encoded
        raise FimkitError(f"header {header}: expected a name of at most {MAX_NAME} characters")
    try:
        text = value.encode("latin-1").decode("utf-8")  # the bytes as sent, read as UTF-8
    except UnicodeEncodeError:
        text = value  # already text (a library caller), not header bytes
    except UnicodeDecodeError:
        raise FimkitError(f"header {header}: not UTF-8; send the name as percent-encoded UTF-8") from None
    try:
        text = unquote(text, encoding="utf-8", errors="strict").strip()
    except UnicodeDecodeError:
        raise FimkitError(f"header {header}: its percent-encoding is not UTF-8") from None
    if not text or len(text) > MAX_NAME or not text.isprintable():
        raise FimkitError(f"header {header}: expected a printable name of at most {MAX_NAME} characters")
    return text
