"""Markdown and LaTeX → sanitised HTML with MathML (graders/report/markup.py): real answers, hostile ones, huge ones.

The output is read with an HTML parser, never searched as text: an escaped `&lt;script&gt;` is text,
a <script> element is not. What a page may hold is stated here, independently of the module's allow-list.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assignments.a10 import ASSIGNMENT
from graders.report.markup import MAX_BRACE_DEPTH, MAX_CHARS, MAX_MATH_CHARS, MAX_NESTING, rendered
from tests.students import CORRECT_DERIVATION
from tests.timing import assert_linear, repeat_to

SUBMISSIONS = sorted((Path(__file__).resolve().parents[2] / "submissions").glob("*/*.ipynb"))  # every demo class
# Markup a page may show from student text: prose, lists, tables, code, links, and presentation MathML.
PROSE = {"p", "br", "em", "strong", "del", "code", "pre", "blockquote", "ul", "ol", "li", "hr", "a", "span", "div", "table"}
PROSE |= {"h1", "h2", "h3", "h4", "h5", "h6", "thead", "tbody", "tr", "th", "td"}
MATHML = {"math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msub", "msup", "msubsup", "mfrac", "msqrt", "mroot", "mover"}
MATHML |= {"munder", "munderover", "mtable", "mtr", "mtd", "mstyle", "menclose", "mpadded", "mphantom", "merror", "none"}
MATHML |= {"mmultiscripts", "mprescripts"}
LINK_SCHEMES = {"http", "https", "mailto"}


class Parsed(HTMLParser):
    """Every element with its attributes, and the text outside <code> (where a `$` means math was not read)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.prose: list[str] = []
        self.code: list[str] = []
        self._in_code = 0
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        self._in_code += tag == "code"

    def handle_endtag(self, tag: str) -> None:
        self._in_code -= tag == "code"

    def handle_data(self, data: str) -> None:
        (self.code if self._in_code else self.prose).append(data)

    def tags(self, name: str) -> list[dict[str, str | None]]:
        return [attrs for tag, attrs in self.elements if tag == name]


def assert_safe(html: str) -> Parsed:
    """Nothing that runs, loads or restyles: known tags only, no event handlers, styles or sources, links to the web only."""
    parsed = Parsed(html)
    for tag, attrs in parsed.elements:
        assert tag in PROSE | MATHML, f"<{tag}> in {html[:300]!r}"
        for name, value in attrs.items():
            assert not name.startswith("on") and name not in {"style", "src", "srcdoc", "xlink:href", "id", "action", "formaction"}, name
            if name == "href":
                assert tag == "a" and urlparse(value or "").scheme in LINK_SCHEMES, value
            if name == "class":
                assert tag in {"span", "div"} and set((value or "").split()) <= {"math-inline", "math-display", "math-src", "plain"}
    return parsed


def math_count(html: str) -> int:
    return len(Parsed(html).tags("math"))


# ----------------------------------------------------------------------------- real answers


def shipped_notebooks() -> list[dict]:
    return [json.loads(path.read_text(encoding="utf-8")) for path in SUBMISSIONS]


def test_the_shipped_submissions_are_the_corpus():
    assert len(SUBMISSIONS) >= 12  # the demo submissions of both assignments: if they move, these tests must follow


def test_every_formula_in_the_shipped_notebooks_markdown_renders_as_mathml():
    """Handout text and the students' own cells alike: every $…$ and $$…$$ becomes MathML, none is left as dollars."""
    cells = [cell for nb in shipped_notebooks() for cell in nb["cells"] if cell["cell_type"] == "markdown"]
    formulas = 0
    for cell in cells:
        source = "".join(cell["source"])
        parsed = assert_safe(rendered(source))
        assert "$" not in "".join(parsed.prose), source  # every dollar opened a formula that was read
        assert not [a for a in parsed.tags("span") if "math-src" in (a.get("class") or "")], source  # and understood
        formulas += len(parsed.tags("math"))
    assert formulas > 50  # the corpus has math in it: the test is not vacuous


def test_the_students_derivation_answers_render_as_display_math():
    a10_class = [nb for path, nb in zip(SUBMISSIONS, shipped_notebooks(), strict=True) if path.parent.name == "a10"]  # ASSIGNMENT's reader
    answers = [answer for nb in a10_class for answer in ASSIGNMENT.extract_derivation(nb)]
    answers += list(CORRECT_DERIVATION)
    assert len(answers) >= 16 and all(answer.latex for answer in answers)
    for answer in answers:
        parsed = assert_safe(rendered(answer.latex, math=True))
        (math,) = parsed.tags("math")
        assert math["display"] == "block", answer.latex
        assert not parsed.tags("code"), answer.latex  # not the source fallback


def test_written_answers_keep_their_math_and_markdown():
    solution = next(nb for path, nb in zip(SUBMISSIONS, shipped_notebooks(), strict=True) if path.stem == "solution")
    explain = ASSIGNMENT.extract_free_text(solution)[1].answer
    assert r"$\mathcal{N}(0, I)$" in explain  # the raw source the issue complains about
    parsed = assert_safe(rendered(explain))
    assert len(parsed.tags("math")) == explain.count("$") // 2 and "\N{MATHEMATICAL SCRIPT CAPITAL N}" in str(rendered(explain))


def test_two_answer_lines_on_one_line_are_two_formulas():
    """As students type them (tests/judge/test_answers.py): not one formula with `$$ $$` inside."""
    html = rendered("$$\\mu = \\sqrt{\\bar\\alpha_3}\\, x_0$$ $$\\Sigma = 1 - \\bar\\alpha_3$$")
    parsed = assert_safe(html)
    assert [m["display"] for m in parsed.tags("math")] == ["block", "block"] and "$" not in "".join(parsed.prose)
    spread = rendered("$$\\mu = \\sqrt{\\bar\\alpha_3}\n x_0$$ $$\\Sigma =\n1 - \\bar\\alpha_3$$")
    assert math_count(spread) == 2


def test_markdown_is_rendered_not_shown_as_source():
    parsed = assert_safe(rendered("**Sharp** at `w = 0`,\n*blurry* at 30.\n\n- one\n- two"))
    assert parsed.tags("strong") and parsed.tags("em") and parsed.tags("code") and len(parsed.tags("li")) == 2
    assert "**" not in "".join(parsed.prose) and "`" not in "".join(parsed.prose)
    assert len(parsed.tags("p")) == 1  # a single line break is a space, as in Jupyter: not a new paragraph


def test_dollars_that_are_not_math_stay_text():
    for text in ("It costs $5 and $10.", "\\$x\\$ is escaped", "a lone $ sign"):
        parsed = assert_safe(rendered(text))
        assert not parsed.tags("math") and "$" in "".join(parsed.prose), text


# ----------------------------------------------------------------------------- hostile


HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<iframe src=javascript:alert(1)></iframe>",
    "<div onclick=alert(1) style='position:fixed;inset:0'>cover</div>",
    "<style>body{display:none}</style>",
    "<!-- hidden --><b>raw html</b>",
    "<svg onload=alert(1)><script>alert(2)</script></svg>",
    "<math><mi xlink:href=javascript:alert(1)>x</mi></math>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<javascript:alert(1)>",
    "[ref]\n\n[ref]: javascript:alert(1)",
    "![x](http://tracker.example/pixel.png)",
    "![x](javascript:alert(1))",
    "$\\href{javascript:alert(1)}{click}$",
    "$\\class{x}{y}$ $\\cssId{x}{y}$ $\\style{color:red}{y}$",
    "$\\text{<script>alert(1)</script>}$",
    "$\\text{<img src=x onerror=alert(1)>}$",
    "$$\\text{</math><script>alert(1)</script>}$$",
    "$\\color{red}{x}$ $\\mathcolor{red}{x}$",
    "`<script>alert(1)</script>`",
    "```html\n<script>alert(1)</script>\n```",
    "<a href='javascript:alert(1)'>x</a>",
    "&lt;script&gt; &#x3C;script&#x3E;",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_markdown_renders_to_nothing_active(text):
    html = str(rendered(text))
    assert_safe(html)
    assert "<script" not in html.lower() and "javascript:" not in html.lower().replace("javascript:alert", "")  # as text only, escaped


def test_raw_html_is_shown_as_text():
    parsed = assert_safe(rendered("<b>bold</b> <img src=x onerror=alert(1)>"))
    assert not parsed.tags("b") and not parsed.tags("img") and "<b>bold</b> <img src=x onerror=alert(1)>" in "".join(parsed.prose)


def test_links_to_the_web_stay_links_and_others_do_not():
    parsed = assert_safe(rendered("[docs](https://example.org/a?b=c) [bad](javascript:alert(1)) <mailto:ta@example.org>"))
    assert [a["href"] for a in parsed.tags("a")] == ["https://example.org/a?b=c", "mailto:ta@example.org"]
    assert all("noopener" in (a.get("rel") or "") for a in parsed.tags("a"))


def test_markdown_images_are_never_loaded():
    parsed = assert_safe(rendered("![pixel](http://tracker.example/p.png) ![inline](data:image/png;base64,AAAA)"))
    assert not parsed.tags("img")


@pytest.mark.parametrize("latex", ["\\foo{x}", "\\undefinedcommand", "x \\notacommand y", "\\text{a}\\mystery"])
def test_a_command_the_converter_does_not_know_shows_as_escaped_source(latex):
    html = rendered(f"Before ${latex}$ after, and $x_0$.")
    parsed = assert_safe(html)
    assert [c for c in parsed.tags("span") if "math-src" in (c.get("class") or "")]
    assert f"${latex}$" in parsed.code  # exactly as written, as text
    assert len(parsed.tags("math")) == 1 and "Before" in "".join(parsed.prose) and "after" in "".join(parsed.prose)


@pytest.mark.parametrize("latex", ["x^{", "\\frac{1}{", "\\left( x", "\\begin{matrix} a", "}{", "\\sqrt[", "_", "^^"])
def test_malformed_latex_shows_as_source_and_the_rest_renders(latex):
    parsed = assert_safe(rendered(f"${latex}$ then **bold** and $y$"))
    assert parsed.tags("strong") and len(parsed.tags("math")) <= 1


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([*HOSTILE, "$", "$$", "\\", "{", "}", "*", "_", "`", "[", "](", ")", "<", ">", "\n", " ", "x", "\\frac"])))
def test_any_mix_of_hostile_pieces_renders_safely(pieces):
    assert_safe(str(rendered("".join(pieces))))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_renders_safely(text):
    assert_safe(str(rendered(text)))
    assert_safe(str(rendered(text, math=True)))


# ----------------------------------------------------------------------------- bounded


def test_a_text_over_the_cap_is_escaped_text_whole():
    text = "<b>x</b> $y$ " * (MAX_CHARS // 10)
    parsed = assert_safe(rendered(text))
    assert not parsed.tags("math") and not parsed.tags("b") and parsed.tags("div")[0]["class"] == "plain"
    assert "".join(parsed.prose) == text  # every character, as text


@pytest.mark.parametrize("unit", ["> ", "- ", "1. ", "  - ", "*", "[", "> - "])
def test_deep_nesting_degrades_to_escaped_text_and_loses_nothing(unit):
    text = unit * (MAX_NESTING * 3) + "end"
    parsed = assert_safe(rendered(text))
    assert "end" in "".join(parsed.prose)


def test_a_formula_too_long_or_too_deep_is_its_source():
    long = "x+" * MAX_MATH_CHARS
    deep = "{" * (MAX_BRACE_DEPTH + 1) + "x" + "}" * (MAX_BRACE_DEPTH + 1)
    very_deep = "{" * 5000 + "x" + "}" * 5000  # latex2mathml would recurse past Python's limit
    for latex in (long, deep, very_deep):
        parsed = assert_safe(rendered(latex, math=True))
        assert not parsed.tags("math") and parsed.tags("code")


BUILDERS = {
    "prose": lambda n: repeat_to("Sharp at 0, blurry at 30. ", n),
    "inline math": lambda n: repeat_to("$\\sqrt{\\bar\\alpha_3}x_0$ and ", n),
    "display math": lambda n: repeat_to("$$\\Sigma = 1 - \\bar\\alpha_3$$ ", n),
    "dollars": lambda n: "$" * n,
    "brackets": lambda n: "[" * n,
    "emphasis": lambda n: "*_" * (n // 2),
    "backticks": lambda n: repeat_to("`a ``b ", n),
    "braces in math": lambda n: "$" + "{" * (n - 2) + "$",
    "quotes": lambda n: repeat_to("> ", n),
    "html": lambda n: repeat_to("<a href='x'>", n),
}


@pytest.mark.parametrize("name", BUILDERS)
def test_rendering_time_grows_linearly(name):
    # Below the cap (MAX_CHARS), where the parser and the converter really run.
    assert_linear(lambda text: rendered(text), BUILDERS[name], size=MAX_CHARS // 5)
