"""Assignment 11's demo class on a real Dask cluster on loopback: the same verdicts as the local warm path.

The cluster (a `dask scheduler` and two `dask worker` subprocesses, started and stopped by the test) is
tests/execute/test_cluster.py's; its workers see nothing of the grader's folders (an empty tmpfs over
them), so the assignment, its plan and its kernel code travel in the tasks. Only processes this test
starts are looked at or stopped.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest

from assignments.a11 import ASSIGNMENT as A11
from graders.execute.cluster import DaskExecutor
from graders.execute.warm import WarmExecutor
from graders.pipeline.batch import grade_folder
from graders.pipeline.cache import grader_fingerprint
from graders.pipeline.config import GradingConfig
from tests.a11.test_grading_e2e import DEMOS, EXPECTED
from tests.execute import test_cluster as dask_cluster

pytestmark = pytest.mark.e2e

cluster = dask_cluster.cluster  # the fixture: a fresh loopback cluster per test, always stopped
CONFIG = GradingConfig(seed=7, cell_timeout=60.0, jobs=2, assignment=A11)


def demo_class(folder: Path) -> tuple[Path, Path]:
    """The shipped demo submissions and an (empty: Assignment 11 reads no files) data folder under `folder`."""
    submissions = shutil.copytree(DEMOS, folder / "submissions")
    data = A11.prepare_data(folder / "data")
    return submissions, data


def test_assignment_11_grades_on_the_cluster_as_it_does_warm(cluster, tmp_path, monkeypatch):
    local_submissions, local_data = demo_class(tmp_path / "local")
    config = replace(CONFIG, data_dir=local_data)
    warm = grade_folder(local_submissions, out_dir=tmp_path / "local" / "reports", config=config, executor=WarmExecutor(2))

    grader = tmp_path / "grader"
    submissions, data = demo_class(grader)
    (grader / "tmp").mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(grader / "tmp"))  # the grader's scratch, hidden from the workers too
    cluster.start(workers=2, hide=(grader,))
    with DaskExecutor(cluster.address, fingerprint=partial(grader_fingerprint, A11.package_dir())) as executor:
        on_cluster = grade_folder(submissions, out_dir=grader / "reports", config=replace(CONFIG, data_dir=data), executor=executor)

    assert dask_cluster.verdicts(on_cluster) == dask_cluster.verdicts(warm)
    # Both are Assignment 11's grades: each demo's score and the one mistake it names.
    for result in on_cluster:
        score, named = EXPECTED[result.submission]
        assert result.status.value == "graded" and result.score == score, result.submission
        assert {c.id: list(c.misconceptions) for c in result.checks if c.misconceptions} == {k: [v] for k, v in named.items()}
        assert result.provenance is not None and result.provenance.settings.assignment_id == A11.id
    ran_on = {r.provenance.executor for r in on_cluster if r.provenance is not None}
    assert len(ran_on) == 2 and all(name.startswith("warm, Dask worker tcp://127.0.0.1:") for name in ran_on), ran_on
