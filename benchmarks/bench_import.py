"""Start-up time of the command line and of ``import balancers``, against ``import torch``.

Each command runs in a fresh interpreter; the table shows the median wall time of ``--repeats``
runs (default 5; the commands take turns, so a burst of load on a shared machine hits them
alike) and the ratio to ``python -c "import torch"`` measured in the same run. Targets:
``balancers --help`` and ``--version`` at most 1/3 of ``import torch`` (they import neither torch
nor torchvision); ``import balancers`` at most 1.2x ``import torch`` (public names load on first
use). ``python -c pass`` is the interpreter's own start-up, for scale.

Run ``python benchmarks/bench_import.py`` from the repository root (``--repeats 3`` for a quick
look). The source tree is put first on ``PYTHONPATH``, so it measures this checkout.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def commands() -> dict[str, list[str]]:
    """Label -> command line; the console script when it is installed, else ``-m balancers``."""
    script = shutil.which("balancers")
    cli = [script] if script is not None else [sys.executable, "-m", "balancers"]
    python = [sys.executable, "-c"]
    return {
        "python -c pass": [*python, "pass"],
        "import torch (peer)": [*python, "import torch"],
        "balancers --help": [*cli, "--help"],
        "balancers --version": [*cli, "--version"],
        "import balancers": [*python, "import balancers"],
        "import balancers.datasets": [*python, "import balancers.datasets"],
        "import balancers + first use": [*python, "import balancers; balancers.WeightedSampler"],
    }


#: label -> the largest ratio to ``import torch`` allowed
TARGETS: dict[str, float] = {
    "balancers --help": 1 / 3,
    "balancers --version": 1 / 3,
    "import balancers": 1.2,
}


def wall_time(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per command (default 5)")
    args = parser.parse_args()
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path}
    todo = commands()
    for argv in todo.values():  # warm the file system cache once
        wall_time(argv, env)
    times: dict[str, list[float]] = {label: [] for label in todo}
    for _ in range(args.repeats):
        for label, argv in todo.items():
            times[label].append(wall_time(argv, env))
    median = {label: statistics.median(t) for label, t in times.items()}
    peer = median["import torch (peer)"]
    print(f"median of {args.repeats} fresh interpreters each; ratio = time / import torch")
    print(f"{'command':<32}{'seconds':>9}{'ratio':>8}  target")
    for label, seconds in median.items():
        target = TARGETS.get(label)
        verdict = ""
        if target is not None:
            ok = seconds / peer <= target
            verdict = f"<= {target:.2f}  {'met' if ok else 'MISSED'}"
        print(f"{label:<32}{seconds:>9.3f}{seconds / peer:>8.2f}  {verdict}")


if __name__ == "__main__":
    main()
