"""The probe request reaches a notebook only after its own cells have run.

While the student's cells run, the grader's probe cell holds `PLACEHOLDER`, and the request (the
hidden inputs, the experiment's settings) is in a file out of the notebook's view
(`ExecutionJob.probe_request_path`). When the executor reaches the probe cell it first records the
notebook as it stands (`ExecutionJob.snapshot_path`: the student's cells and their outputs), and only
then puts the request into the cell. The grader shows staff and student the student's cells from
that record (graders.pipeline.executed), never from the notebook written after the probe, so
nothing the notebook's code saw during the probe (its functions are called with the hidden inputs)
can reach a report through a cell's output or error. After the probe the cell holds the placeholder
again.

Who does it:
- cold path: the grader-side nbclient client, in `ColdHandover`'s hooks, so the kernel cannot ask early;
- warm path: the child running the cells asks its zygote over a socket (`ChildChannel`); the zygote
  copies the record out first and then passes a descriptor of the request file (`Handover` in
  graders.execute.zygote). A notebook's code shares that process and could ask early itself, but
  only once, and the record is taken when it asks: what it sees afterwards never reaches a report.
"""

from __future__ import annotations

import inspect
import json
import os
import signal
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from graders.runtime import probe_runtime
from graders.tags import PROBE_TAG

PLACEHOLDER = "# The grader's probe: once your cells have run, it calls your functions on the grader's inputs.\n"
ASK = b"probe"  # the child's one message to its zygote
# Read when this module is imported (in the zygote, before any fork): inside a sandbox the file is not in the view.
_RUNTIME_SOURCE = inspect.getsource(probe_runtime)
MAX_REQUEST_BYTES = 8 << 20  # the grader writes the request; a bound all the same


def is_probe(cell: Any) -> bool:
    return PROBE_TAG in cell.get("metadata", {}).get("tags", [])


def probe_source(request: str) -> str:
    """The probe cell as it runs: the runtime pasted in (it imports nothing of the harness), and the request."""
    return (
        "# Added by the grader after your cells ran: it calls your functions on the grader's inputs.\n"
        f"exec(compile({_RUNTIME_SOURCE!r}, 'a10_grader_probe_runtime', 'exec'),"
        " __a10_grader := {'__name__': 'a10_grader_probe_runtime'})\n"
        f"__a10_grader['publish'](__a10_grader['run_probes'](globals(), __import__('json').loads({request!r})))\n"
        "del __a10_grader\n"
    )


def missing_request_source(reason: str) -> str:
    """The probe cell when no request arrived: it raises, and the grader reads 'no results'."""
    return f"raise RuntimeError({reason!r})\n"


def snapshot(notebook: nbformat.NotebookNode, probe_index: int) -> str:
    """The notebook as it stands before the probe: every cell before it, outputs included."""
    record = nbformat.from_dict(notebook)
    record.cells = record.cells[:probe_index]
    text: str = nbformat.writes(record)
    return text


def read_request(fd: int) -> str:
    """The request from a descriptor the executor handed over; closes it."""
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(MAX_REQUEST_BYTES + 1)
    if len(data) > MAX_REQUEST_BYTES:
        raise ValueError("the probe request is larger than the grader allows")
    return data.decode("utf-8")


# ----------------------------------------------------------------------------- cold path


@dataclass
class ColdHandover:
    """nbclient hooks (grader side) that fill in the probe cell only when the kernel reaches it."""

    notebook: nbformat.NotebookNode
    request_path: str
    snapshot_path: str

    def hooks(self) -> dict[str, Any]:
        return {"on_cell_execute": self.before_probe, "on_cell_complete": self.after_probe}

    def before_probe(self, cell: Any, cell_index: int) -> None:
        if not is_probe(cell):
            return
        Path(self.snapshot_path).write_text(snapshot(self.notebook, cell_index), encoding="utf-8")
        cell.source = probe_source(read_request(os.open(self.request_path, os.O_RDONLY | os.O_CLOEXEC)))

    def after_probe(self, cell: Any, cell_index: int) -> None:
        """Called once the cell's source was sent to the kernel: the saved notebook keeps the placeholder."""
        if is_probe(cell):
            after_probe(self.notebook, cell_index)


def after_probe(notebook: nbformat.NotebookNode, probe_index: int) -> None:
    """Once the probe cell has its source: the placeholder again, and no outputs before it.

    The grader takes the student's cells from the record; the notebook written at the end is read
    for the probe's results alone, so a notebook whose outputs are large stays well within the cap.
    """
    notebook.cells[probe_index].source = PLACEHOLDER
    for cell in notebook.cells[:probe_index]:
        if cell.cell_type == "code":
            cell.outputs = []


# ----------------------------------------------------------------------------- warm path, child side


@dataclass(frozen=True)
class ChildChannel:
    """What a warm child hands back through, all opened by its zygote before the fork.

    Memory files (memfd) rather than files in the work dir: the work dir is the notebook's own
    (a size-limited tmpfs inside its sandbox, gone with it), and these never touch the disk.
    """

    ask: int  # a socket to the zygote: ASK, then one descriptor of the request file comes back
    snapshot: int  # memfd: the notebook before the probe
    progress: int  # memfd: the source of the cell running now
    executed: int  # memfd: the executed notebook, at the end
    outcome: int  # memfd: the outcome, at the end

    def fds(self) -> tuple[int, ...]:
        return (self.ask, self.snapshot, self.progress, self.executed, self.outcome)

    def request_probe(self, notebook: nbformat.NotebookNode, probe_index: int) -> str:
        """Record the notebook, ask for the request, return the probe cell's source to run."""
        _end_other_processes()
        overwrite(self.snapshot, snapshot(notebook, probe_index).encode("utf-8"))
        try:
            conversation = socket.socket(fileno=os.dup(self.ask))
            with conversation:
                conversation.sendall(ASK)
                _, fds, _, _ = socket.recv_fds(conversation, 16, 1)
        except OSError as exc:
            return missing_request_source(f"the grader's inputs did not arrive ({exc.strerror})")
        if not fds:
            return missing_request_source("the grader's inputs did not arrive (they were asked for before)")
        return probe_source(read_request(fds[0]))


def overwrite(fd: int, data: bytes) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)


def _end_other_processes() -> None:
    """As pid 1 of the notebook's PID namespace: no process the cells started sees the request."""
    if os.getpid() != 1:
        return
    try:
        os.kill(-1, signal.SIGKILL)  # from a namespace's init: every other process in it
    except ProcessLookupError:
        return


def write_json(fd: int, data: Any) -> None:
    overwrite(fd, json.dumps(data).encode("utf-8"))
