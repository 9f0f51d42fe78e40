"""The student kit's table of verdicts: what check.py prints and `grader check` prints too, so staff
and students read the same words. Standard library only; shipped in every kit."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

_STATUS_WORD = {"pass": "PASS", "fail": "FAIL", "error": "ERROR"}
UNSCORED = "checked at grading"  # a derivation's row: readable or not here, right or wrong after submission


@dataclass(frozen=True)
class Verdict:
    id: str
    status: str  # "pass" | "fail" | "error"
    points: float
    message: str
    misconceptions: tuple[str, ...] = ()
    scored: bool = True  # False: only read here (a derivation), its points are the grader's to give

    @property
    def score(self) -> float:
        return self.points if self.status == "pass" and self.scored else 0.0


@dataclass(frozen=True)
class CellFailure:
    number: int  # the student's cells counted from 1, markdown included
    ename: str
    evalue: str


def format_table(
    name: str,
    verdicts: Sequence[Verdict],
    message: str = "",
    cell_failures: Sequence[CellFailure] = (),
    width: int = 100,
    warnings: Sequence[str] = (),
    *,
    whole: bool = True,
) -> str:
    """One total, stated once (of every check shown, or none for one part): what the grader gives the same
    checks on the same inputs. A check only read here (a derivation) counts no points: grading decides it."""
    scored = [v for v in verdicts if v.scored]
    score, total = sum(v.score for v in scored), sum(v.points for v in scored)
    if whole:
        rows = [f"Self-check of {name}: {score:g} / {total:g} points on the public inputs, as the grader scores these checks"]
    else:
        rows = [f"Self-check of {name}, these checks only (check() with no argument gives the total)"]
    if message:
        rows.append(textwrap.fill(message, width))
    rows.append("")
    id_width = max((len(v.id) for v in verdicts), default=0)
    for v in verdicts:
        if v.scored:
            rows.append(f"{_STATUS_WORD[v.status]:<6} {v.id:<{id_width}}  {v.score:g}/{v.points:g}")
        else:
            rows.append(f"{'READ' if v.status == 'pass' else _STATUS_WORD[v.status]:<6} {v.id:<{id_width}}  {UNSCORED}")
        body = v.message + (f" [misconceptions: {', '.join(v.misconceptions)}]" if v.misconceptions else "")
        rows.extend(textwrap.wrap(body, width - 7, initial_indent="       ", subsequent_indent="       "))
    for failure in cell_failures:
        rows.append(f"\nCell {failure.number} raised {failure.ename}: {failure.evalue}")
    rows.extend(f"\n{textwrap.fill(warning, width, break_on_hyphens=False)}" for warning in warnings)
    return "\n".join(rows)
