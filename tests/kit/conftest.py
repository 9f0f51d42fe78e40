"""The student kits, built once for tests/kit/: Assignment 10's, and each shipped assignment's."""

from __future__ import annotations

import pytest

from assignments.a10 import ASSIGNMENT as TEN
from assignments.a11 import ASSIGNMENT as ELEVEN
from graders.assignment.spec import Assignment
from graders.kit.build import Kit, build_kit
from graders.pipeline.secret import course_seed


@pytest.fixture(scope="session")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Kit:
    return build_kit(TEN, tmp_path_factory.mktemp("kit") / "a10-kit")


@pytest.fixture(scope="session", params=[TEN.id, ELEVEN.id])
def built(request: pytest.FixtureRequest, kit: Kit, tmp_path_factory: pytest.TempPathFactory) -> tuple[Assignment, Kit]:
    """Each shipped assignment with its kit (Assignment 10's the one above), for what holds of every kit."""
    if request.param == TEN.id:
        return TEN, kit
    return ELEVEN, build_kit(ELEVEN, tmp_path_factory.mktemp("kit") / "a11-kit")


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> int:
    """A real course secret's grading seed: what a course would grade with."""
    return course_seed(tmp_path_factory.mktemp("course") / ".grader-secret").seed
