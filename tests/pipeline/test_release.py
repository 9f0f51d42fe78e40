"""`grader release` end to end with real grading: provisional until released, what students were sent
kept through a regrade (the changed student flagged on stderr), and the next release sending the new grade.

Expected scores come from the demo notebooks' one mistake and the assignment's points (12 for the
checks, 3 written questions of 1 point each), as in tests/pipeline/test_grading_e2e.py.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
from pathlib import Path

import pytest

from graders.gradebook.release import Release
from tests.conftest import GRADING_SEED
from tests.test_cli import grader

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DEMOS = ROOT / "submissions" / "a10"
QUESTIONS = ("kl_observe", "kl_explain", "kl_role")


def grade(submissions: Path, out: Path, data: Path) -> str:
    run = grader("grade", str(submissions), "--out", str(out), "--seed", str(GRADING_SEED), "--data-dir", str(data), "--jobs", "2")
    assert run.returncode == 0, run.stderr
    return run.stderr


def export(out: Path, fmt: str, target: Path) -> tuple[str, str]:
    run = grader("export", str(out), "--format", fmt, "--out", str(target))
    assert run.returncode == 0, run.stderr
    return run.stderr, target.read_text(encoding="utf-8") if target.is_file() else ""


def mark_all(out: Path, submissions: tuple[str, ...], tmp_path: Path) -> None:
    marks = tmp_path / "marks.csv"
    rows = [f"{s},{q},1,fine" for s in submissions for q in QUESTIONS]
    marks.write_text("submission,question,points,comment\n" + "\n".join(rows) + "\n", encoding="utf-8")
    run = grader("manual", str(out), "--from", str(marks))
    assert run.returncode == 0, run.stderr


def report(out: Path, submission: str) -> bytes:
    return (out / submission / "report.html").read_bytes()


def test_release_sends_final_reports_and_a_regrade_keeps_them_until_the_next_release(tmp_path, grading_data):
    submissions, out = tmp_path / "submissions", tmp_path / "reports"
    submissions.mkdir()
    for name in ("solution", "missing-sqrt"):
        shutil.copy(DEMOS / f"{name}.ipynb", submissions / f"{name}.ipynb")
    grade(submissions, out, grading_data)

    # Before any release: every student-facing total says provisional, the overview's mean too.
    assert b"(provisional)" in report(out, "solution") and b"Provisional:" in report(out, "missing-sqrt")
    assert "provisional mean score" in (out / "index.html").read_text(encoding="utf-8")
    said, _ = export(out, "canvas", tmp_path / "canvas.csv")
    assert "not released yet" in said
    mark_all(out, ("solution", "missing-sqrt"), tmp_path)
    _, moodle = export(out, "moodle", tmp_path / "moodle.csv")
    assert moodle.count("provisional") == 2

    released = grader("release", str(out), "--by", "lecturer")
    assert released.returncode == 0, released.stderr
    manifest = Release.from_json(json.loads((out / "release.json").read_text(encoding="utf-8")))
    assert manifest.by == "lecturer" and set(manifest.students) == {"solution", "missing-sqrt"}
    sent = manifest.students["missing-sqrt"]
    assert (sent.score, sent.max_score) == (12 - 2 - 1 + 3, 15)  # μ and its derivation lost, three written answers marked 1
    assert sent.checks["closed_form.mu"] == 0 and sent.checks["closed_form.sigma"] == 1
    assert dict(sent.questions) == dict.fromkeys(QUESTIONS, 1.0)
    for student, what in manifest.students.items():
        assert hashlib.sha256(report(out, student)).hexdigest() == what.report_sha256
        assert (out / student / "released" / "report.html").read_bytes() == report(out, student)
        assert b"provisional" not in report(out, student).lower()
    _, moodle = export(out, "moodle", tmp_path / "moodle.csv")
    assert "provisional" not in moodle and "12 / 15 points" in moodle
    overview = (out / "index.html").read_text(encoding="utf-8")
    assert "provisional mean" not in overview and '<b data-testid="mean">13.5</b>mean score' in overview
    sent_before = report(out, "missing-sqrt")

    # The student fixes the mistake and the class is regraded: what they were sent stays, staff are told.
    shutil.copy(DEMOS / "solution.ipynb", submissions / "missing-sqrt.ipynb")
    said = grade(submissions, out, grading_data)
    assert "missing-sqrt changed since release: sent 12, now 15 / 15" in said and "solution changed" not in said
    assert report(out, "missing-sqrt") == sent_before
    assert b"<b>15</b> / 15 points" in (out / "missing-sqrt" / "unreleased" / "report.html").read_bytes()
    assert '<b data-testid="changed">1</b>' in (out / "index.html").read_text(encoding="utf-8")
    said, _ = export(out, "canvas", tmp_path / "again.csv")
    assert "missing-sqrt" in said.split("changed since released")[1]
    # Moodle: the released grade unchanged and final; the changed one left out (its answers are the new notebook's, unmarked).
    said, moodle = export(out, "moodle", tmp_path / "again-moodle.csv")
    feedback = {row[0]: row[-1] for row in csv.reader(io.StringIO(moodle)) if row[0] in manifest.students}
    assert set(feedback) == {"solution"} and "provisional" not in feedback["solution"] and "missing-sqrt" in said

    # Released again: the new grade is what the student is sent, and nothing is flagged any more.
    assert grader("release", str(out)).returncode == 0
    assert b"<b>15</b> / 15 points" in report(out, "missing-sqrt")
    assert "changed since release" not in grade(submissions, out, grading_data)
