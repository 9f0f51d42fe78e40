"""The warm path, child side: one process forked from the zygote becomes a fresh 'kernel' for one notebook.

It never returns into the zygote's loop: it confines itself (graders.sandbox), runs the notebook
with the in-process shell engine, hands the executed notebook and its outcome back through the
memory files of its `ChildChannel`, and exits. Everything it hands back is read as untrusted (see
graders.execute.zygote).

What the child sets up, in order, and why:
- nothing of other jobs: every descriptor but its own channel's is closed (the zygote's copies of
  its neighbours' channels would be readable), and the zygote forgot its other jobs before the fork;
- its own process group (the zygote kills the whole group when the child ends);
- stdio detached to /dev/null: the zygote's stdout is its channel to the grader;
- an explicit environment (`kernel_environment`): nothing of the grader's environment remains,
  and the zygote itself was started with the same explicit environment, so the process's
  original environment block (/proc/self/environ) holds nothing secret either;
- the sandbox, whose report goes to a file opened before entering it and outside its view, so
  student code can neither read nor forge it;
- torch's RNG reset to a fresh process's default seed, Python's and numpy's reseeded from the OS.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import traceback
from dataclasses import replace
from pathlib import Path
from typing import NoReturn

from graders.execute.cold import run_notebook
from graders.execute.handover import ChildChannel, write_json
from graders.execute.jobs import ExecutionJob, kernel_environment
from graders.execute.shell_engine import ENGINE_NAME
from graders.sandbox import die_with_parent, enter_sandbox
from graders.sandbox.libc import LAST_STDIO_FD

HARNESS_FAILED = 70  # EX_SOFTWARE: the child's own machinery failed, not the student's code
HARNESS_TRACEBACK = "harness_traceback"  # what the outcome file holds instead, then


def run_child(job: ExecutionJob, fresh_torch_seed: int, channel: ChildChannel, parent_alive: int | None) -> NoReturn:
    """In the forked child: run one notebook, exit. Never returns.

    `parent_alive`: see graders.sandbox.enter_sandbox; given when the child is pid 1 already.
    Everything it runs is imported already (at the top of this module, in the zygote): inside the
    sandbox the harness's files are not in the view.
    """
    status = HARNESS_FAILED
    try:
        _close_all_but((*channel.fds(), *([parent_alive] if parent_alive is not None else [])))
        die_with_parent()
        os.setpgid(0, 0)
        work = Path(job.work_dir)
        work.mkdir(parents=True, exist_ok=True)
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        _detach_stdio()
        os.environ.clear()
        os.environ.update(kernel_environment(job.work_dir))
        os.chdir(work)  # the view holds the work dir, not the grader's working directory
        _confine(job, parent_alive)
        _reset_randomness(fresh_torch_seed)
        # papermill writes the executed notebook by path: this one is the channel's memory file.
        outcome = run_notebook(replace(job, output_path=f"/proc/self/fd/{channel.executed}"), engine=ENGINE_NAME, channel=channel)
        write_json(channel.outcome, replace(outcome, executor="warm").to_json())
        status = 0
    except BaseException:  # noqa: BLE001 - whatever happens, the child must not return into the zygote's loop
        # For staff (the zygote prints it, capped, with the exit status that says the harness failed).
        with contextlib.suppress(OSError):
            write_json(channel.outcome, {HARNESS_TRACEBACK: traceback.format_exc()[-4000:]})
    finally:
        os._exit(status)


def _confine(job: ExecutionJob, parent_alive: int | None) -> None:
    """Enter the job's sandbox (this may continue in a new child: see graders.sandbox)."""
    if job.sandbox is None:
        return
    # Opened before the sandbox: afterwards the file is out of the view, and this fd is closed
    # before any student code runs.
    with open(job.sandbox_report_path, "w", encoding="utf-8") as report_file:
        report = enter_sandbox(job.sandbox, parent_alive=parent_alive)
        report_file.write(json.dumps(report.to_json()))


def _close_all_but(keep: tuple[int, ...]) -> None:
    """Every descriptor the zygote held (its pipes, its other children's channels) but stdio and `keep`."""
    for fd in sorted(int(name) for name in os.listdir("/proc/self/fd")):
        if fd > LAST_STDIO_FD and fd not in keep:
            with contextlib.suppress(OSError):  # the descriptor os.listdir used, closed by now
                os.close(fd)


def _detach_stdio() -> None:
    """The zygote's stdout is its channel to the grader: a child must never write there.

    What the notebook's process prints outside a cell (a crash in C, a subprocess) goes nowhere:
    the grader never reads it, and a file would be one more thing to bound.
    """
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 - must stay open for the process's lifetime
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115


def _reset_randomness(fresh_torch_seed: int) -> None:
    import random

    import numpy as np
    import torch

    torch.manual_seed(fresh_torch_seed)
    random.seed()
    np.random.seed()
