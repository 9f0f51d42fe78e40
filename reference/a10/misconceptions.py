"""The known-wrong variant implementations, one switch per misconception of the catalog (`assignments.a10.catalog`).

A variant is the reference with some misconceptions switched on (`flags`), so that
combinations come for free: the seed write-up's μ = α₃α₂α₁ is
`closed_form_variant(..., {"missing_sqrt", "missing_x0"})`.
The grader names a misconception when a student's value matches a variant's value
on every probe input where it does not match the reference.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from assignments.a10.catalog import CATALOG, flag_subsets, names_for
from graders.assignment.spec import Misconception

__all__ = ["CATALOG", "Misconception", "closed_form_variant", "flag_subsets", "names_for", "reparameterize_variant", "vae_loss_variant"]


def closed_form_variant(x0: torch.Tensor, t: int, alphas: torch.Tensor, flags: frozenset[str]) -> tuple[torch.Tensor, torch.Tensor]:
    steps = t + 1 if "off_by_one_index" in flags else t
    alphas = alphas.to(torch.float64)
    # Plain slicing, as student code does: alphas[:t+1] silently stops at the end of the tensor.
    abar = alphas[steps - 1] if "last_alpha_only" in flags else torch.prod(alphas[:steps])
    scale = abar if "missing_sqrt" in flags else torch.sqrt(abar)
    mu = scale if "missing_x0" in flags else scale * x0.to(torch.float64)
    variance = 1.0 - abar
    sigma = torch.sqrt(variance) if "std_for_variance" in flags else variance
    return mu, sigma


def vae_loss_variant(flags: frozenset[str]) -> Callable[..., torch.Tensor]:
    """A `vae_loss(x, x_hat, mu, logvar, kl_loss_weight=1.0)` with the given misconceptions."""

    def vae_loss(x: torch.Tensor, x_hat: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, kl_loss_weight: float = 1.0) -> torch.Tensor:
        x, x_hat = x.to(torch.float64).reshape(-1), x_hat.to(torch.float64).reshape(-1)
        mu, logvar = mu.to(torch.float64), logvar.to(torch.float64)
        # PyTorch's default reduction is the mean: the typical slip is in the library call (the
        # reconstruction term); a KL written out by hand is summed with torch.sum.
        reduction = "mean" if "mean_reduction" in flags else "sum"
        if "mse_instead_of_bce" in flags:
            recon = F.mse_loss(x_hat, x, reduction=reduction)
        else:
            recon = F.binary_cross_entropy(x_hat, x, reduction=reduction)
        kl_sum = _kl_reduced(1 + logvar - mu.pow(2) - logvar.exp(), flags)
        kl = -kl_sum if "kl_missing_half" in flags else -0.5 * kl_sum
        if "kl_sign_flipped" in flags:
            kl = -kl
        weight = 1.0 if "weight_ignored" in flags else kl_loss_weight
        applied = next((_WEIGHTINGS[name] for name in _WEIGHTINGS if name in flags), _weighted)
        return applied(recon, kl, weight)

    return vae_loss


def _kl_reduced(terms: torch.Tensor, flags: frozenset[str]) -> torch.Tensor:
    if "kl_mean_reduction" in flags:
        return terms.mean()
    if "kl_batch_mean" in flags:  # summed per sample, then averaged over the batch
        return terms.sum(dim=1).mean()
    return terms.sum()


def _weighted(recon: torch.Tensor, kl: torch.Tensor, weight: float) -> torch.Tensor:
    return recon + weight * kl


# The ways a weight is applied in public beta-VAE code, each a catalogued mistake (catalog.ALTERNATIVES: one at a time).
_WEIGHTINGS: dict[str, Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]] = {
    "weight_on_reconstruction": lambda recon, kl, w: w * recon + kl,
    "weight_convex_mixture": lambda recon, kl, w: (1 - w) * recon + w * kl,
    "weight_on_both_terms": lambda recon, kl, w: w * (recon + kl),
    "weight_as_divisor": lambda recon, kl, w: recon + kl / w,
    "weight_normalised": lambda recon, kl, w: (recon + w * kl) / (1 + w),
    "weight_squared": lambda recon, kl, w: recon + w**2 * kl,
}


def reparameterize_variant(flags: frozenset[str]) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        if "no_noise" in flags:
            return mu.clone()
        std = torch.exp(logvar) if "variance_as_std" in flags else torch.exp(0.5 * logvar)
        return mu + std * torch.randn_like(mu)

    return reparameterize
