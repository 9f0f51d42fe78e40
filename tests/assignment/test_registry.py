"""Finding an assignment: the entry points, `--assignment`, the installation's default, a run's recorded
id, a notebook's metadata.

The installations with one, several, or no default are real ones: package metadata (`*.dist-info` with
its entry_points.txt) on a sys.path of their own, read by importlib.metadata as for an installed package.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

import assignments.a10
import assignments.a11
from assignments.a10 import ASSIGNMENT
from graders.assignment import registry
from graders.errors import BadCommandLine, HarnessError, UsageError
from graders.settings import RunSettings
from graders.tags import named_assignment
from tests.provenance import SETTINGS

A10, A11 = "assignments.a10:ASSIGNMENT", "assignments.a11:ASSIGNMENT"
Installation = Callable[..., None]


@pytest.fixture
def installation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Installation]:
    """install(assignments={id: value}, defaults=[value, ...]): the only packages on sys.path; one package per default."""

    def install(assignments: dict[str, str], defaults: tuple[str, ...] = ()) -> None:
        packages = [("course", assignments, None), *((f"default{n}", {}, value) for n, value in enumerate(defaults))]
        for name, points, default in packages:
            info = tmp_path / f"{name}-1.0.dist-info"
            info.mkdir()
            (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n", encoding="utf-8")
            lines = [f"[{registry.GROUP}]", *(f"{k} = {v}" for k, v in points.items())]
            lines += [f"[{registry.DEFAULT_GROUP}]", f"default = {default}"] if default else []
            (info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        monkeypatch.setattr(sys, "path", [str(tmp_path)])  # the assignments' modules are imported already
        registry.load.cache_clear()

    yield install
    registry.load.cache_clear()  # forget the fake installation's answers (monkeypatch restores sys.path)


def test_this_installation_finds_each_assignment_by_id_and_takes_assignment_10_when_none_is_named():
    assert registry.installed() == ("assignment-10", "assignment-11")
    assert registry.load("assignment-10") is ASSIGNMENT
    assert registry.load("assignment-11") is assignments.a11.ASSIGNMENT
    assert registry.load() is ASSIGNMENT  # pyproject.toml's graders.default_assignment


@pytest.mark.parametrize("installed", [{"assignment-11": A11}, {"assignment-10": A10}])
def test_the_only_assignment_installed_is_taken_without_a_default(installation, installed):
    installation(installed)
    (only,) = installed
    assert registry.load().id == only
    assert registry.recorded_in(None).id == only  # an empty gradebook


@pytest.mark.parametrize("default", [A10, A11])
def test_with_several_installed_the_default_the_installation_names_is_taken(installation, default):
    installation({"assignment-10": A10, "assignment-11": A11}, defaults=(default,))
    expected = assignments.a10.ASSIGNMENT if default == A10 else assignments.a11.ASSIGNMENT
    assert registry.load() is expected
    assert registry.recorded_in(replace(SETTINGS, assignment_id=None, assignment_version=None)) is expected  # before the seam
    assert registry.load("assignment-11") is assignments.a11.ASSIGNMENT  # a named one is still that one


@pytest.mark.parametrize(
    ("defaults", "said"),
    [((), "names no default"), ((A10, A11), "names 2 defaults"), (("assignments.a12:ASSIGNMENT",), "is not installed")],
    ids=["no default", "two defaults", "a default not installed"],
)
def test_with_several_installed_and_no_one_default_naming_none_is_a_usage_error_listing_them(installation, defaults, said):
    installation({"assignment-10": A10, "assignment-11": A11}, defaults=defaults)
    with pytest.raises(BadCommandLine, match=said) as refused:
        registry.load()
    assert "assignment-10, assignment-11" in str(refused.value)


def test_an_entry_point_that_registers_something_else_under_the_id_is_the_installation_s_fault(installation):
    installation({"assignment-10": A11})
    with pytest.raises(HarnessError, match="assignment-10"):
        registry.load("assignment-10")


@pytest.mark.parametrize("name", ["assignment-12", "", "ASSIGNMENT-10", "../assignment-10"])
def test_an_assignment_that_is_not_installed_is_a_usage_error_that_lists_the_installed_ones(name):
    with pytest.raises(UsageError, match="assignment-10, assignment-11"):
        registry.load(name)


@pytest.mark.parametrize(
    "settings",
    [None, replace(SETTINGS, assignment_id=None, assignment_version=None), replace(SETTINGS, assignment_id="assignment-10")],
    ids=["no settings", "a run from before the seam", "a run naming assignment-10"],
)
def test_a_run_finds_its_assignment_from_its_recorded_settings_and_older_runs_the_default(settings):
    assert registry.recorded_in(settings) is ASSIGNMENT


def test_a_run_recorded_for_another_installed_assignment_is_that_one_s_not_the_default_s():
    assert registry.recorded_in(replace(SETTINGS, assignment_id="assignment-11")) is assignments.a11.ASSIGNMENT


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
