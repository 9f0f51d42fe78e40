"""Reading the executed notebook: what it says about the student's cells, and the copy kept in the reports.

The executed notebook was written by a process that ran the student's code, so it is parsed
and validated like a submission (`graders.intake.notebooks.parse_notebook`): anything may be in it.

What the grader reads is two records joined (`read_graded`): the student's cells as they stood
when the probe began (the executor's record, taken before the probe request went in: see
graders.execute.handover), and of the notebook written at the end only the probe cell's results.
So nothing the notebook's code saw during the probe, when its functions get the hidden inputs,
reaches a report or the kept copy through a cell's output or error.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import nbformat

from graders.errors import NotebookError
from graders.execute.jobs import MAX_EXECUTED_BYTES, ExecutionJob, ExecutionOutcome
from graders.execute.output_limits import limit_outputs
from graders.execute.untrusted import NotAFile, TooLarge, read_regular
from graders.intake.notebooks import parse_notebook
from graders.judge.probe_cell import probe_cell
from graders.results import CellError, capped, write_text_atomic
from graders.runtime.probe_runtime import MIME_TYPE
from graders.tags import INJECTED_PARAMETERS_TAG, PROBE_TAG

EXECUTED_NAME = "executed.ipynb"  # REPORTS/<id>/executed.ipynb
MAX_PROSE_CHARS = 100_000  # per markdown or raw cell of the notebook that runs (and is kept)


def trim_prose(notebook: nbformat.NotebookNode) -> None:
    """Cap the cells nothing runs, in place: at most MAX_PROSE_CHARS of each, no attachments.

    Written answers are read from the submission itself; the copy that runs comes back as the
    executed notebook, which must stay under MAX_EXECUTED_BYTES however much a student wrote
    or pasted into markdown (a 20 MB answer would otherwise cost the whole notebook its grade).
    """
    for cell in notebook.cells:
        if cell.cell_type != "code":
            cell.source = capped(cell.source, MAX_PROSE_CHARS)
            cell.pop("attachments", None)


def keep_executed(job: ExecutionJob, target: Path) -> nbformat.NotebookNode | None:
    """Read what the executor delivered for `job` (`read_graded`), trim its outputs, keep it at `target`.

    Never leaves a stale notebook from an earlier run behind.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    executed = read_graded(job)
    if executed is None:
        target.unlink(missing_ok=True)
        return None
    limit_outputs(executed)
    write_text_atomic(target, nbformat.writes(executed))
    return executed


def read_graded(job: ExecutionJob) -> nbformat.NotebookNode | None:
    """The executed notebook as the grader judges it: the student's cells from the record taken when
    the probe began, and the probe cell's results (without whatever else the probe cell printed).

    Without a record the probe request never went in (the executor writes the record first), so
    the notebook written at the end holds nothing the probe brought.
    """
    final = read_executed(Path(job.output_path))
    record = Path(job.snapshot_path)
    if not record.exists():
        return final
    # A record the notebook's process spoiled shows no cells rather than the ones written after the probe.
    before = read_executed(record) or nbformat.v4.new_notebook()
    ran = next((cell for cell in (final.cells if final is not None else []) if PROBE_TAG in cell.get("metadata", {}).get("tags", [])), None)
    probe = probe_cell()
    if ran is not None:
        probe.execution_count = ran.get("execution_count")
        probe.outputs = [_results_only(output) for output in ran.get("outputs", []) if _kept_from_probe(output)]
    before.cells.append(probe)
    return before


def _kept_from_probe(output: nbformat.NotebookNode) -> bool:
    return output.get("output_type") == "error" or MIME_TYPE in output.get("data", {})


def _results_only(output: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A probe error's name only (its message and traceback could quote the hidden inputs); results as they are."""
    kept: nbformat.NotebookNode
    if output.get("output_type") == "error":
        kept = nbformat.v4.new_output("error", ename=str(output.get("ename", ""))[:100], evalue="", traceback=[])
    else:
        kept = nbformat.v4.new_output("display_data", data={MIME_TYPE: output["data"][MIME_TYPE]})
    return kept


def load_executed(path: Path) -> nbformat.NotebookNode:
    """Validated like a submission (the notebook's own code may have written anything there), or a
    NotebookError saying why not: none kept, over MAX_EXECUTED_BYTES, not a notebook, too many objects."""
    return parse_notebook(_text_of(path))


def read_executed(path: Path) -> nbformat.NotebookNode | None:
    try:
        return load_executed(path)
    except NotebookError:
        return None


def _text_of(path: Path) -> str:
    """Capped before anything is parsed, whatever the process that wrote it claims or lifted."""
    try:
        return read_regular(path, MAX_EXECUTED_BYTES).decode("utf-8")
    except FileNotFoundError as exc:
        raise NotebookError("no executed notebook was kept") from exc
    except TooLarge as exc:
        raise NotebookError(f"the executed notebook is over {MAX_EXECUTED_BYTES // 2**20} MiB, more than the grader reads") from exc
    except (NotAFile, OSError, UnicodeDecodeError) as exc:
        raise NotebookError(f"the executed notebook could not be read ({exc})") from exc


@dataclass(frozen=True)
class CellLimits:
    """The limits a cell error may be explained by, in the words the student reads."""

    cell_timeout: float
    disk_bytes: int


def cell_errors(
    executed: nbformat.NotebookNode | None, source: nbformat.NotebookNode, limits: CellLimits, outcome: ExecutionOutcome
) -> tuple[CellError, ...]:
    """The student's cells that raised, timed out, or were running when the kernel died.

    Cell numbers count the student's own cells from 1, skipping the cells the grader added.
    Without an executed notebook (the process died before writing it) the source notebook and
    the executor's note of the running cell stand in.
    """
    found: list[CellError] = []
    for number, cell in _student_cells(executed or source):
        error = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)
        if error is not None:
            found.append(_error_of(number, cell, error, limits))
        elif not outcome.finished and _was_running(cell, outcome):
            found.append(CellError(number, "KernelDied", outcome.message, _excerpt(cell.source)))
    return tuple(found)


def _was_running(cell: nbformat.NotebookNode, outcome: ExecutionOutcome) -> bool:
    if outcome.running_cell is not None:
        return bool(cell.source == outcome.running_cell)
    return cell.get("execution_count") is None and bool(cell.metadata.get("papermill", {}).get("start_time"))


def _student_cells(executed: nbformat.NotebookNode) -> Iterable[tuple[int, nbformat.NotebookNode]]:
    number = 0
    for cell in executed.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if PROBE_TAG in tags or INJECTED_PARAMETERS_TAG in tags:
            continue
        number += 1
        if cell.cell_type == "code":
            yield number, cell


def _error_of(number: int, cell: nbformat.NotebookNode, output: nbformat.NotebookNode, limits: CellLimits) -> CellError:
    ename, evalue = str(output.get("ename", "")), str(output.get("evalue", ""))[:500]
    duration = cell.metadata.get("papermill", {}).get("duration") or 0.0
    if ename == "KeyboardInterrupt" and duration >= 0.9 * limits.cell_timeout:
        ename, evalue = "Timeout", f"the cell ran longer than the {limits.cell_timeout:g} s limit and was interrupted"
    elif "[Errno 28]" in evalue:  # ENOSPC: the work dir, /tmp or /dev/shm is full
        evalue += f" (the grader gives a notebook {limits.disk_bytes // 2**20} MiB in its work folder)"
    return CellError(number, ename, evalue, _excerpt(cell.source))


def _excerpt(source: str, lines: int = 6) -> str:
    kept = source.splitlines()[:lines]
    return "\n".join(kept) + ("\n…" if len(source.splitlines()) > lines else "")
