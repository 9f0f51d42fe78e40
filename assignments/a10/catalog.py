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
            hint="Your mean scales x₀ by the product of the alphas itself. Go back to the factor one step multiplies x by, and see what t such factors give.",
        ),
        Misconception(
            "missing_x0",
            "closed_form",
            "x₀ missing from the mean",
            "μ is a scaled copy of the clean image, √ᾱ_t·x₀; without x₀ it is a number, not an image-shaped mean.",
            hint="Your mean does not depend on x₀: it is a number, where the mean of x_t has the shape of x₀.",
        ),
        Misconception(
            "std_for_variance",
            "closed_form",
            "Standard deviation given for the variance",
            "Σ is the variance 1 − ᾱ_t; √(1 − ᾱ_t) is the standard deviation that multiplies ε in the " "reparameterised sample.",
            hint="Your Σ is a square root of the value the grader expects: a standard deviation, where the question asks for the variance.",
        ),
        Misconception(
            "off_by_one_index",
            "closed_form",
            "Product runs one step too far",
            "alphas[s-1] holds α_s, so ᾱ_t is the product of alphas[0..t-1]; the product here includes α_{t+1}.",
            hint="Your product takes one α too many: alphas[s-1] holds α_s, so count which entries steps 1 to t use.",
        ),
        Misconception(
            "last_alpha_only",
            "closed_form",
            "Only the last α used",
            "q(x_t | x₀) skips all t steps at once, so it needs the product α₁⋯α_t, not just α_t (that is q(x_t | x_{t−1})).",
            hint="Your value uses α_t alone: going from x₀ to x_t takes every step from 1 to t.",
        ),
        Misconception(
            "kl_sign_flipped",
            "vae_loss",
            "KL term has the wrong sign",
            "KL(N(μ, σ²) ‖ N(0, 1)) = −½ Σ(1 + log σ² − μ² − σ²) is never negative; with the sign flipped, "
            "minimising the loss pushes the posterior away from the prior.",
            hint="Your KL term is negative, and a KL divergence never is: check the sign in front of it.",
        ),
        Misconception(
            "kl_missing_half",
            "vae_loss",
            "Factor ½ missing in the KL term",
            "The Gaussian KL carries a factor −½ in front of the sum; without it the KL term is counted twice.",
            hint="Your KL term is twice as large as it should be: check the constant factor in front of the sum.",
        ),
        Misconception(
            "kl_mean_reduction",
            "vae_loss",
            "KL term averaged instead of summed",
            "The KL term sums over the batch and every latent dimension; torch.mean divides it by the number of "
            "those elements, so kl_loss_weight then weights a KL that shrinks as the batch or the latent space grows.",
            hint="Your KL term is far smaller than a sum over the latent dimensions and the batch: it is averaged. Check its reduction.",
        ),
        Misconception(
            "kl_batch_mean",
            "vae_loss",
            "KL term averaged over the batch",
            "The loss sums over the whole batch, the reconstruction term as well as the KL; a KL summed per sample "
            "and then averaged over the batch is divided by the batch size, while the reconstruction term is not.",
            hint="Your KL term shrinks as the batch grows: it is averaged over the batch, where the reconstruction term is not.",
        ),
        Misconception(
            "weight_on_reconstruction",
            "vae_loss",
            "kl_loss_weight multiplies the wrong term",
            "kl_loss_weight scales the KL term only (BCE + w·KL); here it scales the reconstruction term instead.",
            hint="Changing kl_loss_weight changes your reconstruction term instead of your KL term.",
        ),
        Misconception(
            "weight_ignored",
            "vae_loss",
            "kl_loss_weight has no effect",
            "The loss must change with kl_loss_weight (BCE + w·KL); here the weight is never used.",
            hint="Your loss is the same whatever kl_loss_weight is.",
        ),
        Misconception(
            "weight_convex_mixture",
            "vae_loss",
            "kl_loss_weight mixes the two terms",
            "kl_loss_weight scales the KL term only (BCE + w·KL); here it also takes (1 − w) of the reconstruction "
            "term, as in (1 − w)·BCE + w·KL, so at w = 1 the reconstruction term vanishes and above 1 it is rewarded.",
            hint="Raising kl_loss_weight also shrinks your reconstruction term: the weight takes part of the loss away from it.",
        ),
        Misconception(
            "weight_on_both_terms",
            "vae_loss",
            "kl_loss_weight multiplies the whole loss",
            "kl_loss_weight scales the KL term only (BCE + w·KL); here it multiplies the reconstruction term too, "
            "w·(BCE + KL), so w = 0 makes the whole loss zero and nothing is learnt.",
            hint="kl_loss_weight scales your whole loss, the reconstruction term included.",
        ),
        Misconception(
            "weight_as_divisor",
            "vae_loss",
            "kl_loss_weight divides the KL term",
            "kl_loss_weight scales the KL term by multiplying it (BCE + w·KL); dividing by it, BCE + KL / w, "
            "turns a large weight into a small one and makes the loss infinite at w = 0.",
            hint="Your KL term gets smaller as kl_loss_weight grows, and your loss is infinite at weight 0.",
        ),
        Misconception(
            "weight_normalised",
            "vae_loss",
            "The loss divided by 1 + kl_loss_weight",
            "The loss is BCE + w·KL as it stands; normalising the two coefficients to sum to one, "
            "(BCE + w·KL) / (1 + w), gives other loss values at every weight but 0.",
            hint="Your whole loss shrinks as kl_loss_weight grows: it is divided by something that grows with the weight.",
        ),
        Misconception(
            "weight_squared",
            "vae_loss",
            "kl_loss_weight applied twice",
            "kl_loss_weight multiplies the KL term once (BCE + w·KL); applied twice, as w²·KL, a weight of 30 counts " "the KL 900 times.",
            hint="Your KL term grows faster than kl_loss_weight: the weight is applied more than once.",
        ),
        Misconception(
            "mean_reduction",
            "vae_loss",
            "Averaged instead of summed",
            "The loss sums over all elements; a mean (PyTorch's default reduction) divides the term by the "
            "number of elements and silently changes the balance between BCE and KL.",
            hint="Your loss is far smaller than a sum over all elements: one of its terms is averaged. Check the reduction of each term.",
        ),
        Misconception(
            "loss_expects_flat_x",
            "vae_loss",
            "The loss does not accept x as the DataLoader gives it",
            "The DataLoader gives x as a batch of images, shape (B, 1, 28, 28), while the decoder gives x_hat as "
            "(B, 784); your loss only runs once x is flattened. Flatten x inside vae_loss (x.view(-1, 784)) so "
            "that it takes the images as they come.",
            has_variant=False,
            hint="Your loss fails with x shaped (B, 1, 28, 28), as the DataLoader gives it, and runs once x is flattened.",
        ),
        Misconception(
            "mse_instead_of_bce",
            "vae_loss",
            "Squared error instead of binary cross-entropy",
            "Pixels in [0, 1] with a Bernoulli decoder call for binary cross-entropy; squared error is a "
            "different likelihood (a Gaussian one).",
            hint="Your reconstruction term is a squared error, and the handout asks for binary cross-entropy.",
        ),
        Misconception(
            "variance_as_std",
            "reparameterize",
            "exp(logvar) used as the standard deviation",
            "logvar is log σ², so the standard deviation is exp(½·logvar); exp(logvar) is the variance.",
            hint="Your samples spread as if exp(logvar) were their standard deviation; logvar is log σ².",
        ),
        Misconception(
            "no_noise",
            "reparameterize",
            "No noise drawn",
            "z = μ + σ·ε needs fresh ε ~ N(0, I) on every call; without it the encoder's variance is never sampled.",
            hint="Your z does not vary: no noise is drawn.",
        ),
        Misconception(
            "shared_noise",
            "reparameterize",
            "Noise shared where each entry of z needs its own",
            "ε must have the shape of μ (torch.randn_like(mu)): one independent draw per sample and latent dimension. "
            "Noise of a smaller shape is broadcast, and whatever shares a draw moves together: one ε per sample, like "
            "torch.randn(B, 1), makes the dimensions of z perfectly correlated; one ε per dimension, like "
            "torch.randn(D), makes every sample in the batch the same.",
            has_variant=False,
            hint="Entries of z share one noise value and move together: the dimensions of a sample, or the samples of a batch.",
        ),
        Misconception(
            "noise_reused",
            "reparameterize",
            "The same noise on every call",
            "ε must be drawn afresh on every call; noise drawn once (at definition time or cached) gives the "
            "same z for the same μ and σ every time, so training never sees a new sample.",
            has_variant=False,
            hint="Your z is the same on every call: the noise is not drawn afresh.",
        ),
        Misconception(
            "sample_without_gradient",
            "reparameterize",
            "z carries no gradient to μ and logvar",
            "z has the right distribution, but it is drawn in a way autograd cannot follow (a sampling call that "
            "tracks no gradient, a detached or copied tensor, numbers taken out with .item(), .data or numpy), so the "
            "loss's gradient never reaches the encoder through z. Keeping that path is what the reparameterisation "
            "trick is for: the randomness goes into noise drawn on its own, and z is computed from μ, logvar and that noise.",
            has_variant=False,
            hint="Your z has the right distribution, but no gradient flows from it back to mu or logvar.",
        ),
        Misconception(
            "logvar_without_gradient",
            "reparameterize",
            "z carries no gradient to logvar",
            "z follows μ, but the part that scales the noise is cut off from autograd (detached, drawn by a sampling "
            "call that tracks no gradient, or computed outside torch), so the encoder's variance never learns from "
            "the reconstruction loss through z.",
            has_variant=False,
            hint="A gradient flows from your z back to mu, but none to logvar.",
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
