"""What the grader will not see of a notebook: the student kit's check cells, which grading empties.

A check cell that defines something the notebook needs (a function, a graded function's name, a name
a later cell reads) would work in the kit and be missing when the notebook is graded; check.py warns,
naming the cell. The cells are read as IPython runs them (magics turned into Python), each statement's
reads and bindings taken from the symbol table, in linear time. The kit ships this module verbatim.
"""

from __future__ import annotations

import ast
import importlib.util
import symtable
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graders.judge.cells import cell_source, cell_tags
from graders.tags import KIT_CELL_TAG, PROBE_TAG

# Magics whose Python runs in the notebook's namespace, so what it defines stays (unlike %%timeit's).
_PYTHON_MAGICS = ("time", "capture", "prun")
_MAX_MAGICS_DEEP = 4  # `%%time` over `%%capture` over …: deeper is left unread (it binds nothing found here)
_MAX_NAMES_SHOWN = 6


@dataclass(frozen=True)
class LostDefinition:
    """What a kit check cell binds that the notebook needs: the grader empties the cell, so it is not there."""

    number: int  # the cell, counted as CellFailure counts
    names: tuple[str, ...]

    def warning(self) -> str:
        shown = ", ".join(f"`{name}`" for name in self.names[:_MAX_NAMES_SHOWN])
        more = f" and {len(self.names) - _MAX_NAMES_SHOWN} more" if len(self.names) > _MAX_NAMES_SHOWN else ""
        return (
            f"Warning: cell {self.number} is one of the kit's check cells (tagged {KIT_CELL_TAG}), which the grader empties "
            f"before running your notebook: {shown}{more} defined there will not exist when your notebook is graded. "
            "Move that code into a cell of your own."
        )


def definition_warnings(cells: Sequence[Mapping[str, Any]] | None, graded: Collection[str]) -> list[str]:
    """A warning per check cell whose definitions the graded notebook misses (none without the cells or IPython);
    `graded` are the functions the grader calls after the last cell."""
    if cells is None or importlib.util.find_spec("IPython") is None:
        return []
    return [lost.warning() for lost in lost_definitions(cells, graded)]


def numbered(cells: Sequence[Mapping[str, Any]]) -> Iterator[tuple[int, Mapping[str, Any], list[str]]]:
    """Each cell with its number as the student counts (the grader's probe cell left out) and its tags."""
    number = 0
    for cell in cells:
        tags = cell_tags(cell)
        if PROBE_TAG not in tags:
            number += 1
            yield number, cell, tags


def lost_definitions(cells: Sequence[Mapping[str, Any]], graded: Collection[str]) -> list[LostDefinition]:
    """The check cells that bind what the graded notebook needs: a function or class (always), a graded
    function's name, or a name a later cell reads before binding it anew, unless an earlier cell had bound it."""
    lost: dict[int, dict[str, None]] = {}  # cell number → names, in the order found
    pending: dict[str, int] = {}  # a name only a check cell has bound, and that cell
    bound: set[str] = set()  # names the cells the grader runs have bound so far
    for number, cell, tags in numbered(cells):
        if cell.get("cell_type") != "code":
            continue
        statements = _statements(cell_source(cell))
        if KIT_CELL_TAG in tags:
            for _, binds, defines in statements:
                lost.setdefault(number, {}).update(dict.fromkeys(name for name in sorted(binds) if name in defines or name in graded))
                pending.update({name: number for name in binds - bound})
            continue
        for reads, binds, _ in statements:
            for name in sorted(reads & pending.keys()):
                lost.setdefault(pending.pop(name), {})[name] = None
            bound |= binds
            for name in binds:
                pending.pop(name, None)
    return [LostDefinition(cell, tuple(names)) for cell, names in sorted(lost.items()) if names]


def _statements(source: str) -> list[tuple[frozenset[str], frozenset[str], frozenset[str]]]:
    """Each top-level statement of a cell as IPython runs it: (the notebook's names it reads, those it binds,
    of which functions and classes). A cell that does not parse gives none."""
    statements = []
    for statement in _python_statements(source):
        try:
            table = symtable.symtable(ast.unparse(statement), "<cell>", "exec")
        except (SyntaxError, RecursionError):  # `return` outside a function, nesting Python cannot compile: the cell fails anyway
            continue
        binds = frozenset(s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported())
        defines = frozenset(s.get_name() for s in table.get_symbols() if s.is_namespace() and s.get_name() in binds)
        statements.append((_reads(table), binds, defines))
    return statements


def _python_statements(source: str, depth: int = 0) -> list[ast.stmt]:
    """The cell's statements, magics turned into Python by IPython; the Python inside %%time and the like inlined."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        tree = ast.parse(TransformerManager().transform_cell(source))
    # What CPython's parser raises on what it cannot read: ValueError on a null byte, RecursionError and
    # MemoryError (its stack overflowing) on deep nesting.
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    statements: list[ast.stmt] = []
    for statement in tree.body:
        inner = _magic_python(statement)
        statements += _python_statements(inner, depth + 1) if inner is not None and depth < _MAX_MAGICS_DEEP else [statement]
    return statements


def _magic_python(statement: ast.stmt) -> str | None:
    """The Python a `%time …` line or `%%time` cell runs (as IPython writes them: get_ipython().run_*_magic(...)), else None."""
    match statement:
        case ast.Expr(ast.Call(func=ast.Attribute(attr="run_cell_magic"), args=[ast.Constant(name), _, ast.Constant(str(body))])):
            return body if name in _PYTHON_MAGICS else None
        case ast.Expr(ast.Call(func=ast.Attribute(attr="run_line_magic"), args=[ast.Constant(name), ast.Constant(str(body))])):
            return body if name in _PYTHON_MAGICS else None
    return None


def _reads(table: symtable.SymbolTable) -> frozenset[str]:
    """The notebook's names a statement reads: at top level, and as globals in the functions and classes it defines."""
    top = table.get_type() == "module"
    names = {s.get_name() for s in table.get_symbols() if s.is_referenced() and (top or s.is_global())}
    for child in table.get_children():
        names |= _reads(child)
    return frozenset(names)
