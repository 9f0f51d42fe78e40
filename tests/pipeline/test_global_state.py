"""Correct notebooks that leave the process in a state of their own, graded for real: each keeps every point.

Each notebook opens with a global setting found at the top of real notebooks (numerical courses,
Colab templates, reproducibility boilerplate) or a torch name replaced; the functions are the correct
ones of tests/broken.py. That the notebook's own settings come back after the probe is tested in
process (tests/assignment/test_known_state.py): no cell of the notebook runs after the probe.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from graders.pipeline.batch import grade_folder
from graders.pipeline.config import GradingConfig
from graders.results import SubmissionResult
from tests.broken import CORRECT_CODE, notebook
from tests.conftest import GRADING_SEED

pytestmark = pytest.mark.e2e

FULL_MARKS = 12

SETTINGS = {
    "float64-default": "import torch\ntorch.set_default_dtype(torch.float64)",
    "double-tensor-type": "import torch\ntorch.set_default_tensor_type(torch.DoubleTensor)",
    "meta-default-device": "import torch\ntorch.set_default_device('meta')",
    "grad-off": "import torch\ntorch.set_grad_enabled(False)",
    "inference-mode-entered": "import torch\n_mode = torch.inference_mode()\n_mode.__enter__()",
    "deterministic": "import torch\ntorch.use_deterministic_algorithms(True)",
    "anomaly-detection": "import torch\ntorch.autograd.set_detect_anomaly(True)",
    "many-threads": "import torch\ntorch.set_num_threads(16)",
    "matmul-medium": "import torch\ntorch.set_float32_matmul_precision('medium')",
    "seeded-everywhere": "import random\nimport numpy as np\nimport torch\nrandom.seed(0)\nnp.random.seed(0)\ntorch.manual_seed(0)",
    "print-everything": "import sys\nimport numpy as np\nimport torch\nnp.set_printoptions(threshold=sys.maxsize)\ntorch.set_printoptions(profile='full')",
    "numpy-raises": "import numpy as np\nnp.seterr(all='raise')",
    "warnings-are-errors": "import warnings\nwarnings.simplefilter('error')",
    "manual-seed-replaced": "import torch\ntorch.manual_seed = lambda seed: None",
    # Still a correct Gaussian sampler for the student's own reparameterize, from a stream of its own.
    "randn-like-replaced": (
        "import torch\n_own = torch.Generator().manual_seed(7)\n"
        "torch.randn_like = lambda t, **kw: torch.randn(t.shape, generator=_own, dtype=t.dtype, device=t.device)"
    ),
}
SETTINGS["everything-at-once"] = "\n".join(
    SETTINGS[name] for name in ("float64-default", "meta-default-device", "grad-off", "deterministic", "anomaly-detection", "many-threads")
)

# The loss asks for float64 itself: the values it computes are judged as computed.
LOSS_IN_FLOAT64 = CORRECT_CODE.replace(
    "    bce = F.binary_cross_entropy(",
    "    x, x_hat, mu, logvar = x.double(), x_hat.double(), mu.double(), logvar.double()\n    bce = F.binary_cross_entropy(",
)

CONFIG = GradingConfig(seed=GRADING_SEED, cell_timeout=8.0, jobs=2)


def write(folder: Path, names: tuple[str, ...] | None = None) -> Path:
    folder.mkdir(exist_ok=True)
    for name, setting in SETTINGS.items():
        if names is None or name in names:
            (folder / f"{name}.ipynb").write_text(notebook(setting, CORRECT_CODE), encoding="utf-8")
    if names is None:
        (folder / "loss-in-float64.ipynb").write_text(
            notebook("import torch\ntorch.set_default_dtype(torch.float64)", LOSS_IN_FLOAT64), encoding="utf-8"
        )
    return folder


def failing(result: SubmissionResult) -> dict[str, str]:
    return {c.id: f"{c.status.value}: {c.message}" for c in result.checks if c.status.value != "pass"}


@pytest.fixture(scope="module")
def warm(tmp_path_factory: pytest.TempPathFactory, grading_data: Path) -> dict[str, SubmissionResult]:
    corpus = write(tmp_path_factory.mktemp("global-state"))
    config = GradingConfig(**{**CONFIG.__dict__, "data_dir": grading_data})
    return {r.submission: r for r in grade_folder(corpus, out_dir=tmp_path_factory.mktemp("reports"), config=config)}


# The probe copes (tests/assignment/test_known_state.py), but on the warm path papermill writes the executed
# notebook inside the notebook's own process after its cells ran, and its warning there becomes the
# notebook's error: the harness's execute step must write under its own warning filters.
NAMES = [*SETTINGS, "loss-in-float64"]


@pytest.mark.parametrize("name", NAMES)
def test_a_correct_notebook_keeps_every_point_whatever_it_set_globally(warm, name):
    result = warm[name]
    assert failing(result) == {}
    assert result.score == FULL_MARKS
    assert not result.cell_errors  # the setting itself ran in the notebook: the probe is what is tested


def test_the_cold_path_gives_the_same_full_marks(tmp_path, grading_data, warm):
    corpus = write(tmp_path / "subs", ("everything-at-once", "manual-seed-replaced"))
    # A cold kernel imports torch in its first cell under a wall-clock cell limit (see test_grading_e2e).
    config = GradingConfig(**{**CONFIG.__dict__, "data_dir": grading_data, "cold": True, "cell_timeout": 90.0})
    cold = {r.submission: r for r in grade_folder(corpus, out_dir=tmp_path / "out", config=config)}
    for name, result in cold.items():
        assert failing(result) == {} and result.score == FULL_MARKS, name
        assert [(c.id, c.details) for c in result.checks] == [(c.id, c.details) for c in warm[name].checks], name
