"""The review pages' Jinja2 environment: this app's templates over the reports' own, autoescaped, with the filters
the pages use (points, sanitised markdown, a URL path part)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from jinja2 import ChoiceLoader, Environment, FileSystemLoader

from graders.report.markup import rendered
from graders.report.render import SYMBOLS, TEMPLATES, points_text

HERE = Path(__file__).resolve().parent


def environment() -> Environment:
    made = Environment(
        loader=ChoiceLoader([FileSystemLoader(HERE / "templates"), FileSystemLoader(TEMPLATES)]),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    made.globals.update(symbols=SYMBOLS)
    made.filters["points"] = points_text
    made.filters["rendered"] = rendered
    made.filters["pathpart"] = lambda text: quote(str(text), safe="")
    return made
