"""Reports rendered from hand-built results: what students and staff see, and what they must not.

The sample results here (SEED, SOLUTION, BROKEN, HOSTILE) are shared with the browser tests.
"""

from __future__ import annotations

import csv
import re
from dataclasses import replace

import pytest

from assignments.a10.checks import CHECKS
from graders.report.render import write_class_overview, write_grades_csv, write_submission_report
from graders.results import CellError, CheckResult, CheckStatus, DerivationAnswer, FreeTextAnswer, SubmissionResult, SubmissionStatus
from reference.a10.misconceptions import CATALOG
from tests.provenance import provenance

HIDDEN_VALUE = "0.123456789-hidden"
SCRIPT = "<script>document.title='pwned'</script>"


def result(name: str, failing: dict[str, tuple[str, ...]] | None = None, **extra) -> SubmissionResult:
    """A graded result: every check passes except those in `failing` (id → misconception names)."""
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
        provenance=provenance(grader_version="9.9", reference_hash="feedbeef", seed=4242, seconds=3.21),
        **extra,
    )


SOLUTION = result("solution")
# The seed write-up: μ = α₃α₂α₁ (no square root, no x₀), Σ = 1 − α₃α₂α₁ (right).
SEED = result(
    "seed-writeup",
    {"derivation.mu": ("missing_sqrt", "missing_x0")},
    derivation=(DerivationAnswer("mu", r"\alpha_3 \alpha_2 \alpha_1"), DerivationAnswer("Sigma", r"1 - \alpha_3 \alpha_2 \alpha_1")),
    free_text=(FreeTextAnswer("What do you observe?", "Blurry at 30."),),
    cell_errors=(CellError(4, "ValueError", "bad shape", "x = y.view(-1)"),),
)
NOT_A_NOTEBOOK = "Your notebook could not be graded: not a notebook: invalid JSON."
BROKEN = SubmissionResult(
    "bob",
    SubmissionStatus.ERROR,
    0.0,
    12.0,
    "",
    tuple(CheckResult(c.id, CheckStatus.ERROR, 0.0, c.points, NOT_A_NOTEBOOK) for c in CHECKS),
    message=NOT_A_NOTEBOOK,
    provenance=provenance(grader_version="9.9", reference_hash=""),
)
# Every string a notebook controls, carrying markup.
HOSTILE = result(
    "mallory <b>",
    {"reparameterize": ("<img src=x onerror=document.title=1>",)},
    message=f"note {SCRIPT}",
    derivation=(DerivationAnswer("mu", SCRIPT), DerivationAnswer("Sigma", None)),
    cell_errors=(CellError(2, "<i>Err</i>", SCRIPT, f"print('{SCRIPT}')"),),
    free_text=(FreeTextAnswer(f"Q {SCRIPT}", SCRIPT),),
)


def report(sample: SubmissionResult, tmp_path) -> str:
    return write_submission_report(sample, out_dir=tmp_path).read_text(encoding="utf-8")


def test_report_is_written_under_the_submission_id(tmp_path):
    assert write_submission_report(SEED, out_dir=tmp_path) == tmp_path / "seed-writeup" / "report.html"


def test_student_report_explains_the_misconceptions_and_hides_instructor_details(tmp_path):
    page = report(SEED, tmp_path)
    assert "<b>11</b> / 15 points" in page and "checks 11 / 12" in page and "8 of 9 checks passed · 1 failed" in page
    for name in ("missing_sqrt", "missing_x0"):
        assert CATALOG[name].title in page and CATALOG[name].explanation in page
    # The derivation as MathML (three subscripted alphas), with the source the grader read beneath it.
    assert page.count("<msub><mi>α</mi>") >= 3 and r'<code class="latex-src">\alpha_3 \alpha_2 \alpha_1</code>' in page
    assert "<p>Blurry at 30.</p>" in page
    assert "Cell 4" in page and "ValueError: bad shape" in page and "x = y.view(-1)" in page
    assert HIDDEN_VALUE not in page and "4242" not in page and "3.21" not in page  # no compared values, seed, timings


def test_every_check_appears_with_its_title_status_and_points(tmp_path):
    page = report(SEED, tmp_path)
    for check in CHECKS:
        status = "fail" if check.id == "derivation.mu" else "pass"
        assert f'data-check="{check.id}" data-status="{status}"' in page
        assert check.title in page
    assert page.count('class="badge fail">✗ fail<') == 1 and page.count('class="badge pass">✓ pass<') == 8
    assert "0 / 1" in page and "2 / 2" in page


def test_footer_names_grader_version_and_reference(tmp_path):
    page = report(SEED, tmp_path)
    assert "Graded by grader 9.9, reference feedbeef" in page
    footer = " ".join(re.sub(r"<[^>]+>", " ", page.split("<footer")[1].split("</footer>")[0]).split())
    assert re.search(r"reference feedbeef\. Notebook sha256 [0-9a-f]{16}…", footer), footer  # sentences apart
    assert "None" not in report(BROKEN, tmp_path)  # an unreadable notebook has no reference hash


def test_an_unknown_misconception_is_shown_by_name(tmp_path):
    page = report(result("erin", {"vae_loss.kl": ("brand_new_mistake",)}), tmp_path)
    assert "<strong>brand_new_mistake</strong>" in page


def test_student_text_is_escaped_everywhere(tmp_path):
    page = report(HOSTILE, tmp_path)
    assert "<script" not in page.lower() and "<img" not in page and "<i>Err" not in page and "mallory <b>" not in page
    assert "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=document.title=1&gt;" in page and "mallory &lt;b&gt;" in page


def test_an_unreadable_notebook_report_says_why_once(tmp_path):
    page = report(BROKEN, tmp_path)
    assert 'role="alert"' in page and "not a notebook: invalid JSON" in page
    assert page.count("could not be graded") == 1  # not repeated by each of the nine errored checks
    assert "not graded" in page and page.count('class="badge error"') == 1 + len(CHECKS)


def test_an_error_message_without_the_lead_sentence_gets_it(tmp_path):
    bare = SubmissionResult(**{**BROKEN.__dict__, "message": "the file is empty"})
    assert "Your notebook could not be graded:</strong> the file is empty" in report(bare, tmp_path)


def test_pages_are_self_contained(tmp_path):
    student = report(SEED, tmp_path)
    overview = write_class_overview([SEED, BROKEN], out_dir=tmp_path).read_text(encoding="utf-8")
    for page in (student, overview):
        assert "<style>" in page and ".badge" in page  # the CSS is inlined
        assert not re.search(r"https?://|<link|@import|src=", page)
    assert "<script" not in student
    assert overview.count("<script>") == 1 and "sortBy" in overview  # table.js, inlined: works from file://


def test_outputs_are_deterministic(tmp_path):
    def render(out):
        write_submission_report(SEED, out_dir=out)
        write_class_overview([SOLUTION, BROKEN, SEED], out_dir=out)
        write_grades_csv([SEED, SOLUTION, BROKEN], out_dir=out)
        return {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    first = render(tmp_path / "a")
    assert len(first) == 3 and render(tmp_path / "b") == first


def overview(results, tmp_path) -> str:
    return write_class_overview(results, out_dir=tmp_path).read_text(encoding="utf-8")


def test_overview_has_one_sorted_row_per_submission_with_symbol_and_text_per_check(tmp_path):
    page = overview([SOLUTION, BROKEN, SEED], tmp_path)
    links = re.findall(r'<td class="sub"[^>]*><a href="([^"]+)">', page)
    assert links == ["bob/report.html", "seed-writeup/report.html", "solution/report.html"]
    seed_row = page.split('href="seed-writeup/report.html"')[1].split("</tr>")[0]
    assert "<b>11</b> / 15" in seed_row and '<span class="badge graded">graded</span>' in seed_row
    assert seed_row.count(">✓ pass</td>") == 8 and seed_row.count(">✗ fail</td>") == 1
    assert page.split('href="bob/report.html"')[1].split("</tr>")[0].count(">! error</td>") == len(CHECKS)


def test_overview_summary_sits_above_the_table(tmp_path):
    page = overview([SOLUTION, BROKEN, SEED], tmp_path)
    assert '<b data-testid="graded">2</b>' in page and '<b data-testid="errors">1</b>' in page
    # 12 + 3 written; nothing was released, so no total is presented as final
    assert '<b data-testid="mean">11.5</b>provisional mean score / 15' in page and "<b>11.5</b>provisional median score / 15" in page
    assert '<b data-testid="pending">6</b>' in page  # three answers each of the two graded students; bob's notebook has none to mark
    assert page.index("Most common misconceptions") < page.index("Pass rate per check") < page.index("<h2>Submissions")
    rate = page.split("Derivation: your answer for μ</td>")[1].split("</tr>")[0]
    assert "1 / 2" in rate and "50%" in rate  # over graded submissions only


def test_overview_counts_misconceptions_once_per_submission_with_titles(tmp_path):
    both = result("carol", {"closed_form.mu": ("missing_sqrt",), "derivation.mu": ("missing_sqrt",)})
    page = overview([SEED, both, SOLUTION], tmp_path)
    row = page.split('<code class="muted">missing_sqrt</code>')[1].split("</tr>")[0]
    assert '<td class="num">2</td>' in row  # seed-writeup and carol, not three
    assert f"<strong>{CATALOG['missing_sqrt'].title}</strong>" in page
    assert page.index("missing_sqrt") < page.index("missing_x0")  # most common first


def test_overview_of_nothing_still_renders(tmp_path):
    page = overview([], tmp_path)
    assert "0 submissions" in page and "None recognised." in page


def test_overview_links_are_url_quoted(tmp_path):
    page = overview([result("zoë smith"), result("a#b?c")], tmp_path)
    assert 'href="zo%C3%AB%20smith/report.html"' in page and 'href="a%23b%3Fc/report.html"' in page


def test_overview_escapes_submission_ids_and_notes(tmp_path):
    page = overview([HOSTILE], tmp_path)
    student_part = page.split("<script>")[0]  # the one script is ours (table.js), after the content
    assert page.count("<script") == 1 and "<script" not in student_part.lower() and "mallory &lt;b&gt;" in page
    assert "<img" not in page


def test_grades_csv_has_a_column_per_check_sorted_rows_and_defuses_formulas(tmp_path):
    path = write_grades_csv([SOLUTION, BROKEN, SEED, result("=cmd|calc")], out_dir=tmp_path)
    assert path == tmp_path / "grades.csv"
    rows = list(csv.reader(path.open(encoding="utf-8", newline="")))
    written = ["kl_observe", "kl_explain", "kl_role"]
    assert rows[0] == [
        "submission",
        "status",
        "score",
        "max_score",
        "automatic_score",
        "adjusted_score",
        *[c.id for c in CHECKS],
        *written,
        "manual",
        "overrides",
    ]
    assert [r[0] for r in rows[1:]] == ["'=cmd|calc", "bob", "seed-writeup", "solution"]
    seed_row = dict(zip(rows[0], rows[3], strict=False))
    assert seed_row["score"] == "11" and seed_row["derivation.mu"] == "0" and seed_row["closed_form.mu"] == "2"
    assert (seed_row["max_score"], seed_row["kl_observe"], seed_row["manual"], seed_row["overrides"]) == ("15", "", "pending", "")
    assert dict(zip(rows[0], rows[2], strict=False))["status"] == "error"


def test_overview_warns_loudly_when_isolation_was_incomplete(tmp_path):
    weak = SubmissionResult(
        **{
            **SOLUTION.__dict__,
            "provenance": replace(SOLUTION.provenance, sandbox={"warnings": ["network NOT isolated: unshare failed (EPERM)"]}),
        }
    )
    page = overview([weak, result("erin")], tmp_path)
    assert "Isolation was not complete" in page and "network NOT isolated: unshare failed (EPERM) (1 notebook)" in page
    assert "Isolation was not complete" not in overview([result("erin")], tmp_path)


def test_a_broken_template_is_a_harness_error_not_a_student_outcome(tmp_path, monkeypatch):
    import graders.report.render as reporting
    from graders.errors import HarnessError

    monkeypatch.setattr(reporting, "TEMPLATES", tmp_path / "missing")
    with pytest.raises(HarnessError, match="could not be rendered"):
        write_submission_report(SEED, out_dir=tmp_path)
