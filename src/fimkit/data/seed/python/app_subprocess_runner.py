"""Safer subprocess wrapper: no shell, timeouts, captured output, clear errors."""
from __future__ import annotations

import os
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class CommandError(RuntimeError):
    def __init__(self, result: CommandResult) -> None:
        # Keep only the tail of stderr: enough to diagnose, short enough for logs.
        tail = "\n".join(result.stderr.strip().splitlines()[-5:])
        super().__init__(f"`{shlex.join(result.argv)}` exited {result.returncode}: {tail}")
        self.result = result


def run(argv: Sequence[str], *, cwd: str | Path | None = None,
        env: Mapping[str, str] | None = None, timeout: float = 60.0,
        check: bool = True, input_text: str | None = None) -> CommandResult:
    """Run ``argv`` without a shell and return its captured output.

    Passing a list instead of a string with shell=True means arguments can't be
    reinterpreted by the shell, which rules out injection through file names.
    """
    merged_env = {**os.environ, **env} if env else None
    try:
        proc = subprocess.run(
            list(argv), cwd=cwd, env=merged_env, input=input_text,
            capture_output=True, text=True, timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        raise TimeoutError(f"`{shlex.join(argv)}` timed out after {timeout}s") from exc
    except FileNotFoundError as exc:
        raise CommandError(CommandResult(tuple(argv), 127, "", str(exc))) from exc
    result = CommandResult(tuple(argv), proc.returncode, proc.stdout, proc.stderr)
    if check and not result.ok:
        raise CommandError(result)
    return result


def git_current_branch(repo: str | Path = ".") -> str | None:
    """Example usage: returns None outside a git checkout instead of raising."""
    res = run(["git", "rev-parse", "--abbrev-ref", "HEAD"], cwd=repo, check=False, timeout=5)
    return res.stdout.strip() if res.ok else None


if __name__ == "__main__":
    print(run(["python3", "-c", "import sys; print(sys.version.split()[0])"]).stdout.strip())
    try:
        run(["python3", "-c", "import sys; sys.exit('boom')"])
    except CommandError as err:
        print("caught:", err)
