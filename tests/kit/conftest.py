"""The student kit, built once for tests/kit/."""

from __future__ import annotations

import pytest

from assignments.a10.kit import Kit, build_kit


@pytest.fixture(scope="session")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Kit:
    return build_kit(tmp_path_factory.mktemp("kit") / "a10-kit")
