"""Pixel counts of PNG label masks: ``pixel_class_counts`` against plain PIL decoding.

Palette PNG masks (Pascal VOC style: class ids as palette indices, 255 on object borders) are
written to a temporary folder: by default 10^4 masks of 512x512 with 19 classes (a background
plus a few rectangles and discs per mask). Three rows, in one process, over the same files
(read once beforehand so both sides find them in the page cache):

1. decode only: ``Image.open(path).load()`` for every file, the physical floor of any count;
2. ``pixel_class_counts(folder, 19)`` (decode + count + checks, one process);
3. the second call with ``cache=...``: the checksum of the files' bytes and the cached counts.

Run ``python benchmarks/bench_segmentation.py`` (``--quick`` for 1000 masks of 256x256;
``--masks``/``--size`` for other sizes; ``--repeat N`` for the best of N interleaved runs of
rows 1 and 2; ``--workers N`` adds a row with N DataLoader workers).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from balancers.segmentation import pixel_class_counts

N_CLASSES = 19
PALETTE = np.random.default_rng(1).integers(0, 256, size=768).astype(np.uint8).tolist()


def write_masks(folder: Path, n: int, size: int, seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    paths = []
    for i in range(n):
        mask = np.zeros((size, size), dtype=np.uint8)
        for _ in range(int(rng.integers(2, 6))):
            c = int(rng.integers(1, N_CLASSES))
            x0, y0 = rng.integers(0, size, 2)
            w, h = rng.integers(size // 16, size // 3, 2)
            if rng.random() < 0.5:
                mask[y0 : y0 + h, x0 : x0 + w] = c
                mask[y0 : y0 + h, x0 : x0 + 2] = 255  # a void border, as in VOC
            else:
                mask[(yy - y0) ** 2 + (xx - x0) ** 2 < (w // 2) ** 2] = c
        image = Image.fromarray(mask, mode="L").convert("P")
        image.putpalette(PALETTE)
        path = folder / f"{i:06d}.png"
        image.save(path)
        paths.append(path)
    return paths


def decode_only(paths: list[Path]) -> None:
    for path in paths:
        with Image.open(path) as image:
            image.load()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--masks", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--workers", type=int, default=0, help="also time N DataLoader workers")
    parser.add_argument("--repeat", type=int, default=1, help="best of this many runs")
    parser.add_argument("--quick", action="store_true", help="1000 masks of 256x256")
    args = parser.parse_args()
    if args.quick:
        args.masks, args.size = 1000, 256
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "masks"
        folder.mkdir()
        start = time.perf_counter()
        paths = write_masks(folder, args.masks, args.size)
        megabytes = sum(p.stat().st_size for p in paths) / 1e6
        print(
            f"{args.masks} palette PNG masks of {args.size}x{args.size}, {megabytes:.0f} MB "
            f"(written in {time.perf_counter() - start:.1f} s)\n"
        )
        for path in paths:  # page cache warm for every row
            path.read_bytes()
        rows: list[tuple[str, float]] = []
        t_decode = t_count = float("inf")
        for _ in range(args.repeat):  # interleaved, best of each: the machine's load varies
            start = time.perf_counter()
            decode_only(paths)
            t_decode = min(t_decode, time.perf_counter() - start)
            start = time.perf_counter()
            counts = pixel_class_counts(folder, N_CLASSES, progress=False)
            t_count = min(t_count, time.perf_counter() - start)
        rows.append(("PIL decode only (floor)", t_decode))
        rows.append(("pixel_class_counts", t_count))
        if args.workers:
            start = time.perf_counter()
            parallel = pixel_class_counts(
                folder, N_CLASSES, num_workers=args.workers, progress=False
            )
            rows.append(
                (f"pixel_class_counts, {args.workers} workers", time.perf_counter() - start)
            )
            assert (parallel != counts).nnz == 0
        cache = Path(tmp) / "counts.npz"
        pixel_class_counts(folder, N_CLASSES, cache=cache, progress=False)
        start = time.perf_counter()
        cached = pixel_class_counts(folder, N_CLASSES, cache=cache, progress=False)
        rows.append(("second call, cached (checksum + read)", time.perf_counter() - start))
        assert (cached != counts).nnz == 0
        assert int(counts.sum()) <= args.masks * args.size**2
    header = f"{'':<40} {'seconds':>8} {'masks/s':>9} {'x decode':>9}"
    print(header)
    print("-" * len(header))
    for name, seconds in rows:
        print(f"{name:<40} {seconds:>8.2f} {args.masks / seconds:>9.0f} {seconds / t_decode:>9.2f}")


if __name__ == "__main__":
    main()
