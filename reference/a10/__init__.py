"""Assignment 10's truth: q(x_t | x₀) (closed_form.py), the VAE loss and sampler (vae.py), their
known-wrong variants (misconceptions.py), the derivation's symbolic forms (symbolic.py), and the
reference's stored values on the public inputs (expected/public.json, `make reference`)."""

from pathlib import Path

REFERENCE_DIR = Path(__file__).resolve().parent
