"""Throughput of augmentation-based oversampling.

1. DataLoader throughput (images/s, batch 128, num_workers 0 and 2) on 32x32 RGB images: the same
   albumentations pipeline applied by a plain Dataset (the peer) and by ``AugmentedDataset`` in
   ``"all"`` mode (per-item seeding, image kind round trip). Target: overhead at most 5%.
2. ``materialize`` speed (files/s) on 10^4 images, against a plain loop that saves PNGs with PIL
   (no temporary names, manifest or resume).

Run ``python benchmarks/bench_augment.py`` (``--quick`` for a small smoke run). Timings are the
best of ``--repeats`` interleaved runs. Wall time is noisy on a shared machine, so single-process
rows are also given in CPU time of the process (``time.process_time``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from balancers.augment import AugmentedDataset, default_pipeline, materialize


class Images(Dataset[Any]):
    """In-memory 32x32 RGB uint8 images with integer targets."""

    def __init__(self, n: int, size: int = 32) -> None:
        rng = np.random.default_rng(0)
        self.data = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
        self.targets = rng.integers(0, 10, n).tolist()

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        return self.data[i], self.targets[i]


class PlainAugmented(Dataset[Any]):
    """The peer: the usual hand-written dataset that calls the pipeline in ``__getitem__``."""

    def __init__(self, base: Images, pipeline: Any) -> None:
        self.base = base
        self.pipeline = pipeline

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        image, target = self.base[i]
        return self.pipeline(image=image)["image"], target


def epoch_rate(loader: DataLoader[Any], n: int, clock: Any = time.perf_counter) -> float:
    start = clock()
    for _ in loader:
        pass
    return n / (clock() - start)


def bench_loader(n: int, repeats: int, size: int) -> list[tuple[str, float, float]]:
    base = Images(n, size)
    rows = []
    for workers in (0, 2):
        datasets = {
            "plain": PlainAugmented(base, default_pipeline()),
            "ours": AugmentedDataset(base, np.arange(n), default_pipeline(), augment="all"),
        }
        loaders = {
            name: DataLoader(
                ds, batch_size=128, num_workers=workers, persistent_workers=workers > 0
            )
            for name, ds in datasets.items()
        }
        clocks = {"wall": time.perf_counter}
        if workers == 0:  # CPU time of this process: robust to other load on the machine
            clocks["cpu"] = time.process_time
        for loader in loaders.values():  # warm-up: worker start, caches
            epoch_rate(loader, n)
        for clock_name, clock in clocks.items():
            best = {name: 0.0 for name in loaders}
            for _ in range(repeats):
                for name, loader in loaders.items():
                    best[name] = max(best[name], epoch_rate(loader, n, clock))
            label = f"DataLoader workers={workers} ({clock_name} time)"
            rows.append((label, best["plain"], best["ours"]))
        del loaders
    return rows


def plain_save(base: Images, out: Path) -> None:
    for i in range(len(base)):
        folder = out / str(base.targets[i])
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(base.data[i]).save(folder / f"{i}.png", format="PNG")


def bench_materialize(n: int, repeats: int) -> list[tuple[str, float, float]]:
    base = Images(n)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        best: dict[str, float] = {}

        def record(key: str, seconds: float) -> None:
            best[key] = max(best.get(key, 0.0), n / seconds)

        for r in range(repeats):
            out = Path(tmp) / f"plain{r}"
            wall, cpu = time.perf_counter(), time.process_time()
            plain_save(base, out)
            record("plain wall", time.perf_counter() - wall)
            record("plain cpu", time.process_time() - cpu)
            shutil.rmtree(out)
            for workers in (0, 2):
                out = Path(tmp) / f"ours{r}-{workers}"
                wall, cpu = time.perf_counter(), time.process_time()
                materialize(base, out, progress=False, num_workers=workers)
                record(f"ours{workers} wall", time.perf_counter() - wall)
                record(f"ours{workers} cpu", time.process_time() - cpu)
                shutil.rmtree(out)
        rows.append(("materialize workers=0 (wall time)", best["plain wall"], best["ours0 wall"]))
        rows.append(("materialize workers=0 (cpu time)", best["plain cpu"], best["ours0 cpu"]))
        rows.append(("materialize workers=2 (wall time)", best["plain wall"], best["ours2 wall"]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--images", type=int, default=None, help="images (default 10000)")
    parser.add_argument("--size", type=int, default=32, help="image side for the loader (32)")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs (default 3)")
    parser.add_argument("--skip-materialize", action="store_true", help="loader table only")
    args = parser.parse_args()
    n = args.images or (1000 if args.quick else 10_000)
    repeats = args.repeats or (1 if args.quick else 3)
    size = args.size
    print(f"{n} images {size}x{size}x3 uint8, batch 128, best of {repeats}, {os.cpu_count()} CPUs")
    rows = bench_loader(n, repeats, size)
    header = f"{'case':<44}{'peer':>12}{'balancers':>12}{'ratio':>8}"
    print("\nimages/s: peer = plain Dataset calling the same albumentations pipeline")
    print(header)
    print("-" * len(header))
    for name, peer, ours in rows:
        print(f"{name:<44}{peer:>12.0f}{ours:>12.0f}{ours / peer:>8.3f}")
    if args.skip_materialize:
        return
    print("\nfiles/s: peer = loop saving PNGs with PIL (no atomic rename, manifest or resume)")
    print(header)
    print("-" * len(header))
    for name, peer, ours in bench_materialize(n, repeats):
        print(f"{name:<44}{peer:>12.0f}{ours:>12.0f}{ours / peer:>8.3f}")


if __name__ == "__main__":
    main()
