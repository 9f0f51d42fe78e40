"""Grading on a Dask cluster: `DaskExecutor` (grader side) and `ZygotePlugin` (worker side).

    grader process ──NotebookTask (bytes)──▶ Dask scheduler ──▶ worker ─ZygotePlugin─▶ warm.Zygote ─fork─▶ child
    grader process ◀──NotebookDone (bytes)── Dask scheduler ◀── worker  (sandbox, limits: as on the local path)

Workers share no filesystem with the grader: a task carries the prepared notebook's bytes (the
student's cells and the probe cell, which holds the probe plan), the grading settings and the
grader's sandbox policy; the grading data travels once to each worker (`DataPlugin`, a worker
plugin: not a task dependency, which would make the scheduler send every notebook to the worker
holding the data). The executed notebook and the typed outcome come back; the grader
stays the only writer of the reports, and the reference never leaves it (comparison and scoring
stay in graders.judge, in the grader process).

Each worker has one warm zygote, the local path's own `warm.Zygote`, started by the worker plugin
when the grader registers it and stopped with the worker; a worker killed mid-notebook takes its
zygote and notebook with it (the zygote dies with its parent), and the scheduler reruns the task
elsewhere, at most `distributed.scheduler.allowed-failures` times (the scheduler's setting).

This module imports `distributed`: only `grader grade --scheduler` imports it.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import logging
import os
import re
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any

from distributed import Client, WorkerPlugin, as_completed, get_worker
from distributed import Future as DaskFuture
from distributed.scheduler import KilledWorker

from graders.errors import HarnessError, UsageError
from graders.execute.jobs import MAX_EXECUTED_BYTES, ExecutionJob, ExecutionOutcome
from graders.execute.untrusted import read_regular_file, remove_tree
from graders.execute.warm import Zygote
from graders.sandbox import SandboxPolicy

PLUGIN_NAME = "a10-grader-zygote"
DATA_PLUGIN = "a10-grader-data"  # + the data's fingerprint
MAX_DATA_FILES = 10_000  # files shipped from a data root: a bound, far above any assignment's data
CONNECT_TIMEOUT = 30.0  # seconds to reach the scheduler
TASK_RETRIES = 2  # reruns of a task that raised (a harness fault on one worker); worker deaths: allowed-failures
TASKS_PER_THREAD = 2  # out at once per worker thread: the next notebook is already there when one ends

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GradingData:
    """The grading data: every regular file under the data root, by relative path; shipped, never regenerated,
    as `--data-dir` may name any data (the assignment decides what its notebooks read of it)."""

    fingerprint: str  # of the bytes: a worker writes each version once
    files: dict[str, bytes]

    @classmethod
    def read(cls, data_dir: Path) -> GradingData:
        paths = sorted(path for path in data_dir.rglob("*") if path.is_file() and not path.is_symlink())
        if len(paths) > MAX_DATA_FILES:
            raise HarnessError(f"the grading data {data_dir} holds more than {MAX_DATA_FILES} files")
        files = {path.relative_to(data_dir).as_posix(): path.read_bytes() for path in paths}
        digest = hashlib.sha256()
        for name, content in files.items():
            digest.update(name.encode() + b"\0" + hashlib.sha256(content).digest())
        return cls(digest.hexdigest()[:16], files)


@dataclass(frozen=True)
class NotebookTask:
    """One prepared notebook, self-contained: nothing in it names a file the worker must already have."""

    submission_id: str
    notebook: bytes  # the student's cells + the grader's probe cell (a placeholder)
    probe_request: str | None  # handed over only when the probe cell is reached (graders.execute.handover)
    data: str  # the fingerprint of the GradingData the worker has from its DataPlugin
    prepared_data_dir: str  # the data dir the probe request was written for, replaced by the worker's own
    parameters: dict[str, Any]
    cell_timeout: float
    notebook_timeout: float
    start_timeout: float
    sandbox: SandboxPolicy | None  # the grader's limits; its directories are re-made on the worker

    @classmethod
    def of(cls, job: ExecutionJob, data: str) -> NotebookTask:
        return cls(
            submission_id=job.submission_id,
            notebook=Path(job.input_path).read_bytes(),
            probe_request=None if job.probe_request_path is None else Path(job.probe_request_path).read_text(encoding="utf-8"),
            data=data,
            prepared_data_dir=job.data_dir,
            parameters=job.parameters,
            cell_timeout=job.cell_timeout,
            notebook_timeout=job.notebook_timeout,
            start_timeout=job.start_timeout,
            sandbox=job.sandbox,
        )


@dataclass(frozen=True)
class NotebookDone:
    outcome: ExecutionOutcome  # as the worker's zygote reported it (strictly parsed there)
    executed: bytes | None  # the executed notebook, None if the notebook's process left none
    before_probe: bytes | None  # the zygote's record of the notebook when the probe began (ExecutionJob.snapshot_path)


# ----------------------------------------------------------------------------- grader side


class DaskExecutor:
    """Runs jobs on an existing Dask cluster (`grader grade --scheduler ADDRESS`); a context manager.

    `start()` connects and sets the workers up (the CLI calls it before anything is written, so an
    unreachable scheduler is a usage error); `map` starts it if nobody did. At most
    `TASKS_PER_THREAD` tasks per worker thread are out at once, so jobs are still prepared lazily and
    a class of thousands does not sit in the scheduler's memory. `fingerprint`, run on every worker,
    must give the grader's own value: a worker with other grader code would grade differently.
    """

    name = "dask"

    def __init__(self, address: str, *, fingerprint: Callable[[], str] | None = None, connect_timeout: float = CONNECT_TIMEOUT) -> None:
        self.address = address
        self.fingerprint = fingerprint
        self.connect_timeout = connect_timeout
        self._client: Client | None = None

    def __enter__(self) -> DaskExecutor:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.close()

    def start(self) -> None:
        if self._client is not None:
            return
        try:
            client = Client(self.address, timeout=self.connect_timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise UsageError(f"cannot reach the Dask scheduler at {self.address}: {exc}") from exc
        try:
            self._check_workers(client)
            client.register_plugin(ZygotePlugin(), name=PLUGIN_NAME)
        except BaseException:
            client.close()
            raise
        self._client = client

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def _check_workers(self, client: Client) -> None:
        if self.fingerprint is None:
            return
        own = self.fingerprint()
        other = {worker: value for worker, value in client.run(self.fingerprint).items() if value != own}
        if other:
            listed = ", ".join(f"{worker} ({value})" for worker, value in sorted(other.items()))
            raise UsageError(f"these Dask workers run other grader code than this grader ({own}); install the same version: {listed}")

    def map(self, jobs: Iterable[ExecutionJob]) -> Iterator[ExecutionOutcome]:
        self.start()
        client = self._client
        if client is None:
            raise HarnessError("the Dask executor maps jobs only between start() and close()")
        pending = iter(jobs)
        out: dict[DaskFuture[NotebookDone], ExecutionJob] = {}
        shipped: dict[str, str] = {}  # data dir -> the fingerprint of the data the workers have
        completed = as_completed(loop=client.loop)
        try:
            self._submit(client, pending, out, shipped, completed)
            for future in completed:
                job = out.pop(future)
                outcome = _collect(future, job)
                self._submit(client, pending, out, shipped, completed)  # keep the workers busy while the grader assesses
                yield outcome
        finally:
            # Ctrl-C or an error in the grader: nothing of this batch may keep the cluster busy.
            client.cancel(list(out))

    def _submit(
        self,
        client: Client,
        pending: Iterator[ExecutionJob],
        out: dict[DaskFuture[NotebookDone], ExecutionJob],
        shipped: dict[str, str],
        completed: as_completed,
    ) -> None:
        """Pull jobs until every worker thread has `TASKS_PER_THREAD` (counted each time: workers of a
        Slurm or Kubernetes cluster join and leave during a batch)."""
        slots = TASKS_PER_THREAD * max(1, sum(client.nthreads().values()))
        for job in itertools.islice(pending, max(0, slots - len(out))):
            data_dir = job.data_dir
            if not data_dir:  # Path("") is the current directory: never ship that as grading data
                raise HarnessError(f"the job for {job.submission_id} names no grading data root to ship")
            if data_dir not in shipped:
                data = GradingData.read(Path(data_dir))
                # Idempotent by name: workers that have this version keep it; workers that join later get it.
                client.register_plugin(DataPlugin(data), name=f"{DATA_PLUGIN}-{data.fingerprint}")
                shipped[data_dir] = data.fingerprint
            future = client.submit(
                run_task,
                NotebookTask.of(job, shipped[data_dir]),
                key=f"notebook-{_key_safe(job.submission_id)}-{uuid.uuid4().hex[:8]}",
                pure=False,
                retries=TASK_RETRIES,
            )
            out[future] = job
            completed.add(future)


def _collect(future: DaskFuture[NotebookDone], job: ExecutionJob) -> ExecutionOutcome:
    """The task's outcome, its executed notebook delivered to `job.output_path` as the local path does."""
    try:
        done: NotebookDone = future.result()
    except KilledWorker as exc:
        message = (
            f"every Dask worker that ran it died while running it ({exc.allowed_failures + 1} workers); "
            "it was not graded and will be tried again the next time the grader runs"
        )
        return ExecutionOutcome(job.submission_id, False, message, executor="dask", exception=f"KilledWorker: {exc}", lost=True)
    except Exception as exc:  # noqa: BLE001 - a cluster fault is this submission's error, never the batch's end
        message = f"the Dask cluster could not run it ({type(exc).__name__}); it will be tried again the next time the grader runs"
        return ExecutionOutcome(job.submission_id, False, message, executor="dask", exception=f"{type(exc).__name__}: {exc}", lost=True)
    _deliver(Path(job.output_path), done.executed)
    _deliver(Path(job.snapshot_path), done.before_probe)
    return replace(done.outcome, submission_id=job.submission_id)


def _deliver(target: Path, data: bytes | None) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if data is None:
        target.unlink(missing_ok=True)
    else:
        target.write_bytes(data)


def _key_safe(text: str) -> str:
    """A submission id as it may appear in a Dask task key (shown on the dashboard)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)[:60]


# ----------------------------------------------------------------------------- worker side


def run_task(task: NotebookTask) -> NotebookDone:
    """The Dask task: run one notebook in this worker's warm zygote, on this worker's copy of the data."""
    worker = get_worker()
    plugin, data = worker.plugins.get(PLUGIN_NAME), worker.plugins.get(f"{DATA_PLUGIN}-{task.data}")
    if not isinstance(plugin, ZygotePlugin) or not isinstance(data, DataPlugin):
        raise HarnessError(f"the grader's worker plugins are not set up on {worker.address}")
    return plugin.run(task, data.root, worker.address)


class DataPlugin(WorkerPlugin):
    """The grading data on a worker: a world-readable dir (the sandbox's uid reads it), removed with the worker.

    Both plugins keep their dirs in the worker's own local directory: a worker killed before its
    teardown leaves them there, and Dask purges a dead worker's directory when the next one starts.
    """

    idempotent = True

    def __init__(self, data: GradingData) -> None:
        self.data = data

    def setup(self, worker: Any) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="a10-grader-data-", dir=worker.local_directory))
        for name, content in self.data.files.items():
            target = self.root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
            target.chmod(0o644)
        for folder in (self.root, *(path for path in self.root.rglob("*") if path.is_dir())):
            folder.chmod(0o755)

    def teardown(self, worker: Any) -> None:
        remove_tree(self.root)


class ZygotePlugin(WorkerPlugin):
    """One warm zygote per worker, shared by the worker's task threads, and the worker's scratch dir.

    Registered by the grader (`idempotent`: a second grading run keeps the warm zygote). Set up on
    the worker's event-loop thread, which lives as long as the worker: the zygote, which dies with
    the thread that started it (PR_SET_PDEATHSIG), dies with the worker.
    """

    idempotent = True

    def setup(self, worker: Any) -> None:
        self.scratch = Path(tempfile.mkdtemp(prefix="a10-grader-worker-", dir=worker.local_directory))
        self.zygote = SharedZygote(on_lost=lambda: worker.loop.add_callback(worker.close, nanny=False, reason="a10-grader-zygote-lost"))
        self._tokens = itertools.count()

    def teardown(self, worker: Any) -> None:
        self.zygote.close()
        remove_tree(self.scratch)

    def run(self, task: NotebookTask, data_dir: Path, worker_address: str) -> NotebookDone:
        token = f"{next(self._tokens):06d}"  # unique on this worker, even across graders sharing the cluster
        work_dir = self.scratch / token
        work_dir.mkdir()
        executed_dir = self.scratch / "executed"  # out of the notebook's reach, unlike its work dir
        executed_dir.mkdir(exist_ok=True)
        input_path = work_dir / "submission.ipynb"
        input_path.write_bytes(task.notebook)
        request_path = None
        if task.probe_request is not None:
            request_path = executed_dir / f"{token}.request.json"
            request_path.write_text(_with_data_dir(task.probe_request, task.prepared_data_dir, str(data_dir)), encoding="utf-8")
        job = ExecutionJob(
            submission_id=token,
            input_path=str(input_path),
            output_path=str(executed_dir / f"{token}.ipynb"),
            work_dir=str(work_dir),
            parameters=_with_local_data(task.parameters, task.prepared_data_dir, data_dir),
            cell_timeout=task.cell_timeout,
            notebook_timeout=task.notebook_timeout,
            start_timeout=task.start_timeout,
            sandbox=self._policy(task.sandbox, work_dir, data_dir, token),
            probe_request_path=None if request_path is None else str(request_path),
            data_dir=str(data_dir),
        )
        try:
            outcome = self.zygote.run(job)
            executed = read_regular_file(Path(job.output_path), MAX_EXECUTED_BYTES)
            before_probe = read_regular_file(Path(job.snapshot_path), MAX_EXECUTED_BYTES)
        finally:
            remove_tree(work_dir)
            for leftover in (job.output_path, job.sandbox_report_path, job.snapshot_path, request_path):
                if leftover is not None:
                    Path(leftover).unlink(missing_ok=True)
        outcome = replace(outcome, submission_id=task.submission_id, executor=f"warm, Dask worker {worker_address}")
        return NotebookDone(outcome, executed, before_probe)

    def _policy(self, grader_policy: SandboxPolicy | None, work_dir: Path, data_dir: Path, token: str) -> SandboxPolicy | None:
        """The grader's limits, with this worker's dirs: its own work dir and data, its scratch and
        its copy of the reference hidden, and whatever the grader hid that exists here too (a worker
        on the grader's own machine must not see the submissions or the reports)."""
        if grader_policy is None:
            return None
        hidden = [path for path in grader_policy.hidden_dirs if os.path.isdir(path)]
        hidden += [str(self.scratch)]
        return replace(
            grader_policy,
            hidden_dirs=tuple(dict.fromkeys(hidden)),
            private_dirs=(str(work_dir),),
            readonly_dirs=(str(data_dir),),
            cgroup_name=f"{os.getpid()}-{token}",  # the worker's pid: see sandbox.remove_stale_cgroups
        )


def _with_local_data(parameters: dict[str, Any], prepared: str, local: Path) -> dict[str, Any]:
    """The notebook's parameters with the grader's data root, under whatever name the assignment gives it, as this worker's copy."""
    return {name: str(local) if value == prepared else value for name, value in parameters.items()}


def _with_data_dir(request: str, prepared: str, local: str) -> str:
    """The probe request names the data files by absolute path: point it at this worker's copy.

    Paths are JSON strings: a prepared dir that JSON escapes differently is refused rather than run
    against data this worker does not have.
    """
    if json.dumps(prepared) != f'"{prepared}"':
        raise HarnessError(f"the grading data's path {prepared!r} needs escaping in JSON; use a plain path")
    return request.replace(prepared.rstrip("/") + "/", local.rstrip("/") + "/")


class SharedZygote:
    """One `warm.Zygote` for several task threads: each sends its job and waits for its own outcome.

    A reader thread hands outcomes to the waiting threads. If the zygote dies, the waiting jobs
    raise HarnessError (Dask reruns them) and `on_lost` retires the worker, whose nanny (if any)
    starts a fresh one: a worker without a zygote must not swallow the rest of the batch.
    """

    def __init__(self, on_lost: Callable[[], object]) -> None:
        self._zygote = Zygote()
        self._on_lost = on_lost
        self._lock = threading.Lock()
        self._waiting: dict[str, Future[ExecutionOutcome]] = {}
        self._gone = False
        self._closing = False
        self._reader = threading.Thread(target=self._read, name="a10-grader-zygote-reader", daemon=True)
        self._reader.start()

    def run(self, job: ExecutionJob) -> ExecutionOutcome:
        waiter: Future[ExecutionOutcome] = Future()
        with self._lock:
            if self._gone:
                raise HarnessError("this worker's warm zygote is gone")
            self._waiting[job.submission_id] = waiter
            try:
                self._zygote.send([job])
            except OSError as exc:  # the zygote died since; its reader thread is retiring the worker
                self._waiting.pop(job.submission_id)
                raise HarnessError(f"this worker's warm zygote is gone ({exc})") from exc
        return waiter.result()  # HarnessError if the zygote died meanwhile

    def _read(self) -> None:
        while (outcome := self._zygote.receive()) is not None:
            with self._lock:
                waiter = self._waiting.pop(outcome.submission_id, None)
            if waiter is not None:
                waiter.set_result(outcome)
        with self._lock:
            self._gone = True
            waiting, self._waiting = self._waiting, {}
        for waiter in waiting.values():
            waiter.set_exception(HarnessError("this worker's warm zygote stopped while running the notebook"))
        if not self._closing:
            log.error("a10-grader: the warm zygote of this worker stopped; retiring the worker")
            self._on_lost()

    def close(self) -> None:
        self._closing = True
        with contextlib.suppress(OSError):
            self._zygote.close()
        self._reader.join(timeout=30)
