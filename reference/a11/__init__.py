"""Assignment 11's truth: scaled dot-product attention, a stable softmax, layer normalisation and the
causal mask (attention.py), each catalogued mistake as a small alternative implementation
(misconceptions.py), and the reference's stored values on the public inputs (expected/public.json)."""

from pathlib import Path

REFERENCE_DIR = Path(__file__).resolve().parent
