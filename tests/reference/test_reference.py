"""The reference against numbers derived by hand."""

from __future__ import annotations

import math

import pytest
import torch

from reference.a10.closed_form import alpha_bar, closed_form
from reference.a10.misconceptions import CATALOG, closed_form_variant, flag_subsets, names_for, vae_loss_variant
from reference.a10.vae import kl_divergence, reconstruction_loss, reparameterize, vae_loss

ALPHAS = torch.tensor([0.9, 0.8, 0.7], dtype=torch.float64)


def test_alpha_bar_is_the_running_product():
    assert alpha_bar(ALPHAS, 1).item() == pytest.approx(0.9)
    assert alpha_bar(ALPHAS, 2).item() == pytest.approx(0.72)
    assert alpha_bar(ALPHAS, 3).item() == pytest.approx(0.504)


def test_alpha_bar_rejects_t_outside_the_schedule():
    with pytest.raises(ValueError):
        alpha_bar(ALPHAS, 4)
    with pytest.raises(ValueError):
        alpha_bar(ALPHAS, 0)


def test_closed_form_at_t3():
    x0 = torch.tensor([1.0, -2.0, 0.0], dtype=torch.float64)
    mu, sigma = closed_form(x0, 3, ALPHAS)
    assert mu.tolist() == pytest.approx([math.sqrt(0.504), -2 * math.sqrt(0.504), 0.0])
    assert sigma.item() == pytest.approx(0.496)


def test_vae_loss_on_a_hand_computed_example():
    # BCE of 0.5 against targets 1 and 0: 2·ln 2.
    # KL for mu = (0, 1), logvar = (0, ln 2): −½[(1 + 0 − 0 − 1) + (1 + ln2 − 1 − 2)] = 1 − ln2 / 2.
    x = torch.tensor([[1.0, 0.0]])
    x_hat = torch.tensor([[0.5, 0.5]])
    mu = torch.tensor([[0.0, 1.0]])
    logvar = torch.tensor([[0.0, math.log(2.0)]])
    bce, kl = 2 * math.log(2), 1 - math.log(2) / 2
    assert reconstruction_loss(x, x_hat).item() == pytest.approx(bce)
    assert kl_divergence(mu, logvar).item() == pytest.approx(kl)
    assert vae_loss(x, x_hat, mu, logvar).item() == pytest.approx(bce + kl)
    assert vae_loss(x, x_hat, mu, logvar, kl_loss_weight=30).item() == pytest.approx(bce + 30 * kl)
    assert vae_loss(x, x_hat, mu, logvar, kl_loss_weight=0).item() == pytest.approx(bce)


def test_vae_loss_accepts_image_shaped_targets_and_flat_reconstructions():
    x = torch.rand(3, 1, 28, 28, dtype=torch.float64)
    x_hat = torch.rand(3, 784, dtype=torch.float64).clamp(0.01, 0.99)
    flat = -(x.view(3, 784) * x_hat.log() + (1 - x.view(3, 784)) * (1 - x_hat).log()).sum()
    assert reconstruction_loss(x, x_hat).item() == pytest.approx(flat.item())


def test_reparameterize_has_the_right_moments():
    torch.manual_seed(0)
    mu = torch.full((200_000,), 1.5, dtype=torch.float64)
    logvar = torch.full((200_000,), math.log(4.0), dtype=torch.float64)
    z = reparameterize(mu, logvar)
    assert z.mean().item() == pytest.approx(1.5, abs=0.02)
    assert z.std().item() == pytest.approx(2.0, abs=0.02)


def test_variants_without_flags_are_the_reference():
    x0 = torch.randn(4, dtype=torch.float64)
    mu, sigma = closed_form_variant(x0, 2, ALPHAS, frozenset())
    ref_mu, ref_sigma = closed_form(x0, 2, ALPHAS)
    assert torch.allclose(mu, ref_mu) and torch.allclose(sigma, ref_sigma)
    x, x_hat = torch.rand(2, 784), torch.rand(2, 784).clamp(0.01, 0.99)
    m, lv = torch.randn(2, 3), torch.randn(2, 3)
    for weight in (0.0, 1.0, 30.0):
        assert vae_loss_variant(frozenset())(x, x_hat, m, lv, weight).item() == pytest.approx(vae_loss(x, x_hat, m, lv, weight).item())


def test_the_seed_answer_is_the_missing_sqrt_and_missing_x0_variant():
    mu, _ = closed_form_variant(torch.ones(1), 3, ALPHAS, frozenset({"missing_sqrt", "missing_x0"}))
    assert mu.item() == pytest.approx(0.9 * 0.8 * 0.7)


def test_catalog_covers_the_required_misconceptions_with_explanations():
    required = {
        "missing_sqrt",
        "missing_x0",
        "std_for_variance",
        "off_by_one_index",
        "last_alpha_only",
        "kl_sign_flipped",
        "kl_missing_half",
        "weight_on_reconstruction",
        "mean_reduction",
        "mse_instead_of_bce",
    }
    assert required <= set(CATALOG)
    assert all(len(m.explanation) > 40 and m.title for m in CATALOG.values())


def test_flag_subsets_come_smallest_first():
    subsets = list(flag_subsets("closed_form"))
    n = len(names_for("closed_form"))
    assert len(subsets) == n + n * (n - 1) // 2
    assert [len(f) for f in subsets] == sorted(len(f) for f in subsets)
