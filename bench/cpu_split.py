"""Where a `grader grade` run's CPU goes, per process kind, from a py-spy profile of every process.

The method (docs/operators.md "Performance" says how to repeat it by hand):
`py-spy record --subprocesses --nonblocking --format raw --rate R -o FILE -- grader grade …` samples
every process of the run R times a second; each raw line is one stack, root first, with the
processes it runs in as its first frames (`process PID:"command"`), and how many samples it got.
The number of process frames is the process kind: 1 the grader, 2 the zygote, 3 a forked child
(a notebook). Within a kind, a sample goes to the first category whose mark is in its stack
(`CATEGORIES`, most specific first); seconds are samples / R.

py-spy counts a thread that is running or waiting for a CPU (not one blocked in a system call), so on a
busy machine the seconds are above the CPU time; the shares within a kind are what to compare.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

KINDS = {1: "grader", 2: "zygote", 3: "child"}
IMPORT = "_find_and_load"
# (kind, category, marks): a stack is the first category one of whose marks it contains.
CATEGORIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("child", "probe: experiment (two trainings)", ("grader_assignment_kernel",)),
    ("child", "probe: calls and encoding", ("a10_grader_probe_runtime",)),
    ("child", "notebook's own code", ("<ipython-input-",)),
    ("child", "fork, sandbox, papermill, exit", ("",)),
    ("zygote", "imports", (IMPORT,)),
    ("zygote", "warm-up", ("warm_up (",)),
    ("zygote", "forking and serving", ("",)),
    ("grader", "imports", (IMPORT,)),
    ("grader", "sampling tests", ("graders/judge/sampling.py",)),
    ("grader", "reference's and variants' values", ("compute_expected",)),
    ("grader", "decoding probe values", ("read_probe_results", "decode (")),
    ("grader", "judging (checks, diagnosis, answers)", ("run_checks", ".judge (", "assess (")),
    ("grader", "reports", ("graders/report/",)),
    ("grader", "other (triage, preparing, writing, gradebook)", ("",)),
)
RATE = 200  # samples a second: ~4 ms apart, several per 0.1-s child


def profile_command(command: list[str], out: Path) -> list[str] | None:
    """The command under py-spy, or None when py-spy is not installed (the `bench` extra)."""
    py_spy = shutil.which("py-spy") or shutil.which(str(Path(command[0]).parent / "py-spy"))
    if py_spy is None:
        return None
    return [py_spy, "record", "--subprocesses", "--nonblocking", "--format", "raw", "--rate", str(RATE), "-o", str(out), "--", *command]


def split(lines: Iterable[str], rate: int = RATE) -> dict[str, dict[str, float]]:
    """Seconds sampled per process kind and category, from py-spy's raw lines."""
    seconds: dict[str, Counter[str]] = {kind: Counter() for kind in KINDS.values()}
    for line in lines:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        kind = KINDS.get(sum(frame.startswith("process ") for frame in frames))
        if kind is None:
            continue
        seconds[kind][category(kind, stack)] += int(count) / rate
    return {kind: dict(counter.most_common()) for kind, counter in seconds.items()}


def category(kind: str, stack: str) -> str:
    """The first of the kind's categories with a mark in the stack (the last one's mark, '', is in every stack)."""
    return next(name for k, name, marks in CATEGORIES if k == kind and any(mark in stack for mark in marks))


def profile(command: list[str], out: Path) -> dict[str, dict[str, float]] | None:
    """Run the command under py-spy and split its samples; None without py-spy."""
    wrapped = profile_command(command, out)
    if wrapped is None:
        return None
    subprocess.run(wrapped, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return split(out.read_text().splitlines())


def print_split(split_seconds: dict[str, dict[str, float]], notebooks: int) -> None:
    """Seconds per kind and category, and the notebook's own code's share of a child's."""
    for kind, categories in split_seconds.items():
        total = sum(categories.values())
        print(f"  {kind}: {total:.1f} s sampled")
        for name, seconds in categories.items():
            print(f"    {name:<50} {seconds:>7.2f} s {100 * seconds / max(total, 1e-9):>5.1f}%  {seconds / notebooks:.3f} s/notebook")
    print(f"  notebook's own code: {100 * own_code_share(split_seconds):.1f}% of a child's CPU (target >= 75%)")


def own_code_share(split_seconds: dict[str, dict[str, float]]) -> float:
    child = split_seconds["child"]
    return child.get("notebook's own code", 0.0) / max(sum(child.values()), 1e-9)


def main() -> None:
    """Split a profile recorded by hand: python bench/cpu_split.py FILE [--rate R] [--notebooks N]."""
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("profile", type=Path, help="py-spy's raw output (--format raw)")
    parser.add_argument("--rate", type=int, default=RATE, help="the --rate it was recorded at")
    parser.add_argument("--notebooks", type=int, default=1, help="how many notebooks the run graded")
    args = parser.parse_args()
    print_split(split(args.profile.read_text().splitlines(), args.rate), args.notebooks)


if __name__ == "__main__":
    main()
