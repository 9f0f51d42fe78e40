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
- PYTHONHASHSEED fixed in the zygote's environment (the cold path sets the same value);
- the warm-up is run under `warnings.catch_warnings` with "always", which leaves Python's
  warning registries untouched, so no student loses a warning the warm-up already saw;
- nbformat's schema validators compiled, and the IPython shell built (each child moves it to its
  own work dir): ~70 ms that every child would otherwise pay again;
- `gc.freeze()` so that the children's garbage collector does not dirty the shared pages.
In each child: torch's RNG is reset to a fresh process's default seed, Python's and numpy's
are reseeded from the OS, as a new kernel would be.
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
import traceback
import warnings
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from graders.execute.jobs import MAX_EXECUTED_BYTES, PROGRESS_FILE, RUNNING_CELL, ExecutionJob, ExecutionOutcome
from graders.execute.untrusted import read_regular_file

OUTCOME_FILE = ".a10-grader-outcome.json"
EXECUTED_FILE = "executed.ipynb"  # in the work dir; the zygote delivers it to job.output_path
HARNESS_FAILED = 70  # EX_SOFTWARE: the child's own machinery failed, not the student's code


# ----------------------------------------------------------------------------- zygote side


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
                job = ExecutionJob(**json.loads(line))
                pid, pid1 = _fork(job)
                if pid == 0:
                    parent_alive = alive_read if pid1 else None
                    inherited = [fd for fd in (wake_read, wake_write, alive_read, alive_write) if fd != parent_alive]
                    _run_child(job, fresh_torch_seed, inherited, parent_alive)
                children[pid] = Child(job, time.monotonic())
        _reap(children)
        _enforce_deadlines(children)


def _fork(job: ExecutionJob) -> tuple[int, bool]:
    """Fork a child for the job; True if it is pid 1 of its own PID namespace already."""
    if job.sandbox is not None and job.sandbox.get("isolate_pids", True):
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
            outcome = ExecutionOutcome(
                child.job.submission_id, False, message, details={"executor": "warm", "exception": f"{type(exc).__name__}: {exc}"}
            )
        _send(asdict(outcome))


def _outcome_of(child: Child, status: int) -> ExecutionOutcome:
    """From the child's exit status and what it left in its work dir (written by code that also
    ran the student's cells, so read as untrusted data: see graders.execute.untrusted)."""
    job, seconds = child.job, time.monotonic() - child.started
    _deliver_notebook(job)
    recorded = _recorded_outcome(job)
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and recorded is not None:
        return replace(recorded, seconds=seconds)
    if child.killed_for_time:
        message = f"the notebook ran longer than the {job.notebook_timeout:g} s limit for a whole notebook and was stopped"
    elif os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        message = f"the Python process running your notebook was killed by {name} (a crash, or running out of memory)"
    elif os.WEXITSTATUS(status) == HARNESS_FAILED:
        message = "the grader failed while running this notebook; it was not graded (see kernel-output.log in its work folder)"
    else:
        message = f"the Python process running your notebook exited early (exit status {os.WEXITSTATUS(status)}: os._exit?)"
    return ExecutionOutcome(job.submission_id, False, message, seconds, {"executor": "warm", **_running_cell(job)})


def _deliver_notebook(job: ExecutionJob) -> None:
    """Copy the executed notebook out of the work dir to where the grader reads it."""
    data = read_regular_file(Path(job.work_dir) / EXECUTED_FILE, MAX_EXECUTED_BYTES)
    target = Path(job.output_path)
    if data is None:
        target.unlink(missing_ok=True)
    else:
        target.write_bytes(data)


def _recorded_outcome(job: ExecutionJob) -> ExecutionOutcome | None:
    """The outcome the child wrote after the last cell, if well-formed and about this job."""
    raw = read_regular_file(Path(job.work_dir) / OUTCOME_FILE, 1 << 20)
    if raw is None:
        return None
    try:
        outcome = ExecutionOutcome(**json.loads(raw))
    except (TypeError, ValueError):
        return None
    well_formed = (
        isinstance(outcome.finished, bool)
        and isinstance(outcome.message, str)
        and isinstance(outcome.details, dict)
        and outcome.lost is False
    )
    return outcome if well_formed and outcome.submission_id == job.submission_id else None


def _running_cell(job: ExecutionJob) -> dict[str, Any]:
    """The source of the cell that was running when the child died (see shell_engine.PROGRESS_FILE)."""
    raw = read_regular_file(Path(job.work_dir) / PROGRESS_FILE, 1 << 20)
    try:
        source = json.loads(raw)["source"]  # type: ignore[arg-type]
    except (TypeError, ValueError, KeyError):
        return {}
    return {RUNNING_CELL: source} if isinstance(source, str) else {}


def _enforce_deadlines(children: dict[int, Child]) -> None:
    now = time.monotonic()
    for pid, child in children.items():
        if not child.killed_for_time and now - child.started > child.job.notebook_timeout:
            child.killed_for_time = True
            _kill_group(pid)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _run_child(job: ExecutionJob, fresh_torch_seed: int, inherited_fds: list[int], parent_alive: int | None) -> None:
    """In the forked child: become a fresh 'kernel' for one notebook, run it, exit. Never returns.

    `parent_alive`: see graders.sandbox.enter_sandbox; given when the child is pid 1 already.
    """
    status = HARNESS_FAILED
    try:
        from graders.sandbox import die_with_parent

        die_with_parent()
        os.setpgid(0, 0)
        Path(job.work_dir).mkdir(parents=True, exist_ok=True)
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in inherited_fds:
            os.close(fd)
        _detach_stdio(Path(job.work_dir) / "kernel-output.log")
        # IPython and matplotlib look for a writable home; inside the sandbox only the work dir is.
        os.environ.update(HOME=job.work_dir, IPYTHONDIR=job.work_dir, MPLCONFIGDIR=job.work_dir)
        confinement = _confine(job, parent_alive)
        _reset_randomness(fresh_torch_seed)
        from graders.execute.cold import run_notebook
        from graders.execute.shell_engine import ENGINE_NAME

        outcome = run_notebook(replace(job, output_path=str(Path(job.work_dir) / EXECUTED_FILE)), engine=ENGINE_NAME)
        outcome = ExecutionOutcome(**{**asdict(outcome), "details": {**outcome.details, "executor": "warm", "sandbox": confinement}})
        (Path(job.work_dir) / OUTCOME_FILE).write_text(json.dumps(asdict(outcome)), encoding="utf-8")
        status = 0
    except BaseException:  # noqa: BLE001 - whatever happens, the child must not return into the zygote's loop
        traceback.print_exc()
    finally:
        sys.stderr.flush()  # os._exit does not flush: the traceback is the only clue for staff
        os._exit(status)


def _confine(job: ExecutionJob, parent_alive: int | None) -> dict[str, Any]:
    """Enter the job's sandbox (this may continue in a new child: see graders.sandbox)."""
    if job.sandbox is None:
        return {"warnings": ["NOT sandboxed: the grader was run with --no-sandbox"]}
    from graders.sandbox import SandboxPolicy, enter_sandbox

    return enter_sandbox(SandboxPolicy.from_json(job.sandbox), parent_alive=parent_alive).to_json()


def _release(job: ExecutionJob) -> None:
    if job.sandbox is not None:
        from graders.sandbox import SandboxPolicy, release_cgroup

        release_cgroup(SandboxPolicy.from_json(job.sandbox))


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


if __name__ == "__main__":
    serve()
