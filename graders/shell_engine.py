"""A papermill engine that runs cells in an in-process IPython shell instead of a Jupyter kernel.

Used by the warm path (`graders/zygote.py`): each submission runs in a process forked from a
warm zygote, and that process *is* the kernel. Registering it with papermill's engine registry
keeps parameters, the output notebook and its metadata papermill's own.

Outputs are recorded as nbformat outputs shaped like a Jupyter kernel's (stream, display_data,
execute_result, error), so the executed notebook reads the same. Known differences from a
Jupyter kernel: `input()` raises EOFError (a kernel raises StdinNotImplementedError), widgets
have no frontend, and `!command` output goes to the process's own stdout, not the notebook.
"""

from __future__ import annotations

import io
import json
import platform
import signal
import sys
from pathlib import Path
from typing import Any

import nbformat
from IPython.core.displayhook import DisplayHook
from IPython.core.displaypub import DisplayPublisher
from IPython.core.interactiveshell import InteractiveShell
from papermill.engines import Engine, papermill_engines
from traitlets import Type
from traitlets.config import Config

from graders.execution import PROGRESS_FILE

ENGINE_NAME = "a10-inprocess-shell"


class OutputRecorder:
    """The outputs of the cell being run; the shell's hooks append here."""

    def __init__(self) -> None:
        self.outputs: list[nbformat.NotebookNode] = []

    def stream(self, name: str, text: str) -> None:
        last = self.outputs[-1] if self.outputs else None
        if last is not None and last.output_type == "stream" and last.name == name:
            last.text += text
        else:
            self.outputs.append(nbformat.v4.new_output("stream", name=name, text=text))


RECORDER = OutputRecorder()


class RecordingStream(io.TextIOBase):
    """Stands in for sys.stdout / sys.stderr while a cell runs."""

    def __init__(self, name: str) -> None:
        self.name = name

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        RECORDER.stream(self.name, str(text))
        return len(text)


class RecordingDisplayHook(DisplayHook):
    """The value of a cell's last expression becomes an execute_result, as in a kernel."""

    def write_output_prompt(self) -> None:
        pass

    def write_format_data(self, format_dict: dict[str, Any], md_dict: dict[str, Any] | None = None) -> None:
        RECORDER.outputs.append(
            nbformat.v4.new_output(
                "execute_result", data=format_dict, metadata=md_dict or {}, execution_count=self.shell.execution_count
            )
        )

    def finish_displayhook(self) -> None:
        pass


class RecordingDisplayPublisher(DisplayPublisher):
    def publish(self, data: dict[str, Any], metadata: dict[str, Any] | None = None, source: Any = None, **kwargs: Any) -> None:
        RECORDER.outputs.append(nbformat.v4.new_output("display_data", data=data, metadata=metadata or {}))

    def clear_output(self, wait: bool = False) -> None:
        RECORDER.outputs.clear()


class RecordingShell(InteractiveShell):
    displayhook_class = Type(RecordingDisplayHook)
    display_pub_class = Type(RecordingDisplayPublisher)

    def enable_gui(self, gui: str | None = None) -> None:
        """No GUI event loop: figures are shown inline, as PNG display outputs."""

    def _showtraceback(self, etype: type, evalue: BaseException, stb: list[str]) -> None:
        RECORDER.outputs.append(
            nbformat.v4.new_output("error", ename=etype.__name__, evalue=str(evalue), traceback=list(stb))
        )


def new_shell() -> RecordingShell:
    # No history database: it would be one more file and a thread per submission.
    config = Config({"HistoryManager": {"enabled": False}, "InteractiveShell": {"colors": "NoColor"}})
    shell = RecordingShell.instance(config=config)
    shell.enable_matplotlib("inline")
    return shell


class InProcessShellEngine(Engine):
    """Runs every code cell in this process; errors are recorded and execution continues."""

    @classmethod
    def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, execution_timeout: float | None = None, **kwargs: Any) -> None:
        # papermill rewrites the whole notebook at every cell start and end; here that was a third
        # of the run. It is written once at the end, and a one-line marker says which cell runs.
        output_path, nb_man.output_path = nb_man.output_path, None
        shell = new_shell()
        for index, cell in enumerate(nb_man.nb.cells):
            nb_man.cell_start(cell, index)
            if cell.cell_type == "code":
                Path(PROGRESS_FILE).write_text(json.dumps({"source": cell.source}), encoding="utf-8")
                cell.outputs = run_cell(shell, cell.source, execution_timeout)
                cell.execution_count = shell.execution_count - 1
            nb_man.cell_complete(cell, index)
        nb_man.nb.metadata["language_info"] = {"name": "python", "version": platform.python_version()}
        nb_man.output_path = output_path
        nb_man.save()


def run_cell(shell: RecordingShell, source: str, timeout: float | None) -> list[nbformat.NotebookNode]:
    """Run one cell; a cell past `timeout` gets a KeyboardInterrupt, like a kernel interrupt."""
    RECORDER.outputs = []
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = RecordingStream("stdout"), RecordingStream("stderr")
    previous = signal.signal(signal.SIGALRM, _interrupt)
    if timeout:
        signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        shell.run_cell(source, store_history=True)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        sys.stdout, sys.stderr = saved
    return RECORDER.outputs


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


papermill_engines.register(ENGINE_NAME, InProcessShellEngine)
