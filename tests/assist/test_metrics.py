"""What suggestions reach on the labelled set (tests/assist/answers), marking 10% first, over five seeds:
the floors below are the measured values less a margin, so a change that makes suggestions less
trustworthy or rarer fails here. Issue 25's targets (precision >= 95% at coverage >= 40%) are not reached
yet; `test_issue_targets` says so and fails (strict xfail) the day they are, so the floors get raised."""

from __future__ import annotations

from pathlib import Path

import pytest

from graders.assist.measure import Measured, load, measure

FOLDER = Path(__file__).with_name("answers")
SEEDS = range(5)


@pytest.fixture(scope="module")
def measured(model) -> dict[str, list[Measured]]:
    return {tag: measure(model, rubric, answers, tag, SEEDS) for tag, (rubric, answers) in load(FOLDER).items()}


def precision(rows: list[Measured]) -> float:
    return sum(r.right for r in rows) / max(1, sum(r.suggested for r in rows))


def coverage(rows: list[Measured]) -> float:
    return sum(r.suggested for r in rows) / sum(r.rest for r in rows)


def test_precision_and_coverage_stay_at_what_was_measured(measured):
    everything = [r for rows in measured.values() for r in rows]
    assert precision(everything) >= 0.70  # measured 77%
    assert coverage(everything) >= 0.12  # measured 18%
    for tag, rows in measured.items():
        assert precision(rows) >= 0.60, tag  # measured 70% (kl_explain) to 81% (kl_role)
        assert coverage(rows) >= 0.08, tag  # measured 12% (kl_explain) to 27% (kl_role)


def test_actions_count_every_answer_once_at_least(measured):
    """No two answers of the set share a text, so text grouping marks every one by hand, and so do suggestions."""
    for rows in measured.values():
        for r in rows:
            assert r.actions_per_100 >= 100
            assert 100 <= r.grouping_actions_per_100 <= 500  # a save and at most four items each


@pytest.mark.xfail(strict=True, reason="issue 25's targets are not reached: precision ~77% at ~18% coverage (README text in the report)")
def test_issue_targets(measured):
    for rows in measured.values():
        assert min(r.precision for r in rows) >= 0.95
        assert coverage(rows) >= 0.40
