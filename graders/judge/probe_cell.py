"""The grader's probe cell in a notebook: appended after the student's cells, read back from the executed notebook.

The cell is a placeholder until the executor hands the request over (graders.execute.handover); when it
runs, the probe runtime calls the student's functions and publishes raw encoded values in one output.
"""

from __future__ import annotations

from collections.abc import Mapping

import nbformat

from graders.execute.handover import PLACEHOLDER
from graders.judge.probes import ProbePlan, ProbeResults, decode_results, safe_exception_name
from graders.runtime import probe_runtime
from graders.tags import PROBE_TAG


def probe_cell() -> nbformat.NotebookNode:
    """The cell appended after the student's cells: a placeholder until the executor hands the
    request over (graders.execute.handover); when it runs it leaves no names behind."""
    cell: nbformat.NotebookNode = nbformat.v4.new_code_cell(PLACEHOLDER)
    cell.id = PROBE_TAG
    cell.metadata["tags"] = [PROBE_TAG]
    cell.metadata["jupyter"] = {"source_hidden": True}
    return cell


def read_probe_results(executed: nbformat.NotebookNode, plan: ProbePlan) -> ProbeResults:
    probe = next((c for c in executed.cells if PROBE_TAG in c.get("metadata", {}).get("tags", [])), None)
    if probe is None:
        return ProbeResults({}, missing_reason="the grader's probe cell is missing from the executed notebook")
    for output in probe.get("outputs", []):
        payload = output.get("data", {}).get(probe_runtime.MIME_TYPE)
        if isinstance(payload, Mapping):
            return decode_results(payload, plan)
    # The exception's name only: the cell ran with the hidden inputs, and a message could carry them.
    errors = [safe_exception_name(str(o.get("ename"))) for o in probe.get("outputs", []) if o.get("output_type") == "error"]
    if errors:
        reason = f"the grader could not call your functions (its probe cell raised {errors[0]})"
    elif probe.get("execution_count") is None:
        reason = "the grader's probe cell never ran (the kernel stopped before it)"
    else:
        reason = "the grader's probe cell produced no results (was IPython's display machinery replaced?)"
    return ProbeResults({}, missing_reason=reason)
