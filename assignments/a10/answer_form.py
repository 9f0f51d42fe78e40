r"""Whether a derivation's answer was found and can be read: the first step of judging it, and all the student kit does.

`read` gives the answer as a sympy expression, or the error verdict a student sees when there is no
answer line or the reader cannot read it (answers.py goes on to compare what it read with the truth;
the student kit, which ships this module and the reader but no truth, stops at "readable").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sympy

from assignments.a10.answer_lines import AsksQuestion, end_of_chain, read_derivation
from assignments.a10.latex import LatexParseError, parse_latex
from graders.judge.kinds.symbolic import AnswerVerdict
from graders.results import CheckStatus, DerivationAnswer

QUANTITY_NAMES = {"mu": ("μ", r"\mu"), "Sigma": ("Σ", r"\Sigma")}
_NOTATION_HINT = r"Write it with \alpha_1, \bar\alpha_3, x_0, \sqrt{…}, \frac{…}{…}, \cdot and numbers."
_SHOWN_CHARS = 300


def read(quantity: str, latex: str | None) -> sympy.Expr | AnswerVerdict:
    r"""The answer for "mu" or "Sigma" as read (its right-hand side; a whole `\mu = …` line is accepted too),
    or the error verdict when none was found or it cannot be read."""
    symbol, command = QUANTITY_NAMES[quantity]
    if latex is None:
        return AnswerVerdict(
            CheckStatus.ERROR,
            (),
            f"No answer for {symbol} found. End your derivation with a markdown line that holds only "
            f"display math with {symbol} left of the = sign, like $${command} = …$$ (with $$ on both sides).",
            None,
        )
    try:
        return parse_latex(end_of_chain(latex))
    except LatexParseError as problem:
        message = f"Your answer {symbol} = {_shown(latex)} could not be read: {problem}. {_NOTATION_HINT}"
        return AnswerVerdict(CheckStatus.ERROR, (), message, None)


def derivation(nb: Mapping[str, Any], questions: Sequence[AsksQuestion]) -> tuple[DerivationAnswer, DerivationAnswer]:
    """The μ and Σ answers as found (`answer_lines.read_derivation`), each with the note on what was not read:
    the grader's reading and the kit's."""
    found = read_derivation(nb, questions)
    return DerivationAnswer("mu", found.mu, found.note), DerivationAnswer("Sigma", found.sigma, found.note)


def readable(quantity: str, latex: str | None) -> AnswerVerdict:
    """The student kit's verdict: an error as `read` says it, else a pass that says nothing of right or wrong."""
    found = read(quantity, latex)
    if isinstance(found, AnswerVerdict):
        return found
    return AnswerVerdict(CheckStatus.PASS, (), "Readable.", str(found))


def _shown(latex: str) -> str:
    """The answer as the student wrote it, shortened for a message (it can be a whole cell long)."""
    text = latex.strip()
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "…"
