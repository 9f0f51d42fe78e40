"""The written answers in a notebook: Exercise 2.1's LaTeX results for μ and Σ, and the KL questions.

Derivation answers are display-math lines in markdown, `$$\\mu = …$$` and `$$\\Sigma = …$$`; the
last of each counts (earlier ones are working). They are parsed by a small LaTeX reader written
for this exercise's notation (not sympy's `parse_latex`, whose ANTLR runtime we do not want to
pin), compared with the symbolic truth in `reference.symbolic`, and, when wrong, matched against
the same misconception variants the code checks use.

The free-text answers to the three KL questions are only collected, for staff to read.
"""

from __future__ import annotations

import cmath
import math
import random
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import sympy

from graders.assignment.contract import QUESTIONS, Question
from graders.results import CheckStatus, DerivationAnswer, FreeTextAnswer
from reference import symbolic
from reference.misconceptions import CATALOG, flag_subsets, names_for

# ============================================================================= public API


class LatexParseError(ValueError):
    """The LaTeX is outside what `parse_latex` reads; the message says which part, for the student."""


@dataclass(frozen=True)
class AnswerVerdict:
    status: CheckStatus
    misconceptions: tuple[str, ...]  # catalog names, in catalog order; empty unless status is FAIL
    message: str  # for the student
    parsed: str | None  # the expression as read, for staff; None when nothing could be read


def judge_mu(latex: str | None) -> AnswerVerdict:
    """Judge a μ answer (its right-hand side; a whole `\\mu = …` line is accepted too)."""
    return judge("mu", latex)


def judge_sigma(latex: str | None) -> AnswerVerdict:
    """Judge a Σ answer (its right-hand side; a whole `\\Sigma = …` line is accepted too)."""
    return judge("Sigma", latex)


def extract_derivation(nb: Mapping[str, Any]) -> tuple[DerivationAnswer, DerivationAnswer]:
    """The right-hand sides of the last μ and the last Σ display-math lines; None where there is none.

    Lines in the KL-questions part of the notebook count only when Exercise 2.1's part has none:
    there, μ and σ² are the VAE's, and a `$$\\sigma^2 = 1$$` about the prior is not an answer to 2.1.
    """
    cells = _cells(nb)
    before_kl = _statements(cells[: _kl_section_start(cells)])
    anywhere = _statements(cells)

    def answer(quantity: str) -> DerivationAnswer:
        return DerivationAnswer(quantity, _last_for(quantity, before_kl) or _last_for(quantity, anywhere))

    return answer("mu"), answer("Sigma")


def extract_free_text(nb: Mapping[str, Any]) -> tuple[FreeTextAnswer, ...]:
    """The answers to the three KL questions, in question order; "" where a question has no answer."""
    cells = _cells(nb)
    return tuple(
        # A tagged cell left as the placeholder may sit above the answer the student wrote in a new cell.
        FreeTextAnswer(q.text, _clean_free_text(_tagged_answer(cells, q)) or _clean_free_text(_answer_after_question(cells, q)))
        for q in QUESTIONS
    )


def parse_latex(latex: str) -> sympy.Expr:
    """Read one right-hand side into sympy, with t = 3 (see `_Parser` for the notation)."""
    tokens = _tokenise(latex)
    if len(tokens) > _MAX_TOKENS:  # also bounds the recursion in unwrapping nested font commands
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


# ============================================================================= judging

_QUANTITY_NAMES = {"mu": ("μ", r"\mu"), "Sigma": ("Σ", r"\Sigma")}
_NOTATION_HINT = r"Write it with \alpha_1, \bar\alpha_3, x_0, \sqrt{…}, \frac{…}{…}, \cdot and numbers."
_SAMPLE_POINTS = 6
_RELATIVE_TOLERANCE = 1e-9


@lru_cache(maxsize=4096)  # a class writes the same few answers; sympy takes milliseconds per answer
def judge(quantity: str, latex: str | None) -> AnswerVerdict:
    """Judge an answer for "mu" or "Sigma": pass, fail with the misconceptions it shows, or error."""
    symbol, command = _QUANTITY_NAMES[quantity]
    if latex is None:
        return AnswerVerdict(
            CheckStatus.ERROR,
            (),
            f"No answer for {symbol} found. End your derivation with a markdown line that holds only "
            f"display math with {symbol} left of the = sign, like $${command} = …$$ (with $$ on both sides).",
            None,
        )
    try:
        expr = parse_latex(_end_of_chain(latex))
    except LatexParseError as problem:
        message = f"Your answer {symbol} = {latex.strip()} could not be read: {problem}. {_NOTATION_HINT}"
        return AnswerVerdict(CheckStatus.ERROR, (), message, None)
    truth = symbolic.expr_for(quantity)
    student = _fingerprint(expr)
    if _same(student, _reference_fingerprint(quantity, frozenset())):
        return AnswerVerdict(CheckStatus.PASS, (), f"Correct: {symbol} = {describe(truth)}.", describe(expr))
    names = _misconceptions_matching(quantity, student)
    shown = describe(expr)
    message = f"Not quite: your {symbol} = {shown} is not {describe(truth)}."
    if names:
        message += "".join(f" {CATALOG[name].title}." for name in names)
    else:
        message += " Check each step of your derivation against this."
    return AnswerVerdict(CheckStatus.FAIL, names, message, shown)


def _misconceptions_matching(quantity: str, student: tuple[complex, ...] | None) -> tuple[str, ...]:
    """The smallest catalogued combination of mistakes that gives the student's expression, or ()."""
    relevant = symbolic.RELEVANT_FLAGS[quantity]
    for flags in flag_subsets("closed_form"):
        # A flag that cannot change this quantity would only name a mistake the student did not make.
        if flags <= relevant and _same(student, _reference_fingerprint(quantity, flags)):
            return tuple(name for name in names_for("closed_form") if name in flags)
    return ()


@cache
def _reference_fingerprint(quantity: str, flags: frozenset[str]) -> tuple[complex, ...] | None:
    return _fingerprint(symbolic.expr_for(quantity, flags))


def _fingerprint(expr: sympy.Expr) -> tuple[complex, ...] | None:
    """The values at fixed sample points; None when a value is not a finite number.

    Equal fingerprints mean equivalent expressions: two different expressions in these
    symbols agree at six random points with probability zero, and unlike `simplify`
    this never hangs and needs no assumptions about which form is "simplest".
    """
    values = []
    for point in range(_SAMPLE_POINTS):
        substitution = {s: sympy.Float(_sample_value(s, point), 30) for s in expr.free_symbols}
        try:
            value = complex(expr.evalf(30, subs=substitution))
        except (TypeError, ValueError):  # something non-numeric survived, e.g. a leftover function
            return None
        if not cmath.isfinite(value):
            return None
        values.append(value)
    return tuple(values)


def _sample_value(symbol: sympy.Symbol, point: int) -> float:
    """A value depending only on the symbol's name and the point, so any two fingerprints line up."""
    rng = random.Random(f"{symbol.name}/{point}")  # str seeds are hashed with SHA-512: same in every run
    if symbol.is_positive:  # an α: a step's signal fraction, in (0, 1)
        return rng.uniform(0.05, 0.95)
    # x₀ can be negative; alternating signs tell √(ᾱ·x₀²) = √ᾱ·|x₀| apart from √ᾱ·x₀.
    magnitude = rng.uniform(0.3, 2.0)
    return -magnitude if point % 2 else magnitude


def _same(a: tuple[complex, ...] | None, b: tuple[complex, ...] | None) -> bool:
    if a is None or b is None:
        return False
    return all(abs(x - y) <= _RELATIVE_TOLERANCE * max(1.0, abs(x), abs(y)) for x, y in zip(a, b, strict=False))


# ============================================================================= notebook access


def _cells(nb: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(nb.get("cells", []))


def _source(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _tags(cell: Mapping[str, Any]) -> list[str]:
    return list((cell.get("metadata") or {}).get("tags", []) or [])


def _is_markdown(cell: Mapping[str, Any]) -> bool:
    return cell.get("cell_type") == "markdown"


# ============================================================================= finding μ and Σ lines

# Code spans, fenced code and HTML comments are not rendered as math, so `$$…$$` inside them is no answer.
_NOT_RENDERED = re.compile(r"```.*?```|~~~.*?~~~|`[^`\n]*`|<!--.*?-->", re.DOTALL)
_DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]", re.DOTALL)
_ENVIRONMENT = re.compile(r"\\(?:begin|end)\s*\{(?:aligned|align\*?|equation\*?|gather\*?|gathered|split|eqnarray\*?)\}")
# What may stand between statements, `\mu = …, \quad \Sigma = …`, `… \text{ and } \Sigma = …`, and
# what ends an answer: `\mu = … \quad \text{with } \bar\alpha_3 = …` (words need two letters: \text{I} is I).
_SEPARATOR = r"(?<!\\)[,;]|\\q?quad(?![A-Za-z])|\\(?:Rightarrow|Longrightarrow|implies|iff|therefore)(?![A-Za-z])"
_CONNECTIVE = rf"{_SEPARATOR}|\\text\s*\{{[^{{}}]*\}}"
_SIDE_REMARK = rf"{_SEPARATOR}|\\text\s*\{{[^{{}}]*[A-Za-z]{{2}}[^{{}}]*\}}"
_STATEMENT_MAY_START_AFTER = re.compile(rf"(?:^|{_CONNECTIVE})(?:\s|\\[,;:! ]|~)*$")
_LHS_START = re.compile(r"(?:\\(?:boldsymbol|mathbf|bm|pmb)\s*\{?\s*)?\\(?:mu|Sigma|sigma)(?![A-Za-z])")
_SUBSCRIPT = r"_(?:\{(?:[^{}]|\{[^{}]*\})*\}|\\[A-Za-z]+|[A-Za-z0-9])"
_LHS_PATTERNS = {
    "mu": re.compile(rf"\\mu(?:{_SUBSCRIPT})?"),
    # Σ, Σ_t, Σ·I (the matrix, when the right-hand side carries I too) and σ², σ_t², σ²_t.
    "Sigma": re.compile(rf"\\Sigma(?:{_SUBSCRIPT})?I?|\\sigma(?:{_SUBSCRIPT})?\^(?:2|\{{2\}})(?:{_SUBSCRIPT})?"),
}
_LHS_WRAPPER = re.compile(r"\\(?:boldsymbol|mathbf|bm|pmb|mathrm|mathbb|text)\s*\{([^{}]*)\}")


def _statements(cells: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(quantity, right-hand side) of every μ or Σ statement in display math, in notebook order."""
    found: list[tuple[str, str]] = []
    for cell in cells:
        if not _is_markdown(cell):
            continue
        for match in _DISPLAY_MATH.finditer(_NOT_RENDERED.sub(" ", _source(cell))):
            found += _statements_in_block(match.group(1) or match.group(2))
    return found


def _statements_in_block(block: str) -> list[tuple[str, str]]:
    block = _ENVIRONMENT.sub(" ", block).replace("&", " ")
    found: list[tuple[str, str]] = []
    for line in block.split("\\\\"):
        starts = [(m.start(), q) for m in _LHS_START.finditer(line) if (q := _quantity_starting_at(line, m.start()))]
        ends = [start for start, _ in starts[1:]] + [len(line)]
        found += [
            (quantity, _end_of_chain(_before_side_remark(line[start:end]))) for (start, quantity), end in zip(starts, ends, strict=False)
        ]
    return found


def _quantity_starting_at(line: str, start: int) -> str | None:
    """ "mu"/"Sigma" if a statement about it starts here: at top level, after a connective, up to an `=`."""
    depths = _depths(line)
    if depths[start] != 0 or not _STATEMENT_MAY_START_AFTER.search(line[:start]):
        return None
    equals = next((i for i in range(start, len(line)) if line[i] == "=" and depths[i] == 0), None)
    if equals is None:
        return None
    lhs = re.sub(r"\\[,;:! ]|~|\s", "", line[start:equals]).rstrip(":")  # `\mu := …` too
    lhs = re.sub(r"\\(?:boldsymbol|mathbf|bm|pmb)(?=\\)", "", lhs)
    while (unwrapped := _LHS_WRAPPER.sub(r"\1", lhs)) != lhs:
        lhs = unwrapped
    return next((quantity for quantity, pattern in _LHS_PATTERNS.items() if pattern.fullmatch(lhs)), None)


def _before_side_remark(statement: str) -> str:
    """`\\mu = A, \\text{where} \\bar\\alpha_3 = …` → `\\mu = A`."""
    depths = _depths(statement)
    for match in re.finditer(_SIDE_REMARK, statement):
        # A lone \quad is spacing; one that leads to another equation or to words ends the answer.
        is_spacing = match.group().startswith(r"\q") and not re.search(r"=|\\text", statement[match.end() :])
        if depths[match.start()] == 0 and not is_spacing:
            return statement[: match.start()]
    return statement


def _end_of_chain(statement: str) -> str:
    """`\\mu = A = B` → `B`; a bare right-hand side stays as it is."""
    depths = _depths(statement)
    parts = [0] + [i + 1 for i, ch in enumerate(statement) if ch == "=" and depths[i] == 0]
    return statement[parts[-1] :].strip()


def _depths(text: str) -> list[int]:
    """Bracket depth at each character (escaped `\\{` `\\}` are delimiters that count as nothing)."""
    depths, depth, escaped = [], 0, False
    for ch in text:
        depths.append(depth)
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in "{([":
            depth += 1
        elif ch in "})]":
            depth -= 1
    depths.append(depth)  # one past the end, so an index at len(text) is valid
    return depths


def _last_for(quantity: str, statements: list[tuple[str, str]]) -> str | None:
    return next((rhs for q, rhs in reversed(statements) if q == quantity), None)


def _kl_section_start(cells: list[Mapping[str, Any]]) -> int:
    """Index of the first cell of the KL questions (a question or a tagged answer), or len(cells)."""
    for index, cell in enumerate(cells):
        if any(q.tag in _tags(cell) for q in QUESTIONS):
            return index
        if _is_markdown(cell) and any(_question_on(line) for line in _source(cell).splitlines()):
            return index
    return len(cells)


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


def _unwrap_fonts(tokens: list[str]) -> list[str]:
    """`\\mathbf{x}_0` → `x_0`, `\\mathbb{I}` → `I`; around more than one thing, the braces stay as a group."""
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
        inner = _unwrap_fonts(tokens[index + 2 : end])
        if not inner or _is_scripted_atom(inner):
            out += inner
        elif token in _TEXT_FONTS and any(t.isalpha() for t in inner):
            raise LatexParseError(f"'{token}{{{''.join(inner)}}}' is words, not part of a formula")
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
_MAX_TOKENS = 1000  # a real answer has well under 100
_MAX_DEPTH = 50  # nested groups; far beyond any real answer, well below Python's recursion limit
_MAX_WORK = 5000  # symbols read, counting each re-read of a \prod body: nested products multiply
_MAX_DIGITS = 15
_MAX_STEP = 20  # step indices and product ranges; ᾱ_1000 is no answer to this exercise
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
            "x": self._x,
        }

    def parse(self) -> sympy.Expr:
        expr = self._expr()
        if self._peek() is not None:
            raise LatexParseError(f"unexpected '{self._peek()}'")
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
        if token.isdigit() or token == ".":
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
            raise LatexParseError(f"unexpected '{token}'")
        if token.startswith("\\") and token[1:].isalpha():
            raise LatexParseError(f"'{token}' is not something this checker understands")
        if token.isalpha():
            raise LatexParseError(f"the symbol '{token}' is unexpected here")
        raise LatexParseError(f"unexpected '{token}'")

    def _number(self, first: str) -> sympy.Expr:
        text = first
        while (token := self._peek()) is not None and (token.isdigit() or (token == "." and "." not in text)):
            text += self._next()
        if not any(ch.isdigit() for ch in text):
            raise LatexParseError("unexpected '.'")
        if len(text) > _MAX_DIGITS:
            raise LatexParseError(f"the number {text} is too long")
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
        if token is not None and token.isdigit():
            self.pos += 1
            return sympy.Integer(token)
        return self._primary()

    def _root(self) -> sympy.Expr:
        degree = sympy.Integer(2)
        if self._peek() == "[":
            self.pos += 1
            degree = self._group("]")
            if not (degree.is_Integer and degree >= 1):
                raise LatexParseError(f"the root's degree must be a whole number, not {degree}")
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
        if not tokens or tokens[0] in ("+", "-") or tokens[-1] in ("+", "-"):
            raise LatexParseError(f"the index '{shown}' is not a step number like 3, t or t-1")
        total, sign, index = 0, 1, 0
        while index < len(tokens):
            token = tokens[index]
            if token in ("+", "-"):
                sign = -1 if token == "-" else 1
                index += 1
                continue
            if token.isdigit():
                digits = token
                while index + 1 < len(tokens) and tokens[index + 1].isdigit():
                    index += 1
                    digits += tokens[index]
                value = int(digits)
            elif token in self.bound:
                value = self.bound[token]
            elif token == "t":
                value = symbolic.T
            else:
                raise LatexParseError(f"the index '{shown}' is not a step number like 3, t or t-1")
            total += sign * value
            index += 1
        if not 0 <= total <= _MAX_STEP:
            raise LatexParseError(f"the step index '{shown}' = {total} is out of range")
        return total

    def _alpha(self) -> sympy.Expr:
        subscript, superscript = self._scripts()
        if subscript is None:
            raise LatexParseError(r"\alpha needs a step index, like \alpha_3")
        return _power(symbolic.alpha(self._step(subscript)), superscript)

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
        return _power(symbolic.alpha_bar(self._step(step_tokens)), superscript)

    def _product(self) -> sympy.Expr:
        """\\prod_{s=1}^{3} factor: the factor read once per value of s."""
        limits: dict[str, list[str]] = {}
        while (marker := self._peek()) in ("_", "^") and marker not in limits:
            self.pos += 1
            limits[marker] = self._subscript_tokens()
        lower, upper = limits.get("_"), limits.get("^")
        if not lower or not upper or len(lower) < 3 or lower[1] != "=" or not lower[0].isalpha():
            raise LatexParseError(r"\prod needs limits like \prod_{s=1}^{3}")
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
        return sympy.Mul(*factors) if last >= first else sympy.Integer(1)

    def _x(self) -> sympy.Expr:
        subscript, superscript = self._scripts()
        if subscript is None:
            raise LatexParseError("x needs its step index: write x₀ as x_0")
        return _power(symbolic.x_symbol(self._step(subscript)), superscript)


def _power(base: sympy.Expr, exponent: sympy.Expr | None) -> sympy.Expr:
    if exponent is None:
        return base
    # sympy evaluates number powers exactly: 10^{10^{10}} would never finish.
    if exponent.is_Number and base.is_Rational and base != 0:
        digits = abs(math.log10(abs(base.p)) - math.log10(base.q)) * abs(float(exponent))
        if digits > _MAX_POWER_DIGITS:
            raise LatexParseError("a number in it is far too large")
    if exponent.is_Number and abs(exponent) > _MAX_POWER_DIGITS:
        raise LatexParseError(f"the exponent {exponent} is far too large")
    return base**exponent


# ============================================================================= free text


_PLACEHOLDERS = {"your answer here"}
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s")
_IMAGES = re.compile(r"!\[[^\]]*\]\([^)]*\)|!\[[^\]]*\]\[[^\]]*\]|<img\b[^>]*>|<(video|audio|iframe)\b.*?</\1>", re.DOTALL | re.IGNORECASE)
_HTML_TAGS = re.compile(
    r"</?(?:div|span|p|br|b|i|em|strong|u|font|center|figure|figcaption|sup|sub|a|ul|ol|li|hr|source)\b[^>]*>",
    re.IGNORECASE,
)


def _normalised(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def _question_on(line: str) -> Question | None:
    """The question this line asks; it must be a question or a heading, as an answer may quote one."""
    if "?" not in line and not _HEADING.match(line):
        return None
    normalised = _normalised(line)
    return next((q for q in QUESTIONS if q.key in normalised), None)


def _tagged_answer(cells: list[Mapping[str, Any]], question: Question) -> str:
    # Any cell type: an answer typed into a cell accidentally turned into code is still the answer.
    return "\n\n".join(_source(c) for c in cells if question.tag in _tags(c))


def _answer_after_question(cells: list[Mapping[str, Any]], question: Question) -> str:
    """The text after the question: the rest of its cell and the markdown cells that follow it,
    up to the next question, code cell, cell opening with a heading, or cell tagged for another answer."""
    lines: list[str] = []
    collecting = False
    for cell in cells:
        source = _source(cell)
        if collecting and (
            not _is_markdown(cell)
            or _HEADING.match(source.lstrip("\n"))
            or any(other.tag in _tags(cell) for other in QUESTIONS if other is not question)
        ):
            break
        if not _is_markdown(cell):
            continue
        for line in source.splitlines():
            asked = _question_on(line)
            if collecting and asked is not None:
                return "\n".join(lines)
            if asked is question and not collecting:
                collecting = True
                lines.append(line.split("?", 1)[1].lstrip("*_ ") if "?" in line else "")  # an answer on the same line
            elif collecting:
                lines.append(line)
        if collecting:
            lines.append("")  # cells are paragraphs
    return "\n".join(lines)


def _clean_free_text(text: str) -> str:
    """Text only: no images, HTML tags or the handout's placeholder; paragraphs separated by one blank line."""
    text = _HTML_TAGS.sub("", _IMAGES.sub("", text))
    paragraphs = re.split(r"\n\s*\n", "\n".join(line.rstrip() for line in text.splitlines()))
    return "\n\n".join(p.strip("\n") for p in paragraphs if p.strip() and _normalised(p) not in _PLACEHOLDERS)
