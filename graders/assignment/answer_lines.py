"""Finding Exercise 2.1's answer lines, `$$\\mu = …$$` and `$$\\Sigma = …$$`, in a notebook's markdown.

Self-contained on purpose (the standard library only), like probe_runtime.py: the grader's answer
reader (graders/judge/answers.py) and the student kit's check.py (which ships this file verbatim)
find the same answer in the same notebook. Whether an answer is right stays with the grader.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, TypeVar


class AsksQuestion(Protocol):
    """A KL question as far as finding it goes (graders.assignment.contract.Question)."""

    @property
    def tag(self) -> str: ...

    @property
    def key(self) -> str: ...


Q = TypeVar("Q", bound=AsksQuestion)


def derivation_answers(nb: Mapping[str, Any], questions: Sequence[AsksQuestion]) -> tuple[str | None, str | None]:
    """The right-hand sides of the last μ and the last Σ statement; None where there is none.

    Lines in the KL-questions part of the notebook count only when Exercise 2.1's part has none:
    there, μ and σ² are the VAE's, and a `$$\\sigma^2 = 1$$` about the prior is not an answer to 2.1.
    """
    cells = list(nb.get("cells", []))
    before_kl, anywhere = cells[: kl_section_start(cells, questions)], cells
    # Display math first; inline `$\\mu = …$` counts only when no display line gives the quantity.
    searches = [_statements(part, math) for math in (_DISPLAY_MATH, _INLINE_MATH) for part in (before_kl, anywhere)]

    def answer(quantity: str) -> str | None:
        return next((rhs for found in searches if (rhs := _last_for(quantity, found))), None)

    return answer("mu"), answer("Sigma")


def cell_source(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def cell_tags(cell: Mapping[str, Any]) -> list[str]:
    return list((cell.get("metadata") or {}).get("tags", []) or [])


def is_markdown(cell: Mapping[str, Any]) -> bool:
    return cell.get("cell_type") == "markdown"


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
        if not is_markdown(cell):
            continue
        text = _NOT_RENDERED.sub(" ", cell_source(cell))
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
            (quantity, end_of_chain(_before_side_remark(line[start:end]))) for (start, quantity), end in zip(starts, ends, strict=False)
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


def end_of_chain(statement: str) -> str:
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
