"""The written answers in a notebook: Exercise 2.1's LaTeX results for μ and Σ, and the KL questions.

Derivation answers are display-math lines in markdown, `$$\\mu = …$$` and `$$\\Sigma = …$$`; the
last of each counts (earlier ones are working); inline `$\\mu = …$` counts when no display line gives
the quantity. They are read by `assignments.a10.latex`, compared with the symbolic truth in
`reference.a10.symbolic`, and, when wrong, matched against the same misconception variants the code
checks use.

The free-text answers to the three KL questions are only collected, for staff to read.

Everything here reads student text within the cell reader's caps (graders/judge/cells.py) and in linear time (its `Finder`
scans); sympy sees at most `MAX_LATEX_CHARS` of an answer, and a fingerprint is taken only of an
expression whose every part is a finite double (`_double_value`), as 30-digit `evalf` of
exp(exp(exp(100))) never ends.
"""

from __future__ import annotations

import cmath
import operator
import random
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache, reduce
from typing import Any

import sympy

from assignments.a10 import answer_form
from assignments.a10.answer_form import QUANTITY_NAMES
from assignments.a10.answer_lines import HEADING, Finder, matches, normalised, question_on, replace_spans
from assignments.a10.contract import QUESTIONS
from assignments.a10.latex import describe
from graders.assignment.spec import Question
from graders.judge import cells as cell_reading
from graders.judge.cells import cell_source, cell_tags, cells_read, is_markdown, unread_chars
from graders.judge.kinds.symbolic import AnswerVerdict
from graders.results import CheckStatus, DerivationAnswer, FreeTextAnswer, truncation_note
from reference.a10 import symbolic
from reference.a10.misconceptions import CATALOG, flag_subsets, names_for

# ============================================================================= public API


def judge_mu(latex: str | None) -> AnswerVerdict:
    """Judge a μ answer (its right-hand side; a whole `\\mu = …` line is accepted too)."""
    return judge("mu", latex)


def judge_sigma(latex: str | None) -> AnswerVerdict:
    """Judge a Σ answer (its right-hand side; a whole `\\Sigma = …` line is accepted too)."""
    return judge("Sigma", latex)


def extract_derivation(nb: Mapping[str, Any]) -> tuple[DerivationAnswer, DerivationAnswer]:
    """The right-hand sides of the last μ and the last Σ lines (assignments/a10/answer_lines.py); None where
    there is none. Each carries the note on what of the notebook was not read (past a cap), for the checks' messages."""
    return answer_form.derivation(nb, QUESTIONS)


def extract_free_text(nb: Mapping[str, Any]) -> tuple[FreeTextAnswer, ...]:
    """The answers to the three KL questions, in question order; "" where a question has no answer.

    An answer is read like a cell, up to `cell_reading.MAX_CELL_CHARS`, from cells read up to that cap; one of which
    something was not read ends with the results' truncation note, for staff and the student to see."""
    cells = cells_read(nb)
    return tuple(FreeTextAnswer(q.text, _free_text(cells, q)) for q in QUESTIONS)


# ============================================================================= judging

_SAMPLE_POINTS = 6
_RELATIVE_TOLERANCE = 1e-9


@lru_cache(maxsize=4096)  # a class writes the same few answers; sympy takes milliseconds per answer
def judge(quantity: str, latex: str | None) -> AnswerVerdict:
    """Judge an answer for "mu" or "Sigma": pass, fail with the misconceptions it shows, or error."""
    symbol, _ = QUANTITY_NAMES[quantity]
    expr = answer_form.read(quantity, latex)
    if isinstance(expr, AnswerVerdict):  # none found, or unreadable
        return expr
    truth = symbolic.expr_for(quantity)
    student = _fingerprint(expr)
    if _same(student, _reference_fingerprint(quantity, frozenset())):
        return AnswerVerdict(CheckStatus.PASS, (), f"Correct: {symbol} = {describe(truth)}.", describe(expr))
    names = _misconceptions_matching(quantity, student)
    shown = describe(expr)
    message = f"Not quite: your {symbol} = {shown} is not {describe(truth)}."
    if names:
        message += "".join(f" {CATALOG[name].title}." for name in names)
    else:
        message += " Check each step of your derivation against this."
    return AnswerVerdict(CheckStatus.FAIL, names, message, shown)


def _misconceptions_matching(quantity: str, student: tuple[complex, ...] | None) -> tuple[str, ...]:
    """The smallest catalogued combination of mistakes that gives the student's expression, or ()."""
    relevant = symbolic.RELEVANT_FLAGS[quantity]
    for flags in flag_subsets("closed_form"):
        # A flag that cannot change this quantity would only name a mistake the student did not make.
        if flags <= relevant and _same(student, _reference_fingerprint(quantity, flags)):
            return tuple(name for name in names_for("closed_form") if name in flags)
    return ()


@cache
def _reference_fingerprint(quantity: str, flags: frozenset[str]) -> tuple[complex, ...] | None:
    return _fingerprint(symbolic.expr_for(quantity, flags))


def _fingerprint(expr: sympy.Expr) -> tuple[complex, ...] | None:
    """The values at fixed sample points; None when a value is not a finite number.

    Equal fingerprints mean equivalent expressions: two different expressions in these
    symbols agree at six random points with probability zero, and unlike `simplify`
    this never hangs and needs no assumptions about which form is "simplest".
    """
    values = []
    for point in range(_SAMPLE_POINTS):
        samples = {s: _sample_value(s, point) for s in expr.free_symbols}
        try:
            _double_value(expr, {s: complex(v) for s, v in samples.items()})  # finite all through, or evalf could take hours
            value = complex(expr.evalf(30, subs={s: sympy.Float(v, 30) for s, v in samples.items()}))
        except (TypeError, ValueError, ArithmeticError):  # not a finite number, or something non-numeric survived
            return None
        if not cmath.isfinite(value):
            return None
        values.append(value)
    return tuple(values)


def _sample_value(symbol: sympy.Symbol, point: int) -> float:
    """A value depending only on the symbol's name and the point, so any two fingerprints line up."""
    # str seeds are hashed with SHA-512: the same points in every run. Sample points, not a secret.
    rng = random.Random(f"{symbol.name}/{point}")  # noqa: S311
    if symbol.is_positive:  # an α: a step's signal fraction, in (0, 1)
        return rng.uniform(0.05, 0.95)
    # x₀ can be negative; alternating signs tell √(ᾱ·x₀²) = √ᾱ·|x₀| apart from √ᾱ·x₀.
    magnitude = rng.uniform(0.3, 2.0)
    return -magnitude if point % 2 else magnitude


_DOUBLE_FUNCTIONS: dict[Any, Callable[[complex], complex]] = {sympy.exp: cmath.exp, sympy.log: cmath.log, sympy.Abs: abs}


def _double_value(expr: sympy.Expr, point: Mapping[sympy.Symbol, complex]) -> complex:
    """The expression at the point in double precision, part by part (depth-first: the parser bounds the
    depth); OverflowError when any part is not a finite double. Where this succeeds, mpmath's 30 digits
    are quick; where it fails (exp(exp(exp(100)))), they could take hours."""
    if expr.is_Symbol:
        return point[expr]
    if expr.is_Atom:  # a number: 3/2, E, π, I
        return _finite(complex(expr))
    args = [_double_value(arg, point) for arg in expr.args]
    if expr.is_Add:
        return _finite(sum(args))
    if expr.is_Mul:
        return _finite(reduce(operator.mul, args, complex(1)))
    if expr.is_Pow:
        return _finite(args[0] ** args[1])
    if expr.func not in _DOUBLE_FUNCTIONS:
        raise TypeError(f"{expr.func} has no double-precision value here")
    return _finite(_DOUBLE_FUNCTIONS[expr.func](*args))


def _finite(value: complex) -> complex:
    if not cmath.isfinite(value):
        raise OverflowError("not a finite double")
    return value


def _same(a: tuple[complex, ...] | None, b: tuple[complex, ...] | None) -> bool:
    if a is None or b is None:
        return False
    return all(abs(x - y) <= _RELATIVE_TOLERANCE * max(1.0, abs(x), abs(y)) for x, y in zip(a, b, strict=False))


# ============================================================================= free text


_PLACEHOLDERS = {"your answer here"}
_IMAGE_OPENER = re.compile(r"!\[|<")
_TAG_OPENER = re.compile("<")
_IMG_TAG = re.compile(r"<img\b", re.IGNORECASE)
_MEDIA_TAG = re.compile(r"<(?:(?P<video>video)|(?P<audio>audio)|(?P<iframe>iframe))\b", re.IGNORECASE)
_HTML_TAG = re.compile(r"</?(?:div|span|p|br|b|i|em|strong|u|font|center|figure|figcaption|sup|sub|a|ul|ol|li|hr|source)\b", re.IGNORECASE)


@dataclass(frozen=True)
class _Written:
    """An answer's text as collected, and how many characters of the cells it came from were not read."""

    text: str
    unread: int


def _free_text(cells: list[Mapping[str, Any]], question: Question) -> str:
    # A tagged cell left as the placeholder may sit above the answer the student wrote in a new cell.
    for collect in (_tagged_answer, _answer_after_question):
        written = collect(cells, question)
        read = written.text[: cell_reading.MAX_CELL_CHARS]  # an answer is read like a cell
        if text := _clean_free_text(read):
            unread = written.unread + len(written.text) - len(read)
            return text + truncation_note(unread) if unread else text
    return ""


def _tagged_answer(cells: list[Mapping[str, Any]], question: Question) -> _Written:
    # Any cell type: an answer typed into a cell accidentally turned into code is still the answer.
    tagged = [c for c in cells if question.tag in cell_tags(c)]
    return _Written("\n\n".join(cell_source(c) for c in tagged), sum(unread_chars(c) for c in tagged))


def _answer_after_question(cells: list[Mapping[str, Any]], question: Question) -> _Written:
    """The text after the question: the rest of its cell and the markdown cells that follow it,
    up to the next question, code cell, cell opening with a heading, or cell tagged for another answer."""
    lines: list[str] = []
    collecting, unread = False, 0
    for cell in cells:
        source = cell_source(cell)
        if collecting and (
            not is_markdown(cell)
            or HEADING.match(source.lstrip("\n"))
            or any(other.tag in cell_tags(cell) for other in QUESTIONS if other is not question)
        ):
            break
        if not is_markdown(cell):
            continue
        for line in source.splitlines():
            asked = question_on(line, QUESTIONS)
            if collecting and asked is not None:
                return _Written("\n".join(lines), unread)
            if asked is question and not collecting:
                collecting = True
                lines.append(line.split("?", 1)[1].lstrip("*_ ") if "?" in line else "")  # an answer on the same line
            elif collecting:
                lines.append(line)
        if collecting:
            lines.append("")  # cells are paragraphs
            unread += unread_chars(cell)
    return _Written("\n".join(lines), unread)


def _clean_free_text(text: str) -> str:
    """Text only: no images, HTML tags or the handout's placeholder; paragraphs separated by one blank line."""
    text = replace_spans(text, _images(text), "")
    text = replace_spans(text, _html_tags(text), "")
    paragraphs = re.split(r"\n\s*\n", "\n".join(line.rstrip() for line in text.splitlines()))
    return "\n\n".join(p.strip("\n") for p in paragraphs if p.strip() and normalised(p) not in _PLACEHOLDERS)


def _images(text: str) -> Iterator[tuple[int, int]]:
    """Images and media, in linear time: `![alt](link)`, `![alt][label]`, `<img …>`, `<video …>…</video>` (and
    audio, iframe), in any case, where `!\\[[^\\]]*\\]\\([^)]*\\)|…|<(video|audio|iframe)\\b.*?</\\1>` found them."""
    alt_end, link_end, label_end, tag_end = Finder(text, "]"), Finder(text, ")"), Finder(text, "]"), Finder(text, ">")
    media_end = {name: Finder(text, re.compile(f"</{name}>", re.IGNORECASE)) for name in ("video", "audio", "iframe")}

    def markdown_image_end(start: int) -> re.Match[str] | None:
        alt = alt_end.next(start + 2)
        if alt is None:
            return None
        closer = {"(": link_end, "[": label_end}.get(text[alt.end() : alt.end() + 1])
        return closer.next(alt.end() + 1) if closer else None

    def end_at(start: int) -> int | None:
        if text[start] == "!":
            found = markdown_image_end(start)
        elif _IMG_TAG.match(text, start):
            found = tag_end.next(start + 4)
        elif media := _MEDIA_TAG.match(text, start):
            found = media_end[str(media.lastgroup)].next(media.end())  # `</video>` closes `<VIDEO>`
        else:
            found = None
        return found.end() if found else None

    return matches(text, _IMAGE_OPENER, end_at)


def _html_tags(text: str) -> Iterator[tuple[int, int]]:
    """The tags `_HTML_TAG` names, each up to its `>`, in linear time."""
    tag_end = Finder(text, ">")

    def end_at(start: int) -> int | None:
        tag = _HTML_TAG.match(text, start)
        found = tag_end.next(tag.end()) if tag else None
        return found.end() if found else None

    return matches(text, _TAG_OPENER, end_at)
