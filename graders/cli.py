"""`grader`: a thin command line over keyword-only functions in graders.pipeline (batch, selfcheck) and graders.kit.build.

Exit status: 0 when the batch completed (whatever the grades), 2 for a usage error, 1 for a
fault of the harness itself. `grader check` exits 0 only when every check passes.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graders.errors import GraderError, UsageError
from graders.execute.jobs import default_jobs
from graders.judge.probes import DEFAULT_SEED

if TYPE_CHECKING:
    from graders.pipeline.batch import GradingConfig
    from graders.results import SubmissionResult


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.command(args)
    except UsageError as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return 2
    except GraderError as exc:
        print(f"grader: internal error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("grader: interrupted; results written so far are kept", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grader", description="Grade Assignment 10 notebooks.")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    grade = commands.add_parser("grade", help="grade every notebook in a folder")
    grade.add_argument("submissions", type=Path, help="folder of *.ipynb files or of one folder per student")
    grade.add_argument("--out", type=Path, required=True, help="reports folder (results.json, report.html per student)")
    grade.add_argument("--jobs", type=_positive_int, default=default_jobs(), help="notebooks run at once (default: usable cores)")
    grade.add_argument("--cold", action="store_true", help="a fresh Jupyter kernel per notebook (slow; the reference path)")
    grade.add_argument("--force", action="store_true", help="regrade every submission, even unchanged ones")
    grade.add_argument("--no-sandbox", dest="sandbox", action="store_false", help="run notebooks unconfined (results.json says so)")
    grade.add_argument("--notebook-timeout", type=_positive_float, default=900.0, help="seconds a whole notebook may run (default 900)")
    grade.add_argument("--memory-mb", type=_positive_int, default=2048, help="memory one notebook may use, in MiB (default 2048)")
    _common_options(grade)
    grade.set_defaults(command=_grade)

    check = commands.add_parser("check", help="self-check one notebook on the public inputs")
    check.add_argument("notebook", type=Path)
    _common_options(check)
    check.set_defaults(command=_check)

    kit = commands.add_parser("kit", help="write the student kit: template, self-contained check.py, public expected values")
    kit.add_argument("--out", type=Path, required=True, help="a new (or empty) folder for the kit")
    kit.set_defaults(command=_kit)

    data = commands.add_parser("make-data", help="write the MNIST look-alike used for grading into a folder")
    data.add_argument("folder", type=Path)
    data.set_defaults(command=_make_data)
    return parser


def _common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout", type=_positive_float, default=120.0, help="seconds one cell may run (default 120)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="grading seed: hidden inputs and training")
    parser.add_argument("--data-dir", type=Path, default=None, help="MNIST root (MNIST/raw/*-ubyte); default: a generated look-alike")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def _config(args: argparse.Namespace, **extra: Any) -> GradingConfig:
    from graders.pipeline.batch import GradingConfig

    if args.data_dir is not None and not (args.data_dir / "MNIST" / "raw").is_dir():
        raise UsageError(f"--data-dir {args.data_dir} has no MNIST/raw folder (torchvision's layout)")
    return GradingConfig(seed=args.seed, cell_timeout=args.timeout, data_dir=args.data_dir, **extra)


def _grade(args: argparse.Namespace) -> int:
    executor = None
    if not args.cold and args.submissions.is_dir():
        # Warm the zygote up on the other core while this process imports torch and prepares.
        from graders.execute.warm import WarmExecutor

        executor = WarmExecutor(args.jobs)
        executor.start()
    from graders.pipeline.batch import grade_folder

    config = _config(
        args,
        jobs=args.jobs,
        cold=args.cold,
        force=args.force,
        sandbox=args.sandbox,
        notebook_timeout=args.notebook_timeout,
        memory_bytes=args.memory_mb * 2**20,
    )
    progress = Progress()
    results = grade_folder(args.submissions, out_dir=args.out, config=config, executor=executor, on_result=progress.update)
    graded = sum(1 for r in results if r.status.value == "graded")
    print(f"graded {graded} of {len(results)} submissions into {args.out}/ (index.html, grades.csv)", file=sys.stderr)
    return 0


def _check(args: argparse.Namespace) -> int:
    from graders.pipeline.selfcheck import all_passed, check_notebook, format_table

    if not args.notebook.is_file():
        raise UsageError(f"{args.notebook} is not a file")
    result = check_notebook(args.notebook, config=_config(args, jobs=1))
    print(format_table(result))
    return 0 if all_passed(result) else 1


def _kit(args: argparse.Namespace) -> int:
    from graders.kit.build import build_kit

    kit = build_kit(args.out)
    print(f"wrote the student kit {kit.hash} into {kit.folder}/ ({', '.join(kit.files)})")
    return 0


def _make_data(args: argparse.Namespace) -> int:
    from graders.assignment.dataset import ensure_mnist

    print(ensure_mnist(args.folder))
    return 0


class Progress:
    """One line per finished submission with count, rate and ETA, on stderr.

    The rate is measured from the first result on: the start-up before it (imports, the warm
    zygote) is paid once and would make the first ETAs several times too long.
    """

    def __init__(self) -> None:
        self.first: float | None = None
        self.done = 0

    def update(self, result: SubmissionResult, total: int) -> None:
        now = time.monotonic()
        self.done += 1
        self.first = self.first if self.first is not None else now
        rate = ""
        if self.done > 1:
            per_notebook = (now - self.first) / (self.done - 1)
            rate = f"  {per_notebook:.2f} s/notebook, ETA {per_notebook * (total - self.done):.0f} s"
        print(
            f"[{self.done}/{total}] {result.submission}: {result.score:g}/{result.max_score:g} ({result.status.value}){rate}",
            file=sys.stderr,
        )


if __name__ == "__main__":
    sys.exit(main())
