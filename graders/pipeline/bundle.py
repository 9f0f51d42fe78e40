"""`grader gradescope-bundle --out autograder.zip`: this grader as a Gradescope autograder.

Gradescope's autograder specification: a zip with `setup.sh` (run once, as root, in its Ubuntu
image, to install dependencies) and `run_autograder` (run per submission, in /autograder; the
submission is in /autograder/submission/, the result goes to /autograder/results/results.json)
at its root; the zip's contents are unpacked to /autograder/source. Ours carries the package
source (pyproject.toml, graders/, reference/); setup.sh installs it with its pinned torch (CPU
wheels) into /autograder/venv; run_autograder calls `python -m graders.pipeline.autograder`.
The bundle carries the course secret (`.grader-secret`), or for a class graded with `--seed` that
seed (`.grader-seed`), so every submission is graded on the class's hidden inputs; keep the zip as
private as the secret. It is checked against the class (REPORTS' latest run): a class graded with
`--seed N` needs `--seed N`, a class graded from a secret needs that secret (its hash); a secret
is never created unless staff ask (`--new-secret`), since a new one means other hidden inputs. It records the
assignment it grades (`.grader-assignment`, its id): the class's (REPORTS' latest run), else `--assignment`, else
the installation's default; a class of another assignment than `--assignment` is refused. An assignment built from
a notebook (graders.authoring) is not part of the package: its built folder (contract, template, truth with the
stored public values; the grader's side, never a student's) is carried as `built/<id>/`, which the autograder puts
on the assignments path.
`A10_AUTOGRADER_ROOT` moves /autograder (tests use a fake root) and `A10_GRADER_PYTHON` the interpreter.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from graders.errors import BadCommandLine, UsageError
from graders.settings import CourseSecretSeed, GivenSeed, RunSettings, Seed

if TYPE_CHECKING:
    from graders.pipeline.secret import CourseSeed

SOURCE_ROOT = Path(__file__).resolve().parents[2]
SEED_NAME = ".grader-seed"  # a class graded with --seed: the seed itself, in place of the secret
ASSIGNMENT_NAME = ".grader-assignment"  # the id of the assignment every submission is graded as
PACKAGED = ("pyproject.toml", "README.md", "graders", "assignments", "reference")
BUILT_NAME = "built"  # the bundle's folder of built assignments (an assignments path folder once unpacked)

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


def write_bundle(
    *,
    out: Path,
    secret_file: Path | None,
    seed: int | None,
    reports: Path | None,
    new_secret: bool = False,
    assignment: str | None = None,
) -> tuple[Path, list[str]]:
    """Write the zip; the package is taken from the checkout this grader runs from, the hidden inputs'
    seed from `seed` or the course secret in `secret_file`, whichever the class in `reports` was graded with
    (default: the secret file's folder when it holds a gradebook), and the assignment the class was graded as
    (`assignment`: the one meant, checked against the class). Returns the zip and warnings."""
    from graders.gradebook.connection import FILENAME
    from graders.pipeline.secret import SECRET_NAME, course_seed

    if seed is not None and (secret_file is not None or new_secret):
        raise BadCommandLine("--seed and --secret-file/--new-secret exclude each other: the bundle carries one of them")
    if reports is None and secret_file is not None and (secret_file.parent / FILENAME).is_file():
        reports = secret_file.parent  # REPORTS/.grader-secret: its class is REPORTS
    settings = _class_settings(reports) if reports is not None else None
    graded_with = settings.seed if settings is not None else None
    assignment_id = _assignment(settings, assignment, reports)
    if seed is not None:
        _check_given(seed, graded_with, reports)
    else:
        if secret_file is None:
            raise UsageError("gradescope-bundle needs the course secret (--secret-file) or, for a class graded with --seed, --seed")
        _check_not_given(graded_with, reports)  # before any secret is made
        drawn = course_seed(secret_file) if new_secret else _existing(secret_file)
        if isinstance(graded_with, CourseSecretSeed) and graded_with.secret_hash != drawn.secret_hash:
            raise UsageError(
                f"this is not the course secret {reports} was graded with (hash {graded_with.secret_hash}, this one {drawn.secret_hash})"
            )
    missing = [name for name in PACKAGED if not (SOURCE_ROOT / name).exists()]
    if missing:
        raise UsageError(f"gradescope-bundle needs a source checkout; {', '.join(missing)} not found in {SOURCE_ROOT}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        _add_script(bundle, "setup.sh", SETUP_SH)
        _add_script(bundle, "run_autograder", RUN_AUTOGRADER)
        bundle.writestr(ASSIGNMENT_NAME, f"{assignment_id}\n")
        if seed is not None:
            bundle.writestr(SEED_NAME, f"{seed}\n")
        elif secret_file is not None:
            bundle.write(secret_file, SECRET_NAME)
        for name in PACKAGED:
            _add_tree(bundle, SOURCE_ROOT, name, name)
        for part in _built_parts(assignment_id):
            _add_tree(bundle, part.parent, part.name, f"{BUILT_NAME}/{assignment_id}/{part.name}")
    tmp.replace(out)
    return out, [] if reports is not None else ["warning: no class to check the bundle's seed against (--reports REPORTS)"]


def _add_tree(bundle: zipfile.ZipFile, root: Path, name: str, as_name: str) -> None:
    """root/name (a file, or a folder's regular files, never a cache or a link) into the zip as `as_name`."""
    path = root / name
    for file in sorted([path] if path.is_file() else path.rglob("*")):
        if file.is_file() and not file.is_symlink() and "__pycache__" not in file.parts:
            bundle.write(file, f"{as_name}/{file.relative_to(path).as_posix()}" if file != path else as_name)


def _built_parts(assignment_id: str) -> tuple[Path, ...]:
    """A built assignment's folder's parts the grader reads (graders.authoring.built's layout); () for an installed one."""
    from graders.assignment import registry
    from graders.authoring.build import BUILT_PARTS
    from graders.authoring.built import BuiltAssignment

    assignment = registry.load(assignment_id)
    return tuple(assignment.folder / part for part in BUILT_PARTS) if isinstance(assignment, BuiltAssignment) else ()


def _existing(secret_file: Path) -> CourseSeed:
    from graders.pipeline.secret import existing_course_seed

    try:
        return existing_course_seed(secret_file)
    except UsageError as exc:
        raise UsageError(
            f"{exc}: the bundle must grade on the class's hidden inputs, so no new secret is made silently. "
            "Give the secret the class was graded with, --seed N for a class graded with --seed N, or --new-secret for a new class"
        ) from None


def _class_settings(reports: Path) -> RunSettings | None:
    """The settings REPORTS' latest run was graded with (None: no run yet)."""
    from graders.gradebook.store import Gradebook

    with Gradebook.open(reports) as book:
        runs = book.runs()
    return runs[-1].info.settings if runs else None


def _assignment(settings: RunSettings | None, given: str | None, reports: Path | None) -> str:
    """The id of the assignment the bundle grades: the class's, which `given` must be; else `given` or the default (all installed)."""
    from graders.assignment import registry

    if settings is None:
        return registry.load(given).id
    graded_as = registry.recorded_in(settings).id
    if given is not None and given != graded_as:
        raise UsageError(f"{reports} was graded as {graded_as}, not {given}: a bundle for {given} is built from its own class")
    return graded_as


def _check_given(seed: int, graded_with: Seed | None, reports: Path | None) -> None:
    if isinstance(graded_with, CourseSecretSeed):
        raise UsageError(f"{reports} was graded from the course secret, not a given seed: give --secret-file instead of --seed")
    if isinstance(graded_with, GivenSeed) and graded_with.value != seed:
        raise UsageError(f"{reports} was graded with --seed {graded_with.value}, not {seed}")


def _check_not_given(graded_with: Seed | None, reports: Path | None) -> None:
    if isinstance(graded_with, GivenSeed):
        raise UsageError(
            f"{reports} was graded with --seed {graded_with.value}: a bundle drawing from a course secret would grade on other "
            f"hidden inputs. Give --seed {graded_with.value}"
        )


def _add_script(bundle: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name)
    info.external_attr = 0o100755 << 16  # executable once unzipped
    bundle.writestr(info, text)
