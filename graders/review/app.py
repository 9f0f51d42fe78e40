"""`grader review`: the staff web app over a graded reports folder (Starlette, served by uvicorn).

Pages: `/` the class, `/submissions/{id}` a student, `/questions/{question}` grade by question.
JSON API under `/api/` (documented in README.md). Every request passes `auth.TokenGate` first.
Everything shown that a student wrote (ids, answers, LaTeX, outputs) is escaped by Jinja2's
autoescape; the pages run only this app's own script (`static/review.js`, `table.js`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import ChoiceLoader, Environment, FileSystemLoader
from markupsafe import escape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from graders.report.render import SYMBOLS, TABLE_SCRIPT, TEMPLATES, TITLES, overview_context, points_text
from graders.review.auth import TokenGate
from graders.review.folder import ReportsFolder, UnknownSubmission
from graders.review.notebook import notebook_view
from graders.review.views import histogram, submission_summary

HERE = Path(__file__).resolve().parent
# The only files the app serves besides its pages: name → path (never a path built from a URL).
STATIC = {
    "review.css": HERE / "static" / "review.css",
    "review.js": HERE / "static" / "review.js",
    "report.css": TEMPLATES / "style.css",
    "table.js": TABLE_SCRIPT,
}
# The student's own report.html inlines its CSS and has no script: it is shown in an iframe
# under a policy that allows exactly that.
REPORT_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"


@dataclass(frozen=True)
class ReviewSettings:
    reports: Path
    token: str
    reviewer: str | None = None


def _environment() -> Environment:
    environment = Environment(
        loader=ChoiceLoader([FileSystemLoader(HERE / "templates"), FileSystemLoader(TEMPLATES)]),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals.update(symbols=SYMBOLS, titles=TITLES)
    environment.filters["points"] = points_text
    return environment


def create_app(settings: ReviewSettings) -> Starlette:
    app = _Review(settings)
    routes = [
        Route("/", app.class_page),
        Route("/submissions/{submission}", app.student_page),
        Route("/submissions/{submission}/report.html", app.student_report),
        Route("/static/{name}", app.static),
        Route("/api/submissions", app.api_submissions),
        Route("/api/submissions/{submission}", app.api_submission),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(TokenGate, token=settings.token)],
        exception_handlers={HTTPException: _http_error},
    )


class _Review:
    """The request handlers; state lives in the reports folder, none in this object."""

    def __init__(self, settings: ReviewSettings) -> None:
        self.settings = settings
        self.folder = ReportsFolder(settings.reports)
        self.templates = _environment()

    def _page(self, template: str, **context: Any) -> HTMLResponse:
        page = self.templates.get_template(template).render(token=self.settings.token, reviewer=self.settings.reviewer or "", **context)
        return HTMLResponse(page)

    def _result(self, request: Request) -> Any:
        try:
            return self.folder.result(request.path_params["submission"])
        except UnknownSubmission as exc:
            raise HTTPException(404, f"no graded submission {request.path_params['submission']!r}") from exc

    # ------------------------------------------------------------------------- pages

    def class_page(self, request: Request) -> Response:
        results = self.folder.results()
        context = overview_context(results, href=lambda submission: "/submissions/" + quote(submission, safe=""))
        return self._page("class.html", histogram=histogram(results), **context)

    def student_page(self, request: Request) -> Response:
        result = self._result(request)
        executed = self.folder.executed(result.submission)
        return self._page(
            "student.html",
            r=result,
            quoted=quote(result.submission, safe=""),
            cells=notebook_view(executed) if executed is not None else None,
        )

    def student_report(self, request: Request) -> Response:
        result = self._result(request)
        page = self.folder.report_html(result.submission)
        if page is None:
            raise HTTPException(404, f"{result.submission} has no report.html")
        return HTMLResponse(page, headers={"Content-Security-Policy": REPORT_POLICY})

    def static(self, request: Request) -> Response:
        path = STATIC.get(request.path_params["name"])
        if path is None:
            raise HTTPException(404, "no such file")
        return FileResponse(path)

    # ------------------------------------------------------------------------- API (GET)

    def api_submissions(self, request: Request) -> Response:
        return JSONResponse([submission_summary(result) for result in self.folder.results()])

    def api_submission(self, request: Request) -> Response:
        return JSONResponse(self._result(request).to_json())


async def _http_error(request: Request, exc: Exception) -> Response:
    """Errors as JSON under /api/ (scripts parse them), as text elsewhere; always with a message."""
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
    return HTMLResponse(f"<!doctype html><title>{exc.status_code}</title><p>{escape(exc.detail)}</p>", status_code=exc.status_code)
