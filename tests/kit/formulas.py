"""The right answers as a student might read them in any message: what the kit must never say (issue 22, item 7).

Written from the assignment's mathematics, not from the reference's code or the grader's words: the
mean √ᾱ_t·x₀ (a square root over ᾱ or over the product of the α's), the variance 1 − ᾱ_t, the Gaussian
KL −½ Σ(1 + log σ² − μ² − σ²), and σ = exp(½·logvar), in Unicode, LaTeX and Python spellings.
"""

from __future__ import annotations

import re

_ABAR = r"(ᾱ|α̅|\\bar|\\overline|alpha_?bar|abar|a_bar|alphas_cumprod|α₁|α_1|\\alpha_1|alphas\[0\]|prod|∏|cumprod)"
FORBIDDEN = {
    "the mean": re.compile(rf"(√|sqrt|\\sqrt)\s*[({{\[]?\s*{_ABAR}", re.IGNORECASE),
    "the variance": re.compile(rf"1\s*[−-]\s*[({{\[]?\s*(torch\.)?{_ABAR}", re.IGNORECASE),
    "the KL's sum": re.compile(r"1\s*\+\s*(logvar|log\s*σ|log\s*\\sigma|\\log\s*\\sigma|log_var)", re.IGNORECASE),
    "the KL's μ²": re.compile(r"(\bmu|μ|\\mu)\s*(²|\*\*\s*2|\.pow\(\s*2\s*\)|\^\s*\{?2)"),
    "the KL's factor": re.compile(r"[−-]\s*(½|0\.5|1/2|\\frac\{1\}\{2\})\s*(·|\*|\\cdot)?\s*(Σ|∑|sum|torch\.sum|\\sum)", re.IGNORECASE),
    "σ from logvar": re.compile(r"exp\s*\(\s*(½|0\.5|1/2)\s*(·|\*)?\s*(logvar|log_var)|exp\s*\(\s*(logvar|log_var)\s*/\s*2", re.IGNORECASE),
}


def formulas_in(text: str) -> list[str]:
    """Which right answers `text` states, with the words that state them."""
    return [f"{name}: {match.group(0)!r}" for name, pattern in FORBIDDEN.items() if (match := pattern.search(text))]
