"""The student kit, built once for tests/kit/."""

from __future__ import annotations

import pytest

from assignments.a10 import ASSIGNMENT
from graders.kit.build import Kit, build_kit


@pytest.fixture(scope="session")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Kit:
    return build_kit(ASSIGNMENT, tmp_path_factory.mktemp("kit") / "a10-kit")
