"""One evaluation task: a hole (prefix, suffix, reference middle) and, for HumanEval, its tests."""

from __future__ import annotations

from dataclasses import dataclass

from fimkit.infer.postprocess import cursor_mid_line


@dataclass(frozen=True)
class Task:
    id: str
    prefix: str
    suffix: str
    middle: str  # the reference
    test: str | None = None  # code run after the filled-in program (HumanEval: defines check)
    entry_point: str | None = None
    language: str = "python"
    kind: str = ""  # for holes: line, block, body, condition, arguments, typed
    path: str | None = None  # for holes: the file, relative to the repository (repository context)
    position: str = ""  # for typed holes: what precedes the cursor (fimkit.eval.holes.POSITIONS)

    @property
    def lines(self) -> str:
        return "multi-line" if "\n" in self.middle.strip("\n") else "single-line"

    @property
    def cursor(self) -> str:
        return "mid-line" if cursor_mid_line(self.suffix, self.prefix) else "end-of-line"

    @property
    def executable(self) -> bool:
        return self.test is not None

    def program(self, middle: str) -> str:
        """HumanEval's program: prompt + completion + suffix + test + check(entry_point)."""
        code = self.prefix + middle + self.suffix + "\n" + (self.test or "") + "\n"
        if self.entry_point:
            code += f"check({self.entry_point})\n"
        return code
