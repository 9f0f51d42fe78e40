"""Which files are submissions, and what their ids are."""

from __future__ import annotations

import unicodedata

import pytest

from graders.errors import UsageError
from graders.intake.discovery import find_submissions


def test_top_level_notebooks_and_student_folders(tmp_path):
    (tmp_path / "alice.ipynb").write_text("{}")
    (tmp_path / "bob smith").mkdir()
    (tmp_path / "bob smith" / "a10.ipynb").write_text("{}")
    (tmp_path / "empty-folder").mkdir()
    (tmp_path / "notes.txt").write_text("not a notebook")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / ".ipynb_checkpoints" / "alice-checkpoint.ipynb").write_text("{}")
    found = find_submissions(tmp_path)
    assert [(s.id, s.path.name) for s in found] == [("alice", "alice.ipynb"), ("bob smith", "a10.ipynb")]


def test_unicode_names_are_normalised(tmp_path):
    (tmp_path / unicodedata.normalize("NFD", "zoë.ipynb")).write_text("{}")
    assert [s.id for s in find_submissions(tmp_path)] == ["zoë"]


def test_two_files_for_one_id_are_both_graded_and_flagged(tmp_path):
    (tmp_path / "carol.ipynb").write_text("{}")
    (tmp_path / "carol").mkdir()
    (tmp_path / "carol" / "hw.ipynb").write_text("{}")
    found = find_submissions(tmp_path)
    assert [s.id for s in found] == ["carol", "carol~2"]
    assert all("both map to the student id 'carol'" in s.note for s in found)


def test_a_missing_folder_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError):
        find_submissions(tmp_path / "nope")
