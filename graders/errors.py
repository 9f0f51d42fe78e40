"""The harness's own failures. A broken *student notebook* is not one of these: it is a graded
outcome. These exceptions are for problems the person running the grader must fix, or for
faults of the harness itself.

    GraderError                  base class; `grader` exits non-zero with its message
    ├── UsageError               bad command-line input: missing folder, bad option value
    ├── NotebookError            one submission could not be read (mapped to a graded
    │                            outcome with status "error" in graders.pipeline.batch)
    └── HarnessError             the grader itself failed (reference, templates, workers)

Lower-level exceptions (json, nbformat, nbclient, OSError) are mapped to these in one place
each — `graders.intake.notebooks.load_notebook` and `graders.execute.cold.run_notebook` — with
`raise … from exc`, so the original cause stays visible.
"""

from __future__ import annotations


class GraderError(Exception):
    """Base of every error the harness raises on purpose."""


class UsageError(GraderError):
    """The grader was called with input it cannot work with."""


class NotebookError(GraderError):
    """A submission file is not a notebook the grader can run; the message is for the student."""


class HarnessError(GraderError):
    """The grader's own machinery failed; not the student's fault."""
