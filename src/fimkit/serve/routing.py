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
``X-Fimkit-User`` (without one, the client's address stands for the user). A file that cannot be used
keeps the table before it and says why in the log; at start it is one error line.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from fimkit.errors import FimkitError
from fimkit.settings import read_yaml_mapping

log = logging.getLogger("fimkit.serve")

BASE = "base"
UNITS = ("user", "repository")
CHECK_EVERY_S = 1.0  # how often a request looks at the file's modification time
MAX_NAME = 200  # longest repository or user name a header may carry


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

    def arm(value, key: str) -> str:
        if not isinstance(value, str) or value not in known:
            raise FimkitError(f"{where}: {key}: {value!r} is not an arm; arms are base and the --adapter names "
                              f"({', '.join(known)})")
        return value

    unknown = set(data) - {"repositories", "default", "experiments", "rollback"}
    if unknown:
        raise FimkitError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}; the keys are repositories, "
                          "default, experiments, rollback")
    repos = data.get("repositories") or {}
    if not isinstance(repos, dict):
        raise FimkitError(f"{where}: repositories: expected a mapping of repository -> arm")
    table_repos = {str(name): arm(value, f"repositories.{name}") for name, value in repos.items()}
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
            raise FimkitError(f"{where}: {at}: the name {exp['name']!r} is used twice")
        names.add(exp["name"])
        extra = set(exp) - {"name", "repositories", "unit", "arms"}
        if extra:
            raise FimkitError(f"{where}: {at}: unknown key(s) {', '.join(sorted(map(str, extra)))}")
        shares = exp.get("arms")
        if not isinstance(shares, dict) or len(shares) < 2:
            raise FimkitError(f"{where}: {at}.arms: expected two or more arms with their shares, e.g. "
                              "{base: 50, shop: 50}")
        for name, share in shares.items():
            arm(name, f"{at}.arms")
            if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share < 1e9:
                raise FimkitError(f"{where}: {at}.arms.{name}: a share is a positive number, got {share!r}")
        total = float(sum(shares.values()))
        unit = exp.get("unit", "user")
        if unit not in UNITS:
            raise FimkitError(f"{where}: {at}.unit: {unit!r}; use user or repository")
        repos_in = exp.get("repositories")
        if repos_in is not None and (not isinstance(repos_in, list) or not all(isinstance(r, str) for r in repos_in)):
            raise FimkitError(f"{where}: {at}.repositories: expected a list of names")
        experiments.append(Experiment(exp["name"], tuple((a, s / total) for a, s in shares.items()),
                                      frozenset(repos_in) if repos_in is not None else None, unit))
    rollback = data.get("rollback")
    return Table(table_repos, arm(data.get("default", BASE), "default"), tuple(experiments),
                 arm(rollback, "rollback") if rollback is not None else None)


class Router:
    """The routing table of a file, reloaded when the file changes; ``rollback`` (the serve flag) wins
    over everything."""

    def __init__(self, path: str | None, arms: tuple[str, ...], rollback: str | None = None):
        self.path, self.arms = (Path(path).expanduser() if path else None), arms
        if rollback is not None and rollback not in (BASE, *arms):
            raise FimkitError(f"--rollback {rollback!r} is not an arm; arms are base and the --adapter names "
                              f"({', '.join((BASE, *arms))})")
        self.forced = rollback
        self.reloads = self.errors = 0
        self._lock = threading.Lock()
        self._checked = 0.0
        self._stamp: tuple[int, int] | None = None
        self.table = self._read() if self.path is not None else Table()
        if self.path is None and arms:
            log.info("adapters %s are loaded but no --routes file sends requests to them", ", ".join(arms))

    def _read(self) -> Table:
        try:
            st = self.path.stat()
        except OSError as exc:
            raise FimkitError(f"--routes {self.path}: {exc.strerror}") from exc
        self._stamp = (st.st_mtime_ns, st.st_size)
        return parse_table(read_yaml_mapping(self.path), self.arms, str(self.path))

    def _maybe_reload(self) -> None:
        now = time.monotonic()
        if self.path is None or now - self._checked < CHECK_EVERY_S:
            return
        with self._lock:
            if now - self._checked < CHECK_EVERY_S:
                return
            self._checked = now
            try:
                st = os.stat(self.path)
                if (st.st_mtime_ns, st.st_size) == self._stamp:
                    return
                self.table = self._read()
                self.reloads += 1
                log.warning("routes: read %s again", self.path)
            except (FimkitError, OSError) as exc:
                stamp = self._stamp_of()
                if stamp is None and self._stamp is None:
                    return  # still missing: said once
                self._stamp = stamp  # this version is not tried again until it changes
                self.errors += 1
                log.error("routes: keeping the table before this change: %s", exc)

    def _stamp_of(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
            return (st.st_mtime_ns, st.st_size)
        except OSError:
            return None

    def route(self, repository: str | None, user: str | None) -> Route:
        if self.forced is not None:
            return Route(self.forced)
        self._maybe_reload()
        return self.table.route(repository, user)

    def describe(self) -> dict:
        t = self.table
        return {"file": str(self.path) if self.path else None, "rollback": self.forced or t.rollback,
                "repositories": len(t.repositories), "default": t.default,
                "experiments": [e.name for e in t.experiments], "reloads": self.reloads, "errors": self.errors}


def header_name(value: str | None, header: str) -> str | None:
    """A repository or user name from a header, checked: printable and bounded (a 400 names the header)."""
    if value is None or not value.strip():
        return None
    if len(value) > MAX_NAME or not value.isprintable():
        raise FimkitError(f"header {header}: expected a printable name of at most {MAX_NAME} characters")
    return value.strip()
