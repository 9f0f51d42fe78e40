"""`python bench/embed_bench.py`: the cost of embedding a class's written answers for suggestions and groups.

N answers (600 by default: the labelled set, tests/assist/answers, cycled) embedded by `graders.assist.embed` with
the model loaded and warmed up once; CPU and wall seconds of each of R rounds, the median printed. CPU counts
every thread's; wall depends on what else the machine runs (`os.getloadavg` is printed beside it).
Usage: python bench/embed_bench.py [--answers N] [--rounds R] [--threads T]
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import time
from pathlib import Path

from graders.assist import embed, measure

ANSWERS = Path(__file__).resolve().parent.parent / "tests" / "assist" / "answers"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--answers", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    labelled = [a.answer.text for _, answers in measure.load(ANSWERS).values() for a in answers]
    texts = list(itertools.islice(itertools.cycle(labelled), args.answers))
    model = embed.load(args.threads)
    model.embed(texts[:16])  # onnxruntime's first run allocates its arenas
    cpu, wall = [], []
    for _ in range(args.rounds):
        started, clock = time.process_time(), time.perf_counter()
        model.embed(texts)
        cpu.append(time.process_time() - started)
        wall.append(time.perf_counter() - clock)
    print(
        f"{len(texts)} answers ({len(set(texts))} distinct), {args.threads} threads, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"
    )
    print(f"CPU  median {statistics.median(cpu):.2f} s  (min {min(cpu):.2f}, max {max(cpu):.2f})")
    print(f"wall median {statistics.median(wall):.2f} s  (min {min(wall):.2f}, max {max(wall):.2f})")


if __name__ == "__main__":
    main()
