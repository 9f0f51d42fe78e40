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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import sympy

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
    """The right-hand sides of the last μ and the last Σ display-math lines; None where there is none.

    Lines in the KL-questions part of the notebook count only when Exercise 2.1's part has none:
    there, μ and σ² are the VAE's, and a `$$\\sigma^2 = 1$$` about the prior is not an answer to 2.1.
    """
    cells = _cells(nb)
    before_kl, anywhere = cells[: _kl_section_start(cells)], cells
    # Display math first; inline `$\mu = …$` counts only when no display line gives the quantity.
    searches = [_statements(part, math) for math in (_DISPLAY_MATH, _INLINE_MATH) for part in (before_kl, anywhere)]

    def answer(quantity: str) -> DerivationAnswer:
        return DerivationAnswer(quantity, next((rhs for found in searches if (rhs := _last_for(quantity, found))), None))

    return answer("mu"), answer("Sigma")


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
        expr = parse_latex(_end_of_chain(latex))
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


def _source(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _tags(cell: Mapping[str, Any]) -> list[str]:
    return list((cell.get("metadata") or {}).get("tags", []) or [])


def _is_markdown(cell: Mapping[str, Any]) -> bool:
    return cell.get("cell_type") == "markdown"


# ============================================================================= finding μ and Σ lines

# Code spans, fenced code and HTML comments are not rendered as math, so `$$…$$` inside them is no answer.
_NOT_RENDERED = re.compile(r"```.*?```|~~~.*?~~~|`[^`\n]*`|<!--.*?-->", re.DOTALL)
_DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]", re.DOTALL)
_INLINE_MATH = re.compile(r"(?<![\\$])\$([^$]+?)(?<!\\)\$|\\\((.+?)\\\)", re.DOTALL)
_ENVIRONMENT = re.compile(r"\\(?:begin|end)\s*\{(?:aligned|align\*?|equation\*?|gather\*?|gathered|split|eqnarray\*?)\}")
# What may stand between statements, `\mu = …, \quad \Sigma = …`, `… \text{ and } \Sigma = …`, and
# what ends an answer: `\mu = … \quad \text{with } \bar\alpha_3 = …` (words need two letters: \text{I} is I).
_SEPARATOR = r"(?<!\\)[,;]|\\q?quad(?![A-Za-z])|\\(?:Rightarrow|Longrightarrow|implies|iff|therefore)(?![A-Za-z])"
_CONNECTIVE = rf"{_SEPARATOR}|\\text\s*\{{[^{{}}]*\}}"
_SIDE_REMARK = rf"{_SEPARATOR}|\\text\s*\{{[^{{}}]*[A-Za-z]{{2}}[^{{}}]*\}}"
_STATEMENT_MAY_START_AFTER = re.compile(rf"(?:^|{_CONNECTIVE})(?:\s|\\[,;:! ]|~)*$")
_LHS_START = re.compile(r"(?:\\(?:boldsymbol|mathbf|bm|pmb)\s*\{?\s*)?\\(?:mu|Sigma|sigma)(?![A-Za-z])")
_SUBSCRIPT = r"_(?:\{(?:[^{}]|\{[^{}]*\})*\}|\\[A-Za-z]+|[A-Za-z0-9])"
_LHS_PATTERNS = {
    "mu": re.compile(rf"\\mu(?:{_SUBSCRIPT})?"),
    # Σ, Σ_t, Σ·I (the matrix, when the right-hand side carries I too) and σ², σ_t², σ²_t.
    "Sigma": re.compile(rf"\\Sigma(?:{_SUBSCRIPT})?I?|\\sigma(?:{_SUBSCRIPT})?\^(?:2|\{{2\}})(?:{_SUBSCRIPT})?"),
}
_LHS_WRAPPER = re.compile(r"\\(?:boldsymbol|mathbf|bm|pmb|mathrm|mathbb|text)\s*\{([^{}]*)\}")


def _statements(cells: Iterable[Mapping[str, Any]], math: re.Pattern[str]) -> list[tuple[str, str]]:
    """(quantity, right-hand side) of every μ or Σ statement in this kind of math, in notebook order."""
    found: list[tuple[str, str]] = []
    for cell in cells:
        if not _is_markdown(cell):
            continue
        text = _NOT_RENDERED.sub(" ", _source(cell))
        if math is _INLINE_MATH:
            text = _DISPLAY_MATH.sub(" ", text)  # `$$…$$` is not two inline spans
        for match in math.finditer(text):
            found += _statements_in_block(next(group for group in match.groups() if group is not None))
    return found


def _statements_in_block(block: str) -> list[tuple[str, str]]:
    block = _ENVIRONMENT.sub(" ", block).replace("&", " ")
    found: list[tuple[str, str]] = []
    for line in block.split("\\\\"):
        starts = [(m.start(), q) for m in _LHS_START.finditer(line) if (q := _quantity_starting_at(line, m.start()))]
        ends = [start for start, _ in starts[1:]] + [len(line)]
        found += [
            (quantity, _end_of_chain(_before_side_remark(line[start:end]))) for (start, quantity), end in zip(starts, ends, strict=False)
        ]
    return found


def _quantity_starting_at(line: str, start: int) -> str | None:
    """ "mu"/"Sigma" if a statement about it starts here: at top level, after a connective, up to an `=`."""
    depths = _depths(line)
    if depths[start] != 0 or not _STATEMENT_MAY_START_AFTER.search(line[:start]):
        return None
    equals = next((i for i in range(start, len(line)) if line[i] == "=" and depths[i] == 0), None)
    if equals is None:
        return None
    lhs = re.sub(r"\\[,;:! ]|~|\s", "", line[start:equals]).rstrip(":")  # `\mu := …` too
    lhs = re.sub(r"\\(?:boldsymbol|mathbf|bm|pmb)(?=\\)", "", lhs)
    while (unwrapped := _LHS_WRAPPER.sub(r"\1", lhs)) != lhs:
        lhs = unwrapped
    return next((quantity for quantity, pattern in _LHS_PATTERNS.items() if pattern.fullmatch(lhs)), None)


def _before_side_remark(statement: str) -> str:
    """`\\mu = A, \\text{where} \\bar\\alpha_3 = …` → `\\mu = A`."""
    depths = _depths(statement)
    for match in re.finditer(_SIDE_REMARK, statement):
        # A lone \quad is spacing; one that leads to another equation or to words ends the answer.
        is_spacing = match.group().startswith(r"\q") and not re.search(r"=|\\text", statement[match.end() :])
        if depths[match.start()] == 0 and not is_spacing:
            return statement[: match.start()]
    return statement


def _end_of_chain(statement: str) -> str:
    """`\\mu = A = B` → `B`; a bare right-hand side stays as it is."""
    depths = _depths(statement)
    parts = [0] + [i + 1 for i, ch in enumerate(statement) if ch == "=" and depths[i] == 0]
    return statement[parts[-1] :].strip()


def _depths(text: str) -> list[int]:
    """Bracket depth at each character (escaped `\\{` `\\}` are delimiters that count as nothing)."""
    depths, depth, escaped = [], 0, False
    for ch in text:
        depths.append(depth)
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in "{([":
            depth += 1
        elif ch in "})]":
            depth -= 1
    depths.append(depth)  # one past the end, so an index at len(text) is valid
    return depths


def _last_for(quantity: str, statements: list[tuple[str, str]]) -> str | None:
    return next((rhs for q, rhs in reversed(statements) if q == quantity), None)


def _kl_section_start(cells: list[Mapping[str, Any]]) -> int:
    """Index of the first cell of the KL questions (a question or a tagged answer), or len(cells)."""
    for index, cell in enumerate(cells):
        if any(q.tag in _tags(cell) for q in QUESTIONS):
            return index
        if _is_markdown(cell) and any(_question_on(line) for line in _source(cell).splitlines()):
            return index
    return len(cells)


# ============================================================================= free text


_PLACEHOLDERS = {"your answer here"}
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s")
_IMAGES = re.compile(r"!\[[^\]]*\]\([^)]*\)|!\[[^\]]*\]\[[^\]]*\]|<img\b[^>]*>|<(video|audio|iframe)\b.*?</\1>", re.DOTALL | re.IGNORECASE)
_HTML_TAGS = re.compile(
    r"</?(?:div|span|p|br|b|i|em|strong|u|font|center|figure|figcaption|sup|sub|a|ul|ol|li|hr|source)\b[^>]*>",
    re.IGNORECASE,
)


def _normalised(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def _question_on(line: str) -> Question | None:
    """The question this line asks; it must be a question or a heading, as an answer may quote one."""
    if "?" not in line and not _HEADING.match(line):
        return None
    normalised = _normalised(line)
    return next((q for q in QUESTIONS if q.key in normalised), None)


def _tagged_answer(cells: list[Mapping[str, Any]], question: Question) -> str:
    # Any cell type: an answer typed into a cell accidentally turned into code is still the answer.
    return "\n\n".join(_source(c) for c in cells if question.tag in _tags(c))


def _answer_after_question(cells: list[Mapping[str, Any]], question: Question) -> str:
    """The text after the question: the rest of its cell and the markdown cells that follow it,
    up to the next question, code cell, cell opening with a heading, or cell tagged for another answer."""
    lines: list[str] = []
    collecting = False
    for cell in cells:
        source = _source(cell)
        if collecting and (
            not _is_markdown(cell)
            or _HEADING.match(source.lstrip("\n"))
            or any(other.tag in _tags(cell) for other in QUESTIONS if other is not question)
        ):
            break
        if not _is_markdown(cell):
            continue
        for line in source.splitlines():
            asked = _question_on(line)
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
    return "\n\n".join(p.strip("\n") for p in paragraphs if p.strip() and _normalised(p) not in _PLACEHOLDERS)
