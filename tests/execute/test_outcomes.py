"""What crosses the process boundary: jobs and outcomes as JSON, and reading the outcome a warm
child left behind, which its notebook's code could have forged, replaced or made huge."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from graders.execute import zygote
from graders.execute.child import OUTCOME_FILE
from graders.execute.jobs import PROGRESS_FILE, ExecutionJob, ExecutionOutcome, kernel_environment, reported_sandbox
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


def test_the_zygote_reads_a_childs_outcome_only_if_well_formed_and_about_this_job(tmp_path: Path) -> None:
    job = job_in(tmp_path / "w")
    outcome_file = Path(job.work_dir) / OUTCOME_FILE
    assert zygote._recorded_outcome(job) is None  # nothing written
    outcome_file.write_text(json.dumps(ExecutionOutcome("bob", True).to_json()))
    assert zygote._recorded_outcome(job) is None  # about another job
    outcome_file.write_text("[" * 100_000)
    assert zygote._recorded_outcome(job) is None  # nested too deep to parse
    outcome_file.write_text(json.dumps(ExecutionOutcome("alice", True, "ok").to_json()) + " " * (1 << 20))
    assert zygote._recorded_outcome(job) is None  # too big
    outcome_file.unlink()
    os.mkfifo(outcome_file)
    assert zygote._recorded_outcome(job) is None  # a FIFO: refused, not waited on
    outcome_file.unlink()
    outcome_file.write_text(json.dumps(ExecutionOutcome("alice", True, "ok").to_json()))
    assert zygote._recorded_outcome(job) == ExecutionOutcome("alice", True, "ok")


def test_the_running_cell_marker_is_text_or_nothing(tmp_path: Path) -> None:
    job = job_in(tmp_path / "w")
    marker = Path(job.work_dir) / PROGRESS_FILE
    for content, expected in [('{"source": "x = 1"}', "x = 1"), ('{"source": 3}', None), ("[1]", None), ("{", None)]:
        marker.write_text(content)
        assert zygote._running_cell(job) == expected, content


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
