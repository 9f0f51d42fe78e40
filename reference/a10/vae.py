"""The VAE loss of Assignment 10 and the reparameterisation trick.

loss = BCE(x_hat, x) summed over all elements
       + kl_loss_weight · KL(N(mu, exp(logvar)) ‖ N(0, I)),
KL   = −½ Σ (1 + logvar − mu² − exp(logvar)), summed over all elements.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def reconstruction_loss(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    # x may be image-shaped (B, 1, 28, 28) while the decoder gives (B, 784): compare element-wise.
    return F.binary_cross_entropy(x_hat.to(torch.float64).reshape(-1), x.to(torch.float64).reshape(-1), reduction="sum")


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    mu, logvar = mu.to(torch.float64), logvar.to(torch.float64)
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


def vae_loss(x: torch.Tensor, x_hat: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, kl_loss_weight: float = 1.0) -> torch.Tensor:
    return reconstruction_loss(x, x_hat) + kl_loss_weight * kl_divergence(mu, logvar)


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
