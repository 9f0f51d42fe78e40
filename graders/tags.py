"""The marks the harness puts on notebooks and finds in them: cell tags, the kit's output type, the
`check` stub. Shared by the executors, the pipeline and the kit builder; imports nothing of the harness."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# Tags the cell the grader appends to every notebook: it calls the student's functions and
# publishes raw values. Cells carrying it in a submission are dropped before grading.
PROBE_TAG = "a10-grader-probe"
# papermill's tag for the cell whose values the grader replaces, and the one it inserts after it.
PARAMETERS_TAG = "parameters"
INJECTED_PARAMETERS_TAG = "injected-parameters"
# Cells tagged so in a kit's template run check(); the grader blanks them (what they define is lost).
KIT_CELL_TAG = "a10-kit-check"
# A notebook's metadata may name the assignment it is for: metadata.grader.assignment.
METADATA_KEY = "grader"
MAX_ASSIGNMENT_ID = 100
# check() in a notebook leaves an output of this type: the saved notebook carries the kit's hash.
KIT_MIME = "application/vnd.a10-kit+json"
# `check` while a notebook is graded (check.py in its work dir, written by graders/execute/cold.py) and while
# the kit runs a notebook's cells: a kit import anywhere in a notebook cannot break its grading.
CHECK_MODULE = "check"
CHECK_STUB = '''"""The student kit's check() while a notebook is graded: it does nothing here; the grader checks after the last cell."""


def check(*args, **kwargs):
    return None
'''


def write_check_stub(folder: Path) -> None:
    """The stub as check.py in a notebook's work dir, where its kernel imports modules from."""
    (folder / f"{CHECK_MODULE}.py").write_text(CHECK_STUB, encoding="utf-8")


def named_assignment(notebook: Mapping[str, Any]) -> str | None:
    """The assignment id a notebook's metadata names (`metadata.grader.assignment`), if any.

    Written by the student's side: only a short string is taken, and it only ever refuses a notebook."""
    metadata = notebook.get("metadata")
    grader = metadata.get(METADATA_KEY) if isinstance(metadata, Mapping) else None
    named = grader.get("assignment") if isinstance(grader, Mapping) else None
    return named[:MAX_ASSIGNMENT_ID] if isinstance(named, str) else None


def recorded_kit(notebook: Mapping[str, Any]) -> str:
    """The hash of the kit last run in a saved notebook (check() leaves an output saying so), or "".

    Written by the student's side, so only informative: shown to staff, never decisive; a malformed one is ignored.
    """
    found = ""
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            record = output.get("data", {}).get(KIT_MIME) if isinstance(output, Mapping) else None
            if isinstance(record, Mapping) and isinstance(record.get("kit"), str) and re.fullmatch(r"[0-9a-f]{12}", record["kit"]):
                found = record["kit"]
    return found
