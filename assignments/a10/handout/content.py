"""The handout's content: the shared cells, the function cells, and what a student writes (`Work`).

Template and solution are `Work` values; the demo submissions (assignments/a10/handout/demo_submissions.py) are
more of them. Everything the grader relies on comes from the assignment contract
(assignments/a10/contract.py): the function signatures, the questions and their tags.
"""

from __future__ import annotations

from dataclasses import dataclass
from textwrap import dedent, indent

from assignments.a10.contract import CLOSED_FORM, QUESTIONS, REPARAMETERIZE, VAE_LOSS

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
    `download=False`, so running the notebook never downloads anything. Put MNIST there once with
    torchvision, from a terminal in this folder:
    `python -c "from torchvision import datasets; datasets.MNIST('data', download=True)"`.
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
    example_alphas = torch.tensor([0.9, 0.8, 0.7, 0.6, 0.5])
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

KL_QUESTIONS_INTRO = text("""
    ## Exploring KL-divergence on the loss

    Compare the reconstructions of the two runs above (`kl_loss_weight` 30 and 0) and answer in the
    cells below each question.
""")
# One markdown cell per question, the first under the section's introduction; texts and tags are the contract's.
QUESTION_CELLS = tuple(f"### {number}) {question.text}" for number, question in enumerate(QUESTIONS, start=1))
QUESTION_CELLS = (f"{KL_QUESTIONS_INTRO}\n\n{QUESTION_CELLS[0]}", *QUESTION_CELLS[1:])


def function(signature: str, docstring: str, body: str) -> str:
    """A function cell; template and solution share signature and docstring, so they cannot disagree."""
    quotes = '"""'
    return signature + "\n" + indent(f"{quotes}{docstring}{quotes}\n{text(body)}", "    ")


def stub(signature: str, docstring: str) -> str:
    """A function the student completes: it fails loudly until they do."""
    return function(signature, docstring, "# YOUR CODE HERE\nraise NotImplementedError")


CLOSED_FORM_SIGNATURE = CLOSED_FORM.signature
REPARAMETERIZE_SIGNATURE = REPARAMETERIZE.signature
VAE_LOSS_SIGNATURE = VAE_LOSS.signature
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
