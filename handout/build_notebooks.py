"""Builds the handout (student template, solution) and the demo submissions from one source of truth.

Every notebook is the handout's cell sequence with the parts a student writes filled in
(`Work`), so the template, the solution and the demo submissions cannot drift apart:
change a shared cell here and all of them change. The grader depends on this layout:
the `parameters` cell, the three function names and signatures, the display-math answer
lines for Exercise 2.1, and the `answer:kl_*` tags on the free-text answers.

    python handout/build_notebooks.py           # (re)write every notebook that changed
    python handout/build_notebooks.py --check   # exit 1 if a committed notebook is stale

Output is byte-for-byte deterministic: cell ids are numbered, no outputs, no timestamps.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from textwrap import dedent, indent

import nbformat

ROOT = Path(__file__).resolve().parent.parent
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
ANSWER_TAGS = ("answer:kl_observe", "answer:kl_explain", "answer:kl_role")
PLACEHOLDER = "Your answer here."


def text(source: str) -> str:
    """Cell source written as an indented triple-quoted string, without the indentation."""
    return dedent(source).strip("\n")


# ============================================================================= shared cells

INTRO = text(r"""
    # Assignment 10: closed-form forward diffusion and a VAE with KL weighting

    In this assignment you

    1. derive the closed form of the forward diffusion process $q(x_t \mid x_0)$ and implement it (Exercise 2.1);
    2. implement the reparameterisation trick and the VAE loss, train a small VAE on MNIST with two
       different weights on the KL term, and explain what you see.

    **Before you hand in**

    - Keep the function names and signatures: the grader calls `closed_form`, `reparameterize` and
      `vae_loss` on inputs of its own.
    - Keep the cell tagged `parameters` as it is. The grader replaces its values to train briefly on
      its own copy of the data.
    - Write your answers into the markdown cells that say *Your answer here* and keep their tags
      (JupyterLab: property inspector; classic Notebook: View → Cell Toolbar → Tags).
    - Run the whole notebook from top to bottom (Kernel → Restart & Run All).

    The data is read from `data_dir` in torchvision's layout (`data_dir/MNIST/raw/`) with
    `download=False`, so running the notebook never downloads anything. Put MNIST there once, or
    create a small look-alike with `grader make-data data`.
""")

PARAMETERS = text("""
    seed = 0            # random seed for everything
    epochs = 10         # training epochs per VAE
    data_dir = "data"   # folder holding MNIST/raw/*-idx*-ubyte (torchvision layout)
    train_size = None   # None = whole training set; an int trains on the first N images
    batch_size = 128
""")

IMPORTS = text("""
    import matplotlib.pyplot as plt
    import torch
    import torch.nn.functional as F
    from torch import nn
    from torch.utils.data import DataLoader, Subset
    from torchvision import datasets, transforms
    from torchvision.utils import make_grid

    torch.manual_seed(seed)
""")

EXERCISE = text(r"""
    ## Exercise 2.1: closed-form forward diffusion

    The forward process adds Gaussian noise one step at a time,

    $$q(x_t \mid x_{t-1}) = \mathcal{N}\big(x_t \mid \sqrt{\alpha_t}\,x_{t-1},\ (1-\alpha_t) I\big).$$

    Derive $\mu$ and $\Sigma$ for $q(x_3 \mid x_0) = \mathcal{N}(x_3 \mid \mu, \Sigma I)$, in terms of
    $\alpha_1, \alpha_2, \alpha_3$ and $x_0$.

    **How to answer.** Write your derivation in the markdown cell below and end it with your two
    results as display math, each alone on its own line: one line with `\mu` left of the `=` sign and
    one line with `\Sigma` left of the `=` sign, each wrapped in `$$` on both sides (like `$$y = 2x$$`).
    If you write several such lines, the last ones count.
""")

DERIVATION_PLACEHOLDER = text(r"""
    *Your answer here.* Replace this text by your derivation, ending with one display-math line for
    $\mu$ and one for $\Sigma$ as described above.
""")

CLOSED_FORM_TASK = text(r"""
    Now implement your result for any step $t$. `alphas` is a 1-D tensor with `alphas[s-1]` $= \alpha_s$
    ($t$ counts from 1). Return `(mu, Sigma)`: `mu` has the shape of `x0`; `Sigma` is the number
    $\Sigma$ of the covariance $\Sigma I$ (a float or a 0-dim tensor).
""")

CLOSED_FORM_TRY = text("""
    example_alphas = torch.tensor([0.9, 0.8, 0.7])
    example_mu, example_Sigma = closed_form(torch.ones(2, 2), 3, example_alphas)
    print("mu =", example_mu, "\\nSigma =", example_Sigma)
""")

VAE_LOSS_TASK = text(r"""
    ## The VAE loss

    The encoder gives, for every image, the mean `mu` and the log-variance `logvar` $= \log\sigma^2$ of
    $q(z \mid x) = \mathcal{N}(\mu, \operatorname{diag}\sigma^2)$.

    - `reparameterize(mu, logvar)` returns a sample $z = \mu + \sigma\,\epsilon$ with fresh
      $\epsilon \sim \mathcal{N}(0, I)$ on every call.
    - `vae_loss(x, x_hat, mu, logvar, kl_loss_weight=1.0)` returns the binary cross-entropy between
      `x_hat` and `x`, **summed** over all pixels and images, plus `kl_loss_weight` times
      $\mathrm{KL}\big(\mathcal{N}(\mu, \sigma^2) \,\|\, \mathcal{N}(0, I)\big)$, **summed** over latent
      dimensions and images. `x` comes from the DataLoader with shape `(B, 1, 28, 28)`, `x_hat` from the
      decoder with shape `(B, 784)`.
""")

VAE_INTRO = text("""
    ## A VAE on MNIST

    A small fully connected VAE (784 → 256 → 8-dimensional latent → 256 → 784). Both runs below start
    from the same initial weights and see the batches in the same order; only `kl_loss_weight` differs.
""")

DATA = text("""
    transform = transforms.ToTensor()
    train_set = datasets.MNIST(root=data_dir, train=True, download=False, transform=transform)
    test_set = datasets.MNIST(root=data_dir, train=False, download=False, transform=transform)
    if train_size is not None:
        train_set = Subset(train_set, range(train_size))
    test_images = torch.stack([test_set[i][0] for i in range(16)])
    print(f"{len(train_set)} training images, {len(test_set)} test images")
""")

MODEL = text("""
    class VAE(nn.Module):
        def __init__(self, latent_dim=8, hidden_dim=256):
            super().__init__()
            self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(784, hidden_dim), nn.ReLU())
            self.to_mu = nn.Linear(hidden_dim, latent_dim)
            self.to_logvar = nn.Linear(hidden_dim, latent_dim)
            self.decoder = nn.Sequential(
                nn.Linear(latent_dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, 784), nn.Sigmoid()
            )

        def forward(self, x):
            h = self.encoder(x)
            mu, logvar = self.to_mu(h), self.to_logvar(h)
            z = reparameterize(mu, logvar)
            return self.decoder(z), mu, logvar
""")

TRAINING = text("""
    def train_vae(kl_loss_weight):
        torch.manual_seed(seed)  # the same initial weights for every kl_loss_weight
        loader = DataLoader(train_set, batch_size=batch_size, shuffle=True,
                            generator=torch.Generator().manual_seed(seed))
        model = VAE()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        model.train()
        for epoch in range(1, epochs + 1):
            total = 0.0
            for x, _ in loader:
                x_hat, mu, logvar = model(x)
                loss = vae_loss(x, x_hat, mu, logvar, kl_loss_weight=kl_loss_weight)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += loss.item()
            print(f"kl_loss_weight={kl_loss_weight:g}  epoch {epoch}/{epochs}  loss {total / len(train_set):.2f} per image")
        return model.eval()


    def show_reconstructions(model, title):
        with torch.no_grad():
            x_hat, _, _ = model(test_images)
        grid = make_grid(torch.cat([test_images, x_hat.view(-1, 1, 28, 28)]), nrow=16, pad_value=1.0)
        plt.figure(figsize=(12, 2))
        plt.imshow(grid.permute(1, 2, 0))
        plt.axis("off")
        plt.title(f"{title}: test images (top) and their reconstructions (bottom)")
        plt.show()
""")

RUN_KL_30 = text("""
    model_kl30 = train_vae(kl_loss_weight=30)
    show_reconstructions(model_kl30, "kl_loss_weight = 30")
""")

RUN_KL_0 = text("""
    model_kl0 = train_vae(kl_loss_weight=0)
    show_reconstructions(model_kl0, "kl_loss_weight = 0")
""")

QUESTIONS = (
    text("""
        ## Exploring KL-divergence on the loss

        Compare the reconstructions of the two runs above (`kl_loss_weight` 30 and 0) and answer in the
        cells below each question.

        ### 1) What do you observe?
    """),
    "### 2) How can these results be explained?",
    "### 3) What is the role of the KL divergence term?",
)


def function(signature: str, docstring: str, body: str) -> str:
    """A function cell; template and solution share signature and docstring, so they cannot disagree."""
    quotes = '"""'
    return signature + "\n" + indent(f"{quotes}{docstring}{quotes}\n{text(body)}", "    ")


def stub(signature: str, docstring: str) -> str:
    """A function the student completes: it fails loudly until they do."""
    return function(signature, docstring, "# YOUR CODE HERE\nraise NotImplementedError")


CLOSED_FORM_SIGNATURE = "def closed_form(x0, t, alphas):"
REPARAMETERIZE_SIGNATURE = "def reparameterize(mu, logvar):"
VAE_LOSS_SIGNATURE = "def vae_loss(x, x_hat, mu, logvar, kl_loss_weight=1.0):"
CLOSED_FORM_DOC = (
    text("""
    Mean and variance of q(x_t | x_0).

    x0: tensor of any shape; t: int, 1-based; alphas: 1-D tensor, alphas[s-1] = alpha_s.
    Returns (mu, Sigma): mu with x0's shape, Sigma the number in the covariance Sigma * I.
""")
    + "\n"
)
REPARAMETERIZE_DOC = "Sample z ~ N(mu, exp(logvar)) as mu + sigma * eps, eps ~ N(0, I)."
VAE_LOSS_DOC = "Summed binary cross-entropy + kl_loss_weight * summed KL(N(mu, exp(logvar)) || N(0, I))."


# ============================================================================= what a student writes


@dataclass(frozen=True)
class Work:
    """The cells a student writes into the handout; every other cell is shared."""

    closed_form: str
    reparameterize: str
    vae_loss: str
    derivation: tuple[str, ...]  # markdown cells answering Exercise 2.1
    answers: tuple[str, str, str]  # markdown answers to the three KL questions
    title: str = INTRO
    exercise: str = EXERCISE
    tag_answers: bool = True  # real students sometimes lose the tags


TEMPLATE = Work(
    closed_form=stub(CLOSED_FORM_SIGNATURE, CLOSED_FORM_DOC),
    reparameterize=stub(REPARAMETERIZE_SIGNATURE, REPARAMETERIZE_DOC),
    vae_loss=stub(VAE_LOSS_SIGNATURE, VAE_LOSS_DOC),
    derivation=(DERIVATION_PLACEHOLDER,),
    answers=(PLACEHOLDER,) * 3,
)

SOLUTION = Work(
    closed_form=function(
        CLOSED_FORM_SIGNATURE,
        CLOSED_FORM_DOC,
        """
        alpha_bar = torch.prod(alphas[:t])  # alpha_1 * ... * alpha_t
        mu = torch.sqrt(alpha_bar) * x0
        Sigma = 1 - alpha_bar
        return mu, Sigma
    """,
    ),
    reparameterize=function(
        REPARAMETERIZE_SIGNATURE,
        REPARAMETERIZE_DOC,
        """
        std = torch.exp(0.5 * logvar)
        return mu + std * torch.randn_like(std)
    """,
    ),
    vae_loss=function(
        VAE_LOSS_SIGNATURE,
        VAE_LOSS_DOC,
        """
        reconstruction = F.binary_cross_entropy(x_hat, x.view(-1, 784), reduction="sum")
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return reconstruction + kl_loss_weight * kl
    """,
    ),
    derivation=(
        text(r"""
            By the reparameterisation trick, one step is
            $x_t = \sqrt{\alpha_t}\,x_{t-1} + \sqrt{1-\alpha_t}\,\epsilon_t$ with independent
            $\epsilon_t \sim \mathcal{N}(0, I)$. Substituting $x_1$ into $x_2$:

            $$x_2 = \sqrt{\alpha_2\alpha_1}\,x_0 + \sqrt{\alpha_2(1-\alpha_1)}\,\epsilon_1 + \sqrt{1-\alpha_2}\,\epsilon_2$$

            The two noise terms are independent zero-mean Gaussians, so their sum is Gaussian with the sum
            of the variances, $\alpha_2(1-\alpha_1) + 1 - \alpha_2 = 1 - \alpha_2\alpha_1$:

            $$x_2 = \sqrt{\alpha_2\alpha_1}\,x_0 + \sqrt{1-\alpha_2\alpha_1}\,\bar\epsilon_2$$

            One more step, merging the noise in the same way
            ($\alpha_3(1-\alpha_2\alpha_1) + 1 - \alpha_3 = 1 - \alpha_3\alpha_2\alpha_1$):

            $$x_3 = \sqrt{\alpha_3\alpha_2\alpha_1}\,x_0 + \sqrt{1-\alpha_3\alpha_2\alpha_1}\,\bar\epsilon_3$$

            Hence $q(x_3 \mid x_0) = \mathcal{N}(x_3 \mid \mu, \Sigma I)$ with

            $$\mu = \sqrt{\alpha_1\alpha_2\alpha_3}\,x_0$$

            $$\Sigma = 1 - \alpha_1\alpha_2\alpha_3$$
        """),
    ),
    answers=(
        text("""
            With `kl_loss_weight = 30` the reconstructions are blurry and look almost alike: roughly an
            average digit, and most test digits cannot be recognised. With `kl_loss_weight = 0` the
            reconstructions are sharp and close to the inputs; only similar digits (4 and 9, 3 and 5) are
            sometimes confused.
        """),
        text(r"""
            The loss trades reconstruction (BCE) against the KL term. With a large weight the cheapest way to
            lower the loss is to make every posterior $q(z \mid x)$ equal to the prior $\mathcal{N}(0, I)$;
            then $z$ carries almost no information about $x$ (posterior collapse) and the decoder can only
            output something like the mean image. With weight 0 nothing constrains the encoder: the model is a
            plain autoencoder that puts as much information as it can into $z$, so it reconstructs well, but
            its latent space is not organised, and decoding samples from $\mathcal{N}(0, I)$ does not give
            realistic digits.
        """),
        text(r"""
            It is a regulariser. Together with the reconstruction term it forms the negative ELBO; it keeps the
            approximate posterior $q(z \mid x)$ close to the prior $p(z) = \mathcal{N}(0, I)$. This makes the
            latent space smooth and densely used around the origin, so that decoding $z \sim p(z)$ generates
            plausible new images. Its weight trades reconstruction quality against this regularity.
        """),
    ),
)

SEED_WRITEUP = Work(
    title=text("""
        # DL-Assignment 10

        Student A

        Student B

        Student C
    """),
    exercise=text(r"""
        ## Exercise 2.1: closed form forward diffusion process
         derive μ and Σ for $q(x_3|x_0) = \mathcal{N}(x_3|\mu_{x_0}, \Sigma I)$
    """),
    derivation=(
        text(r"""
            As defined on the sheet, we know

            $$q(x_t|x_{t-1}) = \mathcal{N}(x_t|\sqrt{\alpha_t}x_{t-1}, (1-\alpha_t)I)$$

            Using the reparametrisation trick, we can represent x_t given x_{t-1} and $\epsilon_{t-1} \sim \mathcal{N}(\epsilon|0, I)$ as:

            $$x_t = \sqrt{\alpha_t}x_{t-1} + \sqrt{1-\alpha_t}\epsilon_{t-1}$$

            now, expanding x_{t-1} in a similar fashion, given x_{t-2} , $\epsilon_{t-2} \sim \mathcal{N}(\epsilon|0, I)$

            $$x_t = \sqrt{\alpha_t}(\sqrt{\alpha_{t-1}}x_{t-2} + \sqrt{1-\alpha_{t-1}}\epsilon_{t-2}) + \sqrt{1-\alpha_t}\epsilon_{t-1}$$

            $$x_t = \sqrt{\alpha_t\alpha_{t-1}}x_{t-2} + \sqrt{\alpha_t(1-\alpha_{t-1})}\epsilon_{t-2} + \sqrt{1-\alpha_t}\epsilon_{t-1}$$
        """),
        text(r"""
            We can now use the re. trick again, defining the distributions A and B

            $$A := \mathcal{N}(0, \alpha_t(1-\alpha_{t-1})I) \quad B := \mathcal{N}(0, 1-\alpha_t I)$$

            $$\text{Adding both distributions: } \mathcal{N}(0, [\alpha_t(1-\alpha_{t-1})I + (1-\alpha_t)I]) \\ \leadsto \mathcal{N}(0, (1-\alpha_t\alpha_{t-1})I)$$

            Using the re. trick again:

            $$x_t = \sqrt{\alpha_t\alpha_{t-1}}x_{t-2} + \sqrt{1-\alpha_t\alpha_{t-1}}\epsilon \quad \text{with } \epsilon \sim \mathcal{N}(0, I)$$
        """),
        text(r"""
            expanding x_{t-2} and substituting $\alpha_t\alpha_{t-1} = \gamma$

            $$x_t = \sqrt{\gamma}(\sqrt{\alpha_{t-2}}x_{t-3} + \sqrt{1-\alpha_{t-2}}\epsilon_{t-3}) + \sqrt{1-\gamma}\epsilon$$

            $$x_t = \sqrt{\gamma\alpha_{t-2}}x_{t-3} + \sqrt{\gamma(1-\alpha_{t-2})}\epsilon_{t-3} + \sqrt{1-\gamma}\epsilon$$

            Using the same re. trick, sum of G. and re. trick as before;

            $$x_t = \sqrt{\gamma\alpha_{t-2}}x_{t-3} + \sqrt{1-\gamma\alpha_{t-2}}\epsilon$$

            resubstitution:

            $$x_t = \sqrt{\alpha_t\alpha_{t-1}\alpha_{t-2}}x_{t-3} + \sqrt{1-\alpha_t\alpha_{t-1}\alpha_{t-2}}\epsilon$$
        """),
        text(r"""
            Setting t to 3, we now get the following values:

            $$\mu = \alpha_3 \alpha_2 \alpha_1$$

            $$\Sigma = 1 - \alpha_3 \alpha_2 \alpha_1$$
        """),
    ),
    closed_form=text("""
        def closed_form(x0, t, alphas):
            # alpha_bar_t = alpha_1 * ... * alpha_t  (alphas[0] is alpha_1)
            alpha_bars = torch.cumprod(alphas, dim=0)
            alpha_bar_t = alpha_bars[t - 1]
            mu = torch.sqrt(alpha_bar_t) * x0
            Sigma = 1 - alpha_bar_t
            return mu, Sigma
    """),
    reparameterize=text("""
        def reparameterize(mu, logvar):
            std = torch.exp(0.5*logvar)
            eps = torch.randn_like(std)
            return mu + eps*std
    """),
    vae_loss=text("""
        def vae_loss(x, x_hat, mu, logvar, kl_loss_weight=1.0):
            BCE = F.binary_cross_entropy(x_hat, x.view(-1, 784), reduction='sum')
            # KL(q(z|x) || N(0, I)) in closed form, see Appendix B of the VAE paper
            KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
            return BCE + kl_loss_weight * KLD
    """),
    answers=(
        text("""
            Results for `kl_loss_weight` set to 30:

            The results are very blurry and it is difficult to distinguish any digits.

            Results for `kl_loss_weight` set to 0:

            Results are quite good, for some digits reconstruction results are still not so straightforward (4 or 9).
        """),
        text("""
            `kl_loss_weight` is used as a hyperparameter which helps to balance KL-divergence loss and reconstruction loss. Setting the high value for this hyperparameter may lead to underfitting, when VAE is working more on minimizing the KL-divergence loss than actually reconstructing the input data.

            When we are setting `kl_loss_weight` to 0, we are ignoring KL-divergence loss component (our regularization term). And this leads to the absence of possibility for VAE to act as a generative model (it will be focused only on minimizing the reconstruction loss).
        """),
        text("""
            It measures the difference between the learned distribution of the latent variables (the output of the encoder) and the prior distribution. It works like a regularization term.
        """),
    ),
    tag_answers=False,
)

MISSING_SQRT = Work(
    closed_form=text("""
        def closed_form(x0, t, alphas):
            # multiply the alphas of steps 1..t together
            a_bar = 1.0
            for s in range(1, t + 1):
                a_bar = a_bar * alphas[s - 1]
            mean = a_bar * x0
            var = 1 - a_bar
            return mean, var
    """),
    reparameterize=text("""
        def reparameterize(mu, logvar):
            eps = torch.randn_like(mu)
            return mu + eps * torch.exp(logvar / 2)
    """),
    vae_loss=text("""
        def vae_loss(x, x_hat, mu, logvar, kl_loss_weight=1.0):
            x = x.reshape(x_hat.shape)
            recon = F.binary_cross_entropy(x_hat, x, reduction="sum")
            kl = -0.5 * torch.sum(1 + logvar - mu ** 2 - torch.exp(logvar))
            return recon + kl_loss_weight * kl
    """),
    derivation=(
        text(r"""
            Write $\bar\alpha_3 = \alpha_1\alpha_2\alpha_3$. Each step scales the previous $x$ by the
            $\alpha$ of that step and adds noise with variance $1-\alpha_t$; adding up the independent noise
            terms over the three steps gives variance $1-\bar\alpha_3$. So

            $$\mu = \bar\alpha_3 x_0$$

            $$\Sigma = 1 - \bar\alpha_3$$
        """),
    ),
    answers=(
        "With weight 30 all the reconstructions look like the same blurry blob. With weight 0 they are much "
        "sharper and you can recognise the digits.",
        "A high weight makes the KL term dominate the loss, so the encoder outputs almost the prior for every "
        "image and the decoder cannot reconstruct anything specific. With 0 the VAE is just an autoencoder and "
        "only cares about reconstruction.",
        "It pulls q(z|x) towards the prior N(0, I) so that the latent space is regular and we can sample new " "images from it.",
    ),
)

KL_SIGN_FLIPPED = Work(
    closed_form=text("""
        def closed_form(x0, t, alphas):
            alpha_bar_t = alphas[:t].prod()
            return alpha_bar_t.sqrt() * x0, 1.0 - alpha_bar_t
    """),
    reparameterize=text("""
        def reparameterize(mu, logvar):
            sigma = torch.exp(0.5 * logvar)
            return mu + sigma * torch.randn_like(sigma)
    """),
    vae_loss=text("""
        def vae_loss(x, x_hat, mu, logvar, kl_loss_weight=1.0):
            bce = F.binary_cross_entropy(x_hat, x.view(-1, 784), reduction="sum")
            kl_div = 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
            return bce + kl_loss_weight * kl_div
    """),
    derivation=(
        text(r"""
            Unrolling $x_t = \sqrt{\alpha_t}x_{t-1} + \sqrt{1-\alpha_t}\epsilon_t$ from $t=3$ down to $x_0$
            and merging the Gaussian noise terms (independent, so the variances add):

            $$x_3 = \sqrt{\alpha_1 \alpha_2 \alpha_3}\, x_0 + \sqrt{1-\alpha_1 \alpha_2 \alpha_3}\,\epsilon$$

            $$\mu = \sqrt{\alpha_1 \alpha_2 \alpha_3} \, x_0$$

            $$\Sigma = 1-\alpha_1 \alpha_2 \alpha_3$$
        """),
    ),
    answers=(
        "For kl_loss_weight = 30 the reconstructions are noisy and do not look like digits at all. For 0 they " "look fine.",
        "The KL term gets a very large weight, so the optimiser mostly changes the latent distribution instead "
        "of improving the reconstructions. Without it (weight 0) only the reconstruction is optimised.",
        "The KL divergence measures how far the encoder's distribution is from the standard normal prior. It "
        "acts as a regulariser on the latent space.",
    ),
)

MEAN_REDUCTION = Work(
    closed_form=text("""
        def closed_form(x0, t, alphas):
            alphas = alphas.to(torch.float32)
            alpha_bar = torch.cumprod(alphas, 0)[t - 1]
            mu = alpha_bar ** 0.5 * x0
            Sigma = 1 - alpha_bar
            return mu, Sigma
    """),
    reparameterize=text("""
        def reparameterize(mu, logvar):
            std = logvar.mul(0.5).exp()
            return mu + std * torch.randn_like(std)
    """),
    vae_loss=text("""
        def vae_loss(x, x_hat, mu, logvar, kl_loss_weight=1.0):
            reconstruction = F.binary_cross_entropy(x_hat, x.view(x_hat.size()))
            kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
            return reconstruction + kl_loss_weight * kl
    """),
    derivation=(
        text(r"""
            Two steps: $x_2 = \sqrt{\alpha_2\alpha_1}x_0 + \sqrt{1-\alpha_2\alpha_1}\epsilon$, because
            $\alpha_2(1-\alpha_1) + (1-\alpha_2) = 1-\alpha_2\alpha_1$. The third step works the same way:

            $$\mu = \sqrt{\alpha_3\alpha_2\alpha_1}x_0$$

            $$\Sigma = 1 - \alpha_3\alpha_2\alpha_1$$
        """),
    ),
    answers=(
        "kl_loss_weight = 30: every reconstruction is the same grey smudge. kl_loss_weight = 0: the "
        "reconstructions are blurry but some digits can be recognised.",
        "With weight 30 the KL term is much larger than the reconstruction term, so the model only minimises "
        "the KL and ignores the input. With weight 0 there is no regularisation and the model just learns to "
        "reconstruct.",
        "It regularises the encoder: it keeps q(z|x) close to N(0, I), which is what lets us use the decoder as " "a generative model.",
    ),
)

WEIGHT_ON_RECONSTRUCTION = Work(
    closed_form=text("""
        import math


        def closed_form(x0, t, alphas):
            alpha_bar = float(torch.prod(alphas[:t]))
            return math.sqrt(alpha_bar) * x0, 1 - alpha_bar
    """),
    reparameterize=text("""
        def reparameterize(mu, logvar):
            eps = torch.randn_like(mu)
            return mu + torch.sqrt(torch.exp(logvar)) * eps
    """),
    vae_loss=text("""
        def vae_loss(x, x_hat, mu, logvar, kl_loss_weight=1.0):
            bce = F.binary_cross_entropy(x_hat, x.flatten(start_dim=1), reduction="sum")
            kld = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum()
            return kl_loss_weight * bce + kld
    """),
    derivation=(
        text(r"""
            Let $\bar{\alpha}_3 = \alpha_1\alpha_2\alpha_3$. Writing every step with the reparameterisation
            trick and combining the independent noise terms gives
            $x_3 = \sqrt{\bar{\alpha}_3}\,x_0 + \sqrt{1-\bar{\alpha}_3}\,\epsilon$, so

            $$\mu = \sqrt{\bar{\alpha}_3}\, x_0$$

            $$\Sigma = 1 - \bar{\alpha}_3$$
        """),
    ),
    answers=(
        "Weight 30 gives sharp reconstructions, weight 0 gives very bad ones (all look the same).",
        "The weight decides how much the model cares about each part of the loss. With 0 the reconstruction "
        "part does not count, so the decoder never learns the digits.",
        "The KL term keeps the latent codes close to a standard normal distribution, so it regularises the " "latent space.",
    ),
)

STD_FOR_VARIANCE = Work(
    closed_form=text("""
        def closed_form(x0, t, alphas):
            abar = torch.cumprod(alphas, dim=0)[t - 1]
            mu = torch.sqrt(abar) * x0
            Sigma = torch.sqrt(1 - abar)  # noise scale of x_t
            return mu, Sigma
    """),
    reparameterize=text("""
        def reparameterize(mu, logvar):
            return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
    """),
    vae_loss=text("""
        bce_sum = nn.BCELoss(reduction="sum")


        def vae_loss(x, x_hat, mu, logvar, kl_loss_weight=1.0):
            recon_loss = bce_sum(x_hat, x.view(-1, 28 * 28))
            kl_loss = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
            return recon_loss + kl_loss_weight * kl_loss
    """),
    derivation=(
        text(r"""
            $x_3 = \sqrt{\alpha_3}x_2 + \sqrt{1-\alpha_3}\epsilon_3$, and substituting $x_2$ and $x_1$ the same
            way, the mean is scaled by the square root of $\bar\alpha_3 = \alpha_1\alpha_2\alpha_3$ and the noise
            by $\sqrt{1-\bar\alpha_3}$:

            $$\mu = \sqrt{\bar\alpha_3}\,x_0$$

            $$\Sigma = \sqrt{1-\bar\alpha_3}$$
        """),
    ),
    answers=(
        "With kl_loss_weight = 30 the reconstructions are very blurry and mostly look like a 0 or a 3. With 0 "
        "the reconstructions are good.",
        "Weight 30: the KL term dominates, the posterior collapses to the prior and the latent code carries "
        "almost no information about the image. Weight 0: no regularisation, the model is an autoencoder, so "
        "the reconstructions are good but sampling from the prior would not work well.",
        "It keeps the encoder distribution close to N(0, I). It is the regulariser in the ELBO and makes the " "latent space continuous.",
    ),
)

OFF_BY_ONE = Work(
    closed_form=text("""
        def closed_form(x0, t, alphas):
            # alpha_bar_t = product of the alphas up to t
            alpha_bar = torch.prod(alphas[:t + 1])
            return torch.sqrt(alpha_bar) * x0, 1 - alpha_bar
    """),
    reparameterize=text("""
        def reparameterize(mu, logvar):
            std = torch.exp(0.5 * logvar)
            noise = torch.randn_like(mu)
            z = mu + noise * std
            return z
    """),
    vae_loss=text("""
        def vae_loss(x, x_hat, mu, logvar, kl_loss_weight=1.0):
            x = x.view(-1, 784)
            x_hat = x_hat.clamp(1e-7, 1 - 1e-7)  # avoid log(0)
            bce = -torch.sum(x * torch.log(x_hat) + (1 - x) * torch.log(1 - x_hat))
            kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - torch.exp(logvar))
            return bce + kl_loss_weight * kl
    """),
    derivation=(
        text(r"""
            For one step the sheet gives

            $$\mu = \sqrt{\alpha_1}\,x_0$$

            and each further step multiplies the mean by $\sqrt{\alpha_t}$ and adds independent noise of
            variance $1-\alpha_t$, which combines with the previous noise into variance $1-\alpha_t\cdots\alpha_1$.
            For $t = 3$:

            $$\mu = \sqrt{\alpha_1\alpha_2\alpha_3}x_0$$

            $$\Sigma = 1-\alpha_1\alpha_2\alpha_3$$
        """),
    ),
    answers=(
        "Weight 30: blurry, almost identical reconstructions. Weight 0: sharp reconstructions that match the " "test images well.",
        "The larger the weight, the more the loss rewards a posterior close to the prior instead of a good "
        "reconstruction, so with 30 the latent code is nearly independent of the input. With 0 the KL term is "
        "switched off and the model overfits to reconstruction.",
        "It regularises the latent space towards the prior N(0, I), which makes the VAE generative.",
    ),
)

NOTEBOOKS: dict[str, Work] = {
    "handout/assignment10.ipynb": TEMPLATE,
    "handout/solution.ipynb": SOLUTION,
    "submissions/solution.ipynb": SOLUTION,
    "submissions/seed-writeup.ipynb": SEED_WRITEUP,
    "submissions/missing-sqrt.ipynb": MISSING_SQRT,
    "submissions/kl-sign-flipped.ipynb": KL_SIGN_FLIPPED,
    "submissions/mean-reduction.ipynb": MEAN_REDUCTION,
    "submissions/weight-on-reconstruction.ipynb": WEIGHT_ON_RECONSTRUCTION,
    "submissions/std-for-variance.ipynb": STD_FOR_VARIANCE,
    "submissions/off-by-one.ipynb": OFF_BY_ONE,
}


# ============================================================================= assembly


def cells(work: Work) -> list[tuple[str, str, tuple[str, ...]]]:
    """The notebook as (cell type, source, tags), in handout order."""
    markdown, code = "markdown", "code"
    kl_section = []
    for question, answer, tag in zip(QUESTIONS, work.answers, ANSWER_TAGS, strict=False):
        kl_section += [(markdown, question, ()), (markdown, answer, (tag,) if work.tag_answers else ())]
    return [
        (markdown, work.title, ()),
        (code, PARAMETERS, ("parameters",)),
        (code, IMPORTS, ()),
        (markdown, work.exercise, ()),
        *[(markdown, part, ()) for part in work.derivation],
        (markdown, CLOSED_FORM_TASK, ()),
        (code, work.closed_form, ()),
        (code, CLOSED_FORM_TRY, ()),
        (markdown, VAE_LOSS_TASK, ()),
        (code, work.reparameterize, ()),
        (code, work.vae_loss, ()),
        (markdown, VAE_INTRO, ()),
        (code, DATA, ()),
        (code, MODEL, ()),
        (code, TRAINING, ()),
        (code, RUN_KL_30, ()),
        (code, RUN_KL_0, ()),
        *kl_section,
    ]


def build(work: Work) -> str:
    """The notebook file's text: nbformat 4.5, no outputs, numbered cell ids."""
    notebook = nbformat.v4.new_notebook(metadata=nbformat.from_dict({"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}))
    for number, (kind, source, tags) in enumerate(cells(work), start=1):
        metadata = nbformat.from_dict({"tags": list(tags)} if tags else {})
        make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
        notebook.cells.append(make(source=source, id=f"cell-{number:02d}", metadata=metadata))
    nbformat.validate(notebook)
    return nbformat.writes(notebook) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a notebook is out of date")
    args = parser.parse_args(argv)
    stale = []
    for name, work in NOTEBOOKS.items():
        path = ROOT / name
        content = build(work)
        if path.is_file() and path.read_text(encoding="utf-8") == content:
            continue
        stale.append(name)
        if not args.check:
            path.write_text(content, encoding="utf-8")
    for name in stale:
        print(f"{'out of date' if args.check else 'wrote'}: {name}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
