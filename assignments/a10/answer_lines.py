"""Finding Exercise 2.1's answer lines, `$$\\mu = …$$` and `$$\\Sigma = …$$`, in a notebook's markdown.

Self-contained on purpose (the standard library only), like probe_runtime.py: the grader's answer
reader (assignments/a10/answers.py) and the student kit's check.py (which ships this file verbatim)
find the same answer in the same notebook. Whether an answer is right stays with the grader.

Student text is read in time linear in its length, and only so much of it: the cells and characters
the harness's cell reader reads (graders/judge/cells.py, `reading_note` tells the student what was
left out). No step may search the rest of a text again for every place a match could start, as
`<!--.*?-->` does for each unclosed `<!--` (40,000 of them took five minutes): openers and their
closers are found with a `Finder`, which searches each stretch of text once.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate, chain, repeat
from typing import Any, Protocol, TypeVar

from graders.judge.cells import cell_source, cell_tags, cells_read, is_markdown, reading_note
from graders.judge.unicode_math import math_as_latex

_MAX_LHS_CHARS = 200  # a longer left of `=` is no μ or Σ: this bounds the work for each candidate statement


class AsksQuestion(Protocol):
    """A KL question as far as finding it goes (assignments.a10.contract.Question)."""

    @property
    def tag(self) -> str: ...

    @property
    def key(self) -> str: ...


Q = TypeVar("Q", bound=AsksQuestion)


@dataclass(frozen=True)
class DerivationLines:
    """The last μ and Σ right-hand sides (None where there is none), and what of the notebook was not read."""

    mu: str | None
    sigma: str | None
    note: str  # `reading_note`: for the student; "" when every cell was read in full


def read_derivation(nb: Mapping[str, Any], questions: Sequence[AsksQuestion]) -> DerivationLines:
    """The right-hand sides of the last μ and the last Σ statement, and the reading note.

    Lines in the KL-questions part of the notebook count only when Exercise 2.1's part has none:
    there, μ and σ² are the VAE's, and a `$$\\sigma^2 = 1$$` about the prior is not an answer to 2.1.
    """
    cells = cells_read(nb)
    kl_start = kl_section_start(cells, questions)
    per_cell = [_cell_statements(cell) for cell in cells]
    display, inline = [found[0] for found in per_cell], [found[1] for found in per_cell]
    # Display math first; inline `$\\mu = …$` counts only when no display line gives the quantity.
    searches = [list(chain.from_iterable(found)) for statements in (display, inline) for found in (statements[:kl_start], statements)]

    def answer(quantity: str) -> str | None:
        """The last statement's right-hand side in the first search whose last statement about `quantity` has one."""
        last = (next((rhs for q, rhs in reversed(found) if q == quantity), None) for found in searches)
        return next((rhs for rhs in last if rhs), None)

    return DerivationLines(answer("mu"), answer("Sigma"), reading_note(nb, questions))


def derivation_answers(nb: Mapping[str, Any], questions: Sequence[AsksQuestion]) -> tuple[str | None, str | None]:
    """The right-hand sides of the last μ and the last Σ statement (`read_derivation`); None where there is none."""
    found = read_derivation(nb, questions)
    return found.mu, found.sigma


# ============================================================================= the KL questions' part

HEADING = re.compile(r"^\s{0,3}#{1,6}\s")


def normalised(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def question_on(line: str, questions: Sequence[Q]) -> Q | None:
    """The question this line asks; it must be a question or a heading, as an answer may quote one."""
    if "?" not in line and not HEADING.match(line):
        return None
    text = normalised(line)
    return next((q for q in questions if q.key in text), None)


def kl_section_start(cells: list[Mapping[str, Any]], questions: Sequence[AsksQuestion]) -> int:
    """Index of the first cell of the KL questions (a question or a tagged answer), or len(cells)."""
    for index, cell in enumerate(cells):
        if any(q.tag in cell_tags(cell) for q in questions):
            return index
        if is_markdown(cell) and any(question_on(line, questions) for line in cell_source(cell).splitlines()):
            return index
    return len(cells)


# ============================================================================= linear scanning


class Finder:
    """Where a pattern next matches at or after a position, for a scan that moves forward.

    Asked again from a position between the last one asked and the match found then, the answer
    stands; asked from past a search that failed, there is no match either. So each stretch of text is
    searched once, and a scan that asks at every opener where its closer is stays linear.
    """

    def __init__(self, text: str, pattern: str | re.Pattern[str]) -> None:
        self.text = text
        self.pattern = re.compile(re.escape(pattern)) if isinstance(pattern, str) else pattern
        self.searched_from = len(text) + 1  # nothing searched yet
        self.found: re.Match[str] | None = None

    def next(self, position: int) -> re.Match[str] | None:
        if not (self.searched_from <= position and (self.found is None or position <= self.found.start())):
            self.searched_from, self.found = position, self.pattern.search(self.text, position)
        return self.found


def matches(text: str, openers: re.Pattern[str], end_at: Callable[[int], int | None]) -> Iterator[tuple[int, int]]:
    """(start, end) of each match, left to right and not overlapping, as `re.finditer` gives them:
    `openers` finds each place a match may start, `end_at(start)` where the match from there ends
    (None: there is none). With `end_at` asking `Finder`s, the whole scan is linear."""
    position = 0
    while (opener := openers.search(text, position)) is not None:
        start = opener.start()
        end = end_at(start)
        if end is None:
            position = start + 1
        else:
            yield start, end
            position = end


def replace_spans(text: str, spans: Iterable[tuple[int, int]], by: str) -> str:
    """The text with each of the (start, end) spans, in order and not overlapping, replaced by `by`."""
    pieces: list[str] = []
    last = 0
    for start, end in spans:
        pieces += (text[last:start], by)
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


# ============================================================================= markdown: what is rendered as math

_CODE_OR_COMMENT = re.compile(r"`|~~~|<!--")
_DISPLAY_OPENER = re.compile(r"\$\$|\\\[")
_INLINE_OPENER = re.compile(r"\$|\\\(")


def _not_rendered(text: str) -> Iterator[tuple[int, int]]:
    """Code spans, fenced code and HTML comments, which are not rendered as math (so `$$…$$` inside
    them is no answer), where ```.*?```|~~~.*?~~~|`[^`\\n]*`|<!--.*?--> (DOTALL) finds them."""
    fences = {fence: Finder(text, fence) for fence in ("```", "~~~")}
    span_end, comment_end = Finder(text, re.compile(r"[`\n]")), Finder(text, "-->")

    def end_at(start: int) -> int | None:
        for fence, closer in fences.items():
            if text.startswith(fence, start) and (found := closer.next(start + 3)):
                return found.end()
        if text[start] == "`" and (found := span_end.next(start + 1)) and found.group() == "`":
            return found.end()
        if text.startswith("<!--", start) and (found := comment_end.next(start + 4)):
            return found.end()
        return None

    return matches(text, _CODE_OR_COMMENT, end_at)


def _display_math(text: str) -> list[tuple[int, int]]:
    """`$$…$$` and `\\[…\\]`, where \\$\\$(.+?)\\$\\$|\\\\\\[(.+?)\\\\\\] (DOTALL) finds them."""
    closers = {"$$": Finder(text, "$$"), "\\[": Finder(text, "\\]")}

    def end_at(start: int) -> int | None:
        found = closers[text[start : start + 2]].next(start + 3)  # at least one character inside
        return found.end() if found else None

    return list(matches(text, _DISPLAY_OPENER, end_at))


def _inline_math(text: str) -> Iterator[tuple[int, int]]:
    """`$…$` and `\\(…\\)`, where (?<![\\\\$])\\$([^$]+?)(?<!\\\\)\\$|\\\\\\((.+?)\\\\\\) (DOTALL) finds them."""
    dollars, closing = Finder(text, "$"), Finder(text, "\\)")

    def end_at(start: int) -> int | None:
        if text[start] == "\\":
            found = closing.next(start + 3)
            return found.end() if found else None
        if (start and text[start - 1] in "\\$") or text[start + 1 : start + 2] in ("", "$"):
            return None
        found = dollars.next(start + 1)  # the span cannot reach past the next `$`; an escaped `\$` there ends it unclosed
        return found.end() if found and text[found.start() - 1] != "\\" else None

    return matches(text, _INLINE_OPENER, end_at)


def _inside(text: str, span: tuple[int, int]) -> str:
    """The math between a span's delimiters (`$` is one character, `$$`, `\\[` and `\\(` two)."""
    start, end = span
    width = 1 if text[start] == "$" and text[start + 1] != "$" else 2
    return text[start + width : end - width]


def _cell_statements(cell: Mapping[str, Any]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(quantity, right-hand side) of every μ or Σ statement in the cell's display math, and in its inline math."""
    if not is_markdown(cell):
        return [], []
    text = replace_spans(cell_source(cell), _not_rendered(cell_source(cell)), " ")
    display = _display_math(text)
    inline_text = replace_spans(text, display, " ")  # `$$…$$` is not two inline spans
    return (
        [statement for span in display for statement in _statements_in_block(_inside(text, span))],
        [statement for span in _inline_math(inline_text) for statement in _statements_in_block(_inside(inline_text, span))],
    )


# ============================================================================= statements in a block of math

_ENVIRONMENT = re.compile(r"\\(?:begin|end)\s*\{(?:aligned|align\*?|equation\*?|gather\*?|gathered|split|eqnarray\*?)\}")
# What may stand between statements, `\mu = …, \quad \Sigma = …`, `… \text{ and } \Sigma = …`, and
# what ends an answer: `\mu = … \quad \text{with } \bar\alpha_3 = …` (words need two letters: \text{I} is I).
_SEPARATOR = r"(?<!\\)[,;]|\\q?quad(?![A-Za-z])|\\(?:Rightarrow|Longrightarrow|implies|iff|therefore)(?![A-Za-z])"
_TEXT = r"\\text\s*\{(?P<words>[^{}]*)\}"
_CONNECTIVES = (re.compile(_SEPARATOR), re.compile(_TEXT))  # apart: a `,` inside `\text{…}` ends a connective too
_SIDE_REMARK = re.compile(rf"{_SEPARATOR}|{_TEXT}")
_WORDS = re.compile(r"[A-Za-z]{2}")
_SPACING = re.compile(r"(?:\s|\\[,;:! ]|~)+")
_LHS_START = re.compile(r"(?:\\(?:boldsymbol|mathbf|bm|pmb)\s*\{?\s*)?\\(?:mu|Sigma|sigma)(?![A-Za-z])")
_SUBSCRIPT = r"_(?:\{(?:[^{}]|\{[^{}]*\})*\}|\\[A-Za-z]+|[A-Za-z0-9])"
_LHS_PATTERNS = {
    "mu": re.compile(rf"\\mu(?:{_SUBSCRIPT})?"),
    # Σ, Σ_t, ΣI and Σ·I (the matrix, when the right-hand side carries I too) and σ², σ_t², σ²_t.
    "Sigma": re.compile(rf"\\Sigma(?:{_SUBSCRIPT})?(?:(?:\\cdot)?I)?|\\sigma(?:{_SUBSCRIPT})?\^(?:2|\{{2\}})(?:{_SUBSCRIPT})?"),
}
_LHS_WRAPPER = re.compile(r"\\(?:boldsymbol|mathbf|bm|pmb|mathrm|mathbb|text)\s*\{([^{}]*)\}")


def _statements_in_block(block: str) -> list[tuple[str, str]]:
    block = _ENVIRONMENT.sub(" ", math_as_latex(block)).replace("&", " ")
    return [statement for line in block.split("\\\\") for statement in _statements_in_line(line)]


def _statements_in_line(text: str) -> list[tuple[str, str]]:
    candidates = [match.start() for match in _LHS_START.finditer(text)]
    if not candidates:
        return []
    line = _Line.of(text)
    starts = [(start, quantity) for start in candidates if (quantity := _quantity_starting_at(line, start))]
    ends = [start for start, _ in starts[1:]] + [len(text)]
    return [(quantity, end_of_chain(_before_side_remark(text[start:end]))) for (start, quantity), end in zip(starts, ends, strict=False)]


@dataclass(frozen=True)
class _Line:
    """What deciding where statements start needs to know of one line of math, found in one pass each."""

    text: str
    depths: list[int]  # `_depths`
    equals: list[int]  # where the `=` at bracket depth 0 are, in order
    connective_ends: frozenset[int]  # where a separator or a `\text{…}` ends
    spacing_starts: dict[int, int]  # the end of each run of spacing → where the run starts

    @classmethod
    def of(cls, text: str) -> _Line:
        depths = _depths(text)
        return cls(
            text,
            depths,
            [index for index, ch in enumerate(text) if ch == "=" and depths[index] == 0],
            frozenset(match.end() for pattern in _CONNECTIVES for match in pattern.finditer(text)),
            {match.end(): match.start() for match in _SPACING.finditer(text)},
        )

    def statement_may_start(self, start: int) -> bool:
        """Whether only spacing stands between `start` and the start of the line or a connective.

        A connective ends in `,` `;`, a letter or `}`, none of which ends a piece of spacing (`\\,`
        is spacing, but then the `,` is escaped): so it can only end where the run of spacing before
        `start` begins.
        """
        begins = self.spacing_starts.get(start, start)
        return begins == 0 or begins in self.connective_ends


def _quantity_starting_at(line: _Line, start: int) -> str | None:
    """ "mu"/"Sigma" if a statement about it starts here: at top level, after a connective, up to an `=`."""
    if line.depths[start] != 0 or not line.statement_may_start(start):
        return None
    index = bisect_left(line.equals, start)
    if index == len(line.equals) or line.equals[index] - start > _MAX_LHS_CHARS:
        return None
    lhs = re.sub(r"\\[,;:! ]|~|\s", "", line.text[start : line.equals[index]]).rstrip(":")  # `\mu := …` too
    lhs = re.sub(r"\\(?:boldsymbol|mathbf|bm|pmb)(?=\\)", "", lhs)
    while (unwrapped := _LHS_WRAPPER.sub(r"\1", lhs)) != lhs:
        lhs = unwrapped
    return next((quantity for quantity, pattern in _LHS_PATTERNS.items() if pattern.fullmatch(lhs)), None)


def _before_side_remark(statement: str) -> str:
    """`\\mu = A, \\text{where} \\bar\\alpha_3 = …` → `\\mu = A`."""
    depths = _depths(statement)
    last_equation_or_words = max(statement.rfind("="), statement.rfind("\\text"))
    position = 0
    while (match := _SIDE_REMARK.search(statement, position)) is not None:
        words = match.group("words")
        if words is not None and not _WORDS.search(words):  # not a remark; what it holds is looked at on its own
            position = match.start() + 1
            continue
        # A lone \quad is spacing; one that leads to another equation or to words ends the answer.
        is_spacing = match.group().startswith(r"\q") and last_equation_or_words < match.end()
        if depths[match.start()] == 0 and not is_spacing:
            return statement[: match.start()]
        position = match.end()
    return statement


def end_of_chain(statement: str) -> str:
    """`\\mu = A = B` → `B`; a bare right-hand side stays as it is."""
    depths = _depths(statement)
    parts = [0] + [i + 1 for i, ch in enumerate(statement) if ch == "=" and depths[i] == 0]
    return statement[parts[-1] :].strip()


_ESCAPED = re.compile(r"\\.", re.DOTALL)
_DEPTH_STEP = {"{": 1, "(": 1, "[": 1, "}": -1, ")": -1, "]": -1}


def _depths(text: str) -> list[int]:
    """Bracket depth before each character, and one past the end (so an index at len(text) is valid).

    Escaped `\\{` `\\}` are delimiters that count as nothing: whatever a backslash escapes is blanked first."""
    unescaped = _ESCAPED.sub("  ", text)
    return list(accumulate(map(_DEPTH_STEP.get, unescaped, repeat(0)), initial=0))
