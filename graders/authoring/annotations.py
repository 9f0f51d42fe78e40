"""Reading an annotated solution notebook: the marks an author puts on it (docs/authors.md, "Annotations").

- a raw cell tagged `assignment`: the config, TOML (id, title, version, the functions with their checks, the
  mistakes' words, the questions with rubrics and points);
- `# BEGIN SOLUTION` / `# END SOLUTION` lines in code cells (otter's markers; nbgrader's `### BEGIN SOLUTION`
  too): what students write; the template gets `raise NotImplementedError` in their place;
- code cells tagged `mistake:NAME`: an alternative `def` of one function, a catalogued mistake;
- one code cell tagged `inputs`: `PUBLIC` (function -> argument tuples) and `hidden(rng)` (the same, drawn
  from a numpy Generator seeded by the grading seed);
- markdown cells tagged `answer:TAG`: the written questions' answers (emptied in the template);
- one code cell tagged `parameters` (papermill's): the grader injects `seed` there.

The reading is one pass over the cells and their lines; every fault is a `UsageError` naming the cell.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import tomllib

from graders.authoring.contract import (
    ANSWER_PREFIX,
    ASSIGNMENT_ID,
    NAME,
    Contract,
    Fields,
    FunctionSpec,
    ItemSpec,
    MistakeSpec,
    QuestionSpec,
)
from graders.errors import UsageError
from graders.tags import PARAMETERS_TAG

CONFIG_TAG = "assignment"
INPUTS_TAG = "inputs"
MISTAKE_PREFIX = "mistake:"
BEGIN = re.compile(r"[ \t]*#+[ \t]*BEGIN SOLUTION[ \t]*")
END = re.compile(r"[ \t]*#+[ \t]*END SOLUTION[ \t]*")
DEFAULT_TOLERANCE = {"rtol": 1e-5, "atol": 1e-8}
PLACEHOLDER = "# your code here\nraise NotImplementedError"
_INSTRUCTOR_ONLY = (CONFIG_TAG, INPUTS_TAG)  # cells neither notebook keeps (mistakes too)


@dataclass(frozen=True)
class Source:
    """An annotated solution notebook, read: what `build` writes out."""

    contract: Contract
    solution: list[dict[str, Any]]  # the solution notebook's cells (markers removed)
    template: list[dict[str, Any]]  # the student's cells (regions replaced, answers emptied)
    reference: str  # the solution's imports and definitions, as a module
    mistakes: Mapping[str, str]  # name -> the alternative `def` cell's source
    inputs: str  # the inputs cell's source
    metadata: Mapping[str, Any] = field(default_factory=dict)


def _where(index: int) -> str:
    return f"cell {index + 1}"


def _tags(cell: Mapping[str, Any]) -> list[str]:
    tags = cell["metadata"].get("tags", [])
    return [tag for tag in tags if isinstance(tag, str)] if isinstance(tags, list) else []


def _source(cell: Mapping[str, Any]) -> str:
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else str(source)


def _checked_cells(notebook: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The cells, each a mapping with a type, metadata and a source (nbformat's shape; `load_notebook` has validated
    a file already, this guards a notebook handed over in memory)."""
    cells = notebook.get("cells")
    if not isinstance(cells, list):
        raise UsageError("the notebook has no list of cells")
    for index, cell in enumerate(cells):
        shaped = isinstance(cell, Mapping) and isinstance(cell.get("cell_type"), str) and isinstance(cell.get("metadata"), Mapping)
        source = cell.get("source") if isinstance(cell, Mapping) else None
        if not shaped or not (isinstance(source, str) or (isinstance(source, list) and all(isinstance(s, str) for s in source))):
            raise UsageError(f"{_where(index)}: not a notebook cell (a cell_type, metadata and a source of text)")
    return cells


def parse(notebook: Mapping[str, Any]) -> Source:
    cells = _checked_cells(notebook)
    config = _the_one(cells, lambda c: c.get("cell_type") == "raw" and CONFIG_TAG in _tags(c), f"a raw cell tagged {CONFIG_TAG!r}")
    inputs = _the_one(cells, lambda c: c.get("cell_type") == "code" and INPUTS_TAG in _tags(c), f"a code cell tagged {INPUTS_TAG!r}")
    _the_one(cells, lambda c: c.get("cell_type") == "code" and PARAMETERS_TAG in _tags(c), f"a code cell tagged {PARAMETERS_TAG!r}")
    table = _toml(_source(cells[config]), _where(config))
    solution: list[dict[str, Any]] = []
    template: list[dict[str, Any]] = []
    mistakes: dict[str, tuple[int, str]] = {}
    answers: dict[str, int] = {}
    definitions: dict[str, tuple[int, ast.FunctionDef]] = {}
    reference: list[str] = []
    for index, cell in enumerate(cells):
        tags, source = _tags(cell), _source(cell)
        mistake = [tag.removeprefix(MISTAKE_PREFIX) for tag in tags if tag.startswith(MISTAKE_PREFIX)]
        if any(tag in _INSTRUCTOR_ONLY for tag in tags) or mistake:
            if mistake:
                _add_once(mistakes, mistake[0], (index, source), f"{_where(index)}: a second cell for mistake {mistake[0]!r}")
            continue
        if cell.get("cell_type") == "code":
            solved, student = _regions(source, _where(index))
            if PARAMETERS_TAG not in tags:
                reference += _definitions(solved, index, definitions, required=solved != student)
        else:
            solved = student = source
        answer = [tag.removeprefix(ANSWER_PREFIX) for tag in tags if tag.startswith(ANSWER_PREFIX)]
        if answer and cell.get("cell_type") == "markdown":
            _add_once(answers, answer[0], index, f"{_where(index)}: a second answer cell tagged {ANSWER_PREFIX}{answer[0]}")
            student = ""
        solution.append(_with_source(cell, solved))
        template.append(_with_source(cell, student))
    contract = _contract(table, _where(config), definitions, mistakes, answers)
    checked = {name: _mistake_source(name, index, source, contract) for name, (index, source) in mistakes.items()}
    return Source(
        contract, solution, template, "\n\n".join(reference) + "\n", checked, _source(cells[inputs]), notebook.get("metadata", {})
    )


def _the_one(cells: list[Mapping[str, Any]], wanted: Callable[[Mapping[str, Any]], bool], what: str) -> int:
    found = [index for index, cell in enumerate(cells) if wanted(cell)]
    if len(found) != 1:
        said = "none" if not found else "cells " + ", ".join(str(i + 1) for i in found)
        raise UsageError(f"the notebook needs exactly one {what} (found {said})")
    return found[0]


def _add_once(found: dict[str, Any], key: str, value: Any, duplicate: str) -> None:
    if key in found:
        raise UsageError(duplicate)
    found[key] = value


def _with_source(cell: Mapping[str, Any], source: str) -> dict[str, Any]:
    copied = {key: value for key, value in cell.items() if key not in ("outputs", "execution_count", "id")}
    if cell.get("cell_type") == "code":
        copied.update(outputs=[], execution_count=None)
    return {**copied, "source": source}


def _toml(text: str, where: str) -> dict[str, Any]:
    try:
        table: dict[str, Any] = tomllib.loads(text)
        return table
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{where} (the assignment config): not valid TOML: {exc}") from None


# ----------------------------------------------------------------------------- solution regions


def _regions(source: str, where: str) -> tuple[str, str]:
    """(the solution without its markers, the template with each region replaced): one pass over the lines."""
    solved: list[str] = []
    student: list[str] = []
    begun: int | None = None
    for number, line in enumerate(source.splitlines(), start=1):
        if BEGIN.fullmatch(line):
            if begun is not None:
                raise UsageError(f"{where}, line {number}: BEGIN SOLUTION inside the region begun on line {begun}")
            begun = number
            indent = line[: len(line) - len(line.lstrip())]
            student += [indent + placeholder for placeholder in PLACEHOLDER.splitlines()]
        elif END.fullmatch(line):
            if begun is None:
                raise UsageError(f"{where}, line {number}: END SOLUTION without a BEGIN SOLUTION before it")
            begun = None
        else:
            solved.append(line)
            if begun is None:
                student.append(line)
    if begun is not None:
        raise UsageError(f"{where}: the solution region begun on line {begun} has no END SOLUTION")
    return "\n".join(solved), "\n".join(student)


def _definitions(source: str, index: int, found: dict[str, tuple[int, ast.FunctionDef]], *, required: bool) -> list[str]:
    """The cell's imports and top-level definitions, for the reference module; its functions noted in `found`."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        if required:  # a cell with a solution region is the reference's: it must be Python
            raise UsageError(f"{_where(index)}: not Python ({exc.msg}, line {exc.lineno})") from None
        return []  # e.g. an IPython magic: nothing a check calls
    kept = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            _add_once(found, node.name, (index, node), f"{_where(index)}: {node.name} is defined a second time")
    return [segment for node in tree.body if isinstance(node, kept) and (segment := ast.get_source_segment(source, node))]


def _mistake_source(name: str, index: int, source: str, contract: Contract) -> str:
    where = f"{_where(index)} (mistake {name!r})"
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise UsageError(f"{where}: not Python ({exc.msg}, line {exc.lineno})") from None
    defined = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]
    spec = next((m for m in contract.catalog if m.name == name), None)
    if spec is None:
        raise UsageError(f"{where}: the config has no [mistakes.{name}]")
    if defined != [spec.function]:
        raise UsageError(f"{where}: must define exactly one function, {spec.function} (the config's function), not {defined}")
    return source


# ----------------------------------------------------------------------------- the config


def _contract(
    table: dict[str, Any],
    where: str,
    definitions: Mapping[str, tuple[int, ast.FunctionDef]],
    mistakes: Mapping[str, Any],
    answers: Mapping[str, int],
) -> Contract:
    config = Fields(table, f"{where} (the assignment config)")
    config.only("id", "title", "subtitle", "version", "public_seed", "functions", "mistakes", "questions")
    assignment_id = config.named("id", ASSIGNMENT_ID)
    functions = tuple(_function(name, fields, definitions) for name, fields in _tables(config, "functions"))
    if not functions:
        raise UsageError(f"{config.where}: no [functions.NAME]: an assignment checks at least one function")
    catalog = tuple(_mistake(name, fields, functions) for name, fields in _tables(config, "mistakes"))
    for name, (index, _) in mistakes.items():
        if name not in {m.name for m in catalog}:
            raise UsageError(f"{_where(index)}: mistake {name!r} has no [mistakes.{name}] in the config")
    for spec in catalog:
        if spec.name not in mistakes:
            raise UsageError(f"{config.where}: [mistakes.{spec.name}] has no code cell tagged {MISTAKE_PREFIX}{spec.name}")
    questions = tuple(_question(tag, fields, answers) for tag, fields in _tables(config, "questions"))
    for tag, index in answers.items():
        if tag not in {q.tag for q in questions}:
            raise UsageError(f"{_where(index)}: the answer cell's tag {ANSWER_PREFIX}{tag} has no [questions.{tag}] in the config")
    title = config.get("title", str)
    return Contract(
        assignment_id, title, config.get("subtitle", str, ""), config.get("version", str, "1"), config.get("public_seed", int, 0),
        functions, questions, catalog,
    )  # fmt: skip


def _tables(config: Fields, key: str) -> Iterator[tuple[str, Fields]]:
    for name, value in config.get(key, dict, {}).items():
        if not NAME.fullmatch(name):
            raise UsageError(f"{config.where}: [{key}.{name[:50]}]: a name is lower-case letters, digits and '_' (at most 40)")
        yield name, Fields(value, f"{config.where}: [{key}.{name}]")


def _function(name: str, fields: Fields, definitions: Mapping[str, tuple[int, ast.FunctionDef]]) -> FunctionSpec:
    fields.only("label", "title", "points", "rtol", "atol", "expectation", "hint")
    if name not in definitions:
        raise UsageError(f"{fields.where}: the solution defines no function {name} (a top-level `def {name}(...)` in a code cell)")
    node = definitions[name][1]
    label = fields.get("label", str, name)
    points = fields.get("points", float)
    if points <= 0:
        raise UsageError(f"{fields.where}: 'points' must be more than 0")
    rtol, atol = (fields.get(key, float, DEFAULT_TOLERANCE[key]) for key in ("rtol", "atol"))
    if min(rtol, atol) < 0:
        raise UsageError(f"{fields.where}: 'rtol' and 'atol' must not be negative")
    return FunctionSpec(
        name, f"def {name}({ast.unparse(node.args)}):", label, fields.get("title", str, f"{label}: values"), points, rtol, atol,
        fields.get("expectation", str, f"{name} should give the reference's values."), fields.get("hint", str, ""),
    )  # fmt: skip


def _mistake(name: str, fields: Fields, functions: tuple[FunctionSpec, ...]) -> MistakeSpec:
    function = fields.only("function", "title", "explanation", "hint").get("function", str)
    if function not in {f.name for f in functions}:
        raise UsageError(
            f"{fields.where}: 'function' {function[:50]!r} is not one of the [functions] ({', '.join(f.name for f in functions)})"
        )
    return MistakeSpec(name, function, fields.get("title", str), fields.get("explanation", str), fields.get("hint", str, ""))


def _question(tag: str, fields: Fields, answers: Mapping[str, int]) -> QuestionSpec:
    fields.only("text", "points", "rubric", "items")
    if tag not in answers:
        raise UsageError(f"{fields.where}: no markdown cell is tagged {ANSWER_PREFIX}{tag} for its answer")
    items = tuple(_item(item) for item in fields.objects("items")) if "items" in fields.document else ()
    keys = [item.key for item in items]
    if len(set(keys)) != len(keys):
        raise UsageError(f"{fields.where}: two rubric items share a key ({', '.join(sorted(k for k in set(keys) if keys.count(k) > 1))})")
    points = fields.get("points", float)
    if points < 0:
        raise UsageError(f"{fields.where}: 'points' must not be negative")
    return QuestionSpec(tag, fields.get("text", str), points, fields.get("rubric", str, ""), items)


def _item(fields: Fields) -> ItemSpec:
    return fields.exactly("key", "text", "points").item()
