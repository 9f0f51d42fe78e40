"""The bench's rows for `grader serve`: the same commands as the cold-started rows, through a server started once.

The server is started before the first command and its start is not counted (an instructor starts it once a
day); each command starts once the server says a warm zygote waits (as a late notebook or a student's check
finds it: the server warms the next zygote after each command) and is confirmed to have been served (the
server prints a line per command it ran), so a silent fall-back to the local path cannot pass for the
server's time. The trained-run cache is emptied before
each corpus's command, as for the cold-started rows. Besides the corpora, the two numbers issue 26 sets targets
for: one changed notebook regraded into a graded folder, and `grader check` of one notebook; both keep the
trained runs the earlier commands left, as a late notebook or a student's second check finds them.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat

START_SECONDS = 600  # imports, the public expected values and a warm zygote, on a busy machine


@dataclass(frozen=True)
class Served:
    """Wall seconds through a warm server."""

    per_n: dict[int, float]  # grading each corpus into a new reports folder
    changed_regrade: float  # one notebook of the largest corpus changed, regraded into its graded folder
    check: float  # `grader check` of one notebook, checked once before


class _Server:
    def __init__(self, grader: Path, environment: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [str(grader), "serve", "--idle", str(START_SECONDS)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=environment,
        )
        self.expect("warm at")

    def expect(self, text: str) -> None:
        """Read the server's lines up to one that says `text`; fail if it ends first."""
        for line in self.process.stdout or ():
            if text in line:
                return
        raise SystemExit(f"grader serve ended before saying {text!r}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=120)


def served_rows(
    grader: Path, environment: dict[str, str], work: Path, folders: dict[int, Path], grade: Callable[[Path, str], list[str]], data_dir: Path
) -> Served:
    """`grade(corpus, out)` is the cold-started rows' command line, `environment` theirs (their HOME)."""
    runtime = work / "runtime"
    runtime.mkdir(mode=0o700)
    environment = {**environment, "XDG_RUNTIME_DIR": str(runtime)}
    runs = Path(environment["HOME"]) / ".cache" / "a10-grader" / "runs"
    server = _Server(grader, environment)
    try:

        def timed(command: list[str], *, ok: tuple[int, ...] = (0,), fresh: bool = True) -> float:
            if fresh:
                shutil.rmtree(runs, ignore_errors=True)
            server.expect("ready: a warm zygote waits")
            started = time.perf_counter()
            done = subprocess.run(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
            seconds = time.perf_counter() - started
            if done.returncode not in ok:
                raise SystemExit(f"{command[:3]} exited {done.returncode} through the server:\n{done.stderr[-2000:]}")
            server.expect(f"exited {done.returncode}")  # it was served, not run here
            return seconds

        per_n = {size: timed(grade(folder, f"served-{size}")) for size, folder in folders.items()}
        largest = max(folders)
        changed = work / "served-changed-notebooks"
        shutil.copytree(folders[largest], changed)
        timed(grade(changed, "served-changed"))  # graded once, not counted
        first = min(changed.glob("*.ipynb"))
        notebook = nbformat.read(str(first), as_version=4)
        notebook.cells.append(nbformat.v4.new_markdown_cell("Changed after the first grading."))
        nbformat.write(notebook, str(first))
        regrade = timed(grade(changed, "served-changed"), fresh=False)
        # 0: every check passes; 1: some fails (the corpus has wrong notebooks too): both are a check done.
        check = [str(grader), "check", str(first), "--data-dir", str(data_dir)]
        timed(check, ok=(0, 1))  # the student's first check, not counted
        checked = timed(check, ok=(0, 1), fresh=False)
        return Served(per_n, regrade, checked)
    finally:
        server.stop()
