"""Untrusted code: hostile notebooks graded in one batch beside correct ones, through the sandboxed
warm path. Each gets a clear status; the correct submissions keep every point; nothing survives
the batch. And a grader killed with SIGKILL mid-batch resumes without redoing finished work.
"""

from __future__ import annotations

import contextlib
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

import nbformat
import pytest

from graders.execute.output_limits import MAX_OUTPUTS_PER_CELL
from graders.pipeline.batch import grade_folder
from graders.pipeline.config import GradingConfig
from graders.results import SubmissionResult
from reference.a10 import REFERENCE_DIR
from tests.broken import CORRECT_CODE, notebook
from tests.conftest import GRADING_SEED
from tests.hostile import CPU_HEAVY_CODE, CPU_HOG, SECRET_NAME, look_around, plant_links, write_hostile

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
OUTSIDE_FILE = ROOT / "pwned-by-a-student.txt"
DECOY_MARKER = "DECOY-another-students-results"
CONFIG = dict(seed=GRADING_SEED, cell_timeout=5.0, notebook_timeout=25.0, jobs=2, memory_bytes=1024**3)
# A cold kernel imports torch inside its first cell, and the cold per-cell limit is wall time: on
# a busy machine that alone can take longer than the warm batch's 5 s.
COLD = {**CONFIG, "cold": True, "cell_timeout": 90.0, "notebook_timeout": 300.0}
SECRET_VALUE = "lms-token-5f1c0ffee-do-not-leak"


def allowed_top_level() -> set[str]:
    """What a notebook may see at the top of its disk: the system, and the first component of the
    paths the Python installation, the graders package and the grader's scratch folder live under."""
    system = {"bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "sbin", "tmp", "usr"}
    return system | {Path(p).resolve().parts[1] for p in (sys.prefix, sys.base_prefix, ROOT / "graders")}


def process_tree(root: int) -> set[int]:
    """`root`'s live descendants, from /proc's parent links (zombies hold nothing: left out).

    Scoped to what this test started: other graders may run sandboxes on this machine.
    """
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError):
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                if fields[0] != "Z":
                    parents[int(entry)] = int(fields[1])
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def command_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def grader_processes(root: int) -> list[str]:
    """What of the grading machinery still runs below `root`: zygotes, kernels, sandboxed notebooks."""
    return [command_of(pid) for pid in process_tree(root) if "graders." in command_of(pid) or "ipykernel" in command_of(pid)]


def sandbox_cgroups(grader_pid: int) -> list[str]:
    """The sandbox cgroups of one grader process (named after its pid), with the processes in each."""
    return [
        f"{leaf}: {Path(leaf, 'cgroup.procs').read_text().split()}"
        for leaf in glob.glob(f"/sys/fs/cgroup/*/**/a10-sandbox-{grader_pid}-*", recursive=True)
    ]


def wait_until(condition, seconds: float = 20.0) -> bool:
    """Poll `condition` until it holds; processes take a moment to die on a busy machine."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def failing(result: SubmissionResult) -> dict[str, str]:
    return {c.id: c.status.value for c in result.checks if c.status.value != "pass"}


def cell_error_names(result: SubmissionResult) -> list[str]:
    return [e.ename for e in result.cell_errors]


def leaked(result: SubmissionResult) -> bool:
    return any("LEAKED" in e.evalue for e in result.cell_errors)


def is_alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


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
        repo=ROOT,
        allowed_top=allowed_top_level(),
    )
    shutil.copy(ROOT / "submissions" / "a10" / "solution.ipynb", corpus / "solution.ipynb")
    secret = tmp_path_factory.mktemp("elsewhere") / "not-a-submission.ipynb"
    secret.write_text(notebook(CORRECT_CODE), encoding="utf-8")
    (corpus / "linked.ipynb").symlink_to(secret)
    out = tmp_path_factory.mktemp("hostile-reports")
    os.environ[SECRET_NAME] = SECRET_VALUE
    try:
        results = grade_folder(corpus, out_dir=out, config=GradingConfig(**CONFIG, data_dir=grading_data))
    finally:
        del os.environ[SECRET_NAME]
    yield out, {r.submission: r for r in results}
    OUTSIDE_FILE.unlink(missing_ok=True)


def test_correct_submissions_beside_hostile_ones_keep_every_point(batch):
    _, results = batch
    for name in ("solution", "zoë smith"):
        assert results[name].score == results[name].max_score == 12, failing(results[name])


def test_a_lookup_table_for_the_public_inputs_earns_what_a_stub_earns(batch):
    _, results = batch
    table, stub = results["lookup-table"], results["stub"]
    assert (table.score, failing(table).keys()) == (stub.score, failing(stub).keys()), (failing(table), failing(stub))
    assert [c.misconceptions for c in table.checks if c.misconceptions] == []  # nothing named from the public input alone
    # The table did answer the public input: its values were judged there (the stub has none).
    checks = {c.id: c for c in table.checks}
    assert checks["closed_form.mu"].status.value == "fail" and "On the public input" in checks["closed_form.mu"].message
    assert "where it returned a value" in checks["vae_loss.kl"].message


def test_every_result_records_that_the_sandbox_held(batch):
    _, results = batch
    sandbox = results["solution"].provenance.sandbox
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


@pytest.fixture(scope="module")
def cold(tmp_path_factory, grading_data):
    """The cold path's batch, a fresh kernel per notebook, two at once: one notebook plants links for the
    grader to write through, one looks around, with a secret in the grader's environment."""
    base = tmp_path_factory.mktemp("cold")
    corpus, victim = base / "subs", base / "victim.txt"
    corpus.mkdir()
    victim.write_text("intact")
    victim.chmod(0o600)
    (corpus / "links.ipynb").write_text(notebook(CORRECT_CODE, plant_links(victim), "x = 1"), encoding="utf-8")
    look = notebook(CORRECT_CODE, look_around(ROOT, allowed_top_level()), "import os\nraise RuntimeError(str(os.environ))")
    (corpus / "cold-look.ipynb").write_text(look, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SECRET_NAME, SECRET_VALUE)
        results = grade_folder(corpus, out_dir=base / "out", config=GradingConfig(**COLD, data_dir=grading_data))
    return base, {r.submission: r for r in results}


def test_a_cold_kernel_cannot_make_the_grader_write_through_a_link(cold):
    base, results = cold
    assert (base / "victim.txt").read_text() == "intact"
    assert results["links"].score == 12, results["links"].message


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


@pytest.mark.parametrize("name", ["markdown-statements", "markdown-comments"])
def test_a_megabyte_of_pathological_markdown_is_read_to_the_cap_and_graded_in_full(batch, name):
    result = batch[1][name]
    assert result.score == 12, failing(result)
    derivation = [check.message for check in result.checks if check.id.startswith("derivation.")]
    assert len(derivation) == 2 and all("Only the first 20,000 characters of cell 3 " in message for message in derivation)


def test_a_link_out_of_the_submissions_folder_is_refused(batch):
    result = batch[1]["linked"]
    assert result.status.value == "error" and "is a link" in result.message


def test_nothing_survives_the_batch(batch):
    assert wait_until(lambda: grader_processes(os.getpid()) == []), grader_processes(os.getpid())
    assert sandbox_cgroups(os.getpid()) == []


def test_the_notebook_sees_only_the_allow_listed_view(batch):
    result = batch[1]["look-around"]
    assert not leaked(result), result.cell_errors
    assert result.cell_errors == () and result.score == 12
    view = result.provenance.sandbox["filesystem"]
    assert not [line for line in view if str(ROOT) in line and ".venv" not in line]  # neither the repository nor the harness


def test_nothing_of_the_graders_environment_reaches_any_report(batch):
    out, results = batch
    assert cell_error_names(results["print-environment"]) == ["RuntimeError"]  # it ran, and printed
    assert "HOME" in results["print-environment"].cell_errors[0].evalue
    files = [path for path in out.rglob("*") if path.is_file()]
    assert len(files) > 2 * len(results)
    assert [path for path in files if SECRET_VALUE.encode() in path.read_bytes()] == []


def test_output_caps_lifted_inside_the_child_still_hold_in_the_grader(batch):
    out, results = batch
    assert failing(results["lift-output-caps"]) == {}
    executed = out / "lift-output-caps" / "executed.ipynb"
    assert executed.stat().st_size < 1_000_000
    assert "truncated by the grader" in executed.read_text()
    flood = next(cell for cell in nbformat.read(executed, as_version=4).cells if "display(i)" in cell.source)
    assert len(flood.outputs) <= MAX_OUTPUTS_PER_CELL and "more outputs of this cell not kept" in flood.outputs[-1].text


@pytest.mark.parametrize("name", ["forged-outcome-types", "deep-json-outcome"])
def test_a_malformed_outcome_is_one_notebooks_problem(batch, name):
    result = batch[1][name]
    assert "exited early" in result.message and result.status.value == "graded"
    assert result.provenance.sandbox["filesystem_isolated"] is True  # the report is not the notebook's to forge


def test_a_cpu_heavy_notebook_keeps_full_marks_beside_one_that_hogs_every_cpu(tmp_path, grading_data):
    corpus = tmp_path / "subs"
    corpus.mkdir()
    (corpus / "cpu-heavy.ipynb").write_text(notebook(CPU_HEAVY_CODE), encoding="utf-8")
    (corpus / "cpu-hog.ipynb").write_text(notebook(CORRECT_CODE, CPU_HOG), encoding="utf-8")
    config = GradingConfig(**{**CONFIG, "cell_timeout": 60.0, "notebook_timeout": 120.0}, data_dir=grading_data)
    results = {r.submission: r for r in grade_folder(corpus, out_dir=tmp_path / "out", config=config)}
    heavy = results["cpu-heavy"]
    assert heavy.score == 12, (failing(heavy), heavy.message)
    assert "cpu" in heavy.provenance.sandbox["cpu_limit"] or heavy.provenance.sandbox["cpu_limit"] == "none"


def test_a_cold_kernel_sees_only_the_view_and_a_clean_environment(cold):
    base, results = cold
    result = results["cold-look"]
    assert not leaked(result) and cell_error_names(result) == ["RuntimeError"], result.cell_errors
    assert "HOME" in result.cell_errors[0].evalue and SECRET_VALUE not in result.cell_errors[0].evalue
    assert result.score == 12 and result.provenance.sandbox["warnings"] == []
    assert [p for p in (base / "out").rglob("*") if p.is_file() and SECRET_VALUE.encode() in p.read_bytes()] == []


def test_a_killed_batch_resumes_without_regrading_finished_work(tmp_path, grading_data):
    corpus, out = tmp_path / "subs", tmp_path / "out"
    corpus.mkdir()
    for index in range(4):
        (corpus / f"quick-{index}.ipynb").write_text(notebook(CORRECT_CODE), encoding="utf-8")
    (corpus / "slow.ipynb").write_text(notebook(CORRECT_CODE, "import time\ntime.sleep(15)"), encoding="utf-8")
    command = [sys.executable, "-m", "graders.cli", "grade", str(corpus), "--out", str(out), "--data-dir", str(grading_data), "--jobs", "2"]
    grader = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    assert wait_until(lambda: len(list(out.glob("*/results.json"))) >= 4, 240)
    started = process_tree(grader.pid)  # the zygote and the slow notebook's processes, among others
    os.kill(grader.pid, signal.SIGKILL)
    grader.wait()
    finished = {p.parent.name: p.stat().st_mtime_ns for p in out.glob("*/results.json")}
    assert len(finished) == 4 and "slow" not in finished
    # Orphans are reparented away from the grader: follow the pids it had, and its cgroups.
    assert wait_until(lambda: not [pid for pid in started if Path(f"/proc/{pid}").exists() and is_alive(pid)]), "orphaned process"
    assert wait_until(lambda: all(cgroup.endswith("[]") for cgroup in sandbox_cgroups(grader.pid))), sandbox_cgroups(grader.pid)

    rerun = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)
    assert rerun.returncode == 0, rerun.stderr
    assert {p.parent.name: p.stat().st_mtime_ns for p in out.glob("quick-*/results.json")} == finished
    assert json.loads((out / "slow" / "results.json").read_text())["score"] == 12
    assert list(out.rglob("*.tmp")) == []
    # The killed grader's cgroups (named after its pid) were cleaned up by the rerun.
    assert glob.glob(f"/sys/fs/cgroup/*/**/a10-sandbox-{grader.pid}-*", recursive=True) == []
