"""Turning a stream of generated tokens into the middle an editor shows, line by line.

The same object serves streaming and non-streaming requests, so both return the same text:
a line is judged once it is complete (the line rules of ``postprocess``), and accepted lines
are released once the buffer with everything accepted so far parses with no more errors than
the best point so far (the buffer without the middle, then each release): that is the parse
check. A line that opens a bracket is held until a later line closes it, and held lines are
dropped if generation ends first. A line whose tokens' mean log-probability
is under the confidence threshold ends the completion; on the first line, that means no
completion at all (with the reason). Released text never ends in blank lines or spaces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fimkit.infer import postprocess as pp
from fimkit.infer.postprocess import mean_logprob
from fimkit.syntax import error_count

BOUNDARY_RULES = ("scope", "dead_code", "statement", "n_indent", "one_statement")
# The rules a model profile may switch off (``ShapeConfig.rules``), each measured on and off per model
# (benchmarks/bench_profile.py): what helps a prefix-only 270M model may cut a FIM model's right answer.
# Rules a client asks for itself (an explicit single_line, n_indent, stop strings) always apply.
RULES = ("scope", "suffix", "dead_code", "statement", "repetition", "retyped", "single_line", "parse", "useless",
         "logical_line", "one_statement")
# What applies when no profile says (``ShapeConfig.rules`` None): the rules of the releases before
# profiles, which the prefix-only profile keeps. logical_line and one_statement came with FIM models.
DEFAULT_RULES = frozenset(RULES[:9])
# Stop reasons that say the middle ends there (the model's end, a stop string, a rule about its shape),
# as opposed to a limit, a cut or a gate that stopped it short: nothing more is the answer after them.
ENDED = ("eos", "word", "suffix", "single_line", *BOUNDARY_RULES)
TRIPLE_QUOTES = ('"""', "'''")  # a string that may span lines: the logical line may go on
_FIRST_WORD = re.compile(r"[A-Za-z_]\w*")
# A line ending in one of these goes on to the next: the statement is not over.
_CARRIES_ON = ("\\", ",", "+", "-", "*", "/", "=", "&", "|", "(", "[", "{", ".", "?", " and", " or", " not")


@dataclass(frozen=True)
class ShapeConfig:
    """Post-processing settings of one request.

    single_line: True/False forces; None means automatic (single line when text is right of the cursor).
    n_indent: llama.cpp's rule: stop at a new line indented less than this many columns.
    overlap_threshold: similarity (0..1) at which a generated line counts as the suffix's next line.
    min_mean_logprob: confidence gate; lines whose tokens average below it end the completion.
    parse_check: release only what parses no worse than the buffer did (needs a tree-sitter grammar).
    language: language of the buffer for the parse check (python, javascript, typescript, sql).
    one_statement: between two statements of a block, end the middle with the statement it starts.
    min_shown_logprob: show the middle only as far as the model finds it likely: it is cut before the
        token that takes the sum of its tokens' log-probabilities (healing's re-spelled tokens count 0)
        below this, and a cut line is shown as far as it goes (the user types on from there).
    rules: which of RULES apply (None: DEFAULT_RULES).
    """

    single_line: bool | None = None
    n_indent: int | None = None
    overlap_threshold: float = 0.8
    min_mean_logprob: float | None = None
    parse_check: bool = True
    language: str | None = None
    one_statement: bool = True
    min_shown_logprob: float | None = None
    rules: frozenset[str] | None = None

    def __post_init__(self):
        if self.rules is not None and not self.rules <= set(RULES):
            raise ValueError(f"unknown shaping rule(s) {sorted(self.rules - set(RULES))}; known: {', '.join(RULES)}")

    def applies(self, rule: str) -> bool:
        return rule in (DEFAULT_RULES if self.rules is None else self.rules)


@dataclass
class Shaped:
    text: str
    stop_reason: str | None  # why shaping ended the middle ("suffix", "scope", "single_line", ...)
    gated: str | None  # the confidence gate's reason when it hid the completion
    mean_logprob: float | None
    trimmed_by_parse: bool = False


@dataclass
class Shaper:
    prefix: str
    suffix: str
    config: ShapeConfig = field(default_factory=ShapeConfig)
    held_blanks: str = ""

    def __post_init__(self):
        self.raw = ""  # generated text so far, leading blanks healed
        self._unhealed = ""  # text waiting until the held blanks can be matched
        self._healed = not self.held_blanks
        self.token_ends: list[tuple[int, float | None]] = []  # (end offset in raw, logprob)
        self.pos = 0  # offset in raw where the next unjudged line starts
        self.accepted: list[str] = []
        self.released = 0
        self.sent = ""
        self.stop_reason: str | None = None
        self.gated: str | None = None
        self.trimmed = False
        self.likelihood = 0.0  # sum of the log-probabilities of the text taken so far
        self.single = (self.config.single_line if self.config.single_line is not None
                       else self.config.applies("single_line") and pp.cursor_mid_line(self.suffix, self.prefix))
        self.line_insert = pp.line_insert(self.prefix, self.suffix)
        self._baseline = (
            error_count(self.prefix + self.suffix, self.config.language)
            if self.config.parse_check and self.config.applies("parse") and self.config.language else None
        )

    @property
    def stopped(self) -> bool:
        return self.stop_reason is not None or self.gated is not None

    def feed(self, text: str, logprob: float | None = None, *, healing: bool = False) -> tuple[str, bool]:
        """Add one token's text. Returns (text newly safe to show, whether generation should stop).
        ``healing``: a token that re-spells what the user typed (its text is only what goes beyond)."""
        if self.stopped:
            return "", True
        cut = self.config.min_shown_logprob
        if cut is not None and logprob is not None and not healing and text:
            if self.likelihood + logprob < cut:
                self.stop_reason = "unlikely"  # the rest is shown as far as it goes (finish)
                return self._release(), True
            self.likelihood += logprob
        if not self._healed:
            self._unhealed += text
            if len(self._unhealed) < len(self.held_blanks) and not self._unhealed.strip():
                self.token_ends.append((len(self.raw), logprob))
                return "", False
            text, self._healed = pp.heal_leading_blanks(self._unhealed, self.held_blanks), True
        self.raw += text
        self.token_ends.append((len(self.raw), logprob))
        while not self.stopped:
            nl = self.raw.find("\n", self.pos)
            if nl < 0:
                break
            self._judge(self.pos, nl, complete=True)
            self.pos = nl + 1
        self._judge_partial()
        return self._release(), self.stopped

    def finish(self) -> tuple[str, Shaped]:
        """End of generation: judge the last partial line, release what is clean. Returns (last delta, result)."""
        if not self._healed:
            self.raw += pp.heal_leading_blanks(self._unhealed, self.held_blanks)
            self._healed = True
        cut = self.stop_reason == "unlikely" and not self.gated  # the line being written stops where it is
        if (not self.stopped or cut) and (self.pos < len(self.raw) or not self.accepted):
            before = len(self.accepted)
            self._judge(self.pos, len(self.raw), complete=False)
            self.pos = len(self.raw)
            cut = cut and len(self.accepted) > before
        delta = self._release()
        if cut:
            delta += self._release_cut_line()
        if self.released < len(self.accepted) and any(ln.strip() for ln in self.accepted[self.released:]):
            self.trimmed = True  # held back by the parse check and never closed
        text = self.sent
        if pp.is_useless(text, self.prefix) and (self.config.applies("useless") or not text.strip()):
            text = ""
        elif self.line_insert and text and not self.gated:
            # Whole lines go above the line the cursor starts: end them with their newline.
            text += "\n"
            delta += "\n"
            self.sent = text
        mean = mean_logprob([lp for _, lp in self.token_ends])
        return delta, Shaped("" if self.gated else text, self.stop_reason, self.gated, mean, self.trimmed)

    # -- the line rules ----------------------------------------------------------------------------
    def _judge(self, start: int, end: int, complete: bool) -> None:
        i = len(self.accepted)
        line = self.raw[start:end]
        applies = self.config.applies
        if i == 0 and self.single and self.line_insert and not line.strip() and complete:
            return  # one whole line above the cursor's: blank lines before it are not that line
        if i == 0:
            if self.single and not self.line_insert and applies("retyped"):
                line = pp.drop_retyped_rest_of_line(line, self.suffix)
            if self.line_insert and applies("suffix") and pp.repeats_suffix(line, self.suffix, 1.0, self.prefix):
                # The very first line is the one already below the cursor. Only an exact copy counts
                # here: neighbouring lines are often alike ("for i ..." above "for j ...").
                self.stop_reason = "suffix"
                return
            if self.line_insert and applies("scope") and pp.leaves_scope(line, self.prefix, self.suffix):
                self.stop_reason = "scope"  # a whole new line above code it would leave its block
                return
        else:
            for reason, hit in self._rules(line):
                if hit():
                    self.stop_reason = reason
                    return
        line, cut = pp.cut_char_repeats(line) if applies("repetition") else (line, False)
        if self.config.min_mean_logprob is not None and line.strip():
            mean = self._mean_between(start, end + (1 if complete else 0))
            if mean is not None and mean < self.config.min_mean_logprob:
                if not any(ln.strip() for ln in self.accepted):
                    self.gated = (f"mean token log-probability {mean:.2f} is under the confidence threshold "
                                  f"{self.config.min_mean_logprob:.2f}")
                else:
                    self.stop_reason = "confidence"
                return
        self.accepted.append(line.rstrip(" \t"))
        if cut:
            self.stop_reason = "repetition"
        elif i == 0 and self.single and complete:
            self.stop_reason = "single_line"
        elif complete and self._simple_statement_done():
            self.stop_reason = "statement"
        elif complete and applies("logical_line") and self._logical_line_done():
            self.stop_reason = "logical_line"
        elif complete and applies("one_statement") and self._one_statement_done():
            self.stop_reason = "one_statement"

    def _cursor_line(self) -> str:
        return self.prefix.rsplit("\n", 1)[-1]

    def _logical_line_done(self) -> bool:
        """The cursor is inside a statement (code before it on its line): the middle completes that
        logical line, and is over once its brackets are closed."""
        return (bool(self._cursor_line().strip()) and not self.line_insert
                and pp.open_brackets(self._cursor_line() + "\n".join(self.accepted)) <= 0)

    def _at_statement_start(self) -> bool:
        return not self._cursor_line().strip()

    def _statement_indent(self) -> int:
        first = next((ln for ln in self.accepted if ln.strip()), "")
        return pp.indent_of(self._cursor_line() + first)

    def _one_statement_done(self) -> bool:
        """The cursor is where a statement starts (nothing but indentation before it): the middle is one
        statement. A simple one is over at the end of its logical line (brackets closed, nothing that
        carries it on: a trailing ``:``, ``{``, backslash, comma or operator)."""
        if not self._at_statement_start() or not any(ln.strip() for ln in self.accepted):
            return False
        text = self._cursor_line() + "\n".join(self.accepted)
        lines = [ln for ln in text.split("\n") if ln.strip()]
        if any(ln.rstrip().endswith(":") for ln in lines) or any(q in text for q in TRIPLE_QUOTES):
            return False  # a block header: its body follows (ended by ``_leaves_statement``)
        if pp.open_brackets(text) > 0 or lines[-1].rstrip().endswith(_CARRIES_ON):
            return False
        return not lines[0].lstrip().startswith(("@", "#", "//", "/*", "*"))

    def _leaves_statement(self, line: str) -> bool:
        """After the first line of a statement that started at the cursor, a line that returns to its
        indentation starts the next statement (``else``, ``except``, closing brackets continue it)."""
        return (self._at_statement_start() and bool(line.strip()) and not self._inside_brackets()
                and pp.indent_of(line) <= self._statement_indent() and not pp.continues(line))

    def _simple_statement_done(self) -> bool:
        """Python, between two statements: a simple statement is over at the end of its logical line
        (no bracket open, no ``:`` or backslash at the end), so the next line need not be decoded
        to see that it starts another one."""
        if not self.config.one_statement or not self.config.applies("statement") or self.config.language != "python":
            return False
        text = self.prefix.rsplit("\n", 1)[-1] + "\n".join(self.accepted)
        head = text.lstrip()
        if not head or head.startswith(("@", "#")) or any(ln.rstrip().endswith((":", "\\")) for ln in text.split("\n")):
            return False
        if pp.open_brackets(text) > 0 or any(q in text for q in TRIPLE_QUOTES):
            return False
        return pp.between_statements(self.prefix, self.suffix)

    def _rules(self, line: str, *, boundary_only: bool = False):
        """The rules for a new line, in order. Boundary rules look only at the line's indentation
        and first word, so they can judge a line before it is complete."""
        rules = [
            ("scope", lambda: not self._inside_brackets() and pp.leaves_scope(line, self.prefix, self.suffix)),
            ("suffix", lambda: pp.repeats_suffix(line, self.suffix, self.config.overlap_threshold, self.prefix)),
            ("dead_code", lambda: pp.follows_block_end(self._last_statement(), line)),
            ("statement", lambda: self.config.one_statement and not self._inside_brackets()
                                  and pp.ends_statement(line, self.prefix, self.suffix)),
            ("n_indent", lambda: pp.below_n_indent(line, self.config.n_indent)),
            ("repetition", lambda: pp.repeats_previous(self.accepted + [line])),
            ("one_statement", lambda: self._leaves_statement(line)),
        ]
        rules = [r for r in rules if r[0] == "n_indent" or self.config.applies(r[0])]
        return [r for r in rules if r[0] in BOUNDARY_RULES] if boundary_only else rules

    def _judge_partial(self) -> None:
        """Judge the line being generated by the boundary rules as soon as its first word is known:
        a line that ends the middle is dropped whole, so decoding the rest of it is waste (~40 ms a
        token on a laptop CPU)."""
        if self.stopped or not self.accepted:
            return
        line = self.raw[self.pos:]
        body = line.lstrip(" \t")
        word = _FIRST_WORD.match(body)
        if not body or (word and word.end() == len(body)):
            return  # nothing yet, or a first word that may still grow ("el" -> "else")
        for reason, hit in self._rules(line, boundary_only=True):
            if hit():
                self.stop_reason = reason
                return

    def _last_statement(self) -> str:
        """The last non-blank line of the buffer as completed so far: the cursor's line joined with
        the middle's first line, or the last accepted line."""
        lines = [self.prefix.rsplit("\n", 1)[-1] + (self.accepted[0] if self.accepted else ""), *self.accepted[1:]]
        return next((ln for ln in reversed(lines) if ln.strip()), "")

    def _inside_brackets(self) -> bool:
        """The middle so far (from the cursor's line) leaves a bracket open: the next line is inside
        it, where indentation says nothing about blocks."""
        return pp.open_brackets(self.prefix.rsplit("\n", 1)[-1] + "\n".join(self.accepted)) > 0

    def _mean_between(self, start: int, end: int) -> float | None:
        lps, prev = [], 0
        for tok_end, lp in self.token_ends:
            if tok_end > start and prev < end:
                lps.append(lp)
            prev = tok_end
        return mean_logprob(lps)

    # -- releasing ---------------------------------------------------------------------------------
    def _clean(self, n: int) -> bool:
        """No more errors than the best point so far (the buffer itself, then each release): a
        middle may fix what the user left half-typed, never make it worse again."""
        if self._baseline is None:
            return True
        middle = "\n".join(self.accepted[:n]) + ("\n" if self.line_insert else "")
        count = error_count(self.prefix + middle + self.suffix, self.config.language)
        if count <= self._baseline:
            self._pending_best = count
            return True
        return False

    def _release_cut_line(self) -> str:
        """A middle cut where the model stopped being sure ends in a partial line on purpose: it is shown
        (the parse check judges whole lines, and a half-typed line never parses) once everything before
        it was released."""
        n = len(self.accepted)
        if self.gated or n <= self.released or not self.accepted[-1].strip() or self._bare_header(n):
            return ""
        if n > self.released + 1:
            # Lines before the cut one were held back: release them with it only if they parse, or if
            # all they lacked was the body that the cut line, indented under them, begins.
            header = self.accepted[n - 2]
            body_begun = pp.opens_block(header) and pp.indent_of(self.accepted[-1]) > pp.indent_of(header)
            if not body_begun and not self._clean(n - 1):
                return ""
        text = "\n".join(self.accepted)
        delta = text[len(self.sent):]
        self.sent, self.released = text, n
        return delta

    def _bare_header(self, n: int) -> bool:
        """Python: the first ``n`` lines would end with a block's header (``if x:``) and no body; the
        parser recovers from that silently, but the code would not run."""
        if self.config.language != "python" or not self.config.applies("parse"):
            return False
        last = self.accepted[n - 1]
        if n == 1 and not self.line_insert:
            last = self.prefix.rsplit("\n", 1)[-1] + last
        if not pp.opens_block(last) or self._inside_brackets():
            return False
        following = pp.first_suffix_line(self.suffix, self.prefix)  # its body may already be there
        return following is None or pp.indent_of(following) <= pp.indent_of(last)

    def _release(self) -> str:
        """Send accepted lines up to the furthest point that ends in a non-blank line and parses cleanly."""
        if self.gated:
            return ""
        for n in range(len(self.accepted), self.released, -1):
            if self.accepted[n - 1].strip() and not self._bare_header(n) and self._clean(n):
                if self._baseline is not None:
                    self._baseline = self._pending_best
                text = "\n".join(self.accepted[:n])
                delta = text[len(self.sent):]
                self.sent, self.released = text, n
                return delta
        return ""
