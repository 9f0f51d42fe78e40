"""One catalogued mistake graded end to end on the warm path, costing the one check it concerns (issue 22).

A sampler that draws right but carries no gradient (the probe's gradient call runs in a real kernel) and the
convex mixture `(1 - w)·BCE + w·KL` (one mistake in how kl_loss_weight is applied), graded in one batch.
The expected scores are worked out from the contract's points, not from the grader's output.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assignments.a10.contract import CHECKS, MAX_SCORE
from graders.pipeline.batch import grade_folder
from graders.pipeline.config import GradingConfig
from graders.results import CheckResult, CheckStatus, SubmissionResult
from tests.broken import CORRECT_CODE, notebook
from tests.conftest import GRADING_SEED

pytestmark = pytest.mark.e2e

SAMPLE_WITHOUT_GRADIENT = """\
def reparameterize(mu, logvar):
    # Draws from the right distribution, but .sample() runs without autograd: no gradient reaches the encoder.
    return torch.distributions.Normal(mu, torch.exp(0.5 * logvar)).sample()
"""


CONVEX_MIXTURE = """\
def vae_loss(x, x_hat, mu, logvar, kl_loss_weight=1.0):
    # beta-VAE style: the weight balances the two terms
    recon_loss = F.binary_cross_entropy(x_hat, x.view(-1, 784), reduction="sum")
    kl_loss = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return (1 - kl_loss_weight) * recon_loss + kl_loss_weight * kl_loss
"""


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory, grading_data: Path) -> dict[str, SubmissionResult]:
    folder = tmp_path_factory.mktemp("submissions")
    for name, code in {"sample-without-gradient": SAMPLE_WITHOUT_GRADIENT, "convex-mixture": CONVEX_MIXTURE}.items():
        (folder / f"{name}.ipynb").write_text(notebook(CORRECT_CODE, code), encoding="utf-8")
    config = GradingConfig(seed=GRADING_SEED, cell_timeout=8.0, jobs=2, data_dir=grading_data)
    return {r.submission: r for r in grade_folder(folder, out_dir=tmp_path_factory.mktemp("reports"), config=config)}


def _failed(result: SubmissionResult) -> dict[str, tuple[CheckStatus, tuple[str, ...]]]:
    return {c.id: (c.status, c.misconceptions) for c in result.checks if c.status is not CheckStatus.PASS}


def _points(check_id: str) -> float:
    return next(spec.points for spec in CHECKS if spec.id == check_id)


def test_a_sampler_without_gradient_costs_the_sampler_check_and_nothing_else(graded: dict[str, SubmissionResult]) -> None:
    result = graded["sample-without-gradient"]
    assert _failed(result) == {"reparameterize": (CheckStatus.FAIL, ("sample_without_gradient",))}, [c.message for c in result.checks]
    assert result.score == MAX_SCORE - _points("reparameterize")


def test_the_convex_mixture_costs_the_weighting_check_once(graded: dict[str, SubmissionResult]) -> None:
    result = graded["convex-mixture"]
    checks: dict[str, CheckResult] = {check.id: check for check in result.checks}
    assert _failed(result) == {"vae_loss.weighting": (CheckStatus.FAIL, ("weight_convex_mixture",))}
    assert result.score == MAX_SCORE - _points("vae_loss.weighting")  # 12 − 1
    assert "vae_loss.weighting" in checks["vae_loss.kl"].message  # the KL check says where the mistake was deducted
    assert "not again here" in checks["experiment.kl_tradeoff"].message
