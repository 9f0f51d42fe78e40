"""`grader review`: the staff web app over a graded reports folder (Starlette, served by uvicorn).

Pages: `/` the class, `/questions/{question}` grade by question, `/submissions/{id}` a student
(its executed notebook a page at a time: `?cell=N&output=M` says where the page starts).
JSON API under `/api/` (docs/staff.md documents it; `POST /api/release` is `grader release`). Every request passes `auth.TokenGate` first.
Grades, overrides and manual marks live in the gradebook (REPORTS/gradebook.sqlite), opened per
request: the app keeps no state of its own, so `grader` commands may run beside it. A change
is acknowledged only after its SQLite transaction committed (synchronous=FULL), so a killed
server loses nothing it had answered. Everything a student wrote is escaped by Jinja2's
autoescape; the pages run only this app's own scripts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import unquote

from markupsafe import escape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from graders.assist.page import Assistant, assistant
from graders.errors import (
    BadRequest,
    CorruptGradebook,
    FolderBusy,
    GraderError,
    HarnessError,
    MissingExtra,
    NotebookError,
    StaleChange,
    UsageError,
    mapped,
)
from graders.gradebook.lock import exclusive
from graders.gradebook.release import read_release
from graders.gradebook.store import Gradebook
from graders.pipeline import staff
from graders.report.render import (
    TABLE_SCRIPT,
    TEMPLATES,
    page_context,
    write_class_overview,
    write_grades_csv,
    write_submission_report,
)
from graders.review import lookup
from graders.review.auth import TokenGate
from graders.review.bodies import (
    mark_entry,
    parse_group_mark,
    parse_item,
    parse_item_edit,
    parse_mark,
    parse_meaning,
    parse_override,
    parse_points,
    parse_version,
)
from graders.review.folder import ReportsFolder
from graders.review.notebook import NotebookPage, Position, notebook_page
from graders.review.templating import environment
from graders.review.views import (
    answer_groups,
    by_meaning,
    change_json,
    class_context,
    duplicates_of,
    group_suggestion,
    histogram,
    item_json,
    mark_json,
    most_informative,
    override_json,
    own_outputs,
    progress,
    progress_json,
    question_json,
    staff_flags,
    submission_detail,
    submission_summary,
)

HERE = Path(__file__).resolve().parent
# The only files the app serves besides its pages: name → path (never a path built from a URL).
STATIC = {
    "review.css": HERE / "static" / "review.css",
    "review.js": HERE / "static" / "review.js",
    "rubric.js": HERE / "static" / "rubric.js",
    "report.css": TEMPLATES / "style.css",
    "table.js": TABLE_SCRIPT,
}
# The student's own report.html inlines its CSS and has no script: it is shown in an iframe
# under a policy that allows exactly that.
REPORT_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"
MAX_REVIEWER = 100
T = TypeVar("T")
# The one mapping from errors to HTTP statuses (a BadRequest carries its own); a class not listed
# takes its nearest listed ancestor's. Busy is 503: the request was fine and works once the batch is done.
# A stale save is 409 Conflict: the page shows the other grader's mark and the grader decides.
HTTP_STATUS: dict[type[GraderError], int] = {
    GraderError: 500,
    UsageError: 400,
    StaleChange: 409,
    FolderBusy: 503,
    CorruptGradebook: 500,
}


@dataclass(frozen=True)
class ReviewSettings:
    reports: Path
    token: str
    reviewer: str | None = None  # --reviewer; otherwise each change names its reviewer (X-Reviewer)


def create_app(settings: ReviewSettings) -> Starlette:
    app = _Review(settings)
    routes = [
        Route("/", app.class_page),
        Route("/questions/{question}", app.question_page),
        Route("/submissions/{submission}", app.student_page),
        Route("/submissions/{submission}/report.html", app.student_report),
        Route("/static/{name}", app.static),
        Route("/api/submissions", app.api_submissions),
        Route("/api/progress", app.api_progress),
        Route("/api/submissions/{submission}", app.api_submission),
        Route("/api/submissions/{submission}/manual/{question}", app.api_manual, methods=["PUT"]),
        Route("/api/submissions/{submission}/overrides/{check_id}", app.api_override, methods=["PUT", "DELETE"]),
        Route("/api/questions/{question}/marks", app.api_question, methods=["GET"]),
        Route("/api/questions/{question}/marks", app.api_group_mark, methods=["PUT"]),
        Route("/api/release", app.api_release, methods=["POST"]),
        Route("/api/questions/{question}/rubric", app.api_rubric, methods=["GET", "POST"]),
        Route("/api/questions/{question}/rubric/{key}", app.api_rubric_item, methods=["PUT"]),
        Route("/api/questions/{question}/rubric/{key}/effect", app.api_rubric_effect, methods=["GET"]),
        Route("/api/questions/{question}/meaning", app.api_meaning, methods=["POST"]),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(TokenGate, token=settings.token)],
        exception_handlers={HTTPException: _http_error, GraderError: _http_error},
    )


class _Review:
    """The request handlers; all state is in the reports folder and its gradebook."""

    def __init__(self, settings: ReviewSettings) -> None:
        self.settings = settings
        self.folder = ReportsFolder(settings.reports)
        self.templates = environment()
        # Requests run in a thread pool; two saves must not interleave writing the same files.
        self.publishing = threading.Lock()
        self._assistant: Assistant | MissingExtra | None = None  # loaded on the first question page
        self._loading = threading.Lock()

    def assistant(self) -> Assistant | None:
        """The model (graders.assist), loaded once; None without the `assist` extra (the page says so)."""
        with self._loading:
            if self._assistant is None:
                try:
                    self._assistant = assistant()
                except MissingExtra as missing:
                    self._assistant = missing
            return self._assistant if isinstance(self._assistant, Assistant) else None

    def _with_book(self, action: Callable[[Gradebook], T]) -> T:
        """One gradebook connection per request; its errors reach the client through HTTP_STATUS."""
        with Gradebook.open(self.settings.reports) as book:
            return action(book)

    def _page(self, book: Gradebook, template: str, **context: Any) -> HTMLResponse:
        page = self.templates.get_template(template).render(
            token=self.settings.token,
            reviewer=self.settings.reviewer or "",
            questions=book.questions(),
            **{**page_context(book.assignment), **context},
        )
        return HTMLResponse(page)

    @staticmethod
    def _known_submission(book: Gradebook, submission: str) -> str:
        if submission not in book.submission_ids():
            raise BadRequest(f"no submission {submission!r} in this gradebook", status=404)
        return submission

    # ------------------------------------------------------------------------- pages

    def class_page(self, request: Request) -> Response:
        def page(book: Gradebook) -> Response:
            grades = book.grades()
            context = class_context(grades, lookup.submission_href, read_release(self.settings.reports))
            return self._page(book, "class.html", histogram=histogram(grades), **context)

        return self._with_book(page)

    def question_page(self, request: Request) -> Response:
        tag = request.path_params["question"]

        def page(book: Gradebook) -> Response:
            questions = book.questions()
            question = lookup.known_question(book, tag)
            grades = book.grades()
            groups = answer_groups(grades, tag)
            helper = self.assistant()
            found = helper.suggestions(self.settings.reports, tag) if helper is not None else {}
            items = book.rubric(tag)
            beside = {g.submission: own_outputs(self.settings.reports, g).before(tag) for g in grades}
            (count,) = (p for p in progress(grades, questions) if p.tag == tag)
            # The answer each changed one was marked as, to show beside the new text.
            marked_as = {m.submission: book.marked_answer(m.submission, tag) for g in groups for m in g.members if m.grade.stale}
            later = questions[questions.index(question) + 1 :]
            suggested = {g.key: group_suggestion(g, items, found, question.points) for g in groups}
            return self._page(
                book,
                "question.html",
                question=question,
                rubric=lookup.rubric(book, tag),
                items=items,
                groups=groups,
                meaning=by_meaning(groups, helper.groups, book.meaning_edits(tag)) if helper is not None else None,
                suggested=suggested,
                informative=most_informative(groups, suggested, helper.most_settling) if helper is not None else None,
                progress=count,
                marked_as=marked_as,
                next_question=later[0] if later else None,
                href=lookup.submission_href,
                beside=beside,
            )

        return self._with_book(page)

    def student_page(self, request: Request) -> Response:
        start = lookup.notebook_start(request)

        def page(book: Gradebook) -> Response:
            submission = self._known_submission(book, request.path_params["submission"])
            grade = book.grade(submission)
            notebook, problem = self._notebook(submission, start)
            return self._page(
                book,
                "student.html",
                g=grade,
                r=grade.result,
                flags=staff_flags(grade, duplicates_of(book.submission_ids()), read_release(self.settings.reports)),
                history=book.history(submission),
                overrides=book.overrides(submission),
                marks=book.manual_marks(submission),
                notebook=notebook,
                notebook_problem=problem,
                own=own_outputs(self.settings.reports, grade),
            )

        return self._with_book(page)

    def _notebook(self, submission: str, start: Position) -> tuple[NotebookPage | None, str]:
        """One page of the executed notebook (it may hold thousands of outputs), or why there is none to show."""
        try:
            executed = self.folder.executed(submission)
        except NotebookError as exc:
            return None, str(exc)
        try:
            return notebook_page(executed, start), ""
        except ValueError as exc:
            raise BadRequest(str(exc), status=404) from exc

    def student_report(self, request: Request) -> Response:
        submission = self._with_book(lambda book: self._known_submission(book, request.path_params["submission"]))
        page = self.folder.report_html(submission)
        if page is None:
            raise BadRequest(f"{submission} has no report.html", status=404)
        return HTMLResponse(page, headers={"Content-Security-Policy": REPORT_POLICY})

    def static(self, request: Request) -> Response:
        path = STATIC.get(request.path_params["name"])
        if path is None:
            raise BadRequest("no such file", status=404)
        return FileResponse(path)

    # ------------------------------------------------------------------------- API

    def api_submissions(self, request: Request) -> Response:
        return JSONResponse(self._with_book(lambda book: [submission_summary(g) for g in book.grades()]))

    def api_progress(self, request: Request) -> Response:
        """Every question's counts; `?since=REVISION` answers `{"revision"}` alone when nothing changed (cheap to poll)."""

        def counts(book: Gradebook) -> dict[str, Any]:
            revision = book.revision()
            if request.query_params.get("since") == revision:
                return {"revision": revision}
            return progress_json(revision, progress(book.grades(), book.questions()))

        return JSONResponse(self._with_book(counts))

    def api_question(self, request: Request) -> Response:
        """One question's counts and every member's mark and version; `?since=` as for /api/progress."""
        tag = request.path_params["question"]

        def state(book: Gradebook) -> dict[str, Any]:
            lookup.known_question(book, tag)
            revision = book.revision()
            if request.query_params.get("since") == revision:
                return {"revision": revision}
            grades = book.grades()
            return question_json(revision, progress(grades, book.questions()), grades, tag)

        return JSONResponse(self._with_book(state))

    def api_submission(self, request: Request) -> Response:
        def detail(book: Gradebook) -> dict[str, Any]:
            submission = self._known_submission(book, request.path_params["submission"])
            return submission_detail(book.grade(submission), book.overrides(submission), book.manual_marks(submission))

        return JSONResponse(self._with_book(detail))

    async def api_manual(self, request: Request) -> Response:
        body = parse_mark(await request.body(), request.headers.get("content-type", ""))
        by = self._reviewer(request)
        submission, tag = request.path_params["submission"], request.path_params["question"]

        def save(book: Gradebook) -> dict[str, Any]:
            self._known_submission(book, submission)
            lookup.known_question(book, tag)
            entry = mark_entry(submission, tag, body.points, body.comment, body.version, body.answer, body.applied)
            (mark,) = book.set_manual([entry], by=by)
            files = self._publish(book, (submission,))
            return {"mark": mark_json(mark), "submission": submission_summary(book.grade(submission)), "files": files}

        return JSONResponse(await run_in_threadpool(self._with_book, save))

    async def api_group_mark(self, request: Request) -> Response:
        body = parse_group_mark(await request.body(), request.headers.get("content-type", ""))
        by = self._reviewer(request)
        tag = request.path_params["question"]

        def save(book: Gradebook) -> dict[str, Any]:
            lookup.known_question(book, tag)
            for submission in body.submissions:
                self._known_submission(book, submission)
            unchecked = (None,) * len(body.submissions)
            versions: tuple[int | None, ...] = body.versions if body.versions is not None else unchecked
            answers: tuple[str | None, ...] = body.answers if body.answers is not None else unchecked
            entries = [
                mark_entry(s, tag, body.points, body.comment, v, a, body.applied)
                for s, v, a in zip(body.submissions, versions, answers, strict=True)
            ]
            marks = book.set_manual(entries, by=by)
            files = self._publish(book, body.submissions)
            return {"marks": {m.submission: mark_json(m) for m in marks}, "files": files}

        return JSONResponse(await run_in_threadpool(self._with_book, save))

    async def api_rubric(self, request: Request) -> Response:
        """GET: the question's rubric items; POST: a new one."""
        tag = request.path_params["question"]
        if request.method == "GET":
            return JSONResponse({"items": [item_json(i) for i in self._with_book(lambda book: lookup.known_rubric(book, tag))]})
        body = parse_item(await request.body(), request.headers.get("content-type", ""))
        by = self._reviewer(request)

        def add(book: Gradebook) -> dict[str, Any]:
            lookup.known_question(book, tag)
            return {"item": item_json(book.add_rubric_item(tag, text=body.text, points=body.points, by=by))}

        return JSONResponse(await run_in_threadpool(self._with_book, add))

    def api_rubric_effect(self, request: Request) -> Response:
        """What `?points=X` would do to the marks applying the item: the page shows it and asks first."""
        tag, key = request.path_params["question"], request.path_params["key"]
        points = parse_points(request.query_params.get("points"))

        def effect(book: Gradebook) -> dict[str, Any]:
            lookup.known_item(book, tag, key)
            return change_json(book.rubric_change(tag, key, points))

        return JSONResponse(self._with_book(effect))

    async def api_rubric_item(self, request: Request) -> Response:
        """Rename an item or change its points; the marks applying it follow (only with `"confirm": true`)."""
        tag, key = request.path_params["question"], request.path_params["key"]
        body = parse_item_edit(await request.body(), request.headers.get("content-type", ""))
        by = self._reviewer(request)

        def edit(book: Gradebook) -> dict[str, Any]:
            lookup.known_item(book, tag, key)
            change = book.edit_rubric_item(tag, key, text=body.text, points=body.points, by=by, version=body.version, confirm=body.confirm)
            files = self._publish(book, tuple(mark.submission for mark, _ in change.moved))
            return {**change_json(change), "item": item_json(next(i for i in book.rubric(tag) if i.key == key)), "files": files}

        return JSONResponse(await run_in_threadpool(self._with_book, edit))

    async def api_meaning(self, request: Request) -> Response:
        """A text group (named by a student in it) taken out of its group by meaning, or put `with` another's; kept."""
        tag = request.path_params["question"]
        body = parse_meaning(await request.body(), request.headers.get("content-type", ""))
        by = self._reviewer(request)

        def save(book: Gradebook) -> dict[str, Any]:
            lookup.known_question(book, tag)
            groups = answer_groups(book.grades(), tag)
            joined = None if body.joined is None else lookup.text_group(groups, body.joined)
            edit = book.set_meaning_edit(tag, lookup.text_group(groups, body.submission), joined=joined, by=by)
            return {"key": edit.key, "with": edit.joined}

        return JSONResponse(await run_in_threadpool(self._with_book, save))

    async def api_override(self, request: Request) -> Response:
        submission, check_id = request.path_params["submission"], request.path_params["check_id"]
        clearing = request.method == "DELETE"
        body = None if clearing else parse_override(await request.body(), request.headers.get("content-type", ""))
        version = parse_version(request.query_params.get("version")) if clearing else None
        by = self._reviewer(request)

        def change(book: Gradebook) -> dict[str, Any]:
            self._known_submission(book, submission)
            known = book.assignment.check_ids
            if check_id not in known:
                raise BadRequest(f"no check {check_id!r}; the checks are: {', '.join(known)}", status=404)
            if body is None:
                override = book.clear_override(submission, check_id, by=by, version=version)
            else:
                override = book.set_override(submission, check_id, score=body.score, reason=body.reason, by=by, version=body.version)
            files = self._publish(book, (submission,))
            return {"override": override_json(override), "submission": submission_summary(book.grade(submission)), "files": files}

        return JSONResponse(await run_in_threadpool(self._with_book, change))

    async def api_release(self, request: Request) -> Response:
        """POST /api/release: `grader release` (the same function); answers how many were released and with what pending."""
        by = self._reviewer(request)

        def release() -> dict[str, Any]:
            with self.publishing:
                done = staff.release(reports=self.settings.reports, by=by)
            return {"released": len(done.release.students), "released_at": done.release.released_at, "pending": list(done.pending)}

        return JSONResponse(await run_in_threadpool(release))

    def _publish(self, book: Gradebook, submissions: tuple[str, ...]) -> str:
        """After a change the files say so too: the students' report.html, index.html, grades.csv.

        Only the changed students' reports are re-rendered (`grader report` redoes them all). The
        change is committed before this runs, so a failure here is reported ("files" in the
        answer), never turned into an error that would make a saved mark look lost. A batch
        (`grader grade`, `rescore`, `report`) holding the folder renders the change itself."""
        try:
            with self.publishing, exclusive(self.settings.reports):
                grades = book.grades()
                for grade in grades:
                    if grade.submission in submissions:
                        write_submission_report(grade, out_dir=self.settings.reports)
                write_class_overview(grades, out_dir=self.settings.reports)
                write_grades_csv(grades, out_dir=self.settings.reports)
        except FolderBusy:
            return "saved; a grader batch running on this folder will render it when it finishes"
        except (OSError, HarnessError) as exc:
            return f"saved, but the report files were not updated ({exc}); run `grader report {self.settings.reports}`"
        return "updated"

    def _reviewer(self, request: Request) -> str:
        """--reviewer wins; else the name the page asked for (sent URL-encoded: headers are Latin-1)."""
        if self.settings.reviewer:
            return self.settings.reviewer
        name = unquote(request.headers.get("x-reviewer", "")).strip()
        if not name:
            raise BadRequest("who is making this change? Start `grader review --reviewer NAME`, or send an X-Reviewer header")
        return name[:MAX_REVIEWER]


def _status(exc: Exception) -> tuple[int, str]:
    """The status and message of a refused request: Starlette's own (an unknown route), or the grader's error."""
    if isinstance(exc, HTTPException):
        return exc.status_code, exc.detail
    if isinstance(exc, BadRequest):
        return exc.status, str(exc)
    error = cast(GraderError, exc)  # the handler is registered for HTTPException and GraderError only
    return mapped(error, HTTP_STATUS), str(error)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Errors as JSON under /api/ (scripts parse them), as a short page elsewhere; always with a message."""
    status, detail = _status(exc)
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": detail}, status_code=status)
    return HTMLResponse(f"<!doctype html><title>{status}</title><p>{escape(detail)}</p>", status_code=status)
