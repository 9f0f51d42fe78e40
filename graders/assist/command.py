"""What `grader suggest REPORTS QUESTION [--json]` prints: a suggested mark, or an abstention, per unmarked answer.

Imported by graders/cli/staff.py only when the command runs; without the `assist` extra it fails with
`MissingExtra` before it reads anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SuggestedRow:
    """One unmarked answer: its suggestion, or `points is None` for an abstention."""

    submission: str
    points: float | None
    rubric_items: tuple[str, ...]
    confidence: float

    def as_json(self) -> dict[str, object]:
        if self.points is None:
            return {"submission": self.submission, "abstain": True}
        return {
            "submission": self.submission,
            "points": self.points,
            "rubric_items": list(self.rubric_items),
            "confidence": self.confidence,
        }

    def as_line(self) -> str:
        if self.points is None:
            return f"{self.submission}\t-"
        return f"{self.submission}\t{self.points:g}\t{self.confidence}\t{' '.join(self.rubric_items)}"


@dataclass(frozen=True)
class Suggested:
    rows: tuple[SuggestedRow, ...]
    marked: int
    by_items: bool  # the marks name rubric items; marks of plain points suggest only an empty answer's zero

    def summary(self) -> str:
        suggested = sum(row.points is not None for row in self.rows)
        why = "" if self.by_items else "; marks of plain points suggest nothing but an empty answer's zero: mark with rubric items"
        return f"{suggested} of {len(self.rows)} unmarked answers have a suggestion ({self.marked} marked){why}"


def suggested(reports: Path, question: str) -> Suggested:
    from graders.assist import embed
    from graders.assist.marks import question_answers
    from graders.assist.suggest import Suggestion, suggest

    model = embed.load()
    answers = question_answers(reports, question)
    rows = []
    for decision in suggest(answers.rubric, answers.marked, answers.unmarked, model.embed):
        if isinstance(decision, Suggestion):
            # An exclusive rubric's items are its points bands: the points say it all.
            items = () if answers.rubric.exclusive else tuple(sorted(decision.items))
            rows.append(SuggestedRow(decision.key, decision.points, items, decision.confidence))
        else:
            rows.append(SuggestedRow(decision.key, None, (), 0.0))
    return Suggested(tuple(rows), len(answers.marked), not answers.rubric.exclusive)
