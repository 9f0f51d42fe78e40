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

import collections
import contextlib
import gc
import json
import logging
import os
import select
import signal
import socket
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from graders.execute.child import HARNESS_FAILED, HARNESS_TRACEBACK, run_child
from graders.execute.handover import ASK, ChildChannel
from graders.execute.jobs import MAX_EXECUTED_BYTES, MAX_SMALL_JSON_BYTES, ExecutionJob, ExecutionOutcome, reported_sandbox
from graders.execute.untrusted import copy_capped, parse_json, read_memory_file


@dataclass
class Child:
    job: ExecutionJob
    started: float
    channel: ChildChannel  # the zygote's copies; `ask` is the zygote's end of the socket
    killed_for_time: bool = False
    asked: bool = False  # the probe request was asked for (once per child, whatever came of it)


def warm_up() -> list[str]:
    """Exercise the kernels every notebook uses (autograd, BCE, exp, randn, matmul, Adam, a figure)
    so each child finds them initialised; returns any warnings it raised.

    Every child can read this code in its memory, so it spells out no answer: no loss, no sampler,
    no closed form, only the operations they are built from.
    """
    import io

    import matplotlib.pyplot as plt
    import torch
    import torch.nn.functional as F
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset
    from torchvision.utils import make_grid

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compile_notebook_validators()
        model = nn.Sequential(nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 784), nn.Sigmoid())
        optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
        for (x,) in DataLoader(TensorDataset(torch.rand(8, 784)), batch_size=4):
            noise = torch.randn_like(x).exp().sqrt().pow(2).prod(dim=1).sum()
            total = F.binary_cross_entropy(model(x), x) + (x @ x.T).mean() + 0 * noise
            optimiser.zero_grad()
            total.backward()
            optimiser.step()
        figure = plt.figure()
        plt.imshow(make_grid(torch.rand(4, 1, 28, 28)).permute(1, 2, 0).numpy())
        figure.savefig(io.BytesIO(), format="png")
        plt.close(figure)
    return [str(w.message) for w in caught]


def compile_notebook_validators() -> None:
    """nbformat compiles its JSON schema on first use, per format version (~25 ms each): papermill reads and writes
    every notebook in a child, and the warm server's workers parse every submission (graders.pipeline.server)."""
    import nbformat.v4
    from nbformat.validator import get_validator

    for version, minor in nbformat.v4.nbformat_schema:
        if version is not None:
            get_validator(version, minor)


def serve() -> None:
    import numpy  # noqa: F401 - imported for the children
    import torch

    from graders import sandbox
    from graders.execute import cold, shell_engine  # noqa: F401
    from graders.runtime import probe_runtime  # noqa: F401

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
    Server(fresh_torch_seed).serve()


class Server:
    """The zygote's loop. Everything it knows of jobs lives in this object's fields, never in the
    loop's locals, so that a forked child can forget its neighbours (`forget_others`) before it
    runs anything: no other submission's id or work dir is reachable from its frames or objects."""

    def __init__(self, fresh_torch_seed: int) -> None:
        self.fresh_torch_seed = fresh_torch_seed
        self.children: dict[int, Child] = {}
        self.unread = b""  # job lines read but not complete yet
        self.queue: collections.deque[ExecutionJob] = collections.deque()
        self.wake_read, self.wake_write = os.pipe()
        os.set_blocking(self.wake_write, False)
        self.alive_read, self.alive_write = os.pipe()  # only the zygote keeps the write end: EOF = the zygote is gone

    def serve(self) -> None:
        signal.set_wakeup_fd(self.wake_write)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        _send({"threads": len(os.listdir("/proc/self/task"))})
        reading = True
        while reading or self.children:
            asking = {child.channel.ask: pid for pid, child in self.children.items() if not child.asked}
            ready, _, _ = select.select([self.wake_read, *asking, *([0] if reading else [])], [], [], 0.5)
            if self.wake_read in ready:
                os.read(self.wake_read, 4096)
            for fd in ready:
                if fd in asking:
                    _hand_over(self.children[asking[fd]])
            if 0 in ready:
                reading = self._read_jobs()
            while self.queue:
                self._start(self.queue.popleft())
            _reap(self.children)
            _enforce_deadlines(self.children)

    def _read_jobs(self) -> bool:
        """Queue the complete job lines on stdin; False once it is closed."""
        chunk = os.read(0, 1 << 16)
        lines = (self.unread + chunk).split(b"\n")
        self.unread = lines.pop()
        self.queue.extend(ExecutionJob.from_json(json.loads(line)) for line in lines)
        return bool(chunk)

    def _start(self, job: ExecutionJob) -> None:
        channel, child_end = _open_channel(job.submission_id)
        pid, pid1 = _fork(job)
        if pid == 0:
            self.forget_others()
            os.close(channel.ask)
            run_child(job, self.fresh_torch_seed, replace(channel, ask=child_end), self.alive_read if pid1 else None)
        os.close(child_end)
        os.set_blocking(channel.ask, False)
        self.children[pid] = Child(job, time.monotonic(), channel)

    def forget_others(self) -> None:
        """In a new child: drop every record of other jobs (their descriptors are closed by the child)."""
        self.children.clear()
        self.queue.clear()
        self.unread = b""
        gc.collect()


def _open_channel(name: str) -> tuple[ChildChannel, int]:
    """A child's channel (the zygote's side) and the child's end of the socket."""
    zygote_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    memfds = [os.memfd_create(f"a10-{purpose}", os.MFD_CLOEXEC) for purpose in ("snapshot", "progress", "executed", "outcome")]
    channel = ChildChannel(zygote_end.detach(), *memfds)
    return channel, child_end.detach()


def _hand_over(child: Child) -> None:
    """The child asks for its probe request (once): record its notebook, then pass the request's descriptor.

    The record is copied out of the child's memory file before the request leaves, so nothing the
    notebook's code sees afterwards can be in it. A second ask finds the socket closed.
    """
    child.asked = True
    job = child.job
    conversation = socket.socket(fileno=child.channel.ask)
    try:
        if conversation.recv(len(ASK)) != ASK or job.probe_request_path is None:
            return
        if not copy_capped(child.channel.snapshot, Path(job.snapshot_path), MAX_EXECUTED_BYTES):
            return  # no record, no request: the probe cell reports that the inputs did not arrive
        request = os.open(job.probe_request_path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            socket.send_fds(conversation, [b"1"], [request])
        finally:
            os.close(request)
    except OSError:
        return
    finally:
        conversation.close()


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
        finally:
            _close_channel(child)
        _send(outcome.to_json())


def _outcome_of(child: Child, status: int) -> ExecutionOutcome:
    """From the child's exit status and what it handed back (written by code that also ran the
    student's cells, so read as untrusted data, capped: see graders.execute.untrusted).

    Of the outcome the child wrote only `finished` is taken: its text could carry what the
    notebook's functions saw during the probe, so every message here is the zygote's own.
    """
    job, seconds = child.job, time.monotonic() - child.started
    copy_capped(child.channel.executed, Path(job.output_path), MAX_EXECUTED_BYTES)
    recorded = parse_json(read_memory_file(child.channel.outcome, MAX_SMALL_JSON_BYTES))
    sandbox = reported_sandbox(job)
    exited = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    if exited == 0 and isinstance(recorded, dict) and isinstance(recorded.get("finished"), bool):
        finished = recorded["finished"]
        message = "" if finished else "the notebook's process reported that it did not run to the end"
        return ExecutionOutcome(job.submission_id, finished, message, seconds, "warm", sandbox)
    if child.killed_for_time:
        message = f"the notebook ran longer than the {job.notebook_timeout:g} s limit for a whole notebook and was stopped"
    elif os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        message = f"the Python process running your notebook was killed by {name} (a crash, or running out of memory)"
    elif exited == HARNESS_FAILED:
        message = "the grader failed while running this notebook; it was not graded (the grader's output says why)"
        if isinstance(recorded, dict) and isinstance(recorded.get(HARNESS_TRACEBACK), str):
            print(f"a10-grader zygote: the child for {job.submission_id} failed:\n{recorded[HARNESS_TRACEBACK][-4000:]}", file=sys.stderr)
    else:
        message = f"the Python process running your notebook exited early (exit status {exited}: os._exit?)"
    return ExecutionOutcome(job.submission_id, False, message, seconds, "warm", sandbox, running_cell=_running_cell(child))


def _running_cell(child: Child) -> str | None:
    """The source of the cell that was running when the child died (the shell engine writes it)."""
    marker = parse_json(read_memory_file(child.channel.progress, MAX_SMALL_JSON_BYTES))
    source = marker.get("source") if isinstance(marker, dict) else None
    return source if isinstance(source, str) else None


def _close_channel(child: Child) -> None:
    for fd in child.channel.fds()[1:] if child.asked else child.channel.fds():  # a handover closed the socket
        with contextlib.suppress(OSError):
            os.close(fd)


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
    # Every child is reaped and every outcome flushed: skip Python's teardown of torch (0.5 s on a slow VM), which
    # the grader waits for when it closes the zygote.
    sys.stderr.flush()
    os._exit(0)
