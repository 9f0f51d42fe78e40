"""The warm path, child side: one process forked from the zygote becomes a fresh 'kernel' for one notebook.

It never returns into the zygote's loop: it confines itself (graders.sandbox), runs the notebook
with the in-process shell engine, leaves the executed notebook and its outcome in the work dir,
and exits. Everything it leaves there is read back as untrusted (see graders.execute.zygote).

What the child sets up, in order, and why:
- its own process group (the zygote kills the whole group when the child ends);
- stdio detached to kernel-output.log: the zygote's stdout is its channel to the grader;
- an explicit environment (`kernel_environment`): nothing of the grader's environment remains,
  and the zygote itself was started with the same explicit environment, so the process's
  original environment block (/proc/self/environ) holds nothing secret either;
- the sandbox, whose report goes to a file opened before entering it and outside its view, so
  student code can neither read nor forge it;
- torch's RNG reset to a fresh process's default seed, Python's and numpy's reseeded from the OS.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback
from dataclasses import replace
from pathlib import Path
from typing import NoReturn

from graders.execute.jobs import ExecutionJob, kernel_environment

OUTCOME_FILE = ".a10-grader-outcome.json"
EXECUTED_FILE = "executed.ipynb"  # in the work dir; the zygote delivers it to job.output_path
HARNESS_FAILED = 70  # EX_SOFTWARE: the child's own machinery failed, not the student's code


def run_child(job: ExecutionJob, fresh_torch_seed: int, inherited_fds: list[int], parent_alive: int | None) -> NoReturn:
    """In the forked child: run one notebook, exit. Never returns.

    `parent_alive`: see graders.sandbox.enter_sandbox; given when the child is pid 1 already.
    """
    status = HARNESS_FAILED
    try:
        from graders.sandbox import die_with_parent

        die_with_parent()
        os.setpgid(0, 0)
        work = Path(job.work_dir)
        work.mkdir(parents=True, exist_ok=True)
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in inherited_fds:
            os.close(fd)
        _detach_stdio(work / "kernel-output.log")
        os.environ.clear()
        os.environ.update(kernel_environment(job.work_dir))
        os.chdir(work)  # the view holds the work dir, not the grader's working directory
        _confine(job, parent_alive)
        _reset_randomness(fresh_torch_seed)
        from graders.execute.cold import run_notebook
        from graders.execute.shell_engine import ENGINE_NAME

        outcome = run_notebook(replace(job, output_path=str(work / EXECUTED_FILE)), engine=ENGINE_NAME)
        (work / OUTCOME_FILE).write_text(json.dumps(replace(outcome, executor="warm").to_json()), encoding="utf-8")
        status = 0
    except BaseException:  # noqa: BLE001 - whatever happens, the child must not return into the zygote's loop
        traceback.print_exc()
    finally:
        sys.stderr.flush()  # os._exit does not flush: the traceback is the only clue for staff
        os._exit(status)


def _confine(job: ExecutionJob, parent_alive: int | None) -> None:
    """Enter the job's sandbox (this may continue in a new child: see graders.sandbox)."""
    if job.sandbox is None:
        return
    from graders.sandbox import enter_sandbox

    # Opened before the sandbox: afterwards the file is out of the view, and this fd is closed
    # before any student code runs.
    with open(job.sandbox_report_path, "w", encoding="utf-8") as report_file:
        report = enter_sandbox(job.sandbox, parent_alive=parent_alive)
        report_file.write(json.dumps(report.to_json()))


def _detach_stdio(log_path: Path) -> None:
    """The zygote's stdout is its channel to the grader: a child must never write there."""
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
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
