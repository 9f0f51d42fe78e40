"""A sampler that draws right but carries no gradient, graded end to end on the warm path: the probe's gradient
call runs in a real kernel, and the one mistake costs the one check (issue 22)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assignments.a10.contract import CHECKS, MAX_SCORE
from graders.pipeline.batch import grade_folder
from graders.pipeline.config import GradingConfig
from graders.results import CheckStatus
from tests.broken import CORRECT_CODE, notebook
from tests.conftest import GRADING_SEED

pytestmark = pytest.mark.e2e

SAMPLE_WITHOUT_GRADIENT = """\
def reparameterize(mu, logvar):
    # Draws from the right distribution, but .sample() runs without autograd: no gradient reaches the encoder.
    return torch.distributions.Normal(mu, torch.exp(0.5 * logvar)).sample()
"""


def test_a_sampler_without_gradient_costs_the_sampler_check_and_nothing_else(tmp_path: Path, grading_data: Path) -> None:
    folder = tmp_path / "submissions"
    folder.mkdir()
    (folder / "sample-without-gradient.ipynb").write_text(notebook(CORRECT_CODE, SAMPLE_WITHOUT_GRADIENT), encoding="utf-8")
    config = GradingConfig(seed=GRADING_SEED, cell_timeout=8.0, jobs=1, data_dir=grading_data)
    (result,) = grade_folder(folder, out_dir=tmp_path / "reports", config=config)
    failed = {c.id: (c.status, c.misconceptions) for c in result.checks if c.status is not CheckStatus.PASS}
    assert failed == {"reparameterize": (CheckStatus.FAIL, ("sample_without_gradient",))}, [c.message for c in result.checks]
    assert result.score == MAX_SCORE - next(spec.points for spec in CHECKS if spec.id == "reparameterize")
