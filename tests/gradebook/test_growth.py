"""Bounded growth of what a result carries and of the gradebook: capped student text (with a note
in every file that shows it), unchanged results stored once, history intact, old gradebooks migrated."""

from __future__ import annotations

import html
import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from graders.gradebook import schema
from graders.gradebook.store import FILENAME, Gradebook, ManualEntry
from graders.report.render import write_submission_report
from graders.results import (
    MAX_ANSWER_CHARS,
    MAX_CELL_ERROR_CHARS,
    MAX_ERROR_TEXT_CHARS,
    MAX_LATEX_CHARS,
    MAX_MESSAGE_CHARS,
    CellError,
    DerivationAnswer,
    FreeTextAnswer,
    SubmissionResult,
    capped,
)
from tests.gradebook.test_store import INFO, OBSERVE, answered
from tests.provenance import provenance
from tests.report.test_render import SEED, result

HUGE = 20_000_000  # the reported answer: 20 MB
NOTE = "… [truncated: "
# What the grader of schema 1 recorded of its settings (as in tests/fixtures/legacy/before-seam).
SCHEMA_1_SETTINGS = {
    "batch_size": 64,
    "cell_timeout": 120.0,
    "disk_bytes": 536870912,
    "epochs": 1,
    "hidden": True,
    "memory_bytes": 2147483648,
    "notebook_timeout": 900.0,
    "scoring": "per-mistake",
    "seed": 1,
    "train_size": 256,
}


def huge_text(size: int) -> str:
    """Text a student could paste: words, so no cap can get away with cutting at a convenient character."""
    return ("The KL term is a regulariser. " * (size // 30 + 1))[:size]


def hoarder(size: int) -> SubmissionResult:
    """Every student-written text a result carries, `size` characters long."""
    text = huge_text(size)
    return replace(
        result("hoarder", message=text),
        free_text=(FreeTextAnswer(OBSERVE, text),),
        derivation=(DerivationAnswer("mu", text), DerivationAnswer("Sigma", None)),
        cell_errors=(CellError(3, text, text, text),),
    )


CAPS = {
    "answer": MAX_ANSWER_CHARS,
    "latex": MAX_LATEX_CHARS,
    "ename": MAX_ERROR_TEXT_CHARS,
    "evalue": MAX_ERROR_TEXT_CHARS,
    "excerpt": MAX_CELL_ERROR_CHARS,
    "message": MAX_MESSAGE_CHARS,
}


def texts(capped_result: SubmissionResult) -> dict[str, str]:
    error = capped_result.cell_errors[0]
    return {
        "answer": capped_result.free_text[0].answer,
        "latex": capped_result.derivation[0].latex or "",
        "ename": error.ename,
        "evalue": error.evalue,
        "excerpt": error.source_excerpt,
        "message": capped_result.message,
    }


@pytest.mark.parametrize("size", [HUGE, 123_456, MAX_ANSWER_CHARS + 1])
def test_every_student_text_a_result_carries_is_capped_with_a_note_of_what_was_cut(size):
    built, written = hoarder(size), huge_text(size)
    for name, text in texts(built).items():
        assert len(text) <= CAPS[name], name
        kept, note = text.split(NOTE)
        assert written.startswith(kept), name
        cut = int(note.removesuffix(" characters not shown]").replace(",", ""))
        assert len(kept) + cut == size, name  # the note counts exactly what is missing
    assert texts(SubmissionResult.from_json(json.loads(json.dumps(built.to_json())))) == texts(built)  # read back: unchanged


def test_text_within_a_cap_is_kept_whole():
    fits = huge_text(MAX_LATEX_CHARS)
    assert DerivationAnswer("mu", fits).latex == fits and DerivationAnswer("Sigma", None).latex is None
    assert capped(fits, MAX_LATEX_CHARS) == fits and capped(capped(fits * 3, 500), 500) == capped(fits * 3, 500)


def test_a_huge_answer_is_capped_in_results_json_report_html_and_the_gradebook(tmp_path):
    normal, huge = answered("ann", "Blurry at 30."), answered("bea", huge_text(HUGE))
    for reports, results in ((tmp_path / "normal", [normal, replace(normal, submission="bea")]), (tmp_path / "huge", [normal, huge])):
        for each in results:
            each.write(reports / each.submission / "results.json")
            write_submission_report(each, out_dir=reports)
        with Gradebook.open(reports, create=True) as book:
            book.record_run(results, info=INFO)
    with Gradebook.open(tmp_path / "huge") as book:
        stored, shown = book.result("bea").free_text[0].answer, book.grade("bea").questions[0].answer
    assert stored == shown == huge.free_text[0].answer and NOTE in stored
    for name in ("results.json", "report.html", FILENAME):
        size = (tmp_path / "huge" / "bea" / name if name != FILENAME else tmp_path / "huge" / name).stat().st_size
        normal_size = (tmp_path / "normal" / "bea" / name if name != FILENAME else tmp_path / "normal" / name).stat().st_size
        assert size < normal_size + 4 * MAX_ANSWER_CHARS, name  # the answer at its cap (escaped, hashed) and nothing more
    assert NOTE in json.loads((tmp_path / "huge" / "bea" / "results.json").read_text(encoding="utf-8"))["free_text"][0]["answer"]
    assert NOTE in html.unescape((tmp_path / "huge" / "bea" / "report.html").read_text(encoding="utf-8"))


def stored_bytes(path: Path) -> int:
    """The gradebook's size once compacted: what its rows take, not what SQLite left free."""
    with sqlite3.connect(path) as db:
        db.execute("VACUUM")
        return int(db.execute("PRAGMA page_count").fetchone()[0]) * int(db.execute("PRAGMA page_size").fetchone()[0])


def class_of(count: int, attempt: int = 0) -> list[SubmissionResult]:
    """A class whose answers are at the cap (the heaviest results a run can store)."""
    return [
        replace(answered(f"student-{i:03d}", huge_text(MAX_ANSWER_CHARS)), provenance=provenance(seconds=float(attempt)))
        for i in range(count)
    ]


def test_unchanged_regrades_add_a_small_row_each_and_a_changed_one_stores_its_results(tmp_path):
    with Gradebook.open(tmp_path, create=True) as book:
        empty = stored_bytes(book.path)
        book.record_run(class_of(40), info=INFO)
        first = stored_bytes(book.path) - empty
        for _ in range(10):
            book.record_run(class_of(40), info=INFO)
        per_unchanged_run = (stored_bytes(book.path) - empty - first) / 10
        before_changed = stored_bytes(book.path)
        book.record_run(class_of(40, attempt=1), info=INFO)  # every result differs (as after a forced regrade)
        changed_run = stored_bytes(book.path) - before_changed
    assert per_unchanged_run < first / 20  # before: each run stored every result again (20 MB → 39 MB)
    assert changed_run > first / 2  # the measure sees a run that stores its results


def rows(path: Path) -> list[tuple[int, str, bool, int | None]]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT run_id, submission, result != '', result_run FROM submissions ORDER BY run_id, submission").fetchall()


def test_history_still_lists_every_run_and_what_changed(tmp_path):
    first, fixed = answered("ann", "Blurry.", {"closed_form.mu": ("missing_sqrt",)}), answered("ann", "Blurry.")
    with Gradebook.open(tmp_path, create=True) as book:
        runs = [book.record_run([each], info=INFO) for each in (first, first, first, fixed, fixed)]
        book.set_manual([ManualEntry("ann", "kl_observe", 1.0)], by="ta")
        history = book.history("ann")
        assert [entry.run for entry in history.entries] == runs
        assert [entry.automatic_score for entry in history.entries] == [10.0, 10.0, 10.0, 12.0, 12.0]
        assert [[change.check_id for change in entry.changes] for entry in history.entries] == [[], [], [], ["closed_form.mu"], []]
        assert history.entries[0].reasons == ("first run",) and history.since_last_run[0].startswith("manual points for kl_observe")
        assert book.result("ann") == fixed and book.grade("ann").score == 13.0
    # Stored twice (the two different results); the others point to the row that holds theirs, never to a pointer.
    assert rows(book.path) == [
        (runs[0].id, "ann", True, None),
        (runs[1].id, "ann", False, runs[0].id),
        (runs[2].id, "ann", False, runs[0].id),
        (runs[3].id, "ann", True, None),
        (runs[4].id, "ann", False, runs[3].id),
    ]


def test_a_result_identical_to_an_older_but_not_the_previous_one_is_stored_again(tmp_path):
    one, two = answered("ann", "one"), answered("ann", "two")
    with Gradebook.open(tmp_path, create=True) as book:
        for each in (one, two, one):
            book.record_run([each, SEED], info=INFO)
        assert [entry.automatic_score for entry in book.history("ann").entries] == [12.0] * 3
        assert book.result("ann") == one and book.grades()[0].result == one
    assert [stored for _, name, stored, _ in rows(book.path) if name == "ann"] == [True, True, True]
    assert [stored for _, name, stored, _ in rows(book.path) if name == "seed-writeup"] == [True, False, False]


def test_a_gradebook_written_before_schema_2_is_migrated_and_its_history_kept(tmp_path):
    old = answered("ann", "Blurry at 30.")
    with sqlite3.connect(tmp_path / FILENAME) as db:  # as the grader before schema 2 left it
        db.executescript(schema.MIGRATIONS[0] + "PRAGMA user_version = 1;")
        db.execute(
            "INSERT INTO runs (kind, started_at, grader_version, grader_fingerprint, reference_hash, torch, settings, seed)"
            " VALUES ('grade', '2024-01-01T00:00:00.000000+00:00', '0.1.0', 'fp-one', 'ref-one', '2.14.1', ?, 1)",
            (json.dumps(SCHEMA_1_SETTINGS, sort_keys=True),),
        )
        db.execute(
            "INSERT INTO submissions (run_id, submission, sha256, status, score, max_score, result) VALUES (1, 'ann', ?, 'graded', ?, 12, ?)",
            (old.sha256, old.score, json.dumps(old.to_json(), sort_keys=True)),
        )
    with Gradebook.open(tmp_path) as book:
        book.record_run([old], info=INFO)  # unchanged since the old run: points to its row
        assert [entry.run.id for entry in book.history("ann").entries] == [1, 2] and book.result("ann") == old
    assert rows(tmp_path / FILENAME) == [(1, "ann", True, None), (2, "ann", False, 1)]
    with sqlite3.connect(tmp_path / FILENAME) as db:
        assert schema.version(db) == schema.SCHEMA_VERSION
