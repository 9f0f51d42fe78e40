"""Shared fixtures: the generated grading data, one probe plan, and the expected values for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from assignments.a10.dataset import ensure_mnist
from assignments.a10.expected import compute_expected
from assignments.a10.plan import build_plan
from graders.judge.expected import ExpectedValues
from graders.judge.probes import ProbePlan

GRADING_SEED = 1234


@pytest.fixture(scope="session")
def grading_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_mnist(tmp_path_factory.mktemp("mnist"))


@pytest.fixture(scope="session")
def plan(grading_data: Path) -> ProbePlan:
    return build_plan(seed=GRADING_SEED, hidden=True, data_dir=grading_data)


@pytest.fixture(scope="session")
def expected(plan: ProbePlan) -> ExpectedValues:
    return compute_expected(plan)
