"""`make bench`: grade a corpus of realistic Assignment 10 notebooks three ways and compare.

1. this grader, warm path, default --jobs        (`grader grade`)
2. this grader, cold path (a Jupyter kernel per notebook)   (`grader grade --cold`)
3. a naive sequential loop of the papermill CLI over the same notebooks
then 4. a regrade of the unchanged corpus into the same reports folder (cache hits),
and first, copies of the demo submissions graded once and regraded unchanged (`--regrade-only`).

Prints wall time per notebook, peak memory (PSS, summed over the whole process tree) and the
ratios, checks that warm and cold results agree check by check, and writes bench/latest.json.

The warm run takes ~20 s, so a shared VM's drift over the ~15 minutes of the whole bench moves
it by ±10%: it is timed three times (at the start, after the cold run, after the papermill
loop), each from nothing cached, and the median is reported; the minutes-long cold run and
papermill loop average that drift out by themselves.
Times and memory come from separate runs: reading a torch process's PSS makes the kernel walk
its page tables (~13 ms per process here), so sampling a process tree 4 times a second took
~8% of the warm run's wall time. Every timed run is unobserved; peak PSS is sampled in a second
run (the whole corpus for the warm path; the first MEMORY_SUBSET notebooks for the cold path
and the papermill loop, whose peak is one or two kernels at a time, whatever the corpus size).
Usage: python bench/bench.py [--notebooks N] [--skip-papermill] [--regrade-only]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import psutil

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MEMORY_SUBSET = 10

FUNCTIONS = {
    "correct": ("torch.sqrt(alpha_bar) * x0", "1 - alpha_bar", "F.binary_cross_entropy(x_hat, x.view(-1, 784), reduction='sum')", "-0.5"),
    "missing_sqrt": ("alpha_bar * x0", "1 - alpha_bar", "F.binary_cross_entropy(x_hat, x.view(-1, 784), reduction='sum')", "-0.5"),
    "kl_sign": ("torch.sqrt(alpha_bar) * x0", "1 - alpha_bar", "F.binary_cross_entropy(x_hat, x.view(-1, 784), reduction='sum')", "0.5"),
    "mean_bce": ("torch.sqrt(alpha_bar) * x0", "1 - alpha_bar", "F.binary_cross_entropy(x_hat, x.view(-1, 784))", "-0.5"),
    "std": (
        "torch.sqrt(alpha_bar) * x0",
        "torch.sqrt(1 - alpha_bar)",
        "F.binary_cross_entropy(x_hat, x.view(-1, 784), reduction='sum')",
        "-0.5",
    ),
}


def realistic_notebook(kind: str) -> nbformat.NotebookNode:
    """Parameters cell, imports, the three functions, a small VAE trained twice, answers."""
    mu, sigma, bce, kl_factor = FUNCTIONS[kind]
    cells = [
        nbformat.v4.new_code_cell(
            "seed = 0\nepochs = 10\ndata_dir = 'data'\ntrain_size = None\nbatch_size = 128", metadata={"tags": ["parameters"]}
        ),
        nbformat.v4.new_code_cell(
            "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\nimport torchvision\n"
            "from torchvision import transforms\nfrom torch.utils.data import DataLoader, Subset\ntorch.manual_seed(seed)"
        ),
        nbformat.v4.new_code_cell(
            f"def closed_form(x0, t, alphas):\n    alpha_bar = torch.prod(alphas[:t])\n    return {mu}, {sigma}\n\n"
            f"def reparameterize(mu, logvar):\n    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)\n\n"
            f"def vae_loss(x, x_hat, mu, logvar, kl_loss_weight=1.0):\n    bce = {bce}\n"
            f"    kl = {kl_factor} * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())\n    return bce + kl_loss_weight * kl"
        ),
        nbformat.v4.new_code_cell(
            "train = torchvision.datasets.MNIST(root=data_dir, train=True, download=False, transform=transforms.ToTensor())\n"
            "if train_size:\n    train = Subset(train, range(train_size))\n"
            "loader = DataLoader(train, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed))\n\n"
            "class VAE(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.enc = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 16))\n"
            "        self.dec = nn.Sequential(nn.Linear(8, 256), nn.ReLU(), nn.Linear(256, 784), nn.Sigmoid())\n"
            "    def forward(self, x):\n        mu, logvar = self.enc(x.view(-1, 784)).chunk(2, dim=1)\n"
            "        return self.dec(reparameterize(mu, logvar)), mu, logvar\n\n"
            "def train_vae(kl_loss_weight, steps=20):\n    model = VAE()\n    opt = torch.optim.Adam(model.parameters(), lr=1e-3)\n"
            "    done = 0\n    while done < steps:\n        for x, _ in loader:\n            x_hat, mu, logvar = model(x)\n"
            "            loss = vae_loss(x, x_hat, mu, logvar, kl_loss_weight)\n            opt.zero_grad()\n            loss.backward()\n"
            "            opt.step()\n            done += 1\n            if done == steps:\n                break\n    return model\n\n"
            "model_30 = train_vae(30)\nmodel_0 = train_vae(0)\nprint('trained')"
        ),
        nbformat.v4.new_markdown_cell(
            "$$\\mu = \\sqrt{\\alpha_1\\alpha_2\\alpha_3}\\,x_0$$\n\n$$\\Sigma = 1 - \\alpha_1\\alpha_2\\alpha_3$$"
        ),
    ]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return notebook


class PeakMemory:
    """Samples the PSS of a process and all its descendants; PSS counts shared pages fairly."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            total = 0
            try:
                processes = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            for process in processes:
                try:
                    total += process.memory_full_info().pss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
            self.peak = max(self.peak, total)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def run(command: list[str], *, sample_memory: bool = False) -> tuple[float, int]:
    """Wall seconds, and peak PSS of the process tree if sampled (0 if not)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    memory = PeakMemory(process.pid) if sample_memory else None
    _, stderr = process.communicate()
    peak = memory.stop() if memory else 0
    if process.returncode != 0:
        raise SystemExit(f"{command[:3]} failed:\n{stderr[-2000:]}")
    return time.perf_counter() - started, peak


def papermill_loop(notebooks: list[Path], out: Path, data_dir: Path, *, sample_memory: bool = False) -> tuple[float, int]:
    started, peak = time.perf_counter(), 0
    for notebook in notebooks:
        _, memory = run(
            [
                str(BIN / "papermill"),
                str(notebook),
                str(out / notebook.name),
                "-p",
                "epochs",
                "1",
                "-p",
                "train_size",
                "256",
                "-p",
                "batch_size",
                "64",
                "-p",
                "data_dir",
                str(data_dir),
                "-k",
                "python3",
                "--no-progress-bar",
            ],
            sample_memory=sample_memory,
        )
        peak = max(peak, memory)
    return time.perf_counter() - started, peak


def check_table(reports: Path) -> dict[str, list[tuple]]:
    table = {}
    for results in sorted(reports.glob("*/results.json")):
        data = json.loads(results.read_text())
        table[data["submission"]] = [(c["id"], c["status"], c["score"], c["misconceptions"], c.get("details")) for c in data["checks"]]
    return table


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notebooks", type=int, default=int(os.environ.get("BENCH_NOTEBOOKS", 100)))
    parser.add_argument("--skip-papermill", action="store_true")
    parser.add_argument("--regrade-only", action="store_true", help="only the unchanged-regrade measurement (a few minutes)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="a10-bench-"))
    try:
        regrade = regrade_of_demo_copies(work / "regrade", args.notebooks)
        print(f"regrade of {args.notebooks} unchanged demo submissions: {min(regrade):.2f} s (best of {len(regrade)}: {regrade})")
        if not args.regrade_only:
            bench(work, args, regrade)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def regrade_of_demo_copies(work: Path, n: int, repeats: int = 3) -> list[float]:
    """Copies of the shipped demo submissions, graded once, then regraded unchanged: every result
    is cached, so the grader must start no zygote and import no torch. Best of `repeats`: the
    figure is the grader's cost, not a busy neighbour's."""
    corpus, data_dir = work / "submissions", work / "data"
    corpus.mkdir(parents=True)
    subprocess.run([str(BIN / "grader"), "make-data", str(data_dir)], check=True, stdout=subprocess.DEVNULL)
    demos = sorted((ROOT / "submissions" / "a10").glob("*.ipynb"))
    for index in range(n):
        shutil.copy(demos[index % len(demos)], corpus / f"student-{index:03d}.ipynb")
    grade = [str(BIN / "grader"), "grade", str(corpus), "--out", str(work / "reports"), "--data-dir", str(data_dir)]
    run(grade)
    return [round(run(grade)[0], 3) for _ in range(repeats)]


def bench(work: Path, args: argparse.Namespace, regrade_demo: list[float]) -> None:
    corpus, data_dir = work / "submissions", work / "data"
    corpus.mkdir()
    subprocess.run([str(BIN / "grader"), "make-data", str(data_dir)], check=True, stdout=subprocess.DEVNULL)
    kinds = list(FUNCTIONS)
    notebooks = []
    for index in range(args.notebooks):
        path = corpus / f"student-{index:03d}.ipynb"
        nbformat.write(realistic_notebook(kinds[index % len(kinds)]), str(path))
        notebooks.append(path)
    subset = corpus.parent / "subset"
    subset.mkdir()
    for path in notebooks[:MEMORY_SUBSET]:
        shutil.copy(path, subset / path.name)
    grade = [str(BIN / "grader"), "grade", "--data-dir", str(data_dir)]
    times, peaks = {}, {}
    warm_runs = [run([*grade, str(corpus), "--out", str(work / "warm")])[0]]
    times["regrade, unchanged corpus"] = run([*grade, str(corpus), "--out", str(work / "warm")])[0]
    peaks["regrade, unchanged corpus"] = run([*grade, str(corpus), "--out", str(work / "warm")], sample_memory=True)[1]
    peaks["grader (warm, default jobs)"] = run([*grade, str(corpus), "--out", str(work / "warm-memory")], sample_memory=True)[1]
    times["grader --cold"] = run([*grade, str(corpus), "--out", str(work / "cold"), "--cold"])[0]
    warm_runs.append(run([*grade, str(corpus), "--out", str(work / "warm-2")])[0])
    peaks["grader --cold"] = run([*grade, str(subset), "--out", str(work / "cold-memory"), "--cold"], sample_memory=True)[1]
    if not args.skip_papermill:
        for name in ("papermill", "papermill-memory"):
            (work / name).mkdir()
        times["papermill CLI loop"] = papermill_loop(notebooks, work / "papermill", data_dir)[0]
        peaks["papermill CLI loop"] = papermill_loop(notebooks[:MEMORY_SUBSET], work / "papermill-memory", data_dir, sample_memory=True)[1]
    warm_runs.append(run([*grade, str(corpus), "--out", str(work / "warm-3")])[0])
    times["grader (warm, default jobs)"] = statistics.median(warm_runs)
    order = ["grader (warm, default jobs)", "regrade, unchanged corpus", "grader --cold", "papermill CLI loop"]
    rows = {name: (times[name], peaks[name]) for name in order if name in times}
    warm, cold = check_table(work / "warm"), check_table(work / "cold")
    identical = warm == cold
    n = args.notebooks
    print(f"\n{n} notebooks on {platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, {platform.machine()}")
    print(f"{'run':<30} {'s/notebook':>11} {'total s':>9} {'peak PSS':>10}")
    for name, (seconds, peak) in rows.items():
        print(f"{name:<30} {seconds / n:>11.3f} {seconds:>9.1f} {peak / 2**30:>8.2f} GiB")
    baseline = rows.get("papermill CLI loop", rows["grader --cold"])[0]
    base_name = "papermill CLI loop" if "papermill CLI loop" in rows else "grader --cold"
    print(f"\nspeed-up of warm over {base_name}: {baseline / rows['grader (warm, default jobs)'][0]:.1f}x")
    print(f"regrade / cold grading: {100 * rows['regrade, unchanged corpus'][0] / rows['grader --cold'][0]:.1f}%")
    print(f"regrade of {n} unchanged demo submissions: {min(regrade_demo):.2f} s (best of {len(regrade_demo)})")
    print(f"warm and cold results identical (status, score, misconceptions, compared values): {identical}")
    print(f"warm runs: {', '.join(f'{s:.1f}' for s in warm_runs)} s (median above)")
    print(f"(times from unobserved runs; peak PSS from separate sampled runs, cold and papermill on {MEMORY_SUBSET} notebooks)")
    summary = {name: {"seconds": s, "per_notebook": s / n, "peak_pss_bytes": p} for name, (s, p) in rows.items()}
    summary["meta"] = {
        "notebooks": n,
        "cores": os.cpu_count(),
        "identical": identical,
        "python": platform.python_version(),
        "warm_runs_seconds": warm_runs,
        "regrade_demo_copies_seconds": regrade_demo,
        "memory": f"peak PSS sampled in separate runs; cold and papermill on the first {MEMORY_SUBSET} notebooks",
    }
    (ROOT / "bench" / "latest.json").write_text(json.dumps(summary, indent=2) + "\n")
    if not identical:
        different = [k for k in warm if warm.get(k) != cold.get(k)]
        raise SystemExit(f"warm and cold results differ for: {different[:10]}")


if __name__ == "__main__":
    main()
