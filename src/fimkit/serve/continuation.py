"""Answer with the first line, keep generating the rest: multi-line middles while the user types.

On a new line the model may write several lines, ~20 ms a token on a laptop CPU, and the editor shows
nothing until the reply comes. So a completion is answered as soon as its first lines are released
(complete, shaped, parse-checked), and the same generation goes on in the background: its further
lines are kept here, with the request they continue. When the user accepts what was shown, the
editor asks again at the end of it; that request is answered from here, at once if the next line is
ready, else as soon as it is (llama.vscode does the same with a cache keyed by context). A request
that continues nothing stops the background generation, whose lines so far stay usable.

Only requests that agree in everything but the text the user accepted share a continuation: the same
suffix, options and sampling (``CompletionRequest`` with its prefix blanked is the key).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field, replace

from fimkit.infer import CompletionRequest
from fimkit.infer.engines.contract import GenerationStats

MAX_ENTRIES = 16


def first_lines(text: str) -> str | None:
    """The part of released ``text`` that makes a suggestion: up to and with its first non-blank line;
    None while there is none. (Released text only ever holds complete lines.)"""
    if not text.strip():
        return None
    head = len(text) - len(text.lstrip("\n"))
    end = text.find("\n", head)
    return text if end < 0 else text[:end]


@dataclass
class Continuation:
    """One generation that was answered early: its request, the text released so far, whether it ended."""

    request: CompletionRequest
    text: str = ""
    context: tuple[tuple[str, str], ...] = ()  # the repository chunks its prompt showed
    stats: GenerationStats = field(default_factory=GenerationStats)  # live: the generation's, once it starts
    done: bool = False
    stop_type: str = "limit"
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, delta: str) -> None:
        self.text += delta
        self.changed.set()

    def finish(self, stop_type: str | None) -> None:
        self.done = True
        if stop_type:
            self.stop_type = stop_type
        self.changed.set()

    def offset(self, request: CompletionRequest) -> int | None:
        """Where ``request`` continues this generation: the length of the accepted text, when the
        request's prefix is this one's plus text this generation wrote (a word, lines; or nothing,
        while it runs: the same request twice shares it); None when it continues something else."""
        if not request.prefix.startswith(self.request.prefix):
            return None
        accepted = request.prefix[len(self.request.prefix):]
        if not self.text.startswith(accepted) or (not accepted and self.done):
            return None  # the same request again, after it ended, gets a fresh generation
        if replace(request, prefix="") != replace(self.request, prefix=""):
            return None
        return len(accepted)

    async def next_lines(self, offset: int, timeout: float) -> str | None:
        """The suggestion after ``offset``: the next lines once released; "" when the generation ended
        without more; None when ``timeout`` passed first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            shown = first_lines(self.text[offset:])
            if shown is not None:  # released lines are final: no need to wait for the one after
                return shown
            if self.done:
                return ""
            self.changed.clear()
            left = deadline - loop.time()
            if left <= 0:
                return None
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except TimeoutError:
                return None


class Continuations:
    """The most recent early-answered generations, newest last."""

    def __init__(self, size: int = MAX_ENTRIES):
        self.size = size
        self._entries: OrderedDict[int, Continuation] = OrderedDict()
        self._next = 0

    def start(self, request: CompletionRequest) -> Continuation:
        entry = Continuation(request)
        self._entries[self._next] = entry
        self._next += 1
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return entry

    def find(self, request: CompletionRequest) -> tuple[Continuation, int] | None:
        """The newest continuation ``request`` continues, and where."""
        for entry in reversed(self._entries.values()):
            at = entry.offset(request)
            if at is not None:
                return entry, at
        return None
