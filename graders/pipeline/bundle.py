"""`grader gradescope-bundle --out autograder.zip`: this grader as a Gradescope autograder.

Gradescope's autograder specification: a zip with `setup.sh` (run once, as root, in its Ubuntu
image, to install dependencies) and `run_autograder` (run per submission, in /autograder; the
submission is in /autograder/submission/, the result goes to /autograder/results/results.json)
at its root; the zip's contents are unpacked to /autograder/source. Ours carries the package
source (pyproject.toml, graders/, reference/); setup.sh installs it with its pinned torch (CPU
wheels) into /autograder/venv; run_autograder calls `python -m graders.pipeline.autograder`.
The bundle carries the course secret (`.grader-secret`), so every submission is graded on the
same hidden inputs; keep the zip as private as the secret. `A10_AUTOGRADER_ROOT` moves /autograder (tests use a fake root) and `A10_GRADER_PYTHON` the interpreter.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from graders.errors import UsageError

SOURCE_ROOT = Path(__file__).resolve().parents[2]
PACKAGED = ("pyproject.toml", "README.md", "graders", "assignments", "reference")

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
set -euo pipefail
apt-get install -y --no-install-recommends python3 python3-venv python3-pip
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --upgrade pip
# torch/torchvision are pinned in pyproject.toml; the CPU wheels come from PyTorch's index.
/autograder/venv/bin/pip install --extra-index-url https://download.pytorch.org/whl/cpu /autograder/source
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission, in /autograder.
set -uo pipefail
ROOT="${A10_AUTOGRADER_ROOT:-/autograder}"
PYTHON="${A10_GRADER_PYTHON:-$ROOT/venv/bin/python}"
cd "$ROOT"
exec "$PYTHON" -m graders.pipeline.autograder --root "$ROOT"
"""


def write_bundle(*, out: Path, secret_file: Path) -> Path:
    """Write the zip; the package is taken from the checkout this grader runs from, the hidden
    inputs' seed from the course secret in `secret_file` (created there if there is none)."""
    from graders.pipeline.secret import SECRET_NAME, course_seed

    course_seed(secret_file)  # creates it, or refuses one that is not a private regular file
    missing = [name for name in PACKAGED if not (SOURCE_ROOT / name).exists()]
    if missing:
        raise UsageError(f"gradescope-bundle needs a source checkout; {', '.join(missing)} not found in {SOURCE_ROOT}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        _add_script(bundle, "setup.sh", SETUP_SH)
        _add_script(bundle, "run_autograder", RUN_AUTOGRADER)
        bundle.write(secret_file, SECRET_NAME)
        for name in PACKAGED:
            path = SOURCE_ROOT / name
            for file in sorted([path] if path.is_file() else path.rglob("*")):
                if file.is_file() and "__pycache__" not in file.parts:
                    bundle.write(file, file.relative_to(SOURCE_ROOT).as_posix())
    tmp.replace(out)
    return out


def _add_script(bundle: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name)
    info.external_attr = 0o100755 << 16  # executable once unzipped
    bundle.writestr(info, text)
