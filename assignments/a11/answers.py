"""The written answers: the derivation's Var(q · k) line judged, and the three free-text answers.

The answer is found and read by answer_form.py (which the student kit ships) and evaluated there at a
few values of d_k: the same values as d_k is right; those of 1 or √d_k are the catalogued mistakes.
Free text is read within the caps of the harness's cell reader (graders/judge/cells.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from assignments.a11 import answer_form
from assignments.a11.answer_form import SAMPLES
from assignments.a11.contract import QUESTIONS
from graders.judge.cells import cell_source, cell_tags, cells_read
from graders.judge.kinds.symbolic import AnswerVerdict
from graders.results import CheckStatus, DerivationAnswer, FreeTextAnswer

_FORMS = {"": lambda d: d, "variance_of_one_term": lambda d: 1.0, "std_for_variance": math.sqrt}


def extract_derivation(nb: Mapping[str, Any]) -> tuple[DerivationAnswer]:
    return answer_form.derivation(nb, QUESTIONS)


def extract_free_text(nb: Mapping[str, Any]) -> tuple[FreeTextAnswer, ...]:
    """The answers in the cells tagged with each question's tag, in question order; "" where none is tagged."""
    cells = cells_read(nb)
    return tuple(FreeTextAnswer(q.text, next((cell_source(c).strip() for c in cells if q.tag in cell_tags(c)), "")) for q in QUESTIONS)


@lru_cache(maxsize=1024)
def judge_variance(latex: str | None) -> AnswerVerdict:
    found = answer_form.read(latex)
    if isinstance(found, AnswerVerdict):
        return found
    shown, student = found
    matching = [name for name, form in _FORMS.items() if _same(student, tuple(form(d) for d in SAMPLES))]
    if matching == [""]:
        return AnswerVerdict(CheckStatus.PASS, (), "Correct: Var(q · k) = d_k.", shown)
    names = tuple(matching)
    said = "".join(f" {_TITLES[name]}." for name in names) or " Check each step: q · k is a sum of d_k products q_i k_i."
    return AnswerVerdict(CheckStatus.FAIL, names, f"Not quite: your Var(q · k) = {shown} is not d_k.{said}", shown)


def _same(a: tuple[float, ...] | None, b: tuple[float, ...]) -> bool:
    return a is not None and all(math.isclose(x, y, rel_tol=1e-9) for x, y in zip(a, b, strict=True))


_TITLES = {
    "variance_of_one_term": "Each q_i k_i has variance 1; q · k adds d_k of them",
    "std_for_variance": "√d_k is the standard deviation; the variance is its square",
}
