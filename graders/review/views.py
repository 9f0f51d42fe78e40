"""What the review pages and the JSON API show, computed from results (no HTML here)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from graders.results import SubmissionResult, SubmissionStatus


@dataclass(frozen=True)
class Bar:
    """One histogram bar: scores in [low, high) (the last bar includes the maximum)."""

    low: float
    high: float
    count: int
    share: float  # of the tallest bar, 0..1, for its drawn height


def histogram(results: Sequence[SubmissionResult]) -> tuple[Bar, ...]:
    """Graded scores in one-point bins from 0 to the maximum (an unreadable notebook has no score to show)."""
    graded = [r for r in results if r.status is SubmissionStatus.GRADED]
    if not graded:
        return ()
    top = max(r.max_score for r in graded)
    edges = max(1, math.ceil(top))
    counts = [0] * edges
    for result in graded:
        counts[min(edges - 1, max(0, math.floor(result.score)))] += 1
    tallest = max(counts)
    return tuple(Bar(float(i), float(i + 1), count, count / tallest) for i, count in enumerate(counts))


def submission_summary(result: SubmissionResult) -> dict[str, Any]:
    """One row of GET /api/submissions: score, status and every check's status and score."""
    return {
        "id": result.submission,
        "status": result.status.value,
        "score": result.score,
        "max_score": result.max_score,
        "checks": {check.id: {"status": check.status.value, "score": check.score, "max_score": check.max_score} for check in result.checks},
    }
