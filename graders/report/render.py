"""Reporting: results → report.html per student, index.html for the class, grades.csv.

Rendered from `SubmissionResult` alone (the seam for further exports). Student reports use
only the student view (no compared values, no hidden inputs). Pages are self-contained (CSS
inlined, no external resources; the overview's one script is inlined too) so a report can be mailed as one file, and
deterministic: the same results give byte-identical files. Jinja2 autoescaping is on because
every string from a notebook is untrusted.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, TemplateError, select_autoescape

from graders.errors import HarnessError
from graders.judge.checks import CHECKS
from graders.results import CheckStatus, SubmissionResult, SubmissionStatus, write_text_atomic
from reference.misconceptions import CATALOG

TEMPLATES = Path(__file__).resolve().parent / "templates"
TABLE_SCRIPT = TEMPLATES / "table.js"
# Section headings of the student report, keyed by the part of the check id before the dot.
GROUPS = {
    "closed_form": "Closed form q(x_t | x₀)",
    "derivation": "Derivation",
    "vae_loss": "VAE loss",
    "reparameterize": "Reparameterisation",
    "experiment": "Experiment",
}
TITLES = {check.id: check.title for check in CHECKS}
# Status is always shown as symbol + word, never by colour alone (colour-blind readers, printouts).
SYMBOLS = {"pass": "✓", "fail": "✗", "error": "!"}
NOT_GRADED = "Your notebook could not be graded"


def points_text(value: float | None) -> str:
    """Scores as people write them: 11, 10.5, 10.33 — never 11.0 or 10.333333."""
    return "–" if value is None else f"{round(value, 2):g}"


_environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
_environment.globals.update(symbols=SYMBOLS, titles=TITLES, not_graded=NOT_GRADED)
_environment.filters["points"] = points_text


def _render(template: str, **context: Any) -> str:
    """A broken or missing template is the harness's fault, never a student's outcome."""
    try:
        css = (TEMPLATES / "style.css").read_text(encoding="utf-8")
        script = TABLE_SCRIPT.read_text(encoding="utf-8")
        return _environment.get_template(template).render(css=css, script=script, **context)
    except (OSError, TemplateError) as exc:
        raise HarnessError(f"the report template {template} could not be rendered: {exc}") from exc


def _misconception(name: str) -> dict[str, str]:
    """Title and explanation from the catalog; an unknown name is still shown, as itself."""
    known = CATALOG.get(name)
    if known is None:
        return {"name": name, "title": name, "explanation": ""}
    return {"name": name, "title": known.title, "explanation": known.explanation}


def _check_view(check: dict[str, Any], submission_message: str) -> dict[str, Any]:
    """One student-view check, ready to show. A message that only repeats the submission's own
    (every check of an unreadable notebook carries it) is dropped so it is said once, at the top."""
    return {
        **check,
        "title": TITLES.get(check["id"], check["id"]),
        "message": "" if check["message"] == submission_message else check["message"],
        "misconceptions": [_misconception(name) for name in check["misconceptions"]],
    }


def _grouped_checks(view: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Checks under their section headings, in the contract's check order."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for check in view["checks"]:
        heading = GROUPS.get(check["id"].split(".")[0], "Other")
        groups.setdefault(heading, []).append(_check_view(check, view["message"]))
    return list(groups.items())


def _not_graded_reason(message: str) -> str:
    """Why nothing could be graded, without the lead sentence the pipeline usually starts with:
    the report prints that sentence itself, once, in bold."""
    reason = message.removeprefix(NOT_GRADED).lstrip(":.").strip()
    return reason or "no reason was recorded."


def write_submission_report(result: SubmissionResult, *, out_dir: Path) -> Path:
    """out_dir/<id>/report.html, for the student: built from the student view only."""
    view = result.student_view()
    errored = result.status is SubmissionStatus.ERROR
    counts = Counter(check["status"] for check in view["checks"])
    page = _render(
        "report.html",
        r=view,
        groups=_grouped_checks(view),
        errored=errored,
        headline=_not_graded_reason(view["message"]) if errored else view["message"],
        counts={status: counts.get(status, 0) for status in SYMBOLS},
    )
    path = out_dir / result.submission / "report.html"
    write_text_atomic(path, page)
    return path


def report_href(submission: str) -> str:
    """The student's report, relative to index.html (the static overview's row links)."""
    return quote(submission) + "/report.html"


def _overview_row(result: SubmissionResult, href: Callable[[str], str]) -> dict[str, Any]:
    return {
        "id": result.submission,
        "href": href(result.submission),
        "score": result.score,
        "max_score": result.max_score,
        "status": result.status.value,
        "checks": {check.id: check.status.value for check in result.checks},
        # For the table's filters: which misconceptions and which check statuses the row has.
        "misconceptions": sorted({name for check in result.checks for name in check.misconceptions}),
        "check_statuses": sorted({check.status.value for check in result.checks}),
        "note": result.message,
    }


def _pass_rates(graded: Sequence[SubmissionResult]) -> list[dict[str, Any]]:
    """Per check, over graded submissions only: an unreadable notebook says nothing about a check."""
    rates = []
    for check in CHECKS:
        passed = sum(1 for r in graded for c in r.checks if c.id == check.id and c.status is CheckStatus.PASS)
        rates.append(
            {"id": check.id, "passed": passed, "total": len(graded), "percent": round(100 * passed / len(graded)) if graded else 0}
        )
    return rates


def _common_misconceptions(results: Sequence[SubmissionResult]) -> list[tuple[dict[str, str], int]]:
    """Counted once per submission, however many checks name it; most common first."""
    counts = Counter(name for r in results for name in {n for c in r.checks for n in c.misconceptions})
    return [(_misconception(name), count) for name, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def _summary(ordered: Sequence[SubmissionResult], graded: Sequence[SubmissionResult]) -> dict[str, Any]:
    scores = [r.score for r in graded]
    return {
        "count": len(ordered),
        "graded": len(graded),
        "errors": len(ordered) - len(graded),
        "mean": statistics.fmean(scores) if scores else None,
        "median": statistics.median(scores) if scores else None,
        "max_score": ordered[0].max_score if ordered else sum(c.points for c in CHECKS),
    }


def overview_context(results: Sequence[SubmissionResult], *, href: Callable[[str], str] = report_href) -> dict[str, Any]:
    """What the class overview shows, for index.html and for the review app's class page."""
    ordered = sorted(results, key=lambda r: r.submission)
    graded = [r for r in ordered if r.status is SubmissionStatus.GRADED]
    isolation = Counter(w for r in ordered for w in r.provenance.get("sandbox", {}).get("warnings", []))
    return {
        "isolation": sorted(isolation.items()),
        "rows": [_overview_row(r, href) for r in ordered],
        "check_ids": [c.id for c in CHECKS],
        "summary": _summary(ordered, graded),
        "pass_rates": _pass_rates(graded),
        "misconceptions": _common_misconceptions(ordered),
    }


def write_class_overview(results: Sequence[SubmissionResult], *, out_dir: Path) -> Path:
    """out_dir/index.html: one row per submission, pass rates per check, common misconceptions.

    The one script in it (table.js, inlined so the page works from file://) sorts and filters
    the table from data attributes; without it the page reads the same, unsorted."""
    page = _render("index.html", **overview_context(results))
    path = out_dir / "index.html"
    write_text_atomic(path, page)
    return path


def write_grades_csv(results: Sequence[SubmissionResult], *, out_dir: Path) -> Path:
    """out_dir/grades.csv: submission, status, score, max_score, then the score of every check."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    check_ids = [c.id for c in CHECKS]
    writer.writerow(["submission", "status", "score", "max_score", *check_ids])
    for result in sorted(results, key=lambda r: r.submission):
        scores = {c.id: c.score for c in result.checks}
        writer.writerow(
            [
                _csv_safe(result.submission),
                result.status.value,
                f"{result.score:g}",
                f"{result.max_score:g}",
                *(f"{scores.get(i, 0):g}" for i in check_ids),
            ]
        )
    path = out_dir / "grades.csv"
    write_text_atomic(path, buffer.getvalue())
    return path


def _csv_safe(text: str) -> str:
    """A file name like '=HYPERLINK(…)' must not become a formula when staff open the CSV."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
