"""`grader suggest REPORTS QUESTION --json` on a real gradebook: one line per unmarked answer, marks as labels."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from graders import cli
from graders.gradebook.store import Gradebook, ManualEntry
from tests.provenance import provenance
from tests.report.test_render import result
from tests.review.conftest import answers

ROLE = {
    "ann": "The KL term regularises the encoder towards the prior N(0, I).",
    "ben": "It measures how well the decoder reconstructs the image.",
    "cat": "I don't know.",
    "dan": "The KL term regularises the encoder towards the prior N(0, I)!",  # ann's, marked by nobody
    "eve": "It measures how well the decoder reconstructs images.",  # ben's, in other words
    "fay": "It makes the images sharper.",
    "gus": "The KL term pushes the encoder away from the prior.",  # ann's words, the opposite meaning
    "hal": "",  # nothing written
}


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    with Gradebook.open(tmp_path, create=True) as book:
        book.record_run([result(name, free_text=answers("Blurry.", "Trade-off.", text)) for name, text in ROLE.items()], info=provenance())
        marks = [("ann", 1.0), ("ben", 0.0), ("cat", 0.0), ("fay", 0.0)]
        book.set_manual([ManualEntry(name, "kl_role", points, version=0) for name, points in marks], by="Alice")
    return tmp_path


def suggested(reports: Path, capsys: pytest.CaptureFixture[str], *options: str) -> tuple[int, list[str], str]:
    status = cli.main(["suggest", str(reports), "kl_role", *options])
    out, err = capsys.readouterr()
    return status, out.splitlines(), err


def test_marks_of_plain_points_suggest_only_an_empty_answers_zero_and_say_so(model, reports, capsys):
    """Copying a neighbour's points was measured far below 95% precision: even ann's copy gets nothing."""
    status, lines, err = suggested(reports, capsys, "--json")
    assert status == 0
    rows = {row["submission"]: row for row in map(json.loads, lines)}
    assert set(rows) == {"dan", "eve", "gus", "hal"}  # the marked ones are not listed
    assert rows["hal"] == {"submission": "hal", "points": 0.0, "rubric_items": [], "confidence": 1.0}
    assert [rows[name] for name in ("dan", "eve", "gus")] == [{"submission": name, "abstain": True} for name in ("dan", "eve", "gus")]
    assert "1 of 4 unmarked answers have a suggestion (4 marked)" in err
    assert "mark with rubric items" in err


def test_a_changed_answer_is_unmarked_again_and_its_old_mark_is_no_label(model, reports, capsys):
    with Gradebook.open(reports) as book:
        changed = {**ROLE, "ann": "Something else entirely: a typo in my code."}
        book.record_run([result(n, free_text=answers("Blurry.", "Trade-off.", t)) for n, t in changed.items()], info=provenance())
    _, lines, _ = suggested(reports, capsys, "--json")
    rows = {row["submission"]: row for row in map(json.loads, lines)}
    assert "ann" in rows
    assert rows["dan"] == {"submission": "dan", "abstain": True}  # nothing marked says what dan says any more


def test_marks_made_of_rubric_items_get_suggestions_item_by_item(model, tmp_path, capsys):
    """Once marks name the review's rubric items, suggestions name items too (the measured path)."""
    with Gradebook.open(tmp_path, create=True) as book:
        book.record_run([result(name, free_text=answers("Blurry.", "Trade-off.", text)) for name, text in ROLE.items()], info=provenance())
        marks = [("ann", 0.5, ("regulariser",)), ("ben", 0.0, ()), ("cat", 0.0, ()), ("fay", 0.0, ())]
        book.set_manual([ManualEntry(name, "kl_role", points, version=0, items=items) for name, points, items in marks], by="Alice")
        book.set_manual([ManualEntry("eve", "kl_role", 0.0, version=0)], by="Alice")  # plain points: no label for items
    _, lines, err = suggested(tmp_path, capsys, "--json")
    rows = {row["submission"]: row for row in map(json.loads, lines)}
    assert set(rows) == {"dan", "gus", "hal"}  # eve is marked, by hand
    assert rows["hal"] == {"submission": "hal", "points": 0.0, "rubric_items": [], "confidence": 1.0}
    # Four marks say little about the two items nobody was given: dan, ann's copy, gets the item or nothing.
    assert rows["dan"] in (
        {"submission": "dan", "abstain": True},
        {"submission": "dan", "points": 0.5, "rubric_items": ["regulariser"], "confidence": rows["dan"].get("confidence")},
    )
    assert rows["gus"] == {"submission": "gus", "abstain": True}  # ann's words, the opposite meaning
    assert "(4 marked)" in err and "rubric items" not in err  # the mark of plain points is no label


def test_without_json_one_tab_separated_line_per_answer(model, reports, capsys):
    _, lines, _ = suggested(reports, capsys)
    assert sorted(line.split("\t")[0] for line in lines) == ["dan", "eve", "gus", "hal"]
    assert "gus\t-" in lines


def test_an_unknown_question_is_a_usage_error_naming_the_questions(model, reports, capsys):
    assert cli.main(["suggest", str(reports), "kl_nothing"]) == 2
    assert "kl_observe, kl_explain, kl_role" in capsys.readouterr().err


def test_suggestions_need_no_network_at_all(model, reports):
    """In a network namespace of its own (no interface up, not even loopback), `grader suggest` runs as it does
    anywhere: the model and vocabulary are on disk, nothing is fetched."""
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "-n", "true"], check=False, capture_output=True).returncode != 0:
        pytest.skip("unshare -n is not permitted here (it needs root or user namespaces)")
    grader = [sys.executable, "-m", "graders.cli", "suggest", str(reports), "kl_role", "--json"]
    offline = subprocess.run([unshare, "-n", *grader], check=False, capture_output=True, text=True, timeout=600)
    assert offline.returncode == 0, offline.stderr
    rows = {row["submission"]: row for row in map(json.loads, offline.stdout.splitlines())}
    assert set(rows) == {"dan", "eve", "gus", "hal"}
    assert rows["hal"]["points"] == 0.0
