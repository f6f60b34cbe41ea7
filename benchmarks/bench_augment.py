"""Throughput of augmentation-based oversampling.

1. DataLoader throughput (images/s, batch 128, num_workers 0 and 2) on 32x32 and 224x224 RGB
   images: the default pipeline (``default_pipeline()``) applied by a plain Dataset (the peer) and
   by ``AugmentedDataset`` in ``"all"`` mode (per-item seeding, image kind round trip). Target:
   at 224x224 the overhead is at most 2% (ratio >= 0.98) with 0 and with 2 workers; at 32x32 no
   target (reported: there the per-item seeding, about 7 microseconds, is a visible share).
2. ``materialize`` speed (files/s) on 10^4 images, against a plain loop that saves PNGs with PIL
   (no temporary names, manifest or resume).

Run ``python benchmarks/bench_augment.py`` (``--quick`` for a small smoke run; ``--sizes 224``
for one size). The loader rows
run ``--repeats`` rounds of one epoch of each dataset: with ``num_workers=0`` the two epochs are
interleaved batch by batch, with workers they alternate (plain first, then ours first). They
report the best epoch of each side (``ratio``) and the median over rounds of the ratio within a
round (``paired``, the figure least moved by other load on a shared machine). Single-process
rows are given in wall time and in CPU time of the process (``time.process_time``). Both sides
run with ``--threads`` torch and OpenCV threads per process (default 1, as in DataLoader
workers: idle thread pools otherwise add CPU time and noise).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from balancers.augment import AugmentedDataset, default_pipeline, materialize


class Images(Dataset[Any]):
    """In-memory RGB uint8 images (``size`` x ``size``) with integer targets."""

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


def epoch_seconds(loader: DataLoader[Any]) -> float:
    start = time.perf_counter()
    for _ in loader:
        pass
    return time.perf_counter() - start


def interleaved_epoch(loaders: dict[str, DataLoader[Any]]) -> dict[str, tuple[float, float]]:
    """One epoch of each single-process loader, batch by batch in alternating order; returns the
    (wall, CPU) seconds each one spent producing its batches."""
    iterators = {name: iter(loader) for name, loader in loaders.items()}
    spent = {name: [0.0, 0.0] for name in loaders}
    names = list(loaders)
    for batch in range(len(next(iter(loaders.values())))):
        for name in names if batch % 2 == 0 else names[::-1]:
            wall, cpu = time.perf_counter(), time.process_time()
            next(iterators[name])
            spent[name][0] += time.perf_counter() - wall
            spent[name][1] += time.process_time() - cpu
    return {name: (wall, cpu) for name, (wall, cpu) in spent.items()}


def bench_loader(n: int, repeats: int, size: int) -> list[tuple[str, float, float, float]]:
    """Rows (case, peer images/s, ours images/s, median of the per-round ratios)."""
    base = Images(n, size)
    rows = []
    for workers in (0, 2):
        peer = PlainAugmented(base, default_pipeline())
        ours = AugmentedDataset(base, np.arange(n), default_pipeline(), augment="all")
        loaders = {
            name: DataLoader(
                ds, batch_size=128, num_workers=workers, persistent_workers=workers > 0
            )
            for name, ds in (("plain", peer), ("ours", ours))
        }
        for loader in loaders.values():  # warm-up: worker start, caches
            epoch_seconds(loader)
        # Rounds of one epoch per side. Ours serves a new epoch every round, as the peer's
        # pipeline draws new augmentations every epoch. With workers=0 the two epochs are
        # interleaved batch by batch, so that drifts in the machine's speed hit both sides
        # alike; with workers the epochs alternate (plain first, then ours first).
        clocks = ("wall", "cpu") if workers == 0 else ("wall",)
        seconds: dict[tuple[str, str], list[float]] = {(k, c): [] for k in loaders for c in clocks}
        for r in range(repeats):
            ours.set_epoch(r)
            if workers == 0:
                for name, (wall, cpu) in interleaved_epoch(loaders).items():
                    seconds[name, "wall"].append(wall)
                    seconds[name, "cpu"].append(cpu)
            else:
                for name in ["plain", "ours"] if r % 2 == 0 else ["ours", "plain"]:
                    seconds[name, "wall"].append(epoch_seconds(loaders[name]))
        for c in clocks:
            plain, mine = seconds["plain", c], seconds["ours", c]
            paired = float(np.median(np.divide(plain, mine)))
            label = f"DataLoader workers={workers} ({c} time)"
            rows.append((label, n / min(plain), n / min(mine), paired))
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
    parser.add_argument("--images", type=int, default=None, help="images at 32x32 (default 10000)")
    parser.add_argument(
        "--images-large",
        type=int,
        default=None,
        help="images at the larger sizes (default 2000: 300 MB at 224x224)",
    )
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[32, 224], help="image sides (32 224)"
    )
    parser.add_argument("--repeats", type=int, default=None, help="timed rounds (default 8)")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch and OpenCV threads per process (1)"
    )
    parser.add_argument("--skip-materialize", action="store_true", help="loader table only")
    args = parser.parse_args()
    n = args.images or (1000 if args.quick else 10_000)
    n_large = args.images_large or (256 if args.quick else 2000)
    repeats = args.repeats or (2 if args.quick else 8)
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    print(
        f"RGB uint8 images, batch 128, {repeats} rounds, {os.cpu_count()} CPUs, "
        f"{args.threads} torch/OpenCV thread(s) per process, load average "
        f"{os.getloadavg()[0]:.1f} at start"
    )
    header = f"{'case':<52}{'peer':>10}{'balancers':>11}{'ratio':>8}{'paired':>8}"
    print("\nimages/s: peer = plain Dataset calling the same albumentations pipeline")
    print("ratio = best/best; paired = median over rounds of the ratio within a round")
    print(header)
    print("-" * len(header))
    for size in args.sizes:
        count = n if size <= 32 else n_large
        for name, peer, ours, paired in bench_loader(count, repeats, size):
            case = f"{size}x{size}, {count} images, {name}"
            print(f"{case:<52}{peer:>10.0f}{ours:>11.0f}{ours / peer:>8.3f}{paired:>8.3f}")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    if args.skip_materialize:
        return
    print("\nfiles/s: peer = loop saving PNGs with PIL (no atomic rename, fsync, hashes or resume)")
    header = f"{'case':<52}{'peer':>10}{'balancers':>11}{'ratio':>8}"
    print(header)
    print("-" * len(header))
    for name, peer, ours in bench_materialize(n, 1 if args.quick else 3):
        print(f"{name:<52}{peer:>10.0f}{ours:>11.0f}{ours / peer:>8.3f}")


if __name__ == "__main__":
    main()
