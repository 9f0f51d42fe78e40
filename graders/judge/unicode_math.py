"""Math as students type it in Unicode (μ, ᾱ₃, √, ·, x₀), read as the LaTeX MathJax renders it like.

Standard library only: every assignment's answer finder and LaTeX reader, and every student kit (which
ships this file verbatim), read a typed formula the same way. One linear pass over the text.
"""

from __future__ import annotations

import unicodedata

# What MathJax renders like a LaTeX command, as the command: `$$μ = √{α₁α₂α₃}\, x₀$$` looks like
# `$$\mu = \sqrt{\alpha_1\alpha_2\alpha_3}\, x_0$$` in Jupyter, so it reads like it. Greek letters as
# MathJax names them (ε is \varepsilon, ϵ is \epsilon); capitals that look like Latin letters are left.
_GREEK_NAMES = """alpha beta gamma delta varepsilon zeta eta theta iota kappa lambda mu nu xi pi rho sigma tau upsilon
    varphi chi psi omega epsilon vartheta phi varpi varrho varsigma mu Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega"""
_GREEK = dict(zip("αβγδεζηθικλμνξπρστυφχψωϵϑϕϖϱςµΓΔΘΛΞΠΣΥΦΨΩ", _GREEK_NAMES.split(), strict=True))
_SYMBOLS = {
    **{letter: "\\" + name for letter, name in _GREEK.items()},
    "ᾱ": "\\bar{\\alpha}",
    **dict.fromkeys("·⋅∙", "\\cdot"),
    "×": "\\times",
    "÷": "\\div",
    "\N{ASTERISK OPERATOR}": "*",
    "−": "-",
    "\N{FRACTION SLASH}": "/",
    "√": "\\sqrt",  # the sign only, as in MathJax: √{…} and √(…) are its argument, √ᾱ₃ x₀ roots ᾱ₃ alone
    "∛": "\\sqrt[3]",
    "∜": "\\sqrt[4]",
    "∏": "\\prod",
    "∑": "\\sum",
    "½": "\\tfrac{1}{2}",
    "≔": ":=",
}
# A run of them is one script: α₁₂ is \alpha_{12}, ∏ₛ₌₁³ is \prod_{s=1}^{3}.
_SUBSCRIPTS = dict(zip("₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₒₓₕₖₗₘₙₚₛₜᵢᵣᵤᵥⱼ", "0123456789+-=()aeoxhklmnpstiruvj", strict=True))
_SUPERSCRIPTS = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱᵗᵀ", "0123456789+-=()nitT", strict=True))
# Combining marks over the character before them: ᾱ is α + U+0304 (or U+0305, an overline) as often as U+1FB1.
_ACCENTS = {"\u0304": "\\bar", "\u0305": "\\bar", "\u0302": "\\hat", "\u0303": "\\tilde", "\u0307": "\\dot"}
_MATH_ALPHANUMERICS = range(0x1D400, 0x1D800)  # bold, italic, double-struck letters and digits (bold I, mu): as the plain one


def math_as_latex(math: str) -> str:
    """The math with what students type for it in Unicode (μ, Σ, α, ᾱ, √, ·, ×, −, ∏, α₁, x₀, σ²) written
    as the LaTeX it renders like. ASCII stays as it is: LaTeX is unchanged, and a second pass changes nothing.

    One pass, each character read once; each gives at most `_MAX_GROWTH` characters."""
    pieces: list[str] = []
    index, state, last_typed = 0, "", True
    while index < len(math):
        piece, end = _piece_at(math, index)
        typed = piece == math[index:end]  # as the student typed it, not rewritten
        if state == "command" and piece[0].isascii() and piece[0].isalpha() and not (typed and last_typed):
            pieces.append(" ")  # \mu before x is \mu x, not \mux
        pieces.append(piece)
        state = _command_state(state, piece)
        index, last_typed = end, typed
    return "".join(pieces)


# The most characters one character becomes: an accent over the longest symbol (with the space that may come
# before a piece, a character gives at most 14 and a run of n scripts n + 3).
_MAX_GROWTH = max(map(len, _ACCENTS.values())) + len("{}") + max(map(len, _SYMBOLS.values()))


def _piece_at(math: str, index: int) -> tuple[str, int]:
    """The LaTeX for what starts at `index` (a character, with its accent, or a run of sub- or superscripts) and where it ends."""
    ch = math[index]
    for script, marker in ((_SUBSCRIPTS, "_"), (_SUPERSCRIPTS, "^")):
        if ch in script:
            end = index
            while end < len(math) and math[end] in script:
                end += 1
            return marker + "{" + "".join(script[c] for c in math[index:end]) + "}", end
    piece = _symbol(ch)
    # One accent over one character. A second one, one over a script or a `}` (which a rewrite ends with, so
    # a second pass changes nothing) stays as it is, and unreadable.
    if ch not in _ACCENTS and ch != "}" and index + 1 < len(math) and math[index + 1] in _ACCENTS:
        return f"{_ACCENTS[math[index + 1]]}{{{piece}}}", index + 2
    return piece, index + 1


def _symbol(ch: str) -> str:
    if ord(ch) in _MATH_ALPHANUMERICS:
        ch = unicodedata.normalize("NFKC", ch)  # bold μ → μ, bold I → I; one character (an unassigned one stays)
    return _SYMBOLS.get(ch, ch)


def _command_state(state: str, piece: str) -> str:
    r"""After `piece`: "command" inside a command's name (`\mu`, not `\\` and a letter), "backslash" after an
    unescaped `\\`, else ""."""
    for ch in piece:
        if ch == "\\":
            state = "" if state == "backslash" else "backslash"
        elif ch.isascii() and ch.isalpha() and state:
            state = "command"
        else:
            state = ""
    return state
