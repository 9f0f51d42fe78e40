"""The gradebook: every grading run, staff overrides and manual marks, in REPORTS/gradebook.sqlite.

`graders.gradebook.store` is the API (its docstring lists it; every caller imports from it);
behind it `records` (the values), `connection` (opening, transactions), `runs` and `adjustments`
(the SQL), `history`; `schema` holds the tables and migrations; `questions` the written questions
marked by hand; `exports/` the LMS layouts. Layering: above judge and intake, below report and pipeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from graders.gradebook.store import Run
    from graders.results import SubmissionResult
    from graders.settings import Provenance


def record_run(out_dir: Path, results: Sequence[SubmissionResult], provenance: Provenance, *, kind: str = "grade") -> Run:
    """Add a run to REPORTS/gradebook.sqlite (created on first use); `provenance` says what graded it."""
    # Imported here: the package's light modules (lock) must not pull in the judge and torch.
    from graders.gradebook.store import Gradebook

    with Gradebook.open(out_dir, create=True) as book:
        return book.record_run(results, info=provenance, kind=kind)
