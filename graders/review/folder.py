"""The graded reports folder, read for the review app: results, executed notebooks, reports.

Submission ids come from the folder listing, and a request names one only by looking it up
there: an id from a URL is never joined to a path, so `..`, slashes or odd bytes in it can only
be "not found".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import nbformat

from graders.pipeline.batch import read_executed
from graders.results import SubmissionResult


class UnknownSubmission(LookupError):
    """The id names no graded submission in this reports folder."""


@dataclass(frozen=True)
class ReportsFolder:
    root: Path

    def ids(self) -> tuple[str, ...]:
        return tuple(sorted(path.parent.name for path in self.root.glob("*/results.json")))

    def folder_of(self, submission: str) -> Path:
        if submission not in self.ids():
            raise UnknownSubmission(submission)
        return self.root / submission

    def result(self, submission: str) -> SubmissionResult:
        path = self.folder_of(submission) / "results.json"
        try:
            return SubmissionResult.read(path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UnknownSubmission(f"{submission}: results.json is unreadable ({exc})") from exc

    def results(self) -> list[SubmissionResult]:
        """Every readable result; one half-written or foreign results.json does not hide the class."""
        found = []
        for submission in self.ids():
            try:
                found.append(self.result(submission))
            except UnknownSubmission:
                continue
        return found

    def executed(self, submission: str) -> nbformat.NotebookNode | None:
        return read_executed(self.folder_of(submission) / "executed.ipynb")

    def report_html(self, submission: str) -> str | None:
        try:
            return (self.folder_of(submission) / "report.html").read_text(encoding="utf-8")
        except OSError:
            return None


def is_results_folder(path: Path) -> bool:
    """A folder `grader grade --out` wrote (at least one results.json), for the CLI's usage check."""
    return path.is_dir() and any(path.glob("*/results.json"))


def result_json(result: SubmissionResult) -> str:
    return json.dumps(result.to_json(), sort_keys=True)
