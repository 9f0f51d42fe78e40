"""What crosses the process boundary: jobs and outcomes as JSON, and reading the outcome a warm
child handed back, which its notebook's code could have forged or made huge."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from graders.execute import zygote
from graders.execute.handover import overwrite
from graders.execute.jobs import ExecutionJob, ExecutionOutcome, kernel_environment, reported_sandbox
from graders.execute.untrusted import copy_capped
from graders.sandbox import SandboxPolicy, SandboxReport

REPORT = SandboxReport(True, True, "cgroup v1 memory 1.0 GiB", "cgroup v1 pids 64", ("RLIMIT_CORE 0",), (), namespaces=("mount",))


def job_in(work: Path, sandbox: SandboxPolicy | None = None) -> ExecutionJob:
    work.mkdir(parents=True, exist_ok=True)
    return ExecutionJob("alice", str(work / "in.ipynb"), str(work.parent / "alice.ipynb"), str(work), {"seed": 1}, 5.0, sandbox=sandbox)


def test_jobs_and_outcomes_survive_json_with_their_types(tmp_path: Path) -> None:
    job = job_in(tmp_path / "w", SandboxPolicy(writable_dirs=("/w",), cgroup_name="x"))
    assert ExecutionJob.from_json(json.loads(json.dumps(job.to_json()))) == job
    outcome = ExecutionOutcome("alice", False, "died", 1.5, "warm", REPORT, running_cell="x = 1", exception=None)
    back = ExecutionOutcome.from_json(json.loads(json.dumps(outcome.to_json())))
    assert back == outcome and isinstance(back.sandbox, SandboxReport)


@pytest.mark.parametrize(
    "forged",
    [
        None,
        [],
        {"submission_id": "alice"},  # finished missing
        {"submission_id": "alice", "finished": "yes"},
        {"submission_id": "alice", "finished": True, "seconds": True},
        {"submission_id": "alice", "finished": True, "message": ["x"]},
        {"submission_id": "alice", "finished": True, "details": {}},  # the old grab-bag is no field
        {"submission_id": "alice", "finished": True, "running_cell": 3},
        {"submission_id": "alice", "finished": False, "lost": True},  # only the grader's executor may say it lost a job
        {"submission_id": "alice", "finished": True, "sandbox": {"warnings": []}},
        {"submission_id": "alice", "finished": True, "sandbox": {**REPORT.to_json(), "escaped": True}},
        {"submission_id": "alice", "finished": True, "sandbox": {**REPORT.to_json(), "warnings": "none"}},
    ],
)
def test_a_malformed_outcome_is_refused(forged: object) -> None:
    with pytest.raises(ValueError):
        ExecutionOutcome.from_json(forged)


def a_child(tmp_path: Path) -> zygote.Child:
    """A child record as the zygote keeps it, with a real channel (memory files a child would write)."""
    job = job_in(tmp_path / "w")
    channel, child_end = zygote._open_channel(job.submission_id)
    os.close(child_end)
    return zygote.Child(job, 0.0, channel)


def ended(child: zygote.Child, outcome: bytes, exit_status: int = 0) -> ExecutionOutcome:
    overwrite(child.channel.outcome, outcome)
    return zygote._outcome_of(child, exit_status << 8)


def test_the_zygote_takes_only_whether_a_child_finished_from_what_it_wrote(tmp_path: Path) -> None:
    """The child's outcome is written by code that ran the student's cells and their probe: any text in
    it could carry the hidden inputs, so every message is the zygote's own."""
    child = a_child(tmp_path)
    assert "exited early" in ended(child, b"").message  # nothing written
    honest = ended(child, json.dumps({"submission_id": "alice", "finished": True}).encode())
    assert (honest.submission_id, honest.finished, honest.message, honest.executor) == ("alice", True, "", "warm")
    assert honest.sandbox == reported_sandbox(child.job)
    forged = ended(child, json.dumps({"finished": False, "message": "hidden input 0.8123", "exception": "seed 20251"}).encode())
    assert not forged.finished and "0.8123" not in json.dumps(forged.to_json()) and "20251" not in json.dumps(forged.to_json())
    for garbage in (b"[" * 100_000, b'{"finished": "yes"}', b'{"finished": true}' + b" " * (1 << 20), b"\xff"):
        outcome = ended(child, garbage)
        assert not outcome.finished and "exited early" in outcome.message, garbage[:20]
    assert "the grader failed" in ended(child, b'{"harness_traceback": "boom"}', exit_status=70).message


def test_the_running_cell_marker_is_text_or_nothing(tmp_path: Path) -> None:
    child = a_child(tmp_path)
    for content, expected in [('{"source": "x = 1"}', "x = 1"), ('{"source": 3}', None), ("[1]", None), ("{", None)]:
        overwrite(child.channel.progress, content.encode())
        assert zygote._running_cell(child) == expected, content


def test_the_executed_notebook_is_copied_out_only_within_its_cap(tmp_path: Path) -> None:
    child = a_child(tmp_path)
    target = tmp_path / "delivered.ipynb"
    overwrite(child.channel.executed, b"{}")
    assert copy_capped(child.channel.executed, target, 2) and target.read_bytes() == b"{}"
    overwrite(child.channel.executed, b"{ }")
    assert not copy_capped(child.channel.executed, target, 2) and not target.exists()  # too large: nothing, not a stale copy


def test_the_sandbox_report_is_read_from_outside_the_work_dir_and_never_silently_absent(tmp_path: Path) -> None:
    unconfined = reported_sandbox(job_in(tmp_path / "a"))
    assert unconfined.warnings and unconfined.warnings[0].startswith("NOT sandboxed")
    job = job_in(tmp_path / "b", SandboxPolicy())
    assert not Path(job.sandbox_report_path).is_relative_to(job.work_dir)
    assert reported_sandbox(job).note  # nothing written: absent, and says so
    Path(job.sandbox_report_path).write_text(json.dumps(REPORT.to_json()))
    assert reported_sandbox(job) == REPORT


def test_the_kernel_environment_is_explicit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("A10_TEST_SECRET", "s3cret")
    environment = kernel_environment("/work/dir")
    assert "s3cret" not in json.dumps(environment)
    assert environment["HOME"] == environment["IPYTHONDIR"] == environment["MPLCONFIGDIR"] == "/work/dir"
    assert {"PATH", "LANG", "LC_ALL", "PYTHONHASHSEED", "OMP_NUM_THREADS"} <= set(environment)


def test_a_cold_kernel_that_does_not_start_says_why_to_the_grader_not_to_the_student(tmp_path: Path) -> None:
    from graders.execute.cold import run_notebook

    # A sandbox that hides the interpreter's folder: the launcher enters it and then cannot run the kernel.
    interpreter = Path(sys.executable)
    job = job_in(tmp_path / "work", SandboxPolicy(hidden_dirs=(str(interpreter.parent),), private_dirs=(str(tmp_path / "work"),)))
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), job.input_path)
    outcome = run_notebook(job)
    assert not outcome.finished
    assert outcome.message == "the kernel could not be started or did not answer in time"  # the student's words
    # The instructor's, in the provenance: jupyter_client's and the launcher's own, no cell in them.
    assert outcome.exception is not None and outcome.exception.startswith("RuntimeError: ")
    assert f"the sandbox launcher: cannot run {interpreter}" in outcome.exception


def test_a_child_process_writes_its_kernelspec_in_a_folder_of_its_own_not_its_parents(tmp_path: Path) -> None:
    from graders.execute import cold

    job = job_in(tmp_path / "work")
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), job.input_path)
    assert cold.run_notebook(job).finished  # this process has written its kernelspec, and named it on JUPYTER_PATH
    (ours,) = Path(os.environ["JUPYTER_PATH"].split(os.pathsep)[0]).glob(f"kernels/{cold.KERNEL_NAME}/kernel.json")
    written = ours.read_text()
    # A child that inherits this environment (a pool worker, `grader` run from a script) starts a kernel of its own.
    child = "from graders.execute import cold\ncold._write_kernelspec(['child-kernel'], {})\nimport os; print(os.environ['JUPYTER_PATH'])"
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, check=True, timeout=120)
    assert done.stdout.split(os.pathsep)[0] != str(ours.parents[2])
    assert ours.read_text() == written  # the parent's spec is as it wrote it
