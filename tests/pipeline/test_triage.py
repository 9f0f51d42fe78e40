"""Triage's refusal of a notebook marked for another assignment, before anything runs."""

from __future__ import annotations

import nbformat
import pytest

from assignments.a10 import ASSIGNMENT
from graders.errors import NotebookError
from graders.pipeline.triage import for_this_assignment


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
