"""Reports of a graded submission after staff work: overrides, manual marks, pending, review flags."""

from __future__ import annotations

from graders.gradebook.store import Gradebook, ManualEntry
from graders.report.render import publish
from graders.results import FreeTextAnswer
from tests.provenance import provenance
from tests.report.test_render import SCRIPT, SEED, result

INFO = provenance()


def test_published_reports_show_overrides_marks_and_what_is_pending(tmp_path):
    ann = result("ann", free_text=(FreeTextAnswer("What do you observe?", "Blurry."),))
    with Gradebook.open(tmp_path, create=True) as book:
        book.record_run([SEED, ann], info=INFO)
        book.set_override("seed-writeup", "derivation.mu", score=1.0, reason=f"notation {SCRIPT}", by="ta")
        book.set_manual([ManualEntry("ann", "kl_observe", 1.0, f"fine {SCRIPT}")], by="ta")
        book.record_run([SEED, result("ann", free_text=(FreeTextAnswer("What do you observe?", "Sharp."),))], info=INFO)
    publish(tmp_path)
    seed = (tmp_path / "seed-writeup" / "report.html").read_text(encoding="utf-8")
    assert "<b>12</b> / 15 points" in seed and "checks 12 / 12" in seed and "pending" in seed
    assert "Adjusted by course staff" in seed and "<p>notation &lt;script&gt;" in seed and "(automatic result 0 / 1)" in seed
    assert SCRIPT not in seed
    ann_page = (tmp_path / "ann" / "report.html").read_text(encoding="utf-8")
    assert (
        "<b>13</b> / 15 points" in ann_page
        and 'Course staff: <div class="md"><p>fine &lt;script&gt;' in ann_page
        and SCRIPT not in ann_page
    )
    overview = (tmp_path / "index.html").read_text(encoding="utf-8")
    # written answers, not students: seed-writeup's three, and ann's three (her marked answer changed: pending again)
    assert '<b data-testid="pending">6</b>' in overview and '<b data-testid="review">1</b>' in overview
    seed_row = overview.split('data-submission="seed-writeup"')[1].split("</tr>")[0]
    assert "adjusted by course staff" in seed_row and "<b>12</b> / 15" in seed_row
    grades_csv = (tmp_path / "grades.csv").read_text(encoding="utf-8")
    assert "ann,graded,13,15,12," in grades_csv and ",review," in grades_csv
