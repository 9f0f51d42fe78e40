"""A report speaks the words of the assignment that graded it, never another's (issue 23).

The labels, headings and footer of report.html come from the assignment recorded in the result's
provenance: an Assignment 11 result is labelled with its own derivation line and questions, and an
Assignment 10 result still reads μ and Σ as before.
"""

from __future__ import annotations

import re

from assignments.a10 import ASSIGNMENT as A10
from assignments.a11 import ASSIGNMENT as A11
from graders.assignment.spec import Assignment
from graders.report.render import write_submission_report
from graders.results import CheckResult, CheckStatus, DerivationAnswer, FreeTextAnswer, SubmissionResult, SubmissionStatus
from tests.provenance import provenance

# Words only Assignment 10's pages may carry (its subject, its notation's left-hand sides).
A10_WORDS = ("KL", "VAE", "μ =", "Σ =", "<mi>μ</mi>", "<mi>Σ</mi>", "a10")


def graded(assignment: Assignment, derivation: tuple[DerivationAnswer, ...]) -> SubmissionResult:
    """A result in which every check of `assignment` passed, recorded as graded by it."""
    checks = tuple(CheckResult(c.id, CheckStatus.PASS, c.points, c.points, "") for c in assignment.checks)
    return SubmissionResult(
        submission="ann",
        status=SubmissionStatus.GRADED,
        score=assignment.max_score,
        max_score=assignment.max_score,
        sha256="cd" * 32,
        checks=checks,
        derivation=derivation,
        free_text=tuple(FreeTextAnswer(q.text, f"answer to {q.tag}") for q in assignment.questions),
        provenance=provenance(assignment_id=assignment.id, assignment_version=assignment.version, grader_version="9.9"),
    )


def labels(page: str) -> list[list[str]]:
    """The derivation's labels as a reader sees them: the words of each <dt>, tags dropped."""
    return [re.sub(r"<[^>]+>", "", dt).split() for dt in re.findall(r"<dt>(.*?)</dt>", page, re.S)]


def page_of(result: SubmissionResult, tmp_path) -> str:
    return write_submission_report(result, out_dir=tmp_path).read_text(encoding="utf-8")


def test_an_assignment_11_report_labels_its_derivation_with_its_own_answer_line(tmp_path):
    (line,) = A11.derivation
    page = page_of(graded(A11, (DerivationAnswer(line.quantity, "d_k"),)), tmp_path)
    (dt,) = re.findall(r"<dt>(.*?)</dt>", page, re.S)
    # Var(q · k) as the assignment writes it, through the markup filter: MathML, inline, then "=".
    assert "<mi>q</mi>" in dt and "<mi>k</mi>" in dt and 'display="inline"' in dt and dt.rstrip().endswith("=")
    assert A11.title in page and all(q.text in page for q in A11.questions)
    assert [w for w in A10_WORDS if w in page] == []


def test_an_assignment_10_report_still_reads_mu_and_sigma(tmp_path):
    page = page_of(graded(A10, (DerivationAnswer("mu", r"\sqrt{\bar\alpha_3} x_0"), DerivationAnswer("Sigma", "1"))), tmp_path)
    assert labels(page) == [["μ", "="], ["Σ", "="]]
    assert "Your written answers" in page and all(q.text in page for q in A10.questions)


def test_the_footer_names_the_harness_and_its_version_for_every_assignment(tmp_path):
    for assignment, folder in ((A10, "ten"), (A11, "eleven")):
        page = page_of(graded(assignment, ()), tmp_path / folder)
        assert re.search(r"Graded by grader 9\.9\b", page), assignment.id


def test_an_answer_to_a_quantity_the_assignment_does_not_declare_is_labelled_by_its_recorded_name(tmp_path):
    """An old result (or a renamed line) keeps its answer, labelled as recorded and escaped, not as another quantity."""
    page = page_of(graded(A11, (DerivationAnswer("<b>mu</b>", "x"),)), tmp_path)
    (dt,) = re.findall(r"<dt>(.*?)</dt>", page, re.S)
    assert "&lt;b&gt;mu&lt;/b&gt; =" in dt and "<math" not in dt and "μ" not in dt
