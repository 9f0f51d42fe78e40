"""Files of a graded reports folder that the gradebook does not hold: executed notebooks, reports.

Callers pass only ids the gradebook knows (the app checks first): an id from a URL is never
joined to a path unchecked, so `..`, slashes or odd bytes in it can only be "not found".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat

from graders.pipeline.executed import load_executed


@dataclass(frozen=True)
class ReportsFolder:
    root: Path

    def executed(self, submission: str) -> nbformat.NotebookNode:
        """Validated like a submission (the student's code wrote it); NotebookError says why there is none to show."""
        return load_executed(self.root / submission / "executed.ipynb")

    def report_html(self, submission: str) -> str | None:
        try:
            return (self.root / submission / "report.html").read_text(encoding="utf-8")
        except OSError:
            return None
