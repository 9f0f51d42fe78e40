"""`grader grade` names duplicates on stderr, and `grader export` refuses them until staff keep one.

Two entries claiming one student id (`carol.ipynb` beside a `carol/` folder) are graded as `carol` and
`carol~2`. Unreadable notebooks keep this quick: they are graded (as errors) without running anything.
"""

from __future__ import annotations

import csv

import pytest

from graders.cli import main
from graders.gradebook.store import Gradebook, ManualEntry
from tests.conftest import GRADING_SEED


def test_grading_names_duplicates_and_the_export_waits_for_a_choice(tmp_path, grading_data, capsys):
    submissions, reports = tmp_path / "submissions", tmp_path / "reports"
    (submissions / "carol").mkdir(parents=True)
    for path in (submissions / "carol.ipynb", submissions / "carol" / "A10.ipynb", submissions / "dave.ipynb"):
        path.write_text("not a notebook", encoding="utf-8")
    grade = ["grade", str(submissions), "--out", str(reports), "--seed", str(GRADING_SEED), "--data-dir", str(grading_data), "--jobs", "1"]
    assert main(grade) == 0
    said = capsys.readouterr().err
    assert "duplicate: 2 submissions for the student id 'carol': carol, carol~2" in said and "--keep SUBMISSION" in said
    assert "'dave'" not in said

    with Gradebook.open(reports) as book:  # marked, so that Moodle gets a row for each (a pending grade gets none)
        book.set_manual([ManualEntry(s, q.tag, 0.0) for s in book.submission_ids() for q in book.questions()], by="ta")
    out = tmp_path / "moodle.csv"
    export = ["export", str(reports), "--format", "moodle", "--out", str(out)]
    assert main(export) == 2 and not out.exists()
    assert "'carol': carol, carol~2. Choose the one that counts with --keep SUBMISSION" in capsys.readouterr().err
    assert main([*export, "--keep", "carol~2", "--bom"]) == 0
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    assert [row[0] for row in csv.reader(out.open(encoding="utf-8-sig"))] == ["Username", "carol", "dave"]
    assert "duplicate submission(s) left out (--keep chose another):\n  carol" in capsys.readouterr().err


def test_export_options_that_do_not_fit_the_format_are_refused(tmp_path, capsys):
    reports = tmp_path / "reports"
    for args, message in (
        (["--format", "moodle", "--lms-assignment-id", "42"], "for --format canvas"),
        (["--format", "canvas", "--lms-assignment-id", "12a"], "must be the number Canvas shows"),
    ):
        assert main(["export", str(reports), "--out", str(tmp_path / "x"), *args]) == 2
        assert message in capsys.readouterr().err
    # No stand-alone Gradescope file: the autograder bundle is Gradescope's way in (argparse refuses the choice, exit 2).
    with pytest.raises(SystemExit) as refused:
        main(["export", str(reports), "--out", str(tmp_path / "x"), "--format", "gradescope"])
    assert refused.value.code == 2 and "invalid choice: 'gradescope'" in capsys.readouterr().err
