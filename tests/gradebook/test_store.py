"""The gradebook store on a real SQLite file: runs, overrides, manual marks, history, bad input, crashes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from graders.errors import CorruptGradebook, FolderBusy, UsageError
from graders.gradebook import connection, schema
from graders.gradebook.lock import exclusive
from graders.gradebook.store import FILENAME, Gradebook, ManualEntry
from graders.results import FreeTextAnswer
from graders.settings import CourseSecretSeed
from tests.gradebook.unusable import UNUSABLE, real_gradebook, write_unusable
from tests.provenance import provenance
from tests.report.test_render import BROKEN, SEED, SOLUTION, result

ROOT = Path(__file__).resolve().parents[2]
INFO = provenance()
OBSERVE = "What do you observe?"


def answered(name: str, observe: str, failing: dict[str, tuple[str, ...]] | None = None):
    return result(name, failing, free_text=(FreeTextAnswer(OBSERVE, observe),))


@pytest.fixture
def book(tmp_path: Path):
    with Gradebook.open(tmp_path, create=True) as opened:
        yield opened


def test_every_run_is_kept_and_the_latest_one_counts(book):
    first = book.record_run([SEED, SOLUTION], info=INFO)
    second = book.record_run([SOLUTION], info=INFO)
    assert [run.id for run in book.runs()] == [first.id, second.id]
    assert book.submission_ids() == ("solution",)
    assert book.result("seed-writeup").score == 11.0  # earlier runs stay readable
    assert book.runs()[0].info == INFO


def test_an_override_applies_to_later_runs_until_cleared(book):
    book.record_run([SEED], info=INFO)
    override = book.set_override("seed-writeup", "derivation.mu", score=1.0, reason="accepted: equivalent notation", by="ta")
    book.record_run([SEED], info=INFO)  # a regrade with the same automatic verdict
    grade = book.grade("seed-writeup")
    assert grade.checks_score == 12.0 and grade.result.score == 11.0
    assert grade.overrides == (override,) and not grade.needs_review
    book.clear_override("seed-writeup", "derivation.mu", by="prof")
    assert book.grade("seed-writeup").checks_score == 11.0
    assert book.overrides("seed-writeup")[0].cleared_by == "prof"


def test_an_override_whose_automatic_verdict_changed_is_flagged(book):
    book.record_run([SEED], info=INFO)
    book.set_override("seed-writeup", "derivation.mu", score=0.5, reason="partial credit", by="ta")
    assert book.drifted_overrides() == ()
    book.record_run([result("seed-writeup")], info=INFO)  # the student fixed it: automatic now passes
    (drifted,) = book.drifted_overrides()
    assert drifted.result.id == "derivation.mu" and drifted.score == 0.5


def test_manual_points_are_pending_then_kept_and_flagged_when_the_answer_changes(book):
    book.record_run([answered("ann", "Blurry at 30.")], info=INFO)
    grade = book.grade("ann")
    assert grade.pending and grade.max_score == 15.0 and grade.score == 12.0
    book.set_manual([ManualEntry("ann", "kl_observe", 1.0, "good")], by="ta")
    book.record_run([answered("ann", "  Blurry at 30.\n")], info=INFO)  # same text: the mark holds
    observe = book.grade("ann").questions[0]
    assert (observe.points, observe.stale) == (1.0, False)
    book.record_run([answered("ann", "Sharper at 0.")], info=INFO)
    grade = book.grade("ann")
    assert grade.questions[0].points == 1.0 and grade.questions[0].stale and grade.needs_review
    assert grade.score == 13.0 and grade.pending  # kl_explain and kl_role are not marked yet


def test_question_points_are_a_setting(book):
    book.record_run([SOLUTION], info=INFO)
    book.set_question_points({"kl_role": 2.0})
    assert book.grade("solution").max_score == 16.0
    book.set_manual([ManualEntry("solution", "kl_role", 2.0)], by="ta")
    with pytest.raises(UsageError, match="lower that mark first"):
        book.set_question_points({"kl_role": 1.0})


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda b: b.set_override("nobody", "derivation.mu", score=1, reason="r", by="x"), "no submission 'nobody'"),
        (lambda b: b.set_override("seed-writeup", "derivation.nu", score=1, reason="r", by="x"), "unknown check 'derivation.nu'"),
        (lambda b: b.set_override("seed-writeup", "derivation.mu", score=1.5, reason="r", by="x"), "between 0 and 1"),
        (lambda b: b.set_override("seed-writeup", "derivation.mu", score=-1, reason="r", by="x"), "between 0 and 1"),
        (lambda b: b.set_override("seed-writeup", "derivation.mu", score=1, reason=" ", by="x"), "needs a reason"),
        (lambda b: b.clear_override("seed-writeup", "derivation.mu", by="x"), "no override"),
        (
            lambda b: b.set_manual([ManualEntry("seed-writeup", "kl_observe", 1), ManualEntry("seed-writeup", "kl_mood", 1)], by="x"),
            "unknown question",
        ),
        (
            lambda b: b.set_manual([ManualEntry("seed-writeup", "kl_observe", 1), ManualEntry("seed-writeup", "kl_role", 3)], by="x"),
            "between 0 and 1",
        ),
    ],
)
def test_bad_input_is_a_usage_error_and_writes_nothing(book, call, message):
    book.record_run([SEED], info=INFO)
    with pytest.raises(UsageError, match=message):
        call(book)
    assert book.overrides("seed-writeup") == () and book.manual_marks("seed-writeup") == ()


def test_history_after_three_runs_says_what_changed_and_why(book):
    book.record_run([answered("ann", "first", {"closed_form.mu": ("missing_sqrt",)})], info=INFO)
    changed = answered("ann", "first")
    changed = type(changed)(**{**changed.__dict__, "sha256": "cd" * 32})
    book.record_run([changed], info=INFO)
    book.set_override("ann", "experiment.kl_tradeoff", score=0.0, reason="copied plot", by="prof")
    book.set_manual([ManualEntry("ann", "kl_observe", 1.0)], by="ta")
    book.record_run([changed], info=provenance(grader_version="0.2.0", grader_fingerprint="fp-two", seed=2))
    history = book.history("ann")
    first, second, third = history.entries
    assert first.reasons == ("first run",) and first.automatic_score == 10.0
    assert second.reasons == ("new file",)
    assert [(c.check_id, c.old_score, c.new_score) for c in second.changes] == [("closed_form.mu", 0.0, 2.0)]
    assert third.changes[0].check_id == "experiment.kl_tradeoff" and (third.changes[0].old_score, third.changes[0].new_score) == (1.0, 0.0)
    assert third.reasons[0].startswith("new grader (0.1.0 fp-one → 0.2.0 fp-two)")
    assert "new settings (seed)" in third.reasons
    assert any(r.startswith("override on experiment.kl_tradeoff: 0 by prof") for r in third.reasons)
    assert any(r.startswith("manual points for kl_observe: 1 by ta") for r in third.reasons)
    assert (third.score, third.max_score) == (12.0, 15.0)  # 11 automatic after the override + 1 manual
    book.clear_override("ann", "experiment.kl_tradeoff", by="prof")
    assert book.history("ann").since_last_run == ("override on experiment.kl_tradeoff cleared by prof",)


def test_an_error_result_is_recorded_too(book):
    book.record_run([BROKEN], info=INFO)
    assert book.grade("bob").result.status.value == "error"


def test_a_missing_gradebook_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="has no gradebook"):
        Gradebook.open(tmp_path)


@pytest.mark.parametrize("kind", UNUSABLE)
def test_an_unusable_gradebook_is_refused_as_corrupt_and_left_as_it_was(tmp_path, kind):
    """Not "busy": nothing about it goes away by waiting. Not migrated either: another program's
    database must not get our tables, nor be switched to WAL (that is written into the file)."""
    path = write_unusable(tmp_path, kind)
    before = path.read_bytes()
    for create in (False, True):  # `grader grade` opens with create=True: it must not start afresh over it either
        with pytest.raises(CorruptGradebook, match=UNUSABLE[kind][1]) as refused:
            Gradebook.open(tmp_path, create=create)
        assert str(path) in str(refused.value) and "writing" not in str(refused.value)
    assert path.read_bytes() == before


def test_a_write_while_another_connection_holds_sqlites_write_lock_is_busy_and_writes_nothing(tmp_path, monkeypatch):
    real_gradebook(tmp_path)
    monkeypatch.setattr(connection, "BUSY_SECONDS", 0.2)  # SQLite's wait; the lock below is held for longer
    with Gradebook.open(tmp_path) as book:
        holder = sqlite3.connect(tmp_path / FILENAME, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(FolderBusy, match="locked"):
                book.set_override(SEED.submission, "closed_form.mu", score=1.0, reason="r", by="ta")
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert book.overrides(SEED.submission) == ()
        book.set_override(SEED.submission, "closed_form.mu", score=1.0, reason="r", by="ta")  # free again: it works


def test_a_second_batch_on_the_same_reports_is_refused(tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from graders.gradebook.lock import exclusive; from pathlib import Path\n"
            f"with exclusive(Path({str(tmp_path)!r})):\n    print('held', flush=True); input()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(FolderBusy, match=f"another grader \\(pid {holder.pid}\\)"), exclusive(tmp_path):
            pass
    finally:
        holder.communicate("\n", timeout=30)
    with exclusive(tmp_path):  # released when its holder exits
        pass


KILLED_WRITER = textwrap.dedent(
    """
    import sys
    from dataclasses import replace
    from itertools import count
    from pathlib import Path
    from graders.gradebook.store import Gradebook
    from tests.provenance import provenance
    from tests.report.test_render import result
    results = [result(f"student-{i:03d}") for i in range(300)]
    info = provenance()
    with Gradebook.open(Path(sys.argv[1]), create=True) as book:
        for attempt in count():  # every run's results differ, so every run stores them all
            run = book.record_run([replace(r, provenance=provenance(seconds=float(attempt))) for r in results], info=info)
            print(run.id, flush=True)
    """
)


def test_kill_9_during_a_write_loses_no_earlier_run(tmp_path):
    writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert writer.stdout is not None
    committed = [int(writer.stdout.readline()) for _ in range(3)]
    os.kill(writer.pid, signal.SIGKILL)  # almost always inside the next run's transaction: the loop does nothing else
    writer.wait(timeout=30)
    with Gradebook.open(tmp_path) as book:
        runs = book.runs()
        assert [run.id for run in runs][:3] == committed
        assert len(book.submission_ids()) == 300
    with sqlite3.connect(tmp_path / FILENAME) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        per_run = dict(db.execute("SELECT run_id, count(*) FROM submissions GROUP BY run_id").fetchall())
        checks = dict(db.execute("SELECT run_id, count(*) FROM checks GROUP BY run_id").fetchall())
    assert set(per_run) == {run.id for run in runs}  # no run without its submissions, none half-written
    assert set(per_run.values()) == {300} and set(checks.values()) == {300 * 9}


def test_result_json_round_trips_through_the_gradebook(book):
    book.record_run([SEED], info=INFO)
    assert json.dumps(book.result("seed-writeup").to_json(), sort_keys=True) == json.dumps(SEED.to_json(), sort_keys=True)


def test_a_submission_whose_file_or_score_changed_since_the_run_before_is_flagged(book):
    same = answered("bob", "same")
    book.record_run([answered("ann", "first", {"closed_form.mu": ("missing_sqrt",)}), same], info=INFO)
    assert not any(grade.changed for grade in book.grades())  # a first run has nothing to compare with
    resubmitted = answered("ann", "first")
    resubmitted = type(resubmitted)(**{**resubmitted.__dict__, "sha256": "cd" * 32})
    book.record_run([resubmitted, same], info=INFO)
    assert {grade.submission: grade.changed for grade in book.grades()} == {"ann": True, "bob": False}
    assert book.grade("ann").changed and not book.grade("bob").changed
    book.record_run([resubmitted, same], info=INFO)  # nothing new since the run before
    assert not any(grade.changed for grade in book.grades())


LEGACY = ROOT / "tests" / "fixtures" / "legacy"


@pytest.mark.parametrize(("era", "assignment"), [("before-seam", None), ("after-seam", "assignment-10")])
def test_a_gradebook_written_before_typed_provenance_is_migrated_and_reads(tmp_path, era, assignment):
    """Real files: written by `grader grade` (and `rescore`) at 762e862 and 04d5c18 (tests/fixtures/legacy/README.md)."""
    shutil.copy(LEGACY / era / FILENAME, tmp_path / FILENAME)
    with sqlite3.connect(tmp_path / FILENAME) as db:
        columns = [json.loads(settings) for (settings,) in db.execute("SELECT settings FROM runs ORDER BY id")]
    with Gradebook.open(tmp_path) as book:
        old = book.runs()
        assert [run.info.settings.assignment_id for run in old] == [assignment] * len(old)
        assert [run.info.settings.seed for run in old] == [CourseSecretSeed(c["seed"].removeprefix("course secret ")) for c in columns]
        assert book.assignment.id == "assignment-10"  # recorded, or (before the seam) the one installed
        graded = book.grades()
        new = book.record_run([grade.result for grade in graded], info=provenance())
        assert book.runs() == (*old, new)
        assert [grade.result for grade in book.grades()] == [grade.result for grade in graded]  # the same, under a typed run
        reasons = book.history(graded[0].submission).entries[-1].reasons
    assert any(reason.startswith("new settings (seed") for reason in reasons), reasons
    with sqlite3.connect(tmp_path / FILENAME) as db:
        assert schema.version(db) == schema.SCHEMA_VERSION


@pytest.mark.parametrize("stored", ["{not json", '{"format": 1}', '{"format": 1, "settings": 3}', "[]"])
def test_a_run_with_damaged_provenance_is_a_corrupt_gradebook_naming_the_run(book, stored):
    book.record_run([SEED], info=INFO)
    with sqlite3.connect(book.path) as db:
        db.execute("UPDATE runs SET provenance = ?", (stored,))
    with pytest.raises(CorruptGradebook, match="is damaged: run 1 has an unreadable provenance"):
        book.runs()


def test_a_run_records_its_provenance_whole(book):
    ran = provenance(seed=7, assignment_version="2", executor="cold")
    book.record_run([SEED], info=ran)
    assert book.runs()[0].info == ran and book.assignment.id == "assignment-10"
