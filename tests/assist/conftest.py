"""The real model when the [assist] extra is installed; tests that need it are skipped (and say why) otherwise."""

from __future__ import annotations

import pytest

from graders.assist import embed
from graders.errors import MissingExtra


@pytest.fixture(scope="session")
def model() -> embed.Model:
    try:
        return embed.load()
    except MissingExtra as exc:
        pytest.skip(str(exc))
