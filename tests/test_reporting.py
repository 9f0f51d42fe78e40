"""Reports rendered from hand-built results: what students and staff see, and what they must not."""

from __future__ import annotations

import csv

from graders.checks import CHECKS
from graders.reporting import write_class_overview, write_grades_csv, write_submission_report
from graders.results import CellError, CheckResult, CheckStatus, DerivationAnswer, FreeTextAnswer, SubmissionResult, SubmissionStatus

HIDDEN_VALUE = "0.123456789-hidden"


def result(name: str, failing: dict[str, tuple[str, ...]] | None = None, **extra) -> SubmissionResult:
    failing = failing or {}
    checks = tuple(
        CheckResult(
            c.id,
            CheckStatus.FAIL if c.id in failing else CheckStatus.PASS,
            0.0 if c.id in failing else c.points,
            c.points,
            f"message for {c.id}",
            failing.get(c.id, ()),
            {"compared": HIDDEN_VALUE},
        )
        for c in CHECKS
    )
    return SubmissionResult(
        submission=name,
        status=SubmissionStatus.GRADED,
        score=sum(c.score for c in checks),
        max_score=12.0,
        sha256="ab" * 32,
        checks=checks,
        provenance={"grader_version": "9.9", "reference_hash": "feedbeef", "seed": 4242},
        **extra,
    )


SEED = result(
    "seed-writeup",
    {"derivation.mu": ("missing_sqrt", "missing_x0")},
    derivation=(DerivationAnswer("mu", r"\alpha_3 \alpha_2 \alpha_1"), DerivationAnswer("Sigma", r"1 - \alpha_3 \alpha_2 \alpha_1")),
    free_text=(FreeTextAnswer("What do you observe?", "Blurry at 30."),),
    cell_errors=(CellError(4, "ValueError", "bad shape", "x = y.view(-1)"),),
)


def test_student_report_explains_the_misconceptions_and_hides_instructor_details(tmp_path):
    page = write_submission_report(SEED, out_dir=tmp_path).read_text(encoding="utf-8")
    assert "11 <small>/ 12 points" in page
    assert "Square root missing on ᾱ_t" in page and "x₀ missing from the mean" in page
    assert r"\alpha_3 \alpha_2 \alpha_1" in page and "Blurry at 30." in page
    assert "Cell 4" in page and "ValueError" in page
    assert HIDDEN_VALUE not in page and "4242" not in page  # no compared values, no grading seed


def test_student_text_is_escaped(tmp_path):
    hostile = result("mallory", free_text=(FreeTextAnswer("What do you observe?", "<script>alert(1)</script>"),))
    page = write_submission_report(hostile, out_dir=tmp_path).read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_an_unreadable_notebook_report_says_why(tmp_path):
    broken = SubmissionResult(
        "bob", SubmissionStatus.ERROR, 0.0, 12.0, "", tuple(CheckResult(c.id, CheckStatus.ERROR, 0, c.points, "x") for c in CHECKS),
        message="Your notebook could not be graded: the file is not valid JSON.",
    )
    page = write_submission_report(broken, out_dir=tmp_path).read_text(encoding="utf-8")
    assert "could not be graded" in page and "not valid JSON" in page


def test_reports_are_deterministic(tmp_path):
    first = write_submission_report(SEED, out_dir=tmp_path / "a").read_bytes()
    assert write_submission_report(SEED, out_dir=tmp_path / "b").read_bytes() == first


def test_overview_counts_misconceptions_once_per_submission(tmp_path):
    both = result("carol", {"closed_form.mu": ("missing_sqrt",), "derivation.mu": ("missing_sqrt",)})
    page = write_class_overview([SEED, both, result("solution")], out_dir=tmp_path).read_text(encoding="utf-8")
    row = page.split("<code>missing_sqrt</code>")[1].split("</tr>")[0]
    assert '<td class="num">2</td>' in row  # seed-writeup and carol, not three
    assert 'href="seed-writeup/report.html"' in page


def test_overview_links_are_url_quoted(tmp_path):
    page = write_class_overview([result("zoë smith")], out_dir=tmp_path).read_text(encoding="utf-8")
    assert 'href="zo%C3%AB%20smith/report.html"' in page


def test_grades_csv_has_a_column_per_check_and_defuses_formulas(tmp_path):
    path = write_grades_csv([SEED, result("=cmd|calc")], out_dir=tmp_path)
    rows = list(csv.reader(path.open(encoding="utf-8")))
    assert rows[0] == ["submission", "status", "score", "max_score", *[c.id for c in CHECKS]]
    assert rows[1][0] == "'=cmd|calc"
    seed_row = dict(zip(rows[0], rows[2]))
    assert seed_row["score"] == "11" and seed_row["derivation.mu"] == "0" and seed_row["closed_form.mu"] == "2"


def test_overview_warns_loudly_when_isolation_was_incomplete(tmp_path):
    weak = result("dave")
    weak = SubmissionResult(**{**weak.__dict__, "provenance": {**weak.provenance, "sandbox": {"warnings": ["network NOT isolated: unshare failed (EPERM)"]}}})
    page = write_class_overview([weak, result("erin")], out_dir=tmp_path).read_text(encoding="utf-8")
    assert "Isolation was not complete" in page and "network NOT isolated: unshare failed (EPERM) (1 notebook)" in page
    assert "Isolation was not complete" not in write_class_overview([result("erin")], out_dir=tmp_path).read_text(encoding="utf-8")
