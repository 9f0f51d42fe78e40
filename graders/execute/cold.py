"""Execution: run one prepared notebook with papermill in a fresh kernel, and run many in parallel.

`run_notebook` is the one place where papermill, nbclient and jupyter_client failures are
mapped to an `ExecutionOutcome`. A cell that raises is recorded by nbclient in the cell's
outputs and execution continues (`allow_errors`); a cell past the timeout is interrupted
and execution continues; a kernel that dies ends the run with the partial notebook kept.

`Executor` is the seam for "which worker grades which submission": `LocalExecutor` runs
jobs on a local process pool; a distributed executor (Dask) only needs `map`.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import replace
from functools import cache
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from graders.execute.handover import ColdHandover
from graders.execute.jobs import KERNEL_ENV, ExecutionJob, ExecutionOutcome, kernel_environment, reported_sandbox
from graders.tags import write_check_stub

KERNEL_NAME = "a10-grader-python"
SANDBOX_POLICY_SUFFIX = ".sandbox-policy.json"  # beside the executed notebook, out of the notebook's view
MAX_REASON_CHARS = 300  # of jupyter_client's and the launcher's words on a kernel that did not start


# ----------------------------------------------------------------------------- one notebook


def run_notebook(job: ExecutionJob, engine: str | None = None, **engine_options: Any) -> ExecutionOutcome:
    """Execute one prepared notebook; never raises for anything the notebook does.

    `engine` None is papermill's own (nbclient and a fresh Jupyter kernel); the warm path passes
    the in-process shell engine from `graders.execute.shell_engine` and its `channel`. On the cold
    path the grader-side client hands the probe request over (`handover.ColdHandover`).
    """
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.engines import papermill_engines
    from papermill.execute import prepare_notebook_metadata
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    started = time.perf_counter()
    Path(job.work_dir).mkdir(parents=True, exist_ok=True)
    # Every executor (cold kernel, warm child, Dask worker) comes through here: `import check` gets the stub.
    write_check_stub(Path(job.work_dir))
    notebook = load_notebook_node(job.input_path)
    notebook = parameterize_notebook(notebook, job.parameters, kernel_name=KERNEL_NAME, language="python")
    notebook = prepare_notebook_metadata(notebook, job.input_path, job.output_path)
    options = _kernel_options(job, notebook) if engine is None else engine_options
    previous_cwd = os.getcwd()
    os.chdir(job.work_dir)
    try:
        papermill_engines.execute_notebook_with_engine(
            engine,
            notebook,
            input_path=job.input_path,
            output_path=job.output_path,
            kernel_name=KERNEL_NAME,
            progress_bar=False,
            log_output=False,
            start_timeout=job.start_timeout,
            execution_timeout=job.cell_timeout,
            allow_errors=True,
            interrupt_on_timeout=True,
            **options,
        )
        return _cold(job, engine, ExecutionOutcome(job.submission_id, True, seconds=time.perf_counter() - started))
    except DeadKernelError as exc:
        message = "the Python kernel died while running your notebook (a crash, os._exit, or running out of memory)"
        return _unfinished(job, message, exc, started, engine)
    except CellTimeoutError as exc:
        message = f"a cell kept running past the {job.cell_timeout:g} s limit and could not be interrupted"
        return _unfinished(job, message, exc, started, engine)
    except RuntimeError as exc:
        # jupyter_client raises RuntimeError when a kernel does not start or answer in time. Its words and the
        # launcher's (both the harness's own, no cell in them) go to the provenance: why it did not start.
        outcome = _unfinished(job, "the kernel could not be started or did not answer in time", exc, started, engine)
        return replace(outcome, exception=_why_not_started(job, exc))
    finally:
        os.chdir(previous_cwd)


def _unfinished(job: ExecutionJob, message: str, exc: BaseException, started: float, engine: str | None) -> ExecutionOutcome:
    """The exception's type only: nbclient's texts quote the running cell, which may be the probe with its inputs."""
    seconds = time.perf_counter() - started
    return _cold(job, engine, ExecutionOutcome(job.submission_id, False, message, seconds, exception=type(exc).__name__))


def _why_not_started(job: ExecutionJob, exc: RuntimeError) -> str:
    said = str(exc).strip().splitlines()
    why = f"RuntimeError: {said[0][:MAX_REASON_CHARS]}" if said else "RuntimeError"
    try:
        with open(job.sandbox_failure_path, encoding="utf-8") as handle:
            launcher = handle.read(MAX_REASON_CHARS).strip()
    except OSError:  # unconfined, or the launcher never ran
        launcher = ""
    return f"{why}; the sandbox launcher: {launcher}" if launcher else why


def _cold(job: ExecutionJob, engine: str | None, outcome: ExecutionOutcome) -> ExecutionOutcome:
    """A cold kernel's outcome says so and carries its sandbox's report (the warm child's zygote adds its own)."""
    if engine is not None:
        return outcome
    if job.sandbox is not None:
        from graders.sandbox import release_cgroup

        release_cgroup(job.sandbox)  # the kernel is gone: kill anything it left, remove its cgroup
    return replace(outcome, executor="cold", sandbox=reported_sandbox(job))


def _kernel_options(job: ExecutionJob, notebook: Any) -> dict[str, Any]:
    """Write this job's kernelspec; with a sandbox, the kernel starts inside it and is reached over
    Unix sockets (`ipc`), because TCP loopback does not cross a network namespace. The sockets live
    in a dir of their own beside the work dir (`kernel_dir`): the work dir is a tmpfs inside the
    sandbox, which the grader cannot reach."""
    # Every output has arrived once the last cell is done: a graceful shutdown would only wait for the kernel
    # to run its exit handlers and tear torch down (over 2.5 s after a notebook, jupyter_client's patience,
    # then SIGTERM), time each cold notebook spent doing nothing. Its sandbox's cgroup is released after.
    options: dict[str, Any] = {"shutdown_kernel": "immediate"}
    if job.probe_request_path is not None:
        options.update(ColdHandover(notebook, job.probe_request_path, job.snapshot_path).hooks())
    kernel = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    if job.sandbox is None:
        _write_kernelspec(kernel, KERNEL_ENV)  # unconfined: the caller's environment too, as in Jupyter
        return options
    sockets = kernel_dir(job)
    sockets.mkdir(exist_ok=True)
    policy_file = Path(job.output_path + SANDBOX_POLICY_SUFFIX)
    policy = replace(job.sandbox, writable_dirs=(*job.sandbox.writable_dirs, str(sockets)))
    policy_file.write_text(json.dumps(policy.to_json()), encoding="utf-8")
    environment = kernel_environment(job.work_dir)
    launcher = [sys.executable, "-m", "graders.sandbox.launch", str(policy_file), "--report", job.sandbox_report_path]
    launcher += ["--failure", job.sandbox_failure_path]
    # jupyter_client adds its own environment to the spec's: the launcher keeps only the spec's.
    launcher += ["--keep-env", ",".join(environment), "--"]
    _write_kernelspec(launcher + kernel, environment)
    from traitlets.config import Config

    connection = str(sockets / "kernel-connection.json")
    return {**options, "config": Config({"KernelManager": {"transport": "ipc", "connection_file": connection}})}


def kernel_dir(job: ExecutionJob) -> Path:
    """The cold kernel's sockets and connection file: host-backed and writable by the kernel."""
    return Path(job.work_dir + ".kernel")


@cache
def _kernelspec_root() -> Path:
    """This process's own spec folder, first on its JUPYTER_PATH. Its own, not one named in an inherited
    environment variable: a child process (a pool worker, `grader` run by a script) would otherwise rewrite
    its parent's kernel.json while the parent starts a kernel from it."""
    root = tempfile.mkdtemp(prefix="a10-grader-kernelspec-")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [root, os.environ.get("JUPYTER_PATH")]))
    return Path(root)


def _write_kernelspec(argv: list[str], env: dict[str, str]) -> None:
    """Pin kernels to this interpreter with a private kernelspec, rewritten for every job.

    A user's own `python3` kernelspec may point at another Python without torch; JUPYTER_PATH
    comes first in Jupyter's search path, so this spec wins wherever the grader runs. Each
    worker process has its own spec folder and runs one job at a time.
    """
    spec_dir = _kernelspec_root() / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {"argv": argv, "display_name": "Python (a10 grader)", "language": "python", "env": env}
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")


# ----------------------------------------------------------------------------- many notebooks


class LocalExecutor:
    """Cold path: a pool of worker processes on this machine, each starting a fresh Jupyter kernel per job."""

    name = "cold"

    def __init__(self, jobs: int) -> None:
        self.jobs = max(1, jobs)

    def map(self, jobs: Iterable[ExecutionJob]) -> Iterator[ExecutionOutcome]:
        pending = list(jobs)
        if not pending:
            return
        # spawn: workers must not inherit the grader's torch threads or open files.
        with ProcessPoolExecutor(
            max_workers=min(self.jobs, len(pending)), mp_context=get_context("spawn"), initializer=quiet_worker
        ) as pool:
            futures: dict[Future[ExecutionOutcome], ExecutionJob] = {pool.submit(run_notebook, job): job for job in pending}
            for future in as_completed(futures):
                yield _outcome_of(future, futures[future])


def quiet_worker() -> None:
    """Kernels inherit the worker's stderr; their start-up chatter is not for the terminal.

    Everything a student needs (cell errors, tracebacks) is in the executed notebook.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    logging.getLogger("papermill").setLevel(logging.ERROR)


def _outcome_of(future: Future[ExecutionOutcome], job: ExecutionJob) -> ExecutionOutcome:
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - a lost worker is one submission's outcome, not the batch's
        message = "the grader's worker process failed while running this notebook; it was not graded"
        return ExecutionOutcome(job.submission_id, False, message, executor="cold", exception=f"{type(exc).__name__}: {exc}")
