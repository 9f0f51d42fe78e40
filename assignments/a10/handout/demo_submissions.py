"""The demo submissions: realistic student work, each with a known mistake, shipped in submissions/a10/.

They are a test corpus too (tests/pipeline/test_grading_e2e.py states the verdict each one
deserves), written as `Work` values so that they share every other cell with the handout.
"""

from __future__ import annotations

from assignments.a10.handout.content import (
    Work,
    text,
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
