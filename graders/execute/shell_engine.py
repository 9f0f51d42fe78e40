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

import contextlib
import io
import platform
import sys
import warnings
from pathlib import Path
from typing import Any

import nbformat
from IPython.core.displayhook import DisplayHook
from IPython.core.displaypub import DisplayPublisher
from IPython.core.interactiveshell import InteractiveShell
from IPython.core.shellapp import InteractiveShellApp
from papermill.engines import Engine, papermill_engines
from traitlets import Type
from traitlets.config import Config

from graders.execute.handover import ChildChannel, after_probe, is_probe, write_json
from graders.execute.output_limits import (
    MAX_DISPLAY_BYTES,
    MAX_OUTPUTS_PER_CELL,
    MAX_STREAM_CHARS,
    display_size,
    kept_whatever_the_count,
    oversized_display,
    truncation_marker,
    within_output_count,
)
from graders.runtime.probe_runtime import TimeLimit

ENGINE_NAME = "a10-inprocess-shell"


class OutputRecorder:
    """The outputs of the cell being run; the shell's hooks append here, within output_limits."""

    def __init__(self) -> None:
        self.start_cell()

    def start_cell(self) -> None:
        self.outputs: list[nbformat.NotebookNode] = []
        self.chars: dict[str, int] = {}
        self.dropped: dict[str, int] = {}
        self.clear()

    def clear(self) -> None:
        self.outputs.clear()
        self.dropped_outputs = 0
        self.latest_stream: str | None = None  # the latest output, kept or not, is this stream's
        self.latest_dropped = False

    def add(self, output: nbformat.NotebookNode, stream: str | None = None) -> None:
        """Past the per-cell count an output is only counted, so a display loop holds no more. Which cell is the
        probe's is not known here: its results are kept in any cell (the grader's own limit knows)."""
        self.latest_stream = stream
        self.latest_dropped = len(self.outputs) >= MAX_OUTPUTS_PER_CELL and not kept_whatever_the_count(output, probe_cell=True)
        if self.latest_dropped:
            self.dropped_outputs += 1
        else:
            self.outputs.append(output)

    def stream(self, name: str, text: str) -> None:
        room = MAX_STREAM_CHARS - self.chars.get(name, 0)
        if len(text) > room:
            self.dropped[name] = self.dropped.get(name, 0) + len(text) - max(room, 0)
            text = text[: max(room, 0)]
        self.chars[name] = self.chars.get(name, 0) + len(text)
        if self.latest_stream == name:  # writes to one stream in a row are one output, as in a kernel
            if not self.latest_dropped:
                self.outputs[-1].text += text
        elif text:
            self.add(nbformat.v4.new_output("stream", name=name, text=text), stream=name)

    def display(self, output_type: str, data: dict[str, Any], metadata: dict[str, Any], **fields: Any) -> None:
        if display_size(data) > MAX_DISPLAY_BYTES:
            data, metadata = oversized_display(display_size(data)), {}
        self.add(nbformat.v4.new_output(output_type, data=data, metadata=metadata, **fields))

    def finish_cell(self) -> list[nbformat.NotebookNode]:
        markers = [nbformat.v4.new_output("stream", name=name, text=truncation_marker(n)) for name, n in self.dropped.items()]
        return within_output_count(self.outputs + markers, probe_cell=True, dropped=self.dropped_outputs)


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
        RECORDER.display("execute_result", format_dict, md_dict or {}, execution_count=self.shell.execution_count if self.shell else None)

    def finish_displayhook(self) -> None:
        pass


class RecordingDisplayPublisher(DisplayPublisher):
    def publish(self, data: dict[str, Any], metadata: dict[str, Any] | None = None, source: Any = None, **kwargs: Any) -> None:
        RECORDER.display("display_data", data, metadata or {})

    def clear_output(self, wait: bool = False) -> None:
        RECORDER.clear()


class RecordingShell(InteractiveShell):
    displayhook_class = Type(RecordingDisplayHook)
    display_pub_class = Type(RecordingDisplayPublisher)

    def enable_gui(self, gui: str | None = None) -> None:
        """No GUI event loop: figures are shown inline, as PNG display outputs."""

    def _showtraceback(self, etype: type, evalue: BaseException, stb: list[str]) -> None:
        RECORDER.add(nbformat.v4.new_output("error", ename=etype.__name__, evalue=str(evalue), traceback=list(stb)))


def build_shell(ipython_dir: str) -> RecordingShell:
    """Build this process's shell; the zygote does it once, before forking (it costs ~40 ms)."""
    # No history database: it would be one more file and a thread per submission.
    config = Config({"HistoryManager": {"enabled": False}, "InteractiveShell": {"colors": "NoColor"}})
    shell = RecordingShell.instance(config=config, ipython_dir=ipython_dir)
    shell.enable_matplotlib("inline")
    return shell


def shell_in(work_dir: Path) -> RecordingShell:
    """This process's shell, with its IPython dir and home in `work_dir`, as a kernel started there."""
    # '' on sys.path where a kernel puts it: modules in the work dir (the kit's check stub) import as in Jupyter.
    InteractiveShellApp().init_path()
    if not RecordingShell.initialized():
        return build_shell(str(work_dir))
    shell = RecordingShell.instance()
    if shell.ipython_dir != str(work_dir):
        shell.ipython_dir = str(work_dir)
        shell.init_profile_dir(None)
    shell.home_dir = str(work_dir)
    return shell


class InProcessShellEngine(Engine):
    """Runs every code cell in this process; errors are recorded and execution continues."""

    @classmethod
    def execute_managed_notebook(
        cls, nb_man: Any, kernel_name: str, execution_timeout: float | None = None, *, channel: ChildChannel, **kwargs: Any
    ) -> None:
        # papermill rewrites the whole notebook at every cell start and end; here that was a third
        # of the run. It is written once at the end, and a one-line marker says which cell runs.
        output_path, nb_man.output_path = nb_man.output_path, None
        shell = shell_in(Path.cwd())  # run_notebook starts every notebook in its work dir
        # The notebook's warning filters (`warnings.simplefilter("error")` is common) last from its cell to
        # the next, as in a kernel, and end with its cells: papermill saves the notebook under ours.
        with warnings.catch_warnings():
            for index, cell in enumerate(nb_man.nb.cells):
                nb_man.cell_start(cell, index)
                if cell.cell_type == "code":
                    write_json(channel.progress, {"source": cell.source})
                    probe = is_probe(cell)
                    if probe:
                        cell.source = channel.request_probe(nb_man.nb, index)
                    cell.outputs = run_cell(shell, cell.source, execution_timeout)
                    cell.execution_count = shell.execution_count - 1
                    if probe:
                        after_probe(nb_man.nb, index)
                nb_man.cell_complete(cell, index)
        nb_man.nb.metadata["language_info"] = {"name": "python", "version": platform.python_version()}
        nb_man.output_path = output_path  # papermill's notebook_complete() saves it, once


def run_cell(shell: RecordingShell, source: str, timeout: float | None) -> list[nbformat.NotebookNode]:
    """Run one cell; a cell past `timeout` gets a KeyboardInterrupt, like a kernel interrupt.

    The timeout counts the time the cell ran or slept, not time it waited for a CPU (TimeLimit).
    """
    RECORDER.start_cell()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = RecordingStream("stdout"), RecordingStream("stderr")
    try:
        with TimeLimit(timeout, KeyboardInterrupt) if timeout else contextlib.nullcontext():
            shell.run_cell(source, store_history=True)
    finally:
        sys.stdout, sys.stderr = saved
    return RECORDER.finish_cell()


papermill_engines.register(ENGINE_NAME, InProcessShellEngine)
