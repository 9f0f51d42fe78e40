"""Before anything runs: which assignment a folder is graded as, and the refusal of a notebook marked for another."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from assignments.a10 import ASSIGNMENT
from assignments.a11 import ASSIGNMENT as A11
from graders.errors import BadCommandLine, NotebookError
from graders.intake.discovery import Submission, find_submissions
from graders.pipeline.triage import MAX_NAMES_SHOWN, assignment_for, for_this_assignment
from tests.broken import CORRECT_CODE, notebook

ROOT = Path(__file__).resolve().parents[2]
A10_DEMOS = sorted((ROOT / "submissions" / "a10").glob("*.ipynb"))
A11_DEMOS = sorted((ROOT / "submissions" / "a11").glob("*.ipynb"))


def marked(metadata: object) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["grader"] = metadata
    return nb


@pytest.mark.parametrize("metadata", [{"assignment": "assignment-10"}, {}, "assignment-11", {"assignment": 11}])
def test_a_notebook_for_this_assignment_or_naming_none_is_graded(metadata):
    for_this_assignment(marked(metadata), ASSIGNMENT)
    for_this_assignment(nbformat.v4.new_notebook(), ASSIGNMENT)


@pytest.mark.parametrize("named", ["assignment-11", "Assignment 10", "<script>alert(1)</script>", "x" * 5000])
def test_a_notebook_marked_for_another_assignment_is_refused_with_both_names(named):
    with pytest.raises(NotebookError) as refused:
        for_this_assignment(marked({"assignment": named}), ASSIGNMENT)
    message = str(refused.value)
    assert repr(named[:100]) in message and "'assignment-10'" in message
    assert len(message) < 300  # the name a student wrote is cut


# Which assignment a folder is graded as without --assignment (graders.pipeline.triage.assignment_for).


def a_class(folder: Path, *demos: Path, **written: str | bytes) -> tuple[Submission, ...]:
    """The submissions of a folder holding copies of `demos` and the files `written` (id -> content)."""
    folder.mkdir()
    for demo in demos:
        shutil.copy(demo, folder / demo.name)
    for name, content in written.items():
        path = folder / f"{name}.ipynb"
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content, encoding="utf-8")
    return find_submissions(folder).submissions


def test_a_class_whose_notebooks_name_no_assignment_is_the_default_s(tmp_path):
    assert assignment_for(a_class(tmp_path / "a10", *A10_DEMOS)) is ASSIGNMENT
    assert assignment_for(()) is ASSIGNMENT  # an empty folder: nothing to go by


def test_a_class_whose_notebooks_name_one_assignment_is_that_one_whatever_the_unreadable_files(tmp_path):
    unreadable = {"empty": b"", "cut": "{", "a-list": "[]", "latin1": '{"cells": [], "note": "caf\xe9"}'.encode("latin-1")}
    assert assignment_for(a_class(tmp_path / "a11", *A11_DEMOS, **unreadable)) is A11


def test_assignment_given_on_the_command_line_is_taken_whatever_the_notebooks_name(tmp_path):
    assert assignment_for(a_class(tmp_path / "a11", *A11_DEMOS), "assignment-10") is ASSIGNMENT


@pytest.mark.parametrize(
    ("demos", "stray", "said"),
    [
        (A10_DEMOS, "assignment-11", ["'assignment-11': 1 (stray)", f"none (the default, assignment-10): {len(A10_DEMOS)} ("]),
        (A11_DEMOS, "assignment-10", [f"'assignment-11': {len(A11_DEMOS)} (", "'assignment-10': 1 (stray)"]),
        (A11_DEMOS, None, [f"'assignment-11': {len(A11_DEMOS)} (", "none (the default, assignment-10): 1 (stray)"]),
    ],
    ids=["an a11 notebook in an a10 class", "an a10-named notebook in an a11 class", "an unnamed notebook in an a11 class"],
)
def test_a_class_whose_notebooks_name_different_assignments_is_a_usage_error_naming_them(tmp_path, demos, stray, said):
    """One notebook's metadata, which its student writes, never turns a class into another assignment's."""
    with pytest.raises(BadCommandLine, match="--assignment") as refused:
        assignment_for(a_class(tmp_path / "class", *demos, stray=notebook(CORRECT_CODE, assignment=stray)))
    assert all(part in str(refused.value) for part in said), str(refused.value)


def test_a_class_naming_an_assignment_that_is_not_installed_is_a_usage_error(tmp_path):
    named = {f"s{n}": notebook(CORRECT_CODE, assignment="assignment-12") for n in range(3)}
    with pytest.raises(BadCommandLine, match="no assignment 'assignment-12' is installed"):
        assignment_for(a_class(tmp_path / "class", **named))


def test_the_disagreement_is_said_in_bounded_escaped_words_whatever_the_students_wrote(tmp_path):
    hostile = ["\x1b[2J", "<script>alert(1)</script>", "line\nbreak", "x" * 10_000, *(f"name-{n}" for n in range(60))]
    named = {f"s{n:03d}": notebook(CORRECT_CODE, assignment=name) for n, name in enumerate(hostile * 4)}
    with pytest.raises(BadCommandLine) as refused:
        assignment_for(a_class(tmp_path / "class", **named))
    message = str(refused.value)
    assert len(message) < 2_000 and "\x1b" not in message and "\n" not in message
    assert f"and {len(hostile) - MAX_NAMES_SHOWN} more names" in message
    assert "(s000, s064, s128, …)" in message and "s192" not in message  # four notebooks each: the first three shown
