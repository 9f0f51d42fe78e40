r"""Reading one LaTeX answer for Exercise 2.1 into sympy: a small tokenizer and recursive-descent parser.

Written for this exercise's notation (α_s with step indices, ᾱ_t, x₀, products and sums with limits,
√, fractions, exp and log, Σ·I), in LaTeX or as students type it in Unicode (`graders.judge.unicode_math.math_as_latex`) rather than sympy's `parse_latex`. The ANTLR backend needs a pinned
antlr4 runtime, which we do not want. The Lark backend (sympy 1.14, lark 1.2.2) was tried against
every μ/Σ answer with an expected verdict in tests/judge/test_answers.py and tests/judge/test_latex.py
(81 answers), its symbols mapped onto ours (alpha_{3} → α₃, x_{0} → x₀, \bar{\alpha}_t → ᾱ₃, I → 1):
it reads 15 of the 81 to the right verdict, this reader all 81. Lark's grammar has no step indices
(t = 3, t-1, a product's bound variable), reads \bar\alpha_3 and \\prod/\\sum limits as opaque
symbols or sympy Product/Sum objects in an unknown index, fails on \\left…\right, \\mathbf{I}, \\,
spacing and trailing punctuation, and its errors do not tell a student which part is unreadable.
So this reader is kept and no lark dependency is added.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import sympy

from assignments.a10 import notation
from graders.judge.unicode_math import math_as_latex
from graders.results import MAX_LATEX_CHARS


# Not a GraderError: a student's unreadable answer, which answers.py turns into that answer's feedback.
class LatexParseError(ValueError):
    """The LaTeX is outside what `parse_latex` reads; the message says which part, for the student."""


def _quoted(part: object) -> str:
    """Part of the answer, for a message: a command, a number or an index can be nearly `MAX_LATEX_CHARS` long."""
    text = str(part)
    return text if len(text) <= _QUOTED_CHARS else text[:_QUOTED_CHARS] + "…"


def parse_latex(latex: str) -> sympy.Expr:
    """Read one right-hand side into sympy, with t = 3 (see `_Parser` for the notation).

    Bounded before sympy sees anything: the characters, the tokens, the nesting (of groups and of
    font commands), the symbols read (`_MAX_WORK`) and the size of numbers."""
    # Before tokenising (a message quotes tokens, and a command can be a whole cell long). A result keeps
    # this much of an answer, a longer one cut with a note (graders/results.py): none is an answer.
    if len(latex) >= MAX_LATEX_CHARS:
        raise LatexParseError("it is too long")
    tokens = _tokenise(math_as_latex(latex))  # as the answer finder reads it: μ, ᾱ₃, √ as \mu, \bar{\alpha}_{3}, \sqrt
    if len(tokens) > _MAX_TOKENS:
        raise LatexParseError("it is too long")
    tokens = _normalise_tokens(tokens)
    while tokens and tokens[-1] in _TRAILING_PUNCTUATION:
        tokens.pop()
    if not tokens:
        raise LatexParseError("the answer is empty")
    expr = _Parser(tokens).parse()
    if expr.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
        raise LatexParseError("it divides by zero")
    return expr


def describe(expr: sympy.Expr) -> str:
    """Compact one-line text for a student: √(α₁α₂α₃)·x₀, 1 − α₁α₂α₃."""
    # Positive symbols make sympy split √(α₁α₂α₃) into √α₁·√α₂·√α₃; plain look-alikes let powsimp rejoin them.
    plain = sympy.powsimp(expr.xreplace({s: sympy.Symbol(s.name) for s in expr.free_symbols}), combine="base", force=True)
    if plain.is_Mul:  # the scale first and x₀ last, as the formula is usually written
        plain = sympy.Mul(*sorted(plain.args, key=lambda f: any(s.name.startswith("x") for s in f.free_symbols)), evaluate=False)
    text = sympy.sstr(plain, order="none").replace("**", "^").replace("*", "·").replace("sqrt(", "√(").replace(" - ", " − ")
    text = re.sub(r"Abs\(([^()]*)\)", r"|\1|", text)
    return re.sub(r"(?<=[₀-₉])·(?=α)", "", text)  # α₁α₂α₃, as on paper


# ============================================================================= LaTeX tokens

_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|\S", re.DOTALL)
_SPACING = {
    "\\,", "\\;", "\\:", "\\!", "\\ ", "\\>", "\\\n", "\\\t", "~", "\\quad", "\\qquad",
    "\\displaystyle", "\\textstyle", "\\limits", "\\nolimits",
}  # fmt: skip
_SIZED_DELIMITER = {
    "\\left", "\\right", "\\middle", "\\big", "\\Big", "\\bigg", "\\Bigg", "\\bigl", "\\bigr",
    "\\Bigl", "\\Bigr", "\\biggl", "\\biggr", "\\Biggl", "\\Biggr",
}  # fmt: skip
_DELIMITER_ALIASES = {"\\{": "(", "\\}": ")", "\\lbrace": "(", "\\rbrace": ")", "\\lbrack": "[", "\\rbrack": "]"}
_MATH_FONTS = {"\\mathbf", "\\boldsymbol", "\\bm", "\\pmb", "\\mathbb", "\\mathit", "\\mathsf", "\\vec"}
_TEXT_FONTS = {"\\text", "\\mathrm", "\\textrm", "\\textbf", "\\textit", "\\operatorname"}
_TRAILING_PUNCTUATION = {".", ",", ";"}


def _is_digit(token: str) -> bool:
    """0 to 9 only: `str.isdigit` is true of ² and ① too, which `int` does not read."""
    return token.isascii() and token.isdigit()


def _tokenise(latex: str) -> list[str]:
    """Commands (`\\alpha`, `\\,`) and single characters; digits too, as TeX reads `\\frac12`."""
    return _TOKEN.findall(latex)


def _normalise_tokens(tokens: list[str]) -> list[str]:
    """Drop spacing and delimiter sizing, and unwrap font commands around trivial things."""
    kept: list[str] = []
    for index, token in enumerate(tokens):
        if token in _SPACING or token in _SIZED_DELIMITER:
            continue
        if token == "." and index > 0 and tokens[index - 1] in _SIZED_DELIMITER:
            continue  # `\left.`: an invisible delimiter
        kept.append(_DELIMITER_ALIASES.get(token, token))
    return _unwrap_fonts(kept)


def _unwrap_fonts(tokens: list[str], depth: int = 0) -> list[str]:
    """`\\mathbf{x}_0` → `x_0`, `\\mathbb{I}` → `I`; around more than one thing, the braces stay as a group."""
    if depth > _MAX_DEPTH:
        raise LatexParseError("it is nested too deeply")
    out: list[str] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token not in _MATH_FONTS and token not in _TEXT_FONTS:
            out.append(token)
            index += 1
            continue
        if index + 1 >= len(tokens) or tokens[index + 1] != "{":
            index += 1  # `\mathbf x`: the font applies to the next token, which stands as it is
            continue
        end = _matching_brace(tokens, index + 1)
        inner = _unwrap_fonts(tokens[index + 2 : end], depth + 1)
        if not inner or _is_scripted_atom(inner):
            out += inner
        elif token in _TEXT_FONTS and any(t.isalpha() for t in inner):
            raise LatexParseError(f"'{_quoted(token + '{' + ''.join(inner) + '}')}' is words, not part of a formula")
        else:
            out += ["{", *inner, "}"]
        index = end + 1
    return out


def _matching_brace(tokens: list[str], open_index: int) -> int:
    depth = 0
    for index in range(open_index, len(tokens)):
        depth += {"{": 1, "}": -1}.get(tokens[index], 0)
        if depth == 0:
            return index
    raise LatexParseError("a '{' is never closed")


def _is_scripted_atom(tokens: list[str]) -> bool:
    """One symbol with optional sub/superscripts: `x`, `x_0`, `\\alpha_{3}`, `I`, `1`."""
    if tokens[0] in _OPERATORS or tokens[0] in "{}()[]_^":
        return False
    index = 1
    while index < len(tokens):
        if tokens[index] not in ("_", "^") or index + 1 >= len(tokens):
            return False
        index = _matching_brace(tokens, index + 1) + 1 if tokens[index + 1] == "{" else index + 2
    return True


# ============================================================================= LaTeX → sympy

_MULTIPLY = {"*", "\\cdot", "\\times", "\\ast", "\\centerdot"}
_DIVIDE = {"/", "\\div"}
_OPERATORS = _MULTIPLY | _DIVIDE | {"+", "-", "="}
_CANNOT_START_FACTOR = _OPERATORS | {")", "]", "}", "^", "_", ",", ";", "&", "|"}
_CLOSERS = {"(": ")", "[": "]", "{": "}"}
_FRACTIONS = {"\\frac", "\\dfrac", "\\tfrac", "\\cfrac"}
_QUOTED_CHARS = 40
_MAX_TOKENS = 1000  # a real answer has well under 100
_MAX_DEPTH = 50  # nested groups; far beyond any real answer, well below Python's recursion limit
_MAX_WORK = 5000  # symbols read, counting each re-read of a \prod body: nested products multiply
_MAX_DIGITS = 15
_MAX_STEP = 20  # step indices and product ranges; ᾱ_1000 is no answer to this exercise
_MAX_INDEX_TOKENS = 9  # `{t-1}` has 3: a \\prod re-reads its body's indices, so each read must be short
_MAX_POWER_DIGITS = 1000  # a number with more digits than this is no answer either, and slow to build


class _Parser:
    """Recursive descent over normalised tokens, for the notation of this exercise.

    expr   := term (('+'|'-') term)*
    term   := signed (('\\cdot'|'\\times'|'*'|'/') signed | factor)*      -- juxtaposition multiplies
    signed := ('+'|'-')* factor
    factor := primary ('^' argument)*
    primary:= number | (expr) | [expr] | {expr} | \\sqrt[n]{…} | \\frac{…}{…} | \\alpha_i | \\bar\\alpha_i
            | \\prod_{s=a}^{b} factor | x_i | I (the identity: Σ·I means the number Σ)

    Step indices are small integer expressions in t (= 3), digits and a product's bound variable.
    """

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0
        self.work = 0
        self.bound: dict[str, int] = {}  # a \prod's variable while its body is read
        self.handlers: dict[str, Callable[[], sympy.Expr]] = {
            "\\sqrt": self._root,
            "\\alpha": self._alpha,
            "\\bar": self._alpha_bar,
            "\\overline": self._alpha_bar,
            "\\prod": self._product,
            "\\sum": self._sum,
            "\\exp": self._exp,
            "\\log": self._log,
            "\\ln": self._log,
            "e": self._e,
            "x": self._x,
        }

    def parse(self) -> sympy.Expr:
        expr = self._expr()
        if self._peek() is not None:
            raise LatexParseError(f"unexpected '{_quoted(self._peek())}'")
        return expr

    # ------------------------------------------------------------------ token access

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _next(self) -> str:
        token = self._peek()
        if token is None:
            raise LatexParseError("it ends too early")
        self.pos += 1
        return token

    def _expect(self, wanted: str, why: str) -> None:
        if self._peek() != wanted:
            raise LatexParseError(why)
        self.pos += 1

    # ------------------------------------------------------------------ grammar

    def _expr(self) -> sympy.Expr:
        total = self._term()  # a leading sign belongs to the first factor: -a^2 is -(a^2)
        while self._peek() in ("+", "-"):
            sign = -1 if self._next() == "-" else 1
            total += sign * self._term()
        return total

    def _term(self) -> sympy.Expr:
        product = self._signed()
        while (token := self._peek()) is not None:
            if token in _MULTIPLY:
                self.pos += 1
                product *= self._signed()
            elif token in _DIVIDE:
                self.pos += 1
                product /= self._signed()
            elif token not in _CANNOT_START_FACTOR:
                product *= self._factor()
            else:
                break
        return product

    def _signed(self) -> sympy.Expr:
        sign = 1
        while self._peek() in ("+", "-"):  # a loop, not recursion: "- - - … x" must not exhaust the stack
            sign = -sign if self._next() == "-" else sign
        return sign * self._factor()

    def _factor(self) -> sympy.Expr:
        value = self._primary()
        while self._peek() == "^":
            self.pos += 1
            value = _power(value, self._argument())
        return value

    def _primary(self) -> sympy.Expr:
        """Every recursion and every re-read \\prod body passes here, so the limits here bound stack and time."""
        self.depth += 1
        self.work += 1
        if self.depth > _MAX_DEPTH:
            raise LatexParseError("it is nested too deeply")
        if self.work > _MAX_WORK:
            raise LatexParseError("it is too long")
        value = self._atom()
        self.depth -= 1
        return value

    def _atom(self) -> sympy.Expr:
        token = self._next()
        if _is_digit(token) or token == ".":
            return self._number(token)
        if token in _CLOSERS:
            return self._group(_CLOSERS[token])
        if token in self.handlers:
            return self.handlers[token]()
        if token in _FRACTIONS:
            return self._argument() / self._argument()
        if token == "I":
            return sympy.Integer(1)
        if token in _CANNOT_START_FACTOR:
            raise LatexParseError(f"unexpected '{_quoted(token)}'")
        if token.startswith("\\") and token[1:].isalpha():
            raise LatexParseError(f"'{_quoted(token)}' is not something this checker understands")
        if token.isalpha():
            raise LatexParseError(f"the symbol '{_quoted(token)}' is unexpected here")
        raise LatexParseError(f"unexpected '{_quoted(token)}'")

    def _number(self, first: str) -> sympy.Expr:
        text = first
        while (token := self._peek()) is not None and (_is_digit(token) or (token == "." and "." not in text)):
            text += self._next()
        if not any(map(_is_digit, text)):
            raise LatexParseError("unexpected '.'")
        if len(text) > _MAX_DIGITS:
            raise LatexParseError(f"the number {_quoted(text)} is too long")
        return sympy.Rational(text.rstrip("."))

    def _group(self, closer: str) -> sympy.Expr:
        if self._peek() == closer:
            raise LatexParseError("there is an empty group")
        value = self._expr()
        self._expect(closer, f"a '{closer}' is missing")
        return value

    def _argument(self) -> sympy.Expr:
        """A command's argument or an exponent: `{…}`, one digit (`\\frac12`, `^2`) or one symbol."""
        token = self._peek()
        if token == "{":
            self.pos += 1
            return self._group("}")
        if token is not None and _is_digit(token):
            self.pos += 1
            return sympy.Integer(token)
        return self._primary()

    def _root(self) -> sympy.Expr:
        degree = sympy.Integer(2)
        if self._peek() == "[":
            self.pos += 1
            degree = self._group("]")
            if not (degree.is_Integer and degree >= 1):
                raise LatexParseError(f"the root's degree must be a whole number, not {_quoted(degree)}")
        return sympy.root(self._argument(), degree)

    # ------------------------------------------------------------------ the exercise's symbols

    def _scripts(self) -> tuple[list[str] | None, sympy.Expr | None]:
        """A subscript's tokens and a superscript's value, in either order (`\\alpha^2_1` is `\\alpha_1^2`)."""
        subscript: list[str] | None = None
        superscript: sympy.Expr | None = None
        while True:
            if self._peek() == "_" and subscript is None:
                self.pos += 1
                subscript = self._subscript_tokens()
            elif self._peek() == "^" and superscript is None:
                self.pos += 1
                superscript = self._argument()
            else:
                return subscript, superscript

    def _subscript_tokens(self) -> list[str]:
        token = self._next()
        if token != "{":
            return [token]
        end = _matching_brace(self.tokens, self.pos - 1)
        inner = self.tokens[self.pos : end]
        self.pos = end + 1
        return inner

    def _step(self, tokens: list[str]) -> int:
        """A step index: `3`, `t` (= 3), `t-1`, `s` inside a product, `{t+1}`."""
        shown = "".join(tokens)
        if not tokens or len(tokens) > _MAX_INDEX_TOKENS or tokens[0] in ("+", "-") or tokens[-1] in ("+", "-"):
            raise LatexParseError(f"the index '{_quoted(shown)}' is not a step number like 3, t or t-1")
        total, sign, index = 0, 1, 0
        while index < len(tokens):
            token = tokens[index]
            if token in ("+", "-"):
                sign = -1 if token == "-" else 1
                index += 1
                continue
            if _is_digit(token):
                digits = token
                while index + 1 < len(tokens) and _is_digit(tokens[index + 1]):
                    index += 1
                    digits += tokens[index]
                value = int(digits)
            elif token in self.bound:
                value = self.bound[token]
            elif token == "t":
                value = notation.T
            else:
                raise LatexParseError(f"the index '{_quoted(shown)}' is not a step number like 3, t or t-1")
            total += sign * value
            index += 1
        if not 0 <= total <= _MAX_STEP:
            raise LatexParseError(f"the step index '{_quoted(shown)}' = {total} is out of range")
        return total

    def _alpha(self) -> sympy.Expr:
        subscript, superscript = self._scripts()
        if subscript is None:
            raise LatexParseError(r"\alpha needs a step index, like \alpha_3")
        return _power(notation.alpha(self._step(subscript)), superscript)

    def _alpha_bar(self) -> sympy.Expr:
        """ᾱ_s in its spellings: \\bar\\alpha_3, \\bar{\\alpha}_3, \\bar{\\alpha_3}, \\overline{\\alpha}_t."""
        inner_subscript = None
        if self._peek() == "{":
            self.pos += 1
            self._expect("\\alpha", r"\bar is only understood over \alpha, as in \bar\alpha_3")
            if self._peek() == "_":
                self.pos += 1
                inner_subscript = self._subscript_tokens()
            self._expect("}", r"\bar is only understood over \alpha, as in \bar\alpha_3")
        else:
            self._expect("\\alpha", r"\bar is only understood over \alpha, as in \bar\alpha_3")
        subscript, superscript = self._scripts()
        if inner_subscript is not None and subscript is not None:
            raise LatexParseError(r"\bar\alpha has two step indices")
        step_tokens = inner_subscript if inner_subscript is not None else subscript
        if step_tokens is None:
            raise LatexParseError(r"\bar\alpha needs a step index, like \bar\alpha_3")
        return _power(notation.alpha_bar(self._step(step_tokens)), superscript)

    def _product(self) -> sympy.Expr:
        return sympy.Mul(*self._big_operator("\\prod"))

    def _sum(self) -> sympy.Expr:
        return sympy.Add(*self._big_operator("\\sum"))

    def _exp(self) -> sympy.Expr:
        """\\exp(…), \\exp{…} or \\exp x; exp(½·log ᾱ) is how some students write √ᾱ."""
        return sympy.exp(self._function_argument())

    def _log(self) -> sympy.Expr:
        return sympy.log(self._function_argument())

    def _e(self) -> sympy.Expr:
        """Euler's e, as in e^{\\frac12 \\log\\bar\\alpha_3}."""
        return sympy.E

    def _function_argument(self) -> sympy.Expr:
        """A function's argument: a parenthesised or braced group, else the next factor (`\\log \\alpha_1`)."""
        if self._peek() in ("(", "[", "{"):
            return self._group(_CLOSERS[self._next()])
        return self._factor()

    def _big_operator(self, name: str) -> list[sympy.Expr]:
        """\\prod_{s=1}^{3} factor or \\sum_{s=1}^{3} factor: the factor read once per value of s."""
        limits: dict[str, list[str]] = {}
        while (marker := self._peek()) in ("_", "^") and marker not in limits:
            self.pos += 1
            limits[marker] = self._subscript_tokens()
        lower, upper = limits.get("_"), limits.get("^")
        if not lower or not upper or len(lower) < len("s=1") or lower[1] != "=" or not lower[0].isalpha():
            raise LatexParseError(f"{name} needs limits like {name}_{{s=1}}^{{3}}")
        variable, first, last = lower[0], self._step(lower[2:]), self._step(upper)
        body = self.pos
        factors = []
        for value in range(first, last + 1) or [first]:  # an empty range still has a body to step over
            self.pos = body
            outer = self.bound.get(variable)
            self.bound[variable] = value
            factors.append(self._factor())
            if outer is None:
                del self.bound[variable]
            else:
                self.bound[variable] = outer
        return factors if last >= first else []

    def _x(self) -> sympy.Expr:
        subscript, superscript = self._scripts()
        if subscript is None:
            raise LatexParseError("x needs its step index: write x₀ as x_0")
        return _power(notation.x_symbol(self._step(subscript)), superscript)


def _power(base: sympy.Expr, exponent: sympy.Expr | None) -> sympy.Expr:
    if exponent is None:
        return base
    # sympy evaluates number powers exactly: 10^{10^{10}} would never finish.
    if exponent.is_Number and base.is_Rational and base != 0:
        digits = abs(math.log10(abs(base.p)) - math.log10(base.q)) * abs(float(exponent))
        if digits > _MAX_POWER_DIGITS:
            raise LatexParseError("a number in it is far too large")
    if exponent.is_Number and abs(exponent) > _MAX_POWER_DIGITS:
        raise LatexParseError(f"the exponent {_quoted(exponent)} is far too large")
    return base**exponent
