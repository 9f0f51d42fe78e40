"""Finding an assignment: the entry points, `--assignment`, a run's recorded id, a notebook's metadata."""

from __future__ import annotations

from dataclasses import replace

import pytest

from assignments.a10 import ASSIGNMENT
from graders.assignment import registry
from graders.errors import UsageError
from graders.settings import RunSettings
from graders.tags import named_assignment
from tests.provenance import SETTINGS


def test_the_installed_assignment_is_found_by_its_id_and_taken_when_none_is_named():
    assert "assignment-10" in registry.installed()
    assert registry.load("assignment-10") is ASSIGNMENT
    assert registry.load() is ASSIGNMENT  # the only one installed


@pytest.mark.parametrize("name", ["assignment-11", "", "ASSIGNMENT-10", "../assignment-10"])
def test_an_assignment_that_is_not_installed_is_a_usage_error_that_lists_the_installed_ones(name):
    with pytest.raises(UsageError, match="assignment-10"):
        registry.load(name)


@pytest.mark.parametrize(
    "settings",
    [None, replace(SETTINGS, assignment_id=None, assignment_version=None), replace(SETTINGS, assignment_id="assignment-10")],
    ids=["no settings", "a run from before the seam", "a run naming assignment-10"],
)
def test_a_run_finds_its_assignment_from_its_recorded_settings_and_older_runs_the_installed_one(settings):
    assert registry.recorded_in(settings) is ASSIGNMENT


def test_a_run_recorded_for_an_assignment_no_longer_installed_says_so():
    with pytest.raises(UsageError, match="assignment-7"):
        registry.recorded_in(replace(SETTINGS, assignment_id="assignment-7"))


def test_a_recorded_assignment_id_that_is_not_a_string_is_refused_when_read():
    with pytest.raises(ValueError, match="assignment_id"):
        RunSettings.from_json({**SETTINGS.to_json(), "assignment_id": 10})


@pytest.mark.parametrize(
    ("metadata", "named"),
    [
        ({"grader": {"assignment": "assignment-10"}}, "assignment-10"),
        ({}, None),
        ({"grader": "assignment-10"}, None),
        ({"grader": {"assignment": ["a"]}}, None),
        ({"grader": {"assignment": "x" * 10_000}}, "x" * 100),  # untrusted: only a short string is taken
    ],
)
def test_a_notebook_names_its_assignment_in_its_metadata_or_not_at_all(metadata, named):
    assert named_assignment({"metadata": metadata, "cells": []}) == named


def test_the_assignment_s_data_is_consistent():
    """Every check has a title and points, the ids are unique, every catalogued mistake costs a known check."""
    from assignments.a10.checks import CHECKS, DEDUCTIONS

    assert ASSIGNMENT.check_ids == tuple(check.id for check in CHECKS)
    assert len(set(ASSIGNMENT.check_ids)) == len(ASSIGNMENT.check_ids)
    assert ASSIGNMENT.max_score == sum(spec.points for spec in ASSIGNMENT.checks) == 12.0
    assert set(DEDUCTIONS) == set(ASSIGNMENT.catalog) and set(DEDUCTIONS.values()) <= set(ASSIGNMENT.check_ids)
    assert {q.tag for q in ASSIGNMENT.questions} == {"answer:kl_observe", "answer:kl_explain", "answer:kl_role"}
    assert all(q.rubric for q in ASSIGNMENT.questions)
