"""Student-style implementations, written by hand the way students write them (not derived from
the reference's variants), for testing checks in-process without a kernel.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from assignments.a10.checks import Evidence
from graders.assignment.spec import Scoring
from graders.judge.expected import ExpectedValues
from graders.judge.probes import ProbePlan, decode_results
from graders.results import DerivationAnswer
from graders.runtime.probe_runtime import run_probes

CORRECT_DERIVATION = (
    DerivationAnswer("mu", r"\sqrt{\alpha_1\alpha_2\alpha_3}\,x_0"),
    DerivationAnswer("Sigma", r"1 - \alpha_1\alpha_2\alpha_3"),
)


def evidence(
    plan: ProbePlan,
    expected: ExpectedValues,
    *,
    experiment: bool = False,
    scoring: Scoring = Scoring.PER_MISTAKE,
    **functions: Callable[..., Any],
) -> Evidence:
    """Run the probe runtime in-process on these functions, as the kernel would, then decode."""
    namespace = {**CORRECT, **functions}
    request = plan.request(None if experiment else ("closed_form", "vae_loss", "reparameterize"))
    raw = json.loads(json.dumps(run_probes(namespace, request)))
    return Evidence(plan, decode_results(raw, plan), expected, CORRECT_DERIVATION, scoring=scoring)


# ----------------------------------------------------------------------------- closed form


def closed_form_prod(x0, t, alphas):
    alpha_bar = torch.prod(alphas[:t])
    return torch.sqrt(alpha_bar) * x0, 1 - alpha_bar


def closed_form_loop(x0, t, alphas):
    alpha_bar = 1.0
    for s in range(1, t + 1):
        alpha_bar = alpha_bar * alphas[s - 1]
    return alpha_bar**0.5 * x0, 1.0 - alpha_bar


def closed_form_cumprod_float64(x0, t, alphas):
    alpha_bar = torch.cumprod(alphas.double(), dim=0)[t - 1]
    return alpha_bar.sqrt() * x0.double(), (1 - alpha_bar).item()


def closed_form_numpy(x0, t, alphas):
    alpha_bar = np.prod(alphas.numpy()[:t])
    return np.sqrt(alpha_bar) * x0.numpy(), float(1 - alpha_bar)


def closed_form_sigma_matrix(x0, t, alphas):
    alpha_bar = torch.prod(alphas[:t])
    return torch.sqrt(alpha_bar) * x0, (1 - alpha_bar) * torch.eye(x0.numel())


def closed_form_missing_sqrt(x0, t, alphas):
    alpha_bar = torch.prod(alphas[:t])
    return alpha_bar * x0, 1 - alpha_bar


def closed_form_scalar_mu(x0, t, alphas):
    # The seed write-up's μ = α₃α₂α₁, generalised to any t.
    alpha_bar = torch.prod(alphas[:t])
    return alpha_bar, 1 - alpha_bar


def closed_form_std(x0, t, alphas):
    alpha_bar = torch.prod(alphas[:t])
    return torch.sqrt(alpha_bar) * x0, torch.sqrt(1 - alpha_bar)


def closed_form_off_by_one(x0, t, alphas):
    alpha_bar = torch.prod(alphas[: t + 1])
    return torch.sqrt(alpha_bar) * x0, 1 - alpha_bar


def closed_form_last_alpha(x0, t, alphas):
    return torch.sqrt(alphas[t - 1]) * x0, 1 - alphas[t - 1]


def closed_form_ddpm_indexing(x0, t, alphas):
    # DDPM code's alphas_cumprod[t], used with the sheet's 1-based t: one step too far, and past the
    # end of the table at t = T.
    alphas_cumprod = torch.cumprod(alphas, dim=0)
    return torch.sqrt(alphas_cumprod[t]) * x0, 1 - alphas_cumprod[t]


def closed_form_prints_its_input(x0, t, alphas):
    # Right on the public input; on any other it raises with the input in the message and in the
    # exception's class name, trying to carry hidden inputs into its own report.
    if tuple(x0.shape) != (2, 2):
        digits = "".join(ch for ch in str(abs(float(x0.flatten()[0]))) if ch.isdigit())[:8]
        raise type(f"Leak{digits}", (ValueError,), {})(f"got x0={x0.flatten()[:3].tolist()} alphas={alphas.tolist()}")
    return closed_form_prod(x0, t, alphas)


def closed_form_returns_string(x0, t, alphas):
    return "mu", "Sigma"


def closed_form_nan(x0, t, alphas):
    return x0 * float("nan"), torch.tensor(0.5)


def closed_form_raises(x0, t, alphas):
    raise ValueError("not done yet")


# ----------------------------------------------------------------------------- VAE loss


def _bce_sum(x, x_hat):
    return F.binary_cross_entropy(x_hat, x.view(-1, 784), reduction="sum")


def _kl(mu, logvar):
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


def vae_loss_correct(x, x_hat, mu, logvar, kl_loss_weight=1.0):
    return _bce_sum(x, x_hat) + kl_loss_weight * _kl(mu, logvar)


def vae_loss_manual_bce(x, x_hat, mu, logvar, kl_loss_weight=1.0):
    x = x.reshape(x_hat.shape).double()
    x_hat = x_hat.double()
    bce = -(x * torch.log(x_hat) + (1 - x) * torch.log(1 - x_hat)).sum()
    return bce + kl_loss_weight * _kl(mu.double(), logvar.double())


def vae_loss_sign_flipped(x, x_hat, mu, logvar, kl_loss_weight=1.0):
    return _bce_sum(x, x_hat) + kl_loss_weight * 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


def vae_loss_missing_half(x, x_hat, mu, logvar, kl_loss_weight=1.0):
    return _bce_sum(x, x_hat) - kl_loss_weight * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


def vae_loss_weight_on_reconstruction(x, x_hat, mu, logvar, kl_loss_weight=1.0):
    return kl_loss_weight * _bce_sum(x, x_hat) + _kl(mu, logvar)


def vae_loss_weight_ignored(x, x_hat, mu, logvar, kl_loss_weight=1.0):
    return _bce_sum(x, x_hat) + _kl(mu, logvar)


def vae_loss_mean_bce(x, x_hat, mu, logvar, kl_loss_weight=1.0):
    return F.binary_cross_entropy(x_hat, x.view(-1, 784)) + kl_loss_weight * _kl(mu, logvar)


def vae_loss_mse(x, x_hat, mu, logvar, kl_loss_weight=1.0):
    return F.mse_loss(x_hat, x.view(-1, 784), reduction="sum") + kl_loss_weight * _kl(mu, logvar)


def vae_loss_float64(x, x_hat, mu, logvar, kl_loss_weight=1.0):
    x, x_hat, mu, logvar = (v.double() for v in (x, x_hat, mu, logvar))
    return F.binary_cross_entropy(x_hat, x.reshape(x_hat.shape), reduction="sum") + kl_loss_weight * _kl(mu, logvar)


def vae_loss_distributions(x, x_hat, mu, logvar, kl_loss_weight=1.0):
    posterior = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    prior = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    kl = torch.distributions.kl_divergence(posterior, prior).sum()
    return F.binary_cross_entropy(x_hat, x.view(-1, 784), reduction="sum") + kl_loss_weight * kl


def vae_loss_flat_only(x, x_hat, mu, logvar, kl_loss_weight=1.0):
    # Written for the PyTorch example's training loop, which flattens x before calling the loss.
    bce = F.binary_cross_entropy(x_hat, x, reduction="sum")
    return bce + kl_loss_weight * _kl(mu, logvar)


def vae_loss_flat_only_sign_flipped(x, x_hat, mu, logvar, kl_loss_weight=1.0):
    bce = F.binary_cross_entropy(x_hat, x, reduction="sum")
    return bce - kl_loss_weight * _kl(mu, logvar)


# A term cut from autograd: the loss's values are right, no gradient flows through that term (issue 22).


def vae_loss_kl_item(x, x_hat, mu, logvar, kl_loss_weight=1.0):
    # Logging code's habit, kept in the loss: the KL taken out as a number.
    return _bce_sum(x, x_hat) + kl_loss_weight * _kl(mu, logvar).item()


def vae_loss_kl_detached(x, x_hat, mu, logvar, kl_loss_weight=1.0):
    return _bce_sum(x, x_hat) + kl_loss_weight * _kl(mu.detach(), logvar.detach())


def vae_loss_reconstruction_data(x, x_hat, mu, logvar, kl_loss_weight=1.0):
    return _bce_sum(x, x_hat.data) + kl_loss_weight * _kl(mu, logvar)


# How a weight enters, as public beta-VAE code applies it (issue 22): each one mistake in the weighting.


def vae_loss_convex_mixture(x, x_hat, mu, logvar, kl_loss_weight=1.0):
    # beta-VAE code that balances the two terms: (1 - beta) * recon + beta * kl.
    recon_loss = _bce_sum(x, x_hat)
    kl_loss = _kl(mu, logvar)
    return (1 - kl_loss_weight) * recon_loss + kl_loss_weight * kl_loss


def vae_loss_convex_mixture_alpha(x, x_hat, mu, logvar, kl_loss_weight=1.0):
    # The same mixture written with alpha = 1 - w on the reconstruction, terms in the other order.
    alpha = 1.0 - kl_loss_weight
    return kl_loss_weight * _kl(mu, logvar) + alpha * F.binary_cross_entropy(x_hat, x.view(-1, 784), reduction="sum")


def vae_loss_weight_on_both(x, x_hat, mu, logvar, kl_loss_weight=1.0):
    return kl_loss_weight * (_bce_sum(x, x_hat) + _kl(mu, logvar))


def vae_loss_weight_as_divisor(x, x_hat, mu, logvar, kl_loss_weight=1.0):
    # The weight read as a temperature: the KL divided by it.
    return _bce_sum(x, x_hat) + _kl(mu, logvar) / kl_loss_weight


def vae_loss_weight_as_divisor_manual_bce(x, x_hat, mu, logvar, kl_loss_weight=1.0):
    # The same divisor with BCE written out: training at weight 0 turns to NaN and carries on instead of raising.
    x = x.reshape(x_hat.shape)
    bce = -(x * torch.log(x_hat) + (1 - x) * torch.log(1 - x_hat)).sum()
    return bce + _kl(mu, logvar) / kl_loss_weight


def vae_loss_normalised(x, x_hat, mu, logvar, kl_loss_weight=1.0):
    # Coefficients normalised to sum to one: 1/(1+w) and w/(1+w).
    total = 1.0 + kl_loss_weight
    return _bce_sum(x, x_hat) / total + kl_loss_weight / total * _kl(mu, logvar)


def vae_loss_weight_twice(x, x_hat, mu, logvar, kl_loss_weight=1.0):
    # A KL helper that already applies beta (as in `self.beta / 2 * torch.sum(...)`), weighted again by the caller.
    def kld_loss(mu, logvar, beta):
        return beta / 2 * torch.sum(logvar.exp() - logvar - 1 + mu.pow(2))

    return _bce_sum(x, x_hat) + kl_loss_weight * kld_loss(mu, logvar, kl_loss_weight)


def vae_loss_kl_mean(x, x_hat, mu, logvar, kl_loss_weight=1.0):
    # The weight applied to a KL averaged over every element.
    kld = -0.5 * torch.mean(1 + logvar - mu.pow(2) - logvar.exp())
    return _bce_sum(x, x_hat) + kl_loss_weight * kld


def vae_loss_kl_batch_mean(x, x_hat, mu, logvar, kl_loss_weight=1.0):
    # The weight applied to a KL summed per sample and averaged over the batch (common in public code).
    kld = torch.mean(-0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp(), dim=1), dim=0)
    return _bce_sum(x, x_hat) + kl_loss_weight * kld


def vae_loss_convex_mixture_kl_batch_mean(x, x_hat, mu, logvar, kl_loss_weight=1.0):
    # Two mistakes: a batch-averaged KL, and the convex mixture.
    kld = torch.mean(-0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1))
    return (1 - kl_loss_weight) * _bce_sum(x, x_hat) + kl_loss_weight * kld


def vae_loss_per_sample(x, x_hat, mu, logvar, kl_loss_weight=1.0):
    # Forgot to reduce over the batch: a vector, not a scalar.
    bce = F.binary_cross_entropy(x_hat, x.view(-1, 784), reduction="none").sum(dim=1)
    return bce + kl_loss_weight * (-0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1))


# ----------------------------------------------------------------------------- reparameterisation


def reparameterize_correct(mu, logvar):
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)


def reparameterize_normal(mu, logvar):
    return torch.normal(mu, torch.exp(0.5 * logvar))


def reparameterize_rsample(mu, logvar):
    return torch.distributions.Normal(mu, torch.exp(0.5 * logvar)).rsample()


def reparameterize_shared_noise(mu, logvar):
    eps = torch.randn(mu.shape[0], 1)  # one ε per sample, broadcast over the latent dimensions
    return mu + torch.exp(0.5 * logvar) * eps


def reparameterize_plus_minus_std(mu, logvar):
    # No randomness at all: alternately one standard deviation above and below the mean.
    signs = torch.ones_like(mu)
    signs[::2] = -1
    return mu + signs * torch.exp(0.5 * logvar)


_NOISE: dict[str, torch.Tensor] = {}


def reparameterize_noise_reused(mu, logvar):
    # ε drawn on the first call and kept.
    if "eps" not in _NOISE:
        _NOISE["eps"] = torch.randn(2000, mu.shape[1])
    return mu + torch.exp(0.5 * logvar) * _NOISE["eps"]


def reparameterize_variance(mu, logvar):
    return mu + torch.exp(logvar) * torch.randn_like(mu)


def reparameterize_no_noise(mu, logvar):
    return mu


def reparameterize_wrong_shape(mu, logvar):
    return (mu + torch.exp(0.5 * logvar) * torch.randn_like(mu))[0]


def reparameterize_inplace_std(mu, logvar):
    # The PyTorch VAE example's idiom: in-place exp_ and normal_, then eps * std + mu.
    std = logvar.mul(0.5).exp_()
    eps = std.new_empty(std.size()).normal_()
    return eps.mul(std).add_(mu)


def reparameterize_independent_rsample(mu, logvar):
    return torch.distributions.Independent(torch.distributions.Normal(mu, torch.exp(0.5 * logvar)), 1).rsample()


def reparameterize_inplace_on_mu(mu, logvar):
    # Adds the noise into mu in place: fine in training, where mu is the encoder's output, not a leaf.
    return mu.add_(torch.exp(0.5 * logvar) * torch.randn_like(mu))


# Right distribution, no gradient to mu or logvar (issue 22): sample_without_gradient.


def reparameterize_sample(mu, logvar):
    return torch.distributions.Normal(mu, torch.exp(0.5 * logvar)).sample()


def reparameterize_independent_sample(mu, logvar):
    return torch.distributions.Independent(torch.distributions.Normal(mu, torch.exp(0.5 * logvar)), 1).sample()


def reparameterize_detached(mu, logvar):
    return (mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)).detach()


def reparameterize_data(mu, logvar):
    return mu.data + torch.exp(0.5 * logvar.data) * torch.randn_like(mu)


def reparameterize_numpy_round_trip(mu, logvar):
    m, s = mu.detach().numpy(), np.exp(0.5 * logvar.detach().numpy())
    return torch.tensor(np.random.normal(m, s), dtype=torch.float32)


def reparameterize_tolist(mu, logvar):
    eps = torch.randn_like(mu)
    std = torch.exp(0.5 * logvar)
    return torch.tensor(
        [[m + s * e for m, s, e in zip(*rows, strict=True)] for rows in zip(mu.tolist(), std.tolist(), eps.tolist(), strict=True)]
    )


# Right distribution, gradient to mu only: logvar_without_gradient.


def reparameterize_std_detached(mu, logvar):
    return mu + torch.exp(0.5 * logvar).detach() * torch.randn_like(mu)


def reparameterize_mu_plus_sampled_noise(mu, logvar):
    return mu + torch.distributions.Normal(torch.zeros_like(mu), torch.exp(0.5 * logvar)).sample()


# Right distribution, a gradient that is neither: no name.


def reparameterize_mu_detached(mu, logvar):
    return mu.detach() + torch.exp(0.5 * logvar) * torch.randn_like(mu)


# Noise drawn once per latent dimension and shared by every row of the batch: shared_noise, not no_noise.


def reparameterize_noise_per_dimension(mu, logvar):
    eps = torch.randn(mu.shape[1])
    return mu + torch.exp(0.5 * logvar) * eps


def reparameterize_noise_like_first_row(mu, logvar):
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu[0])


def reparameterize_one_noise_value(mu, logvar):
    return mu + torch.exp(0.5 * logvar) * torch.randn(1)


CORRECT = {
    "closed_form": closed_form_prod,
    "vae_loss": vae_loss_correct,
    "reparameterize": reparameterize_correct,
}
