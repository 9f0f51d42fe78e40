"""Reporting: grades → report.html per student, index.html for the class, grades.csv.

Rendered from gradebook `Grade`s: the automatic result with staff overrides and manual marks
(a bare `SubmissionResult` is shown as a grade with nothing marked yet). `publish` re-renders
everything from REPORTS/gradebook.sqlite (`grader grade`, `rescore`, `report`). Student reports use
only the student view (no compared values, no hidden inputs). Pages are self-contained (CSS
inlined, no external resources; the overview's one script is inlined too) so a report can be mailed as one file, and
deterministic: the same results give byte-identical files. Jinja2 autoescaping is on because
every string from a notebook is untrusted; prose (answers, derivations, staff comments and reasons)
goes through the `rendered` filter (graders/report/markup.py), and the student's own figures beside
their written answers come from REPORTS/<id>/outputs.json, checked again (graders/report/outputs.py).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, TemplateError, select_autoescape

from graders.assignment import registry
from graders.assignment.spec import Assignment
from graders.errors import HarnessError
from graders.gradebook.exports import csv as csv_export
from graders.gradebook.questions import manual_questions
from graders.gradebook.release import Release, ReleaseState, read_release
from graders.gradebook.store import Grade, Gradebook
from graders.report.markup import rendered
from graders.report.outputs import OwnOutputs, read_own_outputs
from graders.report.released import keep_released
from graders.results import CheckStatus, SubmissionResult, SubmissionStatus, write_text_atomic

TEMPLATES = Path(__file__).resolve().parent / "templates"
TABLE_SCRIPT = TEMPLATES / "table.js"
# Status is always shown as symbol + word, never by colour alone (colour-blind readers, printouts).
SYMBOLS = {"pass": "✓", "fail": "✗", "error": "!"}
NOT_GRADED = "Your notebook could not be graded"
# Who graded, in a report's footer: the harness's command, the same for every assignment.
HARNESS = "grader"


def points_text(value: float | None) -> str:
    """Scores as people write them: 11, 10.5, 10.33 — never 11.0 or 10.333333."""
    return "–" if value is None else f"{round(value, 2):g}"


_environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
_environment.globals.update(symbols=SYMBOLS, not_graded=NOT_GRADED, harness=HARNESS)
_environment.filters["points"] = points_text
_environment.filters["rendered"] = rendered  # the one way student and staff prose reaches a page (markup.py)


def compile_templates() -> None:
    """Compile every page template now (kept in the environment): a long-lived process (the warm server) pays it
    once instead of each command's first page (~0.2 s). A template changed later is recompiled (jinja checks)."""
    for name in _environment.list_templates(filter_func=lambda name: name.endswith(".html")):
        _environment.get_template(name)


def _render(template: str, **context: Any) -> str:
    """A broken or missing template is the harness's fault, never a student's outcome."""
    try:
        css = (TEMPLATES / "style.css").read_text(encoding="utf-8")
        script = TABLE_SCRIPT.read_text(encoding="utf-8")
        return _environment.get_template(template).render(css=css, script=script, **context)
    except (OSError, TemplateError) as exc:
        raise HarnessError(f"the report template {template} could not be rendered: {exc}") from exc


def assignment_of(subjects: Sequence[SubmissionResult | Grade]) -> Assignment:
    """The assignment that graded these results, as their provenance records it (none: the one installed)."""
    first = next(iter(subjects), None)
    result = first.result if isinstance(first, Grade) else first
    return registry.recorded_in(result.provenance.settings if result is not None and result.provenance is not None else None)


def page_context(assignment: Assignment) -> dict[str, Any]:
    """What every page shows of the assignment: its title and subtitle, each check's title, and the LaTeX
    that labels each derivation answer (its answer line's left-hand side)."""
    return {
        "assignment": assignment,
        "titles": {check.id: check.title for check in assignment.checks},
        "derivation_labels": {line.quantity: line.latex for line in assignment.derivation},
    }


def _misconception(name: str, assignment: Assignment) -> dict[str, str]:
    """Title and explanation from the catalog; an unknown name is still shown, as itself."""
    known = assignment.catalog.get(name)
    if known is None:
        return {"name": name, "title": name, "explanation": ""}
    return {"name": name, "title": known.title, "explanation": known.explanation}


def _check_view(check: dict[str, Any], submission_message: str, grade: Grade, assignment: Assignment) -> dict[str, Any]:
    """One student-view check, ready to show. A message that only repeats the submission's own
    (every check of an unreadable notebook carries it) is dropped so it is said once, at the top.
    A staff override replaces the score; the automatic one is still shown next to the reason."""
    override = next((o for o in grade.overrides if o.check_id == check["id"]), None)
    return {
        **check,
        "automatic_score": check["score"],
        "score": check["score"] if override is None else override.score,
        "override": None if override is None else override.reason,
        "title": next((spec.title for spec in assignment.checks if spec.id == check["id"]), check["id"]),
        "message": "" if check["message"] == submission_message else check["message"],
        "misconceptions": [_misconception(name, assignment) for name in check["misconceptions"]],
    }


def _grouped_checks(view: dict[str, Any], grade: Grade, assignment: Assignment) -> list[tuple[str, list[dict[str, Any]]]]:
    """Checks under their section headings (the assignment's label for the part of the id before the dot), in check order."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for check in view["checks"]:
        heading = assignment.function_labels.get(check["id"].split(".")[0], "Other")
        groups.setdefault(heading, []).append(_check_view(check, view["message"], grade, assignment))
    return list(groups.items())


def _not_graded_reason(message: str) -> str:
    """Why nothing could be graded, without the lead sentence the pipeline usually starts with:
    the report prints that sentence itself, once, in bold."""
    reason = message.removeprefix(NOT_GRADED).lstrip(":.").strip()
    return reason or "no reason was recorded."


def _as_grade(subject: SubmissionResult | Grade) -> Grade:
    return subject if isinstance(subject, Grade) else Grade.unmarked(subject, manual_questions(assignment_of([subject])))


def _written_answers(grade: Grade, own: OwnOutputs) -> list[dict[str, Any]]:
    """The written questions with the student's answer, its manual mark (or "pending") and the student's outputs above it."""
    beside = own.beside([q.question.tag for q in grade.questions])
    return [
        {
            "question": q.question.text,
            "answer": q.answer,
            "points": q.points,
            "max_score": q.question.points,
            "comment": q.mark.comment if q.mark is not None else "",
            "outputs": beside[q.question.tag],
        }
        for q in grade.questions
    ]


def write_submission_report(subject: SubmissionResult | Grade, *, out_dir: Path) -> Path:
    """out_dir/<id>/report.html, for the student: provisional until released; once released, the
    released copy until staff release again (the page as it would be sent now goes beside it: report/released.py)."""
    grade = _as_grade(subject)
    release = read_release(out_dir)
    sent = release.students.get(grade.submission) if release is not None else None
    if sent is not None:
        return keep_released(grade, report_page(grade, out_dir=out_dir, provisional=False), sent, out_dir)
    path = out_dir / grade.submission / "report.html"
    write_text_atomic(path, report_page(grade, out_dir=out_dir, provisional=True))
    return path


def report_page(grade: Grade, *, out_dir: Path, provisional: bool) -> str:
    """A student's report.html, built from the student view only; `provisional` until staff release it."""
    result = grade.result
    assignment = assignment_of([grade])
    view = result.student_view()
    errored = result.status is SubmissionStatus.ERROR
    counts = Counter(check["status"] for check in view["checks"])
    return _render(
        "report.html",
        provisional=provisional,
        r=view,
        total={"score": grade.score, "max_score": grade.max_score, "checks": grade.checks_score, "pending": grade.pending},
        written=_written_answers(grade, read_own_outputs(out_dir / result.submission, result.sha256)),
        groups=_grouped_checks(view, grade, assignment),
        errored=errored,
        headline=_not_graded_reason(view["message"]) if errored else view["message"],
        counts={status: counts.get(status, 0) for status in SYMBOLS},
        **page_context(assignment),
    )


def report_href(submission: str) -> str:
    """The student's report, relative to index.html (the static overview's row links)."""
    return quote(submission) + "/report.html"


def _overview_row(grade: Grade, href: Callable[[str], str], release: Release | None) -> dict[str, Any]:
    result = grade.result
    return {
        "id": result.submission,
        "release": (release.state(grade) if release is not None else ReleaseState.PROVISIONAL).value,
        "href": href(result.submission),
        "score": grade.score,
        "max_score": grade.max_score,
        "status": result.status.value,
        "checks": {check.id: check.status.value for check in result.checks},
        "overridden": {o.check_id for o in grade.overrides},
        "manual": csv_export.manual_state(grade),
        # For the table's filters: which misconceptions and which check statuses the row has.
        "misconceptions": sorted({name for check in result.checks for name in check.misconceptions}),
        "check_statuses": sorted({check.status.value for check in result.checks}),
        "note": result.message,
    }


def _pass_rates(graded: Sequence[SubmissionResult], assignment: Assignment) -> list[dict[str, Any]]:
    """Per check, over graded submissions only: an unreadable notebook says nothing about a check."""
    rates = []
    for check in assignment.checks:
        passed = sum(1 for r in graded for c in r.checks if c.id == check.id and c.status is CheckStatus.PASS)
        rates.append(
            {"id": check.id, "passed": passed, "total": len(graded), "percent": round(100 * passed / len(graded)) if graded else 0}
        )
    return rates


def _common_misconceptions(results: Sequence[SubmissionResult], assignment: Assignment) -> list[tuple[dict[str, str], int]]:
    """Counted once per submission, however many checks name it; most common first."""
    counts = Counter(name for r in results for name in {n for c in r.checks for n in c.misconceptions})
    return [(_misconception(name, assignment), count) for name, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def _summary(grades: Sequence[Grade], release: Release | None) -> dict[str, Any]:
    graded = [g for g in grades if g.result.status is SubmissionStatus.GRADED]
    scores = [g.score for g in graded]
    states = Counter(release.state(g) if release is not None else ReleaseState.PROVISIONAL for g in grades)
    return {
        # Totals are final only once every grade shown is the one released (and so nothing is pending unseen).
        "final": bool(grades) and states[ReleaseState.RELEASED] == len(grades),
        "released_at": release.released_at if release is not None else None,
        "changed": states[ReleaseState.CHANGED],
        "provisional": states[ReleaseState.PROVISIONAL],
        "count": len(grades),
        "graded": len(graded),
        "errors": len(grades) - len(graded),
        # Written answers of graded students, as the review app's `progress` counts them (an unreadable notebook has none to mark).
        "pending": sum(1 for g in graded for q in g.questions if q.pending),
        "review": sum(1 for g in grades if g.needs_review),
        "mean": statistics.fmean(scores) if scores else None,
        "median": statistics.median(scores) if scores else None,
        "max_score": grades[0].max_score if grades else None,
    }


def overview_context(
    subjects: Sequence[SubmissionResult | Grade], *, href: Callable[[str], str] = report_href, release: Release | None = None
) -> dict[str, Any]:
    """What the class overview shows, for index.html and for the review app's class page; `release`: the last one, if any."""
    assignment = assignment_of(subjects)
    grades = sorted((_as_grade(s) for s in subjects), key=lambda g: g.submission)
    ordered = [g.result for g in grades]
    graded = [r for r in ordered if r.status is SubmissionStatus.GRADED]
    isolation = Counter(w for r in ordered if r.provenance is not None for w in r.provenance.sandbox_warnings)
    return {
        "isolation": sorted(isolation.items()),
        "rows": [_overview_row(g, href, release) for g in grades],
        "check_ids": list(assignment.check_ids),
        "summary": _summary(grades, release),
        "pass_rates": _pass_rates(graded, assignment),
        "misconceptions": _common_misconceptions(ordered, assignment),
        **page_context(assignment),
    }


def write_class_overview(subjects: Sequence[SubmissionResult | Grade], *, out_dir: Path) -> Path:
    """out_dir/index.html: one row per submission, pass rates per check, common misconceptions.

    The one script in it (table.js, inlined so the page works from file://) sorts and filters
    the table from data attributes; without it the page reads the same, unsorted."""
    page = _render("index.html", **overview_context(subjects, release=read_release(out_dir)))
    path = out_dir / "index.html"
    write_text_atomic(path, page)
    return path


def write_grades_csv(subjects: Sequence[SubmissionResult | Grade], *, out_dir: Path) -> Path:
    """out_dir/grades.csv: the layout of `grader export --format csv` (graders.gradebook.exports.csv)."""
    path = out_dir / "grades.csv"
    write_text_atomic(path, csv_export.text(assignment_of(subjects), [_as_grade(s) for s in subjects]))
    return path


def publish(out_dir: Path) -> tuple[Grade, ...]:
    """Re-render every report, the overview and grades.csv from the gradebook in out_dir."""
    with Gradebook.open(out_dir) as book:
        grades = book.grades()
    for grade in grades:
        write_submission_report(grade, out_dir=out_dir)
    write_class_overview(grades, out_dir=out_dir)
    write_grades_csv(grades, out_dir=out_dir)
    return grades
