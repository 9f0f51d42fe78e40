"""Markdown and LaTeX, as students and staff write them, into sanitised HTML with MathML.

The one renderer of every page: the `rendered` Jinja filter of the reports and the review app
(written answers, derivations, TA comments, override reasons, notebook markdown). The HTML needs
no script and no external resource, so it works from `file://`, in a mailed report and under the
review app's content policy.

Libraries rather than our own renderer, chosen on the shipped submissions' markdown and the test
corpora's answers: markdown-it-py (CommonMark, the parser Jupyter's own is compatible with) with
mdit-py-plugins' dollarmath for `$…$` and `$$…$$`; latex2mathml for the math; nh3 (ammonia) as
the allow-list sanitiser that everything passes last. mistune with its math plugin rendered the
same answers, but like dollarmath's block rule it read `$$\\mu = …$$ $$\\Sigma = …$$` on one line (as
students write their two answer lines) as one formula with `$$ $$` in it; so display math is read
inline only (`double_inline`), which also keeps `$$` spread over a paragraph's lines one formula.

Untrusted input, bounded: raw HTML in markdown is shown as text (never markup); links keep only
http(s) and mailto targets; markdown images are not loaded (nothing external, no tracking pixel);
a formula longer than MAX_MATH_CHARS, nested deeper than MAX_BRACE_DEPTH, that latex2mathml
refuses or with a command it does not know is shown as its escaped source; a text longer than
MAX_CHARS, or whose markdown nests deeper than MAX_NESTING, is shown as escaped text, whole.
Every step is linear in the input (tests/report/test_markup.py measures it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import nh3
from latex2mathml.converter import convert
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup
from mdit_py_plugins.dollarmath import dollarmath_plugin

MAX_CHARS = 20_000  # of one text; the results already cap answers (graders.results) well below a notebook's worst
MAX_MATH_CHARS = 2_000  # of one formula: latex2mathml takes about 20 µs a character
MAX_BRACE_DEPTH = 40  # latex2mathml recurses per group and fails past a few hundred
MAX_NESTING = 20  # markdown-it's own recursion limit: past it, it stops reading (content would be lost)

# What latex2mathml leaves of a command it does not know: its name as an identifier, e.g. <mi>\foo</mi>;
# and markup it passes through from \text{…} (any tag but MathML's): either way the formula is shown as source.
_NOT_UNDERSTOOD = re.compile(r">\\[A-Za-z]|<(?!/?(?:m[a-z]+|none)[\s/>])")
_BRACES = re.compile(r"\\[{}]|[{}]")

_MATHML_TAGS = {
    "math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msub", "msup", "msubsup", "mfrac", "msqrt", "mroot",
    "mover", "munder", "munderover", "mtable", "mtr", "mtd", "mstyle", "menclose", "mpadded", "mphantom", "merror",
    "mmultiscripts", "mprescripts", "none",
}  # fmt: skip
_HTML_TAGS = {
    "p", "br", "em", "strong", "del", "code", "pre", "blockquote", "ul", "ol", "li", "hr", "a", "span", "div",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
# Presentation only: no href (latex2mathml turns \href into one), no class, id or style, no colours.
_ATTRIBUTES = {
    "math": {"display"},
    "mi": {"mathvariant"},
    "mo": {"stretchy", "fence", "separator", "accent", "lspace", "rspace", "largeop", "movablelimits", "form", "minsize", "maxsize"},
    "mover": {"accent"},
    "munder": {"accentunder"},
    "munderover": {"accent", "accentunder"},
    "mfrac": {"linethickness"},
    "mspace": {"width", "height", "depth"},
    "mstyle": {"displaystyle", "scriptlevel"},
    "mtable": {"columnalign", "rowspacing", "columnspacing"},
    "mtd": {"columnalign"},
    "menclose": {"notation"},
    "mpadded": {"width", "height", "depth", "lspace", "voffset"},
    "a": {"href"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
}
_URL_SCHEMES = {"http", "https", "mailto"}
# The classes this module writes; a student's cannot reach the page (raw HTML is text).
_CLASSES = {"span": {"math-src", "math-inline", "math-display"}, "div": {"plain"}}


def rendered(text: str | None, *, math: bool = False, display: bool = True) -> Markup:
    """`text` as safe HTML: markdown with math, or (`math=True`) one formula, e.g. a derivation's right-hand side
    (display style) or the assignment's label for it (`display=False`: inline, as in running text)."""
    if not text:
        return Markup("")
    if math:
        return _clean(_formula(text, display=display))
    if len(text) > MAX_CHARS:
        return _plain(text)
    tokens = _MARKDOWN.parse(text)
    if _deepest(tokens) >= MAX_NESTING - 1:
        return _plain(text)
    return _clean(_MARKDOWN.renderer.render(tokens, _MARKDOWN.options, {}))


def _plain(text: str) -> Markup:
    """Escaped text, line breaks kept (the stylesheet's `.plain`): what a text too long or too deep to render shows."""
    return Markup('<div class="plain">{}</div>').format(text)


def _clean(html: str) -> Markup:
    return Markup(
        nh3.clean(
            html,
            tags=_MATHML_TAGS | _HTML_TAGS,
            attributes=_ATTRIBUTES,
            allowed_classes=_CLASSES,
            url_schemes=_URL_SCHEMES,
            link_rel="noopener noreferrer nofollow",
            strip_comments=True,
        )
    )


def _formula(latex: str, *, display: bool) -> str:
    """MathML for one formula, or its source, escaped, when it is too big, too deep, refused or not fully understood."""
    mode = "math-display" if display else "math-inline"
    if len(latex) <= MAX_MATH_CHARS and _brace_depth(latex) <= MAX_BRACE_DEPTH:
        try:
            mathml = convert(latex, display="block" if display else "inline")
        except Exception:  # noqa: BLE001 - latex2mathml raises many kinds (and IndexError, KeyError) on malformed input: show the source
            mathml = ""
        if mathml and not _NOT_UNDERSTOOD.search(mathml):
            return f'<span class="{mode}">{mathml}</span>'
    delimiter = "$$" if display else "$"
    return str(Markup('<span class="{} math-src"><code>{}{}{}</code></span>').format(mode, delimiter, latex, delimiter))


def _brace_depth(latex: str) -> int:
    """How deep `{…}` groups nest (escaped braces are text), in one pass."""
    depth = deepest = 0
    for match in _BRACES.finditer(latex):
        brace = match.group()
        if brace == "{":
            depth += 1
            deepest = max(deepest, depth)
        elif brace == "}":
            depth = max(0, depth - 1)
    return deepest


def _deepest(tokens: Sequence[Token]) -> int:
    """The deepest nesting level markdown-it reached, inline content included (one pass over the tokens)."""
    deepest = 0
    for token in tokens:
        deepest = max(deepest, token.level, *(child.level + token.level for child in token.children or ()))
    return deepest


def _math_rule(display: bool) -> Any:
    def render(renderer: Any, tokens: Sequence[Token], index: int, options: Any, env: Any) -> str:
        return _formula(tokens[index].content, display=display)

    return render


def _parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": False, "typographer": False}).enable(["table", "strikethrough"]).disable("image")
    dollarmath_plugin(parser, allow_labels=False, allow_space=True, allow_digits=False, allow_blank_lines=False, double_inline=True)
    parser.block.ruler.disable("math_block")
    parser.add_render_rule("math_inline", _math_rule(display=False))
    parser.add_render_rule("math_inline_double", _math_rule(display=True))
    return parser


_MARKDOWN = _parser()
