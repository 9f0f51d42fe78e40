"""Finding and reading the derivation's Var(q · k) answer: all the student kit says of it ("readable").

The answer is the right-hand side of the last `$$\\mathrm{Var}(q \\cdot k) = …$$` in the markdown (the
last `=` of a chain: `Var(q·k) = Σ_i Var(q_i k_i) = d_k` answers d_k). It is read by a small parser for
this one answer (numbers, d_k, + − · × /, ^, √, \\frac, brackets) and evaluated at a few values of d_k
(`SAMPLES`); whether those are right is answers.py's (the kit ships this module, not that one).

Student text is read within the caps of the harness's cell reader (graders/judge/cells.py) and in
linear time: `$$` pairs are found by one forward scan, an answer of more than `MAX_ANSWER_CHARS` or
`_MAX_TOKENS` is not read, and the parser's recursion is bounded by `_MAX_DEPTH`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from graders.judge.cells import Tagged, cell_source, cells_read, is_markdown, reading_note
from graders.judge.kinds.symbolic import AnswerVerdict
from graders.judge.unicode_math import math_as_latex
from graders.results import CheckStatus, DerivationAnswer

MAX_ANSWER_CHARS = 300
_MAX_TOKENS = 100
_MAX_DEPTH = 20
SAMPLES = (2.0, 3.0, 5.0, 16.0)  # values of d_k at which an answer is evaluated
_WRAPPERS = re.compile(r"\\[A-Za-z]+")
_LHS_NAMES = frozenset({"varqk", "varqtk"})  # Var(q · k), Var(qᵀk), in any font, with any brackets


# ============================================================================= finding the answer


def derivation(nb: Mapping[str, Any], questions: Sequence[Tagged]) -> tuple[DerivationAnswer]:
    """The last Var(q · k) answer's right-hand side (None: none), with the note on what was not read."""
    found = None
    for cell in cells_read(nb):
        if is_markdown(cell):
            for math_text in _display_math(cell_source(cell)):
                found = _answer_in(math_text) or found
    return (DerivationAnswer("variance", found, reading_note(nb, questions)),)


def _display_math(text: str) -> Iterator[str]:
    """The insides of `$$…$$` pairs, in one forward scan."""
    start = text.find("$$")
    while start != -1:
        end = text.find("$$", start + 2)
        if end == -1:
            return
        yield text[start + 2 : end]
        start = text.find("$$", end + 2)


def _answer_in(math_text: str) -> str | None:
    """The last right-hand side of a statement whose left side is Var(q · k), or None."""
    sides = math_as_latex(math_text).split("=")
    if len(sides) < 2 or len(sides[0]) > MAX_ANSWER_CHARS:  # noqa: PLR2004 - a left and a right side
        return None
    name = "".join(ch for ch in _WRAPPERS.sub("", sides[0]) if ch.isalpha()).lower()
    return sides[-1].strip() if name in _LHS_NAMES else None


# ============================================================================= a parser for this one answer


class _Unreadable(ValueError):
    """Not a GraderError: the student's answer is outside what is read; `read` turns it into feedback."""


_TOKEN = re.compile(r"\s+|[.,;](?!\d)|(\d+(?:\.\d+)?|d_\{k\}|d_k|\\[A-Za-z]+|[()\[\]{}^+\-*/])")
_IGNORED = frozenset({r"\left", r"\right", r"\,", r"\;", r"\!", r"\quad", r"\displaystyle"})


def _tokens(latex: str) -> list[str]:
    if len(latex) > MAX_ANSWER_CHARS:
        raise _Unreadable("it is too long")
    text, tokens, position = math_as_latex(latex), [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise _Unreadable(f"'{text[position]}' is not part of what is read")
        position = match.end()
        if match.group(1) and match.group(1) not in _IGNORED:
            tokens.append(match.group(1))
    if not tokens or len(tokens) > _MAX_TOKENS:
        raise _Unreadable("it is empty" if not tokens else "it is too long")
    return tokens


def read(latex: str | None) -> tuple[str, tuple[float, ...] | None] | AnswerVerdict:
    """The answer as read (for staff) and its values at `SAMPLES`, or the error verdict a student sees
    when there is no answer line or it cannot be read."""
    if latex is None:
        message = r"No answer for Var(q · k) found. End your derivation with a markdown line $$\mathrm{Var}(q \cdot k) = …$$."
        return AnswerVerdict(CheckStatus.ERROR, (), message, None)
    try:
        return _read(latex)
    except _Unreadable as problem:
        message = f"Your answer Var(q · k) = {latex[:MAX_ANSWER_CHARS]} could not be read: {problem}. Write it with d_k, numbers, \\sqrt and \\frac."
        return AnswerVerdict(CheckStatus.ERROR, (), message, None)


def readable(quantity: str, latex: str | None) -> AnswerVerdict:
    """The student kit's verdict: an error as `read` says it, else a pass that says nothing of right or wrong."""
    found = read(latex)
    return found if isinstance(found, AnswerVerdict) else AnswerVerdict(CheckStatus.PASS, (), "Readable.", found[0])


def _read(latex: str) -> tuple[str, tuple[float, ...] | None]:
    """The answer as read (for staff) and its values at `SAMPLES` (None where it has none, e.g. overflow)."""
    parser = _Parser(_tokens(latex))
    shown, evaluate = parser.expression(0)
    if parser.position != len(parser.tokens):
        raise _Unreadable(f"'{parser.tokens[parser.position]}' is not understood there")
    try:
        return shown, tuple(evaluate(d) for d in SAMPLES)
    except (OverflowError, ValueError, ZeroDivisionError):
        return shown, None


class _Parser:
    """expression := term (± term)*; term := power ((· × * / or nothing) power)*; power := unary (^ atom)?"""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens, self.position = tokens, 0

    def _peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _take(self) -> str:
        token = self._peek()
        if token is None:
            raise _Unreadable("it ends too early")
        self.position += 1
        return token

    def expression(self, depth: int) -> tuple[str, Any]:
        if depth > _MAX_DEPTH:
            raise _Unreadable("it is nested too deeply")
        shown, value = self._term(depth)
        while self._peek() in ("+", "-"):
            sign = self._take()
            right_shown, right = self._term(depth)
            shown, value = f"{shown} {sign} {right_shown}", _combine(sign, value, right)
        return shown, value

    def _term(self, depth: int) -> tuple[str, Any]:
        shown, value = self._power(depth)
        while self._peek() not in (None, "+", "-", ")", "]", "}"):
            operator = self._take() if self._peek() in ("*", "/", r"\cdot", r"\times") else "*"
            right_shown, right = self._power(depth)
            shown, value = f"{shown} {operator} {right_shown}", _combine("/" if operator == "/" else "*", value, right)
        return shown, value

    def _power(self, depth: int) -> tuple[str, Any]:
        if self._peek() == "-":
            self._take()
            shown, value = self._power(depth + 1)
            return f"-{shown}", lambda d: -value(d)
        shown, value = self._atom(depth)
        if self._peek() == "^":
            self._take()
            exponent_shown, exponent = self._atom(depth)
            return f"{shown}^{exponent_shown}", _combine("^", value, exponent)
        return shown, value

    def _atom(self, depth: int) -> tuple[str, Any]:
        token = self._take()
        if token in ("(", "[", "{"):
            shown, value = self.expression(depth + 1)
            self._closing({"(": ")", "[": "]", "{": "}"}[token])
            return f"({shown})", value
        if token in ("d_k", "d_{k}"):
            return "d_k", lambda d: d
        if token[0].isdigit():
            number = float(token)
            return token, lambda d: number
        if token == r"\sqrt":
            shown, value = self._atom(depth + 1)
            return f"√{shown}", lambda d: math.sqrt(value(d))
        if token in (r"\frac", r"\dfrac", r"\tfrac"):
            top_shown, top = self._atom(depth + 1)
            bottom_shown, bottom = self._atom(depth + 1)
            return f"({top_shown}) / ({bottom_shown})", _combine("/", top, bottom)
        raise _Unreadable(f"'{token}' is not understood (the answer is read in d_k and numbers)")

    def _closing(self, wanted: str) -> None:
        if self._take() != wanted:
            raise _Unreadable(f"a bracket is not closed with '{wanted}'")


def _combine(operator: str, left: Any, right: Any) -> Any:
    if operator == "+":
        return lambda d: left(d) + right(d)
    if operator == "-":
        return lambda d: left(d) - right(d)
    if operator == "*":
        return lambda d: left(d) * right(d)
    if operator == "/":
        return lambda d: left(d) / right(d)
    return lambda d: _checked_power(left(d), right(d))


def _checked_power(base: float, exponent: float) -> float:
    """A power of floats, refused where it would be complex or past a double."""
    result = math.pow(base, exponent)  # raises OverflowError or ValueError, which _read catches
    if not math.isfinite(result):
        raise OverflowError("not finite")
    return result
