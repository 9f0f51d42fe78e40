"""What suggestions reach on the labelled set (tests/assist/answers), marking 10% first, over twenty seeds.
Precision first: every seed of every question keeps issue 25's 95%, so a change that lets one wrong
suggestion through where few are made fails here. Coverage is far below the issue's 40% (about 2%: the
threshold that keeps precision leaves little); its floor is the measured value less a margin, so a change
that makes suggestions rarer fails too. `test_issue_targets` fails (strict xfail) the day both are met."""

from __future__ import annotations

from pathlib import Path

import pytest

from graders.assist.measure import Measured, load, measure

FOLDER = Path(__file__).with_name("answers")
SEEDS = range(20)  # wrong suggestions were seen at seeds 12 and 13 only, before the rules that stop them


@pytest.fixture(scope="module")
def measured(model) -> dict[str, list[Measured]]:
    return {tag: measure(model, rubric, answers, tag, SEEDS) for tag, (rubric, answers) in load(FOLDER).items()}


def coverage(rows: list[Measured]) -> float:
    return sum(r.suggested for r in rows) / sum(r.rest for r in rows)


def test_precision_is_the_issues_at_every_seed_and_coverage_stays_at_what_was_measured(measured):
    for tag, rows in measured.items():
        assert min(r.precision for r in rows) >= 0.95, tag  # measured 100% at every seed
        assert coverage(rows) >= 0.007, tag  # measured 0.9% (kl_explain: its empty answer and little more) to 3.5% (kl_role)
    assert coverage([r for rows in measured.values() for r in rows]) >= 0.015  # measured 1.9%


def test_actions_count_every_answer_once_at_least(measured):
    """No two answers of the set share a text, so text grouping marks every one by hand, and so do suggestions."""
    for rows in measured.values():
        for r in rows:
            assert r.actions_per_100 >= 100
            assert 100 <= r.grouping_actions_per_100 <= 500  # a save and at most four items each


@pytest.mark.xfail(
    strict=True, reason="issue 25's coverage target is not reached: 100% precision at ~2% coverage (README text in the report)"
)
def test_issue_targets(measured):
    for rows in measured.values():
        assert min(r.precision for r in rows) >= 0.95
        assert coverage(rows) >= 0.40
