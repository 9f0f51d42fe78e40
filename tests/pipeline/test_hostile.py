"""Untrusted code: hostile notebooks graded in one batch beside correct ones, through the sandboxed
warm path. Each gets a clear status; the correct submissions keep every point; nothing survives
the batch. And a grader killed with SIGKILL mid-batch resumes without redoing finished work.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from graders.judge.expected import REFERENCE_DIR
from graders.pipeline.batch import grade_folder
from graders.pipeline.config import GradingConfig
from graders.results import SubmissionResult
from tests.broken import CORRECT_CODE, notebook
from tests.conftest import GRADING_SEED
from tests.hostile import plant_links, write_hostile

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
OUTSIDE_FILE = ROOT / "pwned-by-a-student.txt"
DECOY_MARKER = "DECOY-another-students-results"
CONFIG = dict(seed=GRADING_SEED, cell_timeout=5.0, notebook_timeout=25.0, jobs=2, memory_bytes=1024**3)


def live_sandboxed_processes() -> list[str]:
    """Processes of the sandbox uid that still run (zombies hold nothing; this machine's init does
    not reap orphans, a normal one does)."""
    ps = subprocess.run(["ps", "-u", "65534", "-o", "pid=,stat="], capture_output=True, text=True).stdout
    return [line.split()[0] for line in ps.splitlines() if not line.split()[1].startswith("Z")]


def failing(result: SubmissionResult) -> dict[str, str]:
    return {c.id: c.status.value for c in result.checks if c.status.value != "pass"}


def cell_error_names(result: SubmissionResult) -> list[str]:
    return [e.ename for e in result.cell_errors]


def leaked(result: SubmissionResult) -> bool:
    return any("LEAKED" in e.evalue for e in result.cell_errors)


def write_decoy(folder: Path) -> Path:
    """A root-only file that parses as a notebook and as an outcome, which no submission may read."""
    decoy = folder / "results-of-someone-else.json"
    decoy.write_text(notebook(f"print({DECOY_MARKER!r})"), encoding="utf-8")
    decoy.chmod(0o600)
    return decoy


@pytest.fixture(scope="module")
def listener():
    """A server on the host's loopback; a sandboxed notebook must not reach it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.1)
    yield server
    server.close()


@pytest.fixture(scope="module")
def batch(tmp_path_factory, grading_data, listener):
    corpus = tmp_path_factory.mktemp("hostile")
    decoy = write_decoy(tmp_path_factory.mktemp("decoy"))
    write_hostile(
        corpus,
        reference_dir=REFERENCE_DIR,
        submissions_dir=corpus,
        listening_port=listener.getsockname()[1],
        outside_file=OUTSIDE_FILE,
        decoy=decoy,
    )
    shutil.copy(ROOT / "submissions" / "solution.ipynb", corpus / "solution.ipynb")
    secret = tmp_path_factory.mktemp("elsewhere") / "not-a-submission.ipynb"
    secret.write_text(notebook(CORRECT_CODE), encoding="utf-8")
    (corpus / "linked.ipynb").symlink_to(secret)
    out = tmp_path_factory.mktemp("hostile-reports")
    results = grade_folder(corpus, out_dir=out, config=GradingConfig(**CONFIG, data_dir=grading_data))
    yield out, {r.submission: r for r in results}
    OUTSIDE_FILE.unlink(missing_ok=True)


def test_correct_submissions_beside_hostile_ones_keep_every_point(batch):
    _, results = batch
    for name in ("solution", "zoë smith"):
        assert results[name].score == results[name].max_score == 12, failing(results[name])


def test_every_result_records_that_the_sandbox_held(batch):
    _, results = batch
    sandbox = results["solution"].provenance["sandbox"]
    assert sandbox["network_isolated"] and sandbox["filesystem_isolated"], sandbox
    assert sandbox["warnings"] == []


def test_an_uninterruptible_loop_is_stopped_at_the_notebook_limit(batch):
    result = batch[1]["endless-uninterruptible"]
    assert "25 s limit for a whole notebook" in result.message
    assert cell_error_names(result) == ["KernelDied"]


def test_a_memory_bomb_is_stopped(batch):
    result = batch[1]["memory-bomb"]
    assert cell_error_names(result) in (["KernelDied"], ["MemoryError"])


def test_a_fork_bomb_is_contained_and_the_rest_is_graded(batch):
    result = batch[1]["fork-bomb"]
    assert cell_error_names(result) == ["BlockingIOError"]
    assert failing(result) == {}


def test_sys_exit_is_a_cell_error(batch):
    result = batch[1]["sys-exit"]
    assert cell_error_names(result) == ["SystemExit"] and failing(result) == {}


def test_a_segfault_is_a_dead_process_not_a_dead_batch(batch):
    result = batch[1]["segfault"]
    assert "SIGSEGV" in result.message and cell_error_names(result) == ["KernelDied"]


def test_no_network_even_to_the_hosts_loopback(batch, listener):
    result = batch[1]["network-call"]
    assert not leaked(result) and cell_error_names(result) == ["OSError"]
    with pytest.raises(socket.timeout):
        listener.accept()


def test_the_reference_and_other_submissions_are_invisible(batch):
    result = batch[1]["read-reference"]
    assert not leaked(result) and cell_error_names(result) == ["FileNotFoundError"]


@pytest.mark.parametrize("name", ["planted-links", "forged-outcome", "not-a-notebook-left"])
def test_files_planted_for_the_grader_are_not_trusted(batch, name):
    out, results = batch
    result = results[name]
    assert "exited early" in result.message, result.message
    for kept in (out / name).iterdir():
        assert DECOY_MARKER not in kept.read_text(encoding="utf-8"), kept


def test_a_cold_kernel_cannot_make_the_grader_write_through_a_link(tmp_path, grading_data):
    corpus, victim = tmp_path / "subs", tmp_path / "victim.txt"
    corpus.mkdir()
    victim.write_text("intact")
    victim.chmod(0o600)
    (corpus / "links.ipynb").write_text(notebook(CORRECT_CODE, plant_links(victim), "x = 1"), encoding="utf-8")
    (result,) = grade_folder(corpus, out_dir=tmp_path / "out", config=GradingConfig(**{**CONFIG, "cold": True}, data_dir=grading_data))
    assert victim.read_text() == "intact"
    assert result.score == 12, result.message


def test_no_other_process_is_visible(batch):
    result = batch[1]["list-processes"]
    assert not leaked(result) and result.cell_errors == () and result.score == 12


def test_nothing_is_written_outside_the_work_dir(batch):
    result = batch[1]["write-outside"]
    assert cell_error_names(result)[0] in ("OSError", "PermissionError")
    assert not OUTSIDE_FILE.exists()


@pytest.mark.parametrize("name", ["print-50mb", "image-20mb"])
def test_floods_of_output_are_cut_and_the_notebook_stays_small(batch, name):
    out, results = batch
    assert failing(results[name]) == {}
    executed = out / name / "executed.ipynb"
    assert executed.stat().st_size < 1_000_000
    assert "removed by the grader" in executed.read_text() or "truncated by the grader" in executed.read_text()


def test_a_link_out_of_the_submissions_folder_is_refused(batch):
    result = batch[1]["linked"]
    assert result.status.value == "error" and "is a link" in result.message


def test_nothing_survives_the_batch(batch):
    assert live_sandboxed_processes() == []
    assert subprocess.run(["pgrep", "-f", "graders.execute.zygote"], capture_output=True).returncode == 1
    assert glob.glob(f"/sys/fs/cgroup/*/**/a10-sandbox-{os.getpid()}-*", recursive=True) == []


def test_a_killed_batch_resumes_without_regrading_finished_work(tmp_path, grading_data):
    corpus, out = tmp_path / "subs", tmp_path / "out"
    corpus.mkdir()
    for index in range(4):
        (corpus / f"quick-{index}.ipynb").write_text(notebook(CORRECT_CODE), encoding="utf-8")
    (corpus / "slow.ipynb").write_text(notebook(CORRECT_CODE, "import time\ntime.sleep(15)"), encoding="utf-8")
    command = [sys.executable, "-m", "graders.cli", "grade", str(corpus), "--out", str(out), "--data-dir", str(grading_data), "--jobs", "2"]
    grader = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    deadline = time.monotonic() + 120
    while len(list(out.glob("*/results.json"))) < 4 and time.monotonic() < deadline:
        time.sleep(0.2)
    os.kill(grader.pid, signal.SIGKILL)
    grader.wait()
    finished = {p.parent.name: p.stat().st_mtime_ns for p in out.glob("*/results.json")}
    assert len(finished) == 4 and "slow" not in finished
    time.sleep(1)
    assert subprocess.run(["pgrep", "-f", "graders.execute.zygote"], capture_output=True).returncode == 1, "orphaned zygote"
    assert live_sandboxed_processes() == [], "orphaned notebook process"

    rerun = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert {p.parent.name: p.stat().st_mtime_ns for p in out.glob("quick-*/results.json")} == finished
    assert json.loads((out / "slow" / "results.json").read_text())["score"] == 12
    assert list(out.rglob("*.tmp")) == []
    # The killed grader's cgroups (named after its pid) were cleaned up by the rerun.
    assert glob.glob(f"/sys/fs/cgroup/*/**/a10-sandbox-{grader.pid}-*", recursive=True) == []
