"""Closed-form forward diffusion: q(x_t | x_0) = N(sqrt(ᾱ_t)·x_0, (1 − ᾱ_t)·I).

`alphas[s - 1]` is α_s (t is 1-based) and ᾱ_t = α_1·α_2·…·α_t.
"""

from __future__ import annotations

import torch


def alpha_bar(alphas: torch.Tensor, t: int) -> torch.Tensor:
    """ᾱ_t, computed in float64 so the reference is never the least precise party."""
    if not 1 <= t <= alphas.numel():
        raise ValueError(f"t must be in 1..{alphas.numel()}, got {t}")
    return torch.prod(alphas.to(torch.float64)[:t])


def closed_form(x0: torch.Tensor, t: int, alphas: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (μ, Σ) of q(x_t | x_0); Σ is the scalar variance 1 − ᾱ_t (the covariance is Σ·I)."""
    abar = alpha_bar(alphas, t)
    return torch.sqrt(abar) * x0.to(torch.float64), 1.0 - abar
