"""The written answers in a notebook: Exercise 2.1's LaTeX results for μ and Σ, and the KL questions.

Derivation answers are display-math lines in markdown, `$$\\mu = …$$` and `$$\\Sigma = …$$`; the
last of each counts (earlier ones are working); inline `$\\mu = …$` counts when no display line gives
the quantity. They are read by `graders.judge.latex`, compared with the symbolic truth in
`reference.symbolic`, and, when wrong, matched against the same misconception variants the code
checks use.

The free-text answers to the three KL questions are only collected, for staff to read.
"""

from __future__ import annotations

import cmath
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import sympy

from graders.assignment import answer_lines
from graders.assignment.answer_lines import HEADING, cell_source, cell_tags, is_markdown, normalised, question_on
from graders.assignment.contract import QUESTIONS, Question
from graders.judge.latex import LatexParseError, describe, parse_latex
from graders.results import CheckStatus, DerivationAnswer, FreeTextAnswer
from reference import symbolic
from reference.misconceptions import CATALOG, flag_subsets, names_for

# ============================================================================= public API


@dataclass(frozen=True)
class AnswerVerdict:
    status: CheckStatus
    misconceptions: tuple[str, ...]  # catalog names, in catalog order; empty unless status is FAIL
    message: str  # for the student
    parsed: str | None  # the expression as read, for staff; None when nothing could be read


def judge_mu(latex: str | None) -> AnswerVerdict:
    """Judge a μ answer (its right-hand side; a whole `\\mu = …` line is accepted too)."""
    return judge("mu", latex)


def judge_sigma(latex: str | None) -> AnswerVerdict:
    """Judge a Σ answer (its right-hand side; a whole `\\Sigma = …` line is accepted too)."""
    return judge("Sigma", latex)


def extract_derivation(nb: Mapping[str, Any]) -> tuple[DerivationAnswer, DerivationAnswer]:
    """The right-hand sides of the last μ and the last Σ lines (graders/assignment/answer_lines.py); None where there is none."""
    mu, sigma = answer_lines.derivation_answers(nb, QUESTIONS)
    return DerivationAnswer("mu", mu), DerivationAnswer("Sigma", sigma)


def extract_free_text(nb: Mapping[str, Any]) -> tuple[FreeTextAnswer, ...]:
    """The answers to the three KL questions, in question order; "" where a question has no answer."""
    cells = _cells(nb)
    return tuple(
        # A tagged cell left as the placeholder may sit above the answer the student wrote in a new cell.
        FreeTextAnswer(q.text, _clean_free_text(_tagged_answer(cells, q)) or _clean_free_text(_answer_after_question(cells, q)))
        for q in QUESTIONS
    )


# ============================================================================= judging

_QUANTITY_NAMES = {"mu": ("μ", r"\mu"), "Sigma": ("Σ", r"\Sigma")}
_NOTATION_HINT = r"Write it with \alpha_1, \bar\alpha_3, x_0, \sqrt{…}, \frac{…}{…}, \cdot and numbers."
_SAMPLE_POINTS = 6
_RELATIVE_TOLERANCE = 1e-9


@lru_cache(maxsize=4096)  # a class writes the same few answers; sympy takes milliseconds per answer
def judge(quantity: str, latex: str | None) -> AnswerVerdict:
    """Judge an answer for "mu" or "Sigma": pass, fail with the misconceptions it shows, or error."""
    symbol, command = _QUANTITY_NAMES[quantity]
    if latex is None:
        return AnswerVerdict(
            CheckStatus.ERROR,
            (),
            f"No answer for {symbol} found. End your derivation with a markdown line that holds only "
            f"display math with {symbol} left of the = sign, like $${command} = …$$ (with $$ on both sides).",
            None,
        )
    try:
        expr = parse_latex(answer_lines.end_of_chain(latex))
    except LatexParseError as problem:
        message = f"Your answer {symbol} = {latex.strip()} could not be read: {problem}. {_NOTATION_HINT}"
        return AnswerVerdict(CheckStatus.ERROR, (), message, None)
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
        substitution = {s: sympy.Float(_sample_value(s, point), 30) for s in expr.free_symbols}
        try:
            value = complex(expr.evalf(30, subs=substitution))
        except (TypeError, ValueError):  # something non-numeric survived, e.g. a leftover function
            return None
        if not cmath.isfinite(value):
            return None
        values.append(value)
    return tuple(values)


def _sample_value(symbol: sympy.Symbol, point: int) -> float:
    """A value depending only on the symbol's name and the point, so any two fingerprints line up."""
    rng = random.Random(f"{symbol.name}/{point}")  # str seeds are hashed with SHA-512: same in every run
    if symbol.is_positive:  # an α: a step's signal fraction, in (0, 1)
        return rng.uniform(0.05, 0.95)
    # x₀ can be negative; alternating signs tell √(ᾱ·x₀²) = √ᾱ·|x₀| apart from √ᾱ·x₀.
    magnitude = rng.uniform(0.3, 2.0)
    return -magnitude if point % 2 else magnitude


def _same(a: tuple[complex, ...] | None, b: tuple[complex, ...] | None) -> bool:
    if a is None or b is None:
        return False
    return all(abs(x - y) <= _RELATIVE_TOLERANCE * max(1.0, abs(x), abs(y)) for x, y in zip(a, b, strict=False))


# ============================================================================= notebook access


def _cells(nb: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(nb.get("cells", []))


# ============================================================================= free text


_PLACEHOLDERS = {"your answer here"}
_IMAGES = re.compile(r"!\[[^\]]*\]\([^)]*\)|!\[[^\]]*\]\[[^\]]*\]|<img\b[^>]*>|<(video|audio|iframe)\b.*?</\1>", re.DOTALL | re.IGNORECASE)
_HTML_TAGS = re.compile(
    r"</?(?:div|span|p|br|b|i|em|strong|u|font|center|figure|figcaption|sup|sub|a|ul|ol|li|hr|source)\b[^>]*>",
    re.IGNORECASE,
)


def _tagged_answer(cells: list[Mapping[str, Any]], question: Question) -> str:
    # Any cell type: an answer typed into a cell accidentally turned into code is still the answer.
    return "\n\n".join(cell_source(c) for c in cells if question.tag in cell_tags(c))


def _answer_after_question(cells: list[Mapping[str, Any]], question: Question) -> str:
    """The text after the question: the rest of its cell and the markdown cells that follow it,
    up to the next question, code cell, cell opening with a heading, or cell tagged for another answer."""
    lines: list[str] = []
    collecting = False
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
                return "\n".join(lines)
            if asked is question and not collecting:
                collecting = True
                lines.append(line.split("?", 1)[1].lstrip("*_ ") if "?" in line else "")  # an answer on the same line
            elif collecting:
                lines.append(line)
        if collecting:
            lines.append("")  # cells are paragraphs
    return "\n".join(lines)


def _clean_free_text(text: str) -> str:
    """Text only: no images, HTML tags or the handout's placeholder; paragraphs separated by one blank line."""
    text = _HTML_TAGS.sub("", _IMAGES.sub("", text))
    paragraphs = re.split(r"\n\s*\n", "\n".join(line.rstrip() for line in text.splitlines()))
    return "\n\n".join(p.strip("\n") for p in paragraphs if p.strip() and normalised(p) not in _PLACEHOLDERS)
