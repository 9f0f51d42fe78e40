"""Student notebooks that walk into the kit's traps (issue 20, item 10), written the ways students write.

Each starts from the kit's own notebook with the handout's solution in it (`solved`), the data and training
cells left out (no trap there, and they are the slow part), then makes one edit a student makes: `from check
import check` in the imports cell or in the function cells, `import check`, a `%%time` or `%%capture`
function cell, line magics, a helper module written with `%%writefile`, code written into a kit check cell,
a check cell moved above the functions. `lost` says which check cells hold what the graded notebook misses:
where the kit must warn, and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat

from assignments.a10.handout.content import SOLUTION, TEMPLATE
from assignments.a10.kit import KIT
from graders.kit.build import kit_notebook
from graders.tags import KIT_CELL_TAG

ROOT = Path(__file__).resolve().parents[2]
HANDOUT = ROOT / "assignments" / "a10" / "handout"
TRAINING = ("datasets.MNIST", "train_vae(")  # the cells that load MNIST and train: left out


def solved() -> nbformat.NotebookNode:
    """The kit's notebook, its functions and answers the handout's solution, without the training."""
    notebook = kit_notebook(KIT, nbformat.read(str(HANDOUT / "solution.ipynb"), as_version=4))
    notebook.cells = [cell for cell in notebook.cells if not any(marker in cell.source for marker in TRAINING)]
    return notebook


def is_check_cell(cell: nbformat.NotebookNode) -> bool:
    return KIT_CELL_TAG in cell.metadata.get("tags", [])


def code_cell(notebook: nbformat.NotebookNode, start: str) -> nbformat.NotebookNode:
    """The student's own code cell whose source starts with `start`."""
    (cell,) = [c for c in notebook.cells if c.cell_type == "code" and not is_check_cell(c) and c.source.startswith(start)]
    return cell


def check_cell(notebook: nbformat.NotebookNode, part: str) -> nbformat.NotebookNode:
    """The kit's check cell for one part."""
    (cell,) = [c for c in notebook.cells if is_check_cell(c) and f'check("{part}")' in c.source]
    return cell


def check_cell_number(notebook: nbformat.NotebookNode, part: str) -> int:
    """The check cell's number as a student counts cells (from 1, markdown included)."""
    return notebook.cells.index(check_cell(notebook, part)) + 1


def add_cell(notebook: nbformat.NotebookNode, after: nbformat.NotebookNode, source: str) -> None:
    notebook.cells.insert(notebook.cells.index(after) + 1, nbformat.v4.new_code_cell(source))


def _prepend(notebook: nbformat.NotebookNode, start: str, text: str) -> None:
    cell = code_cell(notebook, start)
    cell.source = text + cell.source


def _append(notebook: nbformat.NotebookNode, start: str, text: str) -> None:
    cell = code_cell(notebook, start)
    cell.source = cell.source + text


def import_in_function_cells(notebook: nbformat.NotebookNode) -> None:
    for function in ("closed_form", "vae_loss"):
        _append(notebook, f"def {function}(", f'\n\ncheck("{function}")\n')
        _prepend(notebook, f"def {function}(", "from check import check\n\n")


def import_module(notebook: nbformat.NotebookNode) -> None:
    _append(notebook, "import matplotlib", "\nimport check\n")
    add_cell(notebook, code_cell(notebook, "def vae_loss("), 'check.check("vae_loss")')


def line_magics(notebook: nbformat.NotebookNode) -> None:
    _append(notebook, "import matplotlib", "\n!echo imports done\n")
    _prepend(notebook, "import matplotlib", "%matplotlib inline\n%load_ext autoreload\n%autoreload 2\n")
    cell = code_cell(notebook, "example_alphas")
    cell.source = cell.source.replace("example_mu, example_Sigma =", "%time example_mu, example_Sigma =")


def helper_module(notebook: nbformat.NotebookNode) -> None:
    """A helper written to a file with %%writefile and imported: the work dir must be on sys.path, as in Jupyter."""
    helper = "%%writefile a10_trap_kl.py\nimport torch\n\n\ndef kl_term(mu, logvar):\n    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())\n"
    add_cell(notebook, code_cell(notebook, "def reparameterize("), helper)
    _prepend(notebook, "def vae_loss(", "from a10_trap_kl import kl_term\n\n")


def time_cells(notebook: nbformat.NotebookNode) -> None:
    for function in ("closed_form", "reparameterize"):
        _prepend(notebook, f"def {function}(", "%%time\n")


def definition_in_check_cell(notebook: nbformat.NotebookNode) -> None:
    """reparameterize written into its check cell; the template's stub above it still raises NotImplementedError."""
    function = code_cell(notebook, "def reparameterize(")
    function.source = TEMPLATE.reparameterize
    check = check_cell(notebook, "reparameterize")
    check.source = check.source.replace('check("reparameterize")', f'{SOLUTION.reparameterize}\n\ncheck("reparameterize")')


def names_in_check_cells(notebook: nbformat.NotebookNode) -> None:
    """Names set in check cells: one a later cell reads (`alphas`), one nobody reads (`scratch`), one bound
    before (`F`, in the imports cell), and `check` itself, called in a cell of the student's own."""
    closed_form_check = check_cell(notebook, "closed_form")
    closed_form_check.source += "\nalphas = torch.tensor([0.9, 0.8, 0.7])\nscratch = closed_form(torch.ones(2), 3, alphas)\n"
    _append(notebook, "example_alphas", "\nprint(closed_form(torch.ones(2), 3, alphas))\n")
    vae_loss_check = check_cell(notebook, "vae_loss")
    vae_loss_check.source = "import torch.nn.functional as F\n" + vae_loss_check.source
    add_cell(notebook, vae_loss_check, 'check("vae_loss")  # the check cell above imported check')


def check_cell_moved_up(notebook: nbformat.NotebookNode) -> None:
    cell = check_cell(notebook, "closed_form")
    notebook.cells.remove(cell)
    notebook.cells.insert(notebook.cells.index(code_cell(notebook, "import matplotlib")) + 1, cell)


@dataclass(frozen=True)
class Trap:
    edit: Callable[[nbformat.NotebookNode], None]
    lost: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (the part a check cell checks, the names the kit names there)
    solution_reachable: bool = True  # the grader can call every function the solution defines


TRAPS = {
    "trap-solved": Trap(lambda notebook: None),  # the control
    "trap-import-in-imports-cell": Trap(lambda notebook: _prepend(notebook, "import matplotlib", "from check import check\n")),
    "trap-import-in-function-cells": Trap(import_in_function_cells),
    "trap-import-module": Trap(import_module),
    "trap-time-cells": Trap(time_cells),
    "trap-capture-cell": Trap(lambda notebook: _prepend(notebook, "def vae_loss(", "%%capture captured\nprint('defining vae_loss')\n")),
    "trap-line-magics": Trap(line_magics),
    "trap-helper-module": Trap(helper_module),
    "trap-check-cell-moved-up": Trap(check_cell_moved_up),
    "trap-definition-in-check-cell": Trap(
        definition_in_check_cell, lost=(("reparameterize", ("reparameterize",)),), solution_reachable=False
    ),
    "trap-names-in-check-cells": Trap(names_in_check_cells, lost=(("closed_form", ("alphas",)), ("vae_loss", ("check",)))),
}


def trap_notebook(trap: Trap) -> nbformat.NotebookNode:
    notebook = solved()
    trap.edit(notebook)
    return notebook


def write_traps(folder: Path) -> None:
    for name, trap in TRAPS.items():
        nbformat.write(trap_notebook(trap), str(folder / f"{name}.ipynb"))
