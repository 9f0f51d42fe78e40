"""Reporting: results → report.html per student, index.html for the class, grades.csv.

Rendered from `SubmissionResult` alone (the seam for further exports). Student reports use
only the student view (no compared values, no hidden inputs). Pages are self-contained (CSS
inlined, no scripts, no external resources) so a report can be mailed as one file, and
deterministic: the same results give byte-identical files. Jinja2 autoescaping is on because
every string from a notebook is untrusted.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape

from graders.checks import CHECKS
from graders.results import CheckStatus, SubmissionResult, SubmissionStatus, write_text_atomic
from reference.misconceptions import CATALOG

TEMPLATES = Path(__file__).resolve().parent / "templates"
GROUPS = {
    "closed_form": "Closed form q(x_t | x_0)",
    "derivation": "Your derivation",
    "vae_loss": "VAE loss",
    "reparameterize": "Reparameterisation",
    "experiment": "Experiment",
}
TITLES = {check.id: check.title for check in CHECKS}
SYMBOLS = {"pass": "✓", "fail": "✗", "error": "!"}

_environment = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True
)
_environment.globals.update(symbols=SYMBOLS, titles=TITLES)


def _render(template: str, **context: Any) -> str:
    css = (TEMPLATES / "style.css").read_text(encoding="utf-8")
    return _environment.get_template(template).render(css=css, **context)


def _misconception(name: str) -> dict[str, str]:
    known = CATALOG.get(name)
    if known is None:
        return {"name": name, "title": name, "explanation": ""}
    return {"name": name, "title": known.title, "explanation": known.explanation}


def _grouped_checks(view: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for check in view["checks"]:
        check = {**check, "title": TITLES.get(check["id"], check["id"]), "misconceptions": [_misconception(n) for n in check["misconceptions"]]}
        groups.setdefault(GROUPS.get(check["id"].split(".")[0], "Other"), []).append(check)
    return list(groups.items())


def write_submission_report(result: SubmissionResult, *, out_dir: Path) -> Path:
    """out_dir/<id>/report.html, for the student."""
    view = result.student_view()
    path = out_dir / result.submission / "report.html"
    write_text_atomic(path, _render("report.html", r=view, groups=_grouped_checks(view), errored=result.status is SubmissionStatus.ERROR))
    return path


def write_class_overview(results: Sequence[SubmissionResult], *, out_dir: Path) -> Path:
    """out_dir/index.html: one row per submission, pass rates per check, common misconceptions."""
    ordered = sorted(results, key=lambda r: r.submission)
    graded = [r for r in ordered if r.status is SubmissionStatus.GRADED]
    scores = [r.score for r in graded]
    # Counted once per submission, however many checks name it.
    misconceptions = Counter(name for r in ordered for name in {n for c in r.checks for n in c.misconceptions})
    rows = [
        {
            "id": r.submission,
            "href": quote(r.submission) + "/report.html",
            "score": r.score,
            "max_score": r.max_score,
            "status": r.status.value,
            "checks": {c.id: c.status.value for c in r.checks},
            "note": r.message,
        }
        for r in ordered
    ]
    pass_rates = {
        check.id: (sum(1 for r in graded for c in r.checks if c.id == check.id and c.status is CheckStatus.PASS), len(graded))
        for check in CHECKS
    }
    summary = {
        "count": len(ordered),
        "graded": len(graded),
        "errors": len(ordered) - len(graded),
        "mean": statistics.fmean(scores) if scores else None,
        "median": statistics.median(scores) if scores else None,
        "max_score": ordered[0].max_score if ordered else sum(c.points for c in CHECKS),
    }
    isolation = Counter(w for r in ordered for w in r.provenance.get("sandbox", {}).get("warnings", []))
    path = out_dir / "index.html"
    write_text_atomic(
        path,
        _render(
            "index.html",
            isolation=sorted(isolation.items()),
            rows=rows,
            check_ids=[c.id for c in CHECKS],
            summary=summary,
            pass_rates=pass_rates,
            misconceptions=[(_misconception(name), count) for name, count in sorted(misconceptions.items(), key=lambda kv: (-kv[1], kv[0]))],
        ),
    )
    return path


def write_grades_csv(results: Sequence[SubmissionResult], *, out_dir: Path) -> Path:
    """out_dir/grades.csv: submission, status, score, max_score, then the score of every check."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    check_ids = [c.id for c in CHECKS]
    writer.writerow(["submission", "status", "score", "max_score", *check_ids])
    for result in sorted(results, key=lambda r: r.submission):
        scores = {c.id: c.score for c in result.checks}
        writer.writerow([_csv_safe(result.submission), result.status.value, f"{result.score:g}", f"{result.max_score:g}", *(f"{scores.get(i, 0):g}" for i in check_ids)])
    path = out_dir / "grades.csv"
    write_text_atomic(path, buffer.getvalue())
    return path


def _csv_safe(text: str) -> str:
    """A file name like '=HYPERLINK(…)' must not become a formula when staff open the CSV."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
