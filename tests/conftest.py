"""Shared fixtures: the generated grading data, one probe plan, and the expected values for it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assignments.a10.dataset import ensure_mnist
from assignments.a10.expected import compute_expected
from assignments.a10.plan import build_plan
from graders.judge.expected import ExpectedValues
from graders.judge.probes import ProbePlan

GRADING_SEED = 1234


@pytest.fixture(scope="session", autouse=True)
def no_warm_server(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A developer's running `grader serve` must not run the tests' commands: the client looks for its socket in
    XDG_RUNTIME_DIR (graders.pipeline.serving), here an empty folder of the session's; tests/pipeline/test_server.py
    starts its own servers in folders of its own."""
    os.environ["XDG_RUNTIME_DIR"] = str(tmp_path_factory.mktemp("runtime"))


@pytest.fixture(scope="session")
def grading_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_mnist(tmp_path_factory.mktemp("mnist"))


@pytest.fixture(scope="session")
def plan(grading_data: Path) -> ProbePlan:
    return build_plan(seed=GRADING_SEED, hidden=True, data_dir=grading_data)


@pytest.fixture(scope="session")
def expected(plan: ProbePlan) -> ExpectedValues:
    return compute_expected(plan)
