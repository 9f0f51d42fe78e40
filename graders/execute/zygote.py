"""The warm path: a zygote process that pays for `import torch` once and forks one child per submission.

    grader process ──JSON lines──▶ zygote (torch, torchvision, IPython imported and warmed up)
                                     ├─ fork ─▶ child: runs one notebook in an in-process shell
                                     ├─ fork ─▶ child: …           (at most `jobs` at once)
    grader process ◀──outcomes─────  reaps each child, kills its process group, reports

Each child is a fresh copy of the zygote: whatever a submission does to globals, torch,
the working directory or threads dies with its child. Over 90% of a cold kernel's time is
start-up (kernel launch, `import torch`, first use of torch ops); the zygote does that once.

What is set up before the fork, and why:
- one thread per process (OMP/MKL/OpenBLAS = 1 before numpy/torch load): no thread may exist
  at fork, and two 2-thread children on 2 cores run several times slower;
- the zygote's whole environment is `kernel_environment` (PYTHONHASHSEED, threads, locale…; the
  cold kernel gets the same): nothing of the grader's environment is in any child's memory;
- the warm-up is run under `warnings.catch_warnings` with "always", which leaves Python's
  warning registries untouched, so no student loses a warning the warm-up already saw;
- nbformat's schema validators compiled, and the IPython shell built (each child moves it to its
  own work dir): ~70 ms that every child would otherwise pay again;
- `gc.freeze()` so that the children's garbage collector does not dirty the shared pages.
What each child does is in graders.execute.child.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import select
import signal
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from graders.execute.child import EXECUTED_FILE, HARNESS_FAILED, OUTCOME_FILE, run_child
from graders.execute.jobs import (
    MAX_EXECUTED_BYTES,
    MAX_SMALL_JSON_BYTES,
    PROGRESS_FILE,
    ExecutionJob,
    ExecutionOutcome,
    reported_sandbox,
)
from graders.execute.untrusted import read_json, read_regular_file


@dataclass
class Child:
    job: ExecutionJob
    started: float
    killed_for_time: bool = False


def warm_up() -> list[str]:
    """Exercise what every Assignment 10 notebook uses; returns any warnings it raised."""
    import io

    import matplotlib.pyplot as plt
    import torch
    import torch.nn.functional as F
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset
    from torchvision.utils import make_grid

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _compile_notebook_validators()
        model = nn.Sequential(nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 784), nn.Sigmoid())
        optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
        for (x,) in DataLoader(TensorDataset(torch.rand(8, 784)), batch_size=4):
            mu, logvar = torch.zeros(4, 2), torch.zeros(4, 2)
            z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
            kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
            loss = F.binary_cross_entropy(model(x), x, reduction="sum") + kl + z.sum() * 0
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        torch.sqrt(torch.prod(torch.rand(3)))
        figure = plt.figure()
        plt.imshow(make_grid(torch.rand(4, 1, 28, 28)).permute(1, 2, 0).numpy())
        figure.savefig(io.BytesIO(), format="png")
        plt.close(figure)
    return [str(w.message) for w in caught]


def _compile_notebook_validators() -> None:
    """nbformat compiles its JSON schema on first use (~25 ms); papermill reads and writes every notebook."""
    import nbformat.v4
    from nbformat.validator import get_validator

    for version, minor in nbformat.v4.nbformat_schema:
        if version is not None:
            get_validator(version, minor)


def serve() -> None:
    import numpy  # noqa: F401 - imported for the children
    import torch

    from graders import sandbox  # noqa: F401 - imported for the children
    from graders.assignment import probe_runtime  # noqa: F401
    from graders.execute import cold, shell_engine  # noqa: F401

    logging.getLogger("papermill").setLevel(logging.ERROR)
    sandbox.die_with_parent()
    sandbox.reap_descendants()
    sandbox.remove_stale_cgroups()
    fresh_torch_seed = torch.initial_seed()
    warned = warm_up()
    if warned:
        print(f"a10-grader zygote: warm-up raised warnings {warned}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="a10-zygote-ipython-") as ipython_dir:
        shell_engine.build_shell(ipython_dir)  # each child moves it to its own work dir first
    gc.freeze()
    _serve_jobs(fresh_torch_seed)


def _serve_jobs(fresh_torch_seed: int) -> None:
    """Fork a child for every job line on stdin; report each outcome on stdout; until stdin closes."""
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    alive_read, alive_write = os.pipe()  # only the zygote keeps the write end: EOF = the zygote is gone
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    _send({"threads": len(os.listdir("/proc/self/task"))})
    children: dict[int, Child] = {}
    buffer, reading = b"", True
    while reading or children:
        ready, _, _ = select.select([0, wake_read] if reading else [wake_read], [], [], 0.5)
        if wake_read in ready:
            os.read(wake_read, 4096)
        if 0 in ready:
            chunk = os.read(0, 1 << 16)
            reading = bool(chunk)
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                job = ExecutionJob.from_json(json.loads(line))
                pid, pid1 = _fork(job)
                if pid == 0:
                    parent_alive = alive_read if pid1 else None
                    inherited = [fd for fd in (wake_read, wake_write, alive_read, alive_write) if fd != parent_alive]
                    run_child(job, fresh_torch_seed, inherited, parent_alive)
                children[pid] = Child(job, time.monotonic())
        _reap(children)
        _enforce_deadlines(children)


def _fork(job: ExecutionJob) -> tuple[int, bool]:
    """Fork a child for the job; True if it is pid 1 of its own PID namespace already."""
    if job.sandbox is not None and job.sandbox.isolate_pids:
        from graders.sandbox import fork_into_new_pid_namespace

        pid = fork_into_new_pid_namespace()  # spares the sandbox a second fork of this big process
        if pid is not None:
            return pid, True
    return os.fork(), False


def _send(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def _reap(children: dict[int, Child]) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        child = children.pop(pid, None)
        if child is None:
            continue
        _kill_group(pid)
        _release(child.job)
        try:
            outcome = _outcome_of(child, status)
        except Exception as exc:  # noqa: BLE001 - what one notebook left behind must never stop the batch
            message = "the grader could not read how the process running your notebook ended; it was not graded"
            outcome = ExecutionOutcome(child.job.submission_id, False, message, executor="warm", exception=f"{type(exc).__name__}: {exc}")
        _send(outcome.to_json())


def _outcome_of(child: Child, status: int) -> ExecutionOutcome:
    """From the child's exit status and what it left in its work dir (written by code that also
    ran the student's cells, so read as untrusted data: see graders.execute.untrusted)."""
    job, seconds = child.job, time.monotonic() - child.started
    _deliver_notebook(job)
    recorded = _recorded_outcome(job)
    sandbox = reported_sandbox(job)
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and recorded is not None:
        return replace(recorded, seconds=seconds, executor="warm", sandbox=sandbox)
    if child.killed_for_time:
        message = f"the notebook ran longer than the {job.notebook_timeout:g} s limit for a whole notebook and was stopped"
    elif os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        message = f"the Python process running your notebook was killed by {name} (a crash, or running out of memory)"
    elif os.WEXITSTATUS(status) == HARNESS_FAILED:
        message = "the grader failed while running this notebook; it was not graded (see kernel-output.log in its work folder)"
    else:
        message = f"the Python process running your notebook exited early (exit status {os.WEXITSTATUS(status)}: os._exit?)"
    return ExecutionOutcome(job.submission_id, False, message, seconds, "warm", sandbox, running_cell=_running_cell(job))


def _deliver_notebook(job: ExecutionJob) -> None:
    """Copy the executed notebook out of the work dir to where the grader reads it."""
    data = read_regular_file(Path(job.work_dir) / EXECUTED_FILE, MAX_EXECUTED_BYTES)
    target = Path(job.output_path)
    if data is None:
        target.unlink(missing_ok=True)
    else:
        target.write_bytes(data)


def _recorded_outcome(job: ExecutionJob) -> ExecutionOutcome | None:
    """The outcome the child wrote after the last cell, if well-formed and about this job.

    Only `finished`, `message` and the cells' verdicts depend on it, and all three are the
    notebook's own to spoil; the sandbox report comes from elsewhere (see child._confine).
    """
    try:
        outcome = ExecutionOutcome.from_json(read_json(Path(job.work_dir) / OUTCOME_FILE, MAX_SMALL_JSON_BYTES))
    except ValueError:
        return None
    return outcome if outcome.submission_id == job.submission_id else None


def _running_cell(job: ExecutionJob) -> str | None:
    """The source of the cell that was running when the child died (see shell_engine.PROGRESS_FILE)."""
    marker = read_json(Path(job.work_dir) / PROGRESS_FILE, MAX_SMALL_JSON_BYTES)
    source = marker.get("source") if isinstance(marker, dict) else None
    return source if isinstance(source, str) else None


def _enforce_deadlines(children: dict[int, Child]) -> None:
    now = time.monotonic()
    for pid, child in children.items():
        if not child.killed_for_time and now - child.started > child.job.notebook_timeout:
            child.killed_for_time = True
            _kill_group(pid)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _release(job: ExecutionJob) -> None:
    if job.sandbox is not None:
        from graders.sandbox import release_cgroup

        release_cgroup(job.sandbox)


if __name__ == "__main__":
    serve()
