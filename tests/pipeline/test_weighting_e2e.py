"""The convex mixture `(1 - w)·BCE + w·KL` graded end to end on the warm path (issue 22, item 2): one
mistake in how kl_loss_weight is applied, deducted once, under `vae_loss.weighting`.

The expected score is worked out from the contract's points, not from the grader's output.
"""

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

CONVEX_MIXTURE = """\
def vae_loss(x, x_hat, mu, logvar, kl_loss_weight=1.0):
    # beta-VAE style: the weight balances the two terms
    recon_loss = F.binary_cross_entropy(x_hat, x.view(-1, 784), reduction="sum")
    kl_loss = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return (1 - kl_loss_weight) * recon_loss + kl_loss_weight * kl_loss
"""


def test_the_convex_mixture_costs_the_weighting_check_once(grading_data: Path, tmp_path: Path) -> None:
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    (submissions / "convex-mixture.ipynb").write_text(notebook(CORRECT_CODE, CONVEX_MIXTURE), encoding="utf-8")
    config = GradingConfig(seed=GRADING_SEED, cell_timeout=8.0, jobs=1, data_dir=grading_data)
    (result,) = grade_folder(submissions, out_dir=tmp_path / "reports", config=config)
    checks = {check.id: check for check in result.checks}
    failed = {check_id: (check.status, check.misconceptions) for check_id, check in checks.items() if check.status is not CheckStatus.PASS}
    assert failed == {"vae_loss.weighting": (CheckStatus.FAIL, ("weight_convex_mixture",))}
    weighting_points = next(spec.points for spec in CHECKS if spec.id == "vae_loss.weighting")
    assert result.score == MAX_SCORE - weighting_points  # 12 − 1
    assert "vae_loss.weighting" in checks["vae_loss.kl"].message  # the KL check says where the mistake was deducted
    assert "not again here" in checks["experiment.kl_tradeoff"].message
