"""Grading on a real Dask cluster on loopback: a `dask scheduler` and `dask worker` subprocesses on
free ports, started and torn down by each test; results compared with the local warm path's.

Only processes these tests start are ever looked at or killed.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import matplotlib
import psutil
import pytest

distributed = pytest.importorskip("distributed")

from assignments.a10 import ASSIGNMENT  # noqa: E402
from graders.errors import UsageError  # noqa: E402
from graders.execute.cluster import DaskExecutor  # noqa: E402
from graders.execute.warm import WarmExecutor  # noqa: E402
from graders.pipeline.batch import grade_folder  # noqa: E402
from graders.pipeline.cache import grader_fingerprint  # noqa: E402
from graders.pipeline.config import GradingConfig  # noqa: E402
from graders.results import SubmissionResult  # noqa: E402
from reference.a10 import REFERENCE_DIR  # noqa: E402
from tests.broken import BROKEN, CORRECT_CODE, notebook  # noqa: E402
from tests.conftest import GRADING_SEED  # noqa: E402
from tests.hostile import hostile_notebooks  # noqa: E402

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DASK = Path(sys.executable).with_name("dask")
CONFIG = GradingConfig(seed=GRADING_SEED, cell_timeout=8.0, jobs=2)
BROKEN_SAMPLE = ("invalid-json.ipynb", "kernel-dies.ipynb", "cell-raises-first.ipynb", "aaa-tamperer.ipynb")
HOSTILE_SAMPLE = ("read-reference", "sys-exit", "forged-outcome", "print-environment")
READY_TIMEOUT = 180.0  # seconds for a cluster to come up on a busy machine
# Unsandboxed, a notebook can reach the process running it: its parent is the zygote, whose parent is the worker.
WORKER_KILLER = notebook(
    CORRECT_CODE,
    "import os, signal, time\n"
    "def parent_of(pid):\n"
    "    with open(f'/proc/{pid}/stat') as stat:\n"
    "        return int(stat.read().rsplit(')', 1)[1].split()[1])\n"
    "os.kill(parent_of(os.getppid()), signal.SIGKILL)\n"
    "time.sleep(60)",
)


# ----------------------------------------------------------------------------- processes


def descendants(pid: int) -> set[psutil.Process]:
    """Every live descendant of `pid` (psutil tells a process from a later one with its pid)."""
    try:
        return set(psutil.Process(pid).children(recursive=True))
    except psutil.NoSuchProcess:
        return set()


def alive(processes: set[psutil.Process]) -> set[psutil.Process]:
    return {p for p in processes if _running(p)}


def _running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE  # a zombie has exited
    except psutil.NoSuchProcess:
        return False


def wait_until(condition, what: str, timeout: float = READY_TIMEOUT, poll: float = 0.1):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(poll)
    return value


GRACEFUL_STOP_SECONDS = 10.0


@dataclass
class Cluster:
    folder: Path
    address: str = ""
    scheduler: subprocess.Popen | None = None
    workers: list[subprocess.Popen] = field(default_factory=list)
    watched: set[psutil.Process] = field(default_factory=set)  # every process these started

    def start(self, *, workers: int, nanny: bool = False, hide: tuple[Path, ...] = ()) -> None:
        scheduler_file = self.folder / "scheduler.json"
        # One death is forgiven, a second is the task's fault; a worker holds only the task it runs, so
        # that a worker's death is charged to that task alone (not to one queued behind it).
        env = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1", "DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "1.0"}
        command = [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(scheduler_file)]
        self.scheduler = self._spawn(command, self.folder / "scheduler.log", env=env, cwd=self.folder)
        for n in range(workers):
            self.add_worker(scheduler_file, n, nanny=nanny, hide=hide)
        with distributed.Client(scheduler_file=str(scheduler_file), timeout=READY_TIMEOUT) as client:
            client.wait_for_workers(workers, timeout=READY_TIMEOUT)  # the scheduler reports them: no sleep
            self.address = client.scheduler.address

    def add_worker(self, scheduler_file: Path, n: int, *, nanny: bool, hide: tuple[Path, ...]) -> None:
        """A worker in its own temp dir with its own HOME; `hide`: dirs it must not see (tmpfs over them)."""
        home = self.folder / f"worker-{n}" / "home"
        home.mkdir(parents=True)
        command = [str(DASK), "worker", "--scheduler-file", str(scheduler_file), "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"]
        command += [] if nanny else ["--no-nanny"]
        if hide:
            mounts = " && ".join(f"mount -t tmpfs -o size=1m none {shlex.quote(str(d))}" for d in hide)
            command = ["unshare", "--mount", "--propagation", "private", "sh", "-c", f"{mounts} && exec {shlex.join(command)}"]
        # matplotlib's font cache is not grading input: a fresh HOME would rebuild it (minutes on a busy machine).
        env = {**os.environ, "HOME": str(home), "MPLCONFIGDIR": matplotlib.get_cachedir()}
        self.workers.append(self._spawn(command, home.parent / "worker.log", env=env, cwd=home.parent))

    def _spawn(self, command: list[str], log: Path, *, env: dict[str, str], cwd: Path) -> subprocess.Popen:
        with log.open("wb") as out:
            return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)

    def watch(self) -> None:
        for process in [self.scheduler, *self.workers]:
            if process is not None:
                self.watched |= descendants(process.pid)

    def stop(self) -> None:
        self.watch()
        for process in [*self.workers, self.scheduler]:
            if process is not None and process.poll() is None:
                process.terminate()
        for process in [*self.workers, self.scheduler]:
            if process is None:
                continue
            try:
                # Clean-up, not a test of a graceful close: a worker busy closing (its zygote, a nanny's restart) is
                # killed after a while rather than waited for (60 s each was a sixth of the suite's cluster time).
                process.wait(timeout=GRACEFUL_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        wait_until(lambda: not alive(self.watched), "every process of the cluster to exit", timeout=60)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    started = Cluster(tmp_path / "cluster")
    started.folder.mkdir()
    try:
        yield started
    finally:
        started.stop()


# ----------------------------------------------------------------------------- corpus


def write_corpus(folder: Path, *, with_broken: bool) -> Path:
    folder.mkdir(parents=True)
    for path in (ROOT / "submissions" / "a10").glob("*.ipynb"):
        shutil.copy(path, folder / path.name)
    if with_broken:
        for name in BROKEN_SAMPLE:
            content = BROKEN[name]
            (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        paths = {"listening_port": 9, "outside_file": folder / "outside", "decoy": folder / "decoy", "repo": ROOT, "allowed_top": set()}
        hostile = hostile_notebooks(reference_dir=REFERENCE_DIR, submissions_dir=folder, **paths)
        for name in HOSTILE_SAMPLE:
            (folder / f"{name}.ipynb").write_text(hostile[name], encoding="utf-8")
    return folder


def verdicts(results: tuple[SubmissionResult, ...]) -> dict[str, tuple]:
    """What must not depend on where a notebook ran: status, score, every check's verdict."""
    return {r.submission: (r.status.value, r.score, {c.id: (c.status.value, c.score, c.misconceptions) for c in r.checks}) for r in results}


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory, grading_data: Path) -> dict[str, tuple]:
    """The local warm path's verdicts on the full corpus (2 notebooks at once, as 2 workers)."""
    corpus = write_corpus(tmp_path_factory.mktemp("local") / "submissions", with_broken=True)
    config = replace(CONFIG, data_dir=grading_data)
    return verdicts(grade_folder(corpus, out_dir=corpus.parent / "reports", config=config, executor=WarmExecutor(2)))


# ----------------------------------------------------------------------------- tests


def test_cluster_grades_like_the_local_path_without_a_shared_filesystem(cluster, local, grading_data, tmp_path, monkeypatch):
    """Workers in their own temp dir and HOME, and in a mount namespace where everything of the
    grader's (submissions, reports, data, scratch) is an empty tmpfs: what they need travels in the tasks."""
    grader = tmp_path / "grader"
    corpus = write_corpus(grader / "submissions", with_broken=True)
    data = shutil.copytree(grading_data, grader / "data")
    (grader / "tmp").mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(grader / "tmp"))  # the grader's scratch, hidden too
    cluster.start(workers=2, hide=(grader,))
    config = replace(CONFIG, data_dir=data)
    with DaskExecutor(cluster.address, fingerprint=partial(grader_fingerprint, ASSIGNMENT.package_dir())) as executor:
        results = grade_folder(corpus, out_dir=grader / "reports", config=config, executor=executor)

    assert verdicts(results) == local
    ran_on = {r.provenance.executor for r in results if r.status.value == "graded"}
    assert len(ran_on) == 2 and all(name.startswith("warm, Dask worker tcp://127.0.0.1:") for name in ran_on), ran_on  # both took part
    solution = next(r for r in results if r.submission == "solution")
    assert solution.provenance.sandbox["warnings"] == []  # the worker's sandbox is whole

    # Resume: a second run reuses every result (the cache), and submits nothing to the cluster.
    written = {p: p.stat().st_mtime_ns for p in (grader / "reports").glob("*/results.json")}
    with DaskExecutor(cluster.address) as executor:
        again = grade_folder(corpus, out_dir=grader / "reports", config=config, executor=executor)
    assert verdicts(again) == local
    assert {p: p.stat().st_mtime_ns for p in (grader / "reports").glob("*/results.json")} == written


def test_a_worker_killed_mid_batch_changes_nothing(cluster, local, grading_data, tmp_path):
    corpus = write_corpus(tmp_path / "submissions", with_broken=False)
    cluster.start(workers=2)
    victim = cluster.workers[0]
    config = replace(CONFIG, data_dir=grading_data)
    doomed: set[psutil.Process] = set()

    def kill_when_busy() -> None:
        # The victim's zygote (its child) and a notebook (the zygote's child) are running.
        doomed.update(wait_until(lambda: len(busy := descendants(victim.pid)) >= 2 and busy, "a notebook on the victim", poll=0.01))
        victim.send_signal(signal.SIGKILL)

    killer = threading.Thread(target=kill_when_busy)
    with DaskExecutor(cluster.address) as executor:
        killer.start()  # the plugin is registered: the victim's zygote exists, no notebook yet
        results = grade_folder(corpus, out_dir=tmp_path / "reports", config=config, executor=executor)
    killer.join()

    assert victim.wait(timeout=60) == -signal.SIGKILL
    assert verdicts(results) == {name: local[name] for name in verdicts(results)}
    assert len(results) == len(list(corpus.glob("*.ipynb")))
    # The zygote and the notebook it ran die with their worker: nothing outlives it.
    wait_until(lambda: not alive(doomed), "the killed worker's zygote and notebook to die", timeout=60)


def test_a_submission_that_kills_every_worker_is_an_error_and_the_batch_completes(cluster, grading_data, tmp_path):
    corpus = tmp_path / "submissions"
    corpus.mkdir()
    shutil.copy(ROOT / "submissions" / "a10" / "solution.ipynb", corpus)
    (corpus / "worker-killer.ipynb").write_text(WORKER_KILLER, encoding="utf-8")
    cluster.start(workers=2, nanny=True)  # nannies restart killed workers; allowed-failures is 1
    config = replace(CONFIG, data_dir=grading_data, sandbox=False)  # only unconfined can it reach its worker

    with DaskExecutor(cluster.address) as executor:
        results = {r.submission: r for r in grade_folder(corpus, out_dir=tmp_path / "reports", config=config, executor=executor)}

    killer = results["worker-killer"]
    assert killer.status.value == "error"
    assert "every Dask worker that ran it died" in killer.message
    assert killer.provenance.cache_key == ""  # tried again next run
    assert (results["solution"].status.value, results["solution"].score) == ("graded", results["solution"].max_score)


def test_stopping_the_grader_cancels_its_pending_work(cluster, grading_data, tmp_path):
    """What Ctrl-C does: the executor's generator is closed mid-batch; the scheduler forgets the batch."""
    corpus = write_corpus(tmp_path / "submissions", with_broken=False)
    cluster.start(workers=1)

    class Stop(Exception):
        pass

    def stop(result: SubmissionResult, total: int) -> None:
        raise Stop

    config = replace(CONFIG, data_dir=grading_data)
    stopped = False
    try:  # as the CLI does: the executor's `with` ends with the batch
        with DaskExecutor(cluster.address) as executor:
            grade_folder(corpus, out_dir=tmp_path / "reports", config=config, executor=executor, on_result=stop)
    except Stop:
        stopped = True
    assert stopped
    with distributed.Client(cluster.address, timeout=READY_TIMEOUT) as client:
        wait_until(lambda: client.run_on_scheduler(lambda dask_scheduler: not dask_scheduler.tasks), "the scheduler to drop the batch")


def test_an_unreachable_scheduler_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="cannot reach the Dask scheduler"):
        DaskExecutor("tcp://127.0.0.1:9", connect_timeout=2).start()


def test_without_scheduler_nothing_of_dask_is_imported(tmp_path):
    (tmp_path / "submissions").mkdir()
    (tmp_path / "submissions" / "broken.ipynb").write_text("{", encoding="utf-8")
    script = (
        "import sys\nfrom graders.cli import main\n"
        f"status = main(['grade', {str(tmp_path / 'submissions')!r}, '--out', {str(tmp_path / 'reports')!r}])\n"
        "print(status, sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600, cwd=ROOT, check=False)
    assert done.stdout.split("\n")[-2] == "0 []", done.stderr
    assert json.loads((tmp_path / "reports" / "broken" / "results.json").read_text())["status"] == "error"


def test_scheduler_with_cold_is_refused_before_anything_is_written(tmp_path):
    (tmp_path / "submissions").mkdir()
    command = [sys.executable, "-m", "graders.cli", "grade", str(tmp_path / "submissions"), "--out", str(tmp_path / "reports")]
    done = subprocess.run(
        [*command, "--cold", "--scheduler", "tcp://127.0.0.1:9"], capture_output=True, text=True, timeout=600, cwd=ROOT, check=False
    )
    assert done.returncode == 2
    assert "--scheduler" in done.stderr and "--cold" in done.stderr
    assert not (tmp_path / "reports").exists()


def test_a_killed_grader_resumes_on_the_cluster_without_regrading_finished_work(cluster, grading_data, tmp_path):
    """As on the local path (tests/pipeline/test_hostile.py): SIGKILL the grader mid-batch, run it again."""
    corpus, out = tmp_path / "submissions", tmp_path / "reports"
    corpus.mkdir()
    for index in range(3):
        (corpus / f"quick-{index}.ipynb").write_text(notebook(CORRECT_CODE), encoding="utf-8")
    (corpus / "slow.ipynb").write_text(notebook(CORRECT_CODE, "import time\ntime.sleep(20)"), encoding="utf-8")
    cluster.start(workers=1)
    command = [sys.executable, "-m", "graders.cli", "grade", str(corpus), "--out", str(out), "--data-dir", str(grading_data)]
    command += ["--scheduler", cluster.address]
    grader = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    wait_until(lambda: len(list(out.glob("quick-*/results.json"))) == 3, "the quick notebooks' results")
    grader.send_signal(signal.SIGKILL)
    grader.wait()
    finished = {p.parent.name: p.stat().st_mtime_ns for p in out.glob("*/results.json")}
    assert sorted(finished) == ["quick-0", "quick-1", "quick-2"]  # the slow one was still running
    with distributed.Client(cluster.address, timeout=READY_TIMEOUT) as client:  # the dead grader's work is dropped
        wait_until(lambda: client.run_on_scheduler(lambda dask_scheduler: not dask_scheduler.tasks), "the scheduler to drop the batch")

    rerun = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=600, check=False)
    assert rerun.returncode == 0, rerun.stderr
    assert {p.parent.name: p.stat().st_mtime_ns for p in out.glob("quick-*/results.json")} == finished
    slow = json.loads((out / "slow" / "results.json").read_text())
    assert (slow["status"], slow["score"]) == ("graded", slow["max_score"])
    assert list(out.rglob("*.tmp")) == []
