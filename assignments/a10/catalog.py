"""The catalog of known misconceptions: name, the function it concerns, and what to tell the student.

Plain data, importable without torch (the reports and a fully cached regrade need the titles and
nothing else); the known-wrong variant implementations are in `reference.a10.misconceptions`.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import combinations

from graders.assignment.spec import Misconception

CATALOG: dict[str, Misconception] = {
    m.name: m
    for m in (
        Misconception(
            "missing_sqrt",
            "closed_form",
            "Square root missing on ᾱ_t",
            "The mean scales x₀ by √ᾱ_t, not ᾱ_t: each step multiplies x by √α_s, so after t steps the " "factors multiply to √(α₁⋯α_t).",
        ),
        Misconception(
            "missing_x0",
            "closed_form",
            "x₀ missing from the mean",
            "μ is a scaled copy of the clean image, √ᾱ_t·x₀; without x₀ it is a number, not an image-shaped mean.",
        ),
        Misconception(
            "std_for_variance",
            "closed_form",
            "Standard deviation given for the variance",
            "Σ is the variance 1 − ᾱ_t; √(1 − ᾱ_t) is the standard deviation that multiplies ε in the " "reparameterised sample.",
        ),
        Misconception(
            "off_by_one_index",
            "closed_form",
            "Product runs one step too far",
            "alphas[s-1] holds α_s, so ᾱ_t is the product of alphas[0..t-1]; the product here includes α_{t+1}.",
        ),
        Misconception(
            "last_alpha_only",
            "closed_form",
            "Only the last α used",
            "q(x_t | x₀) skips all t steps at once, so it needs the product α₁⋯α_t, not just α_t (that is q(x_t | x_{t−1})).",
        ),
        Misconception(
            "kl_sign_flipped",
            "vae_loss",
            "KL term has the wrong sign",
            "KL(N(μ, σ²) ‖ N(0, 1)) = −½ Σ(1 + log σ² − μ² − σ²) is never negative; with the sign flipped, "
            "minimising the loss pushes the posterior away from the prior.",
        ),
        Misconception(
            "kl_missing_half",
            "vae_loss",
            "Factor ½ missing in the KL term",
            "The Gaussian KL carries a factor −½ in front of the sum; without it the KL term is counted twice.",
        ),
        Misconception(
            "kl_mean_reduction",
            "vae_loss",
            "KL term averaged instead of summed",
            "The KL term sums over the batch and every latent dimension; torch.mean divides it by the number of "
            "those elements, so kl_loss_weight then weights a KL that shrinks as the batch or the latent space grows.",
        ),
        Misconception(
            "kl_batch_mean",
            "vae_loss",
            "KL term averaged over the batch",
            "The loss sums over the whole batch, the reconstruction term as well as the KL; a KL summed per sample "
            "and then averaged over the batch is divided by the batch size, while the reconstruction term is not.",
        ),
        Misconception(
            "weight_on_reconstruction",
            "vae_loss",
            "kl_loss_weight multiplies the wrong term",
            "kl_loss_weight scales the KL term only (BCE + w·KL); here it scales the reconstruction term instead.",
        ),
        Misconception(
            "weight_ignored",
            "vae_loss",
            "kl_loss_weight has no effect",
            "The loss must change with kl_loss_weight (BCE + w·KL); here the weight is never used.",
        ),
        Misconception(
            "weight_convex_mixture",
            "vae_loss",
            "kl_loss_weight mixes the two terms",
            "kl_loss_weight scales the KL term only (BCE + w·KL); here it also takes (1 − w) of the reconstruction "
            "term, as in (1 − w)·BCE + w·KL, so at w = 1 the reconstruction term vanishes and above 1 it is rewarded.",
        ),
        Misconception(
            "weight_on_both_terms",
            "vae_loss",
            "kl_loss_weight multiplies the whole loss",
            "kl_loss_weight scales the KL term only (BCE + w·KL); here it multiplies the reconstruction term too, "
            "w·(BCE + KL), so w = 0 makes the whole loss zero and nothing is learnt.",
        ),
        Misconception(
            "weight_as_divisor",
            "vae_loss",
            "kl_loss_weight divides the KL term",
            "kl_loss_weight scales the KL term by multiplying it (BCE + w·KL); dividing by it, BCE + KL / w, "
            "turns a large weight into a small one and makes the loss infinite at w = 0.",
        ),
        Misconception(
            "weight_normalised",
            "vae_loss",
            "The loss divided by 1 + kl_loss_weight",
            "The loss is BCE + w·KL as it stands; normalising the two coefficients to sum to one, "
            "(BCE + w·KL) / (1 + w), gives other loss values at every weight but 0.",
        ),
        Misconception(
            "weight_squared",
            "vae_loss",
            "kl_loss_weight applied twice",
            "kl_loss_weight multiplies the KL term once (BCE + w·KL); applied twice, as w²·KL, a weight of 30 counts " "the KL 900 times.",
        ),
        Misconception(
            "mean_reduction",
            "vae_loss",
            "Averaged instead of summed",
            "The loss sums over all elements; a mean (PyTorch's default reduction) divides the term by the "
            "number of elements and silently changes the balance between BCE and KL.",
        ),
        Misconception(
            "loss_expects_flat_x",
            "vae_loss",
            "The loss does not accept x as the DataLoader gives it",
            "The DataLoader gives x as a batch of images, shape (B, 1, 28, 28), while the decoder gives x_hat as "
            "(B, 784); your loss only runs once x is flattened. Flatten x inside vae_loss (x.view(-1, 784)) so "
            "that it takes the images as they come.",
            has_variant=False,
        ),
        Misconception(
            "mse_instead_of_bce",
            "vae_loss",
            "Squared error instead of binary cross-entropy",
            "Pixels in [0, 1] with a Bernoulli decoder call for binary cross-entropy; squared error is a "
            "different likelihood (a Gaussian one).",
        ),
        Misconception(
            "variance_as_std",
            "reparameterize",
            "exp(logvar) used as the standard deviation",
            "logvar is log σ², so the standard deviation is exp(½·logvar); exp(logvar) is the variance.",
        ),
        Misconception(
            "no_noise",
            "reparameterize",
            "No noise drawn",
            "z = μ + σ·ε needs fresh ε ~ N(0, I) on every call; without it the encoder's variance is never sampled.",
        ),
        Misconception(
            "shared_noise",
            "reparameterize",
            "One noise value shared by every latent dimension",
            "ε must have the shape of μ (torch.randn_like(mu)); one ε per sample, like torch.randn(B, 1), moves "
            "every dimension together, so the dimensions of z are perfectly correlated.",
            has_variant=False,
        ),
        Misconception(
            "noise_reused",
            "reparameterize",
            "The same noise on every call",
            "ε must be drawn afresh on every call; noise drawn once (at definition time or cached) gives the "
            "same z for the same μ and σ every time, so training never sees a new sample.",
            has_variant=False,
        ),
    )
}


# Misconceptions that are alternatives to each other: one loss averages its KL one way and applies its
# weight one way, so no story combines two of a group (and a combination of two would compute one of them).
ALTERNATIVES: tuple[frozenset[str], ...] = (
    frozenset({"kl_mean_reduction", "kl_batch_mean"}),
    frozenset(
        {
            "weight_on_reconstruction",
            "weight_ignored",
            "weight_convex_mixture",
            "weight_on_both_terms",
            "weight_as_divisor",
            "weight_normalised",
            "weight_squared",
        }
    ),
)


def names_for(function: str) -> tuple[str, ...]:
    """This function's misconceptions that a variant computes, in catalog order."""
    return tuple(name for name, m in CATALOG.items() if m.function == function and m.has_variant)


def flag_subsets(function: str, max_size: int = 2) -> Iterator[frozenset[str]]:
    """Non-empty combinations of this function's variant misconceptions (no two alternatives), smallest first, in catalog order."""
    names = names_for(function)
    for size in range(1, max_size + 1):
        for combo in combinations(names, size):
            if all(len(group.intersection(combo)) <= 1 for group in ALTERNATIVES):
                yield frozenset(combo)
