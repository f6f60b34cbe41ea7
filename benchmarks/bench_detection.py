"""COCO-format annotation parsing: ``balancers.detection.coco_labels`` against pycocotools.

A genuine-format COCO annotation file (``images``, ``annotations`` with ``bbox``, ``area``,
``segmentation`` polygons and ``iscrowd``, ``categories`` with COCO's non-contiguous ids) is
written to a temporary folder: by default 10^5 images and 10^6 annotations over 80 categories
with a long-tailed frequency, 1% crowd annotations and 5% of the images without annotations.

The peer is the obvious pycocotools code: ``COCO(path)`` and a loop over the images that calls
``getAnnIds(imgIds=..., iscrowd=False)`` / ``loadAnns`` and fills the count matrix. Both sides
build the same image x category presence and count matrices (checked). Two rows are timed:

1. from the file: ``coco_labels(path)`` against ``COCO(path)`` + the loop (both decode the JSON
   with the standard library, which is the common floor);
2. from the loaded ``COCO`` object: ``coco_labels(coco)`` against the loop alone.

Run ``python benchmarks/bench_detection.py`` (``--quick`` for 10^4 images / 10^5 annotations).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from balancers.detection import coco_labels

# COCO's 80 category ids (1..90 with gaps).
COCO_IDS = [i for i in range(1, 91) if i not in {12, 26, 29, 30, 45, 66, 68, 69, 71, 83}]


def write_coco(path: Path, n_images: int, n_annotations: int, seed: int = 0) -> None:
    """A genuine-format COCO annotation file with long-tailed categories."""
    rng = np.random.default_rng(seed)
    image_ids = rng.permutation(np.arange(1, 4 * n_images))[:n_images]
    annotated = image_ids[: int(0.95 * n_images)]
    shape = np.exp(-np.arange(len(COCO_IDS)) / 12.0)
    cats = rng.choice(np.array(COCO_IDS), size=n_annotations, p=shape / shape.sum())
    imgs = rng.choice(annotated, size=n_annotations)
    crowd = (rng.random(n_annotations) < 0.01).astype(int)
    xy = rng.integers(0, 500, size=(n_annotations, 2)).tolist()
    annotations = [
        {
            "id": k + 1,
            "image_id": int(i),
            "category_id": int(c),
            "segmentation": [[x, y, x + 20, y, x + 20, y + 10, x, y + 10]],
            "area": 200.0,
            "bbox": [x, y, 20, 10],
            "iscrowd": int(z),
        }
        for k, (i, c, z, (x, y)) in enumerate(zip(imgs, cats, crowd, xy, strict=True))
    ]
    data = {
        "info": {"description": "synthetic COCO-format benchmark", "year": 2026},
        "licenses": [{"id": 1, "name": "CC BY 4.0", "url": ""}],
        "images": [
            {"id": int(i), "file_name": f"{int(i):012d}.jpg", "height": 480, "width": 640}
            for i in image_ids
        ],
        "annotations": annotations,
        "categories": [{"id": c, "name": f"class{c}", "supercategory": "thing"} for c in COCO_IDS],
    }
    path.write_text(json.dumps(data))


def load_coco(path: Path) -> Any:
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):  # COCO() prints its progress
        return COCO(str(path))


def pycocotools_loop(coco: Any) -> tuple[sp.csr_array, sp.csr_array]:
    """The obvious per-image loop over a pycocotools COCO object."""
    image_ids = coco.getImgIds()
    cat_ids = sorted(coco.getCatIds())
    column = {c: j for j, c in enumerate(cat_ids)}
    counts = np.zeros((len(image_ids), len(cat_ids)), dtype=np.int64)
    for row, image_id in enumerate(image_ids):
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=image_id, iscrowd=False)):
            counts[row, column[ann["category_id"]]] += 1
    return sp.csr_array((counts > 0).astype(np.int8)), sp.csr_array(counts)


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--annotations", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="best of this many runs")
    parser.add_argument("--quick", action="store_true", help="10^4 images, 10^5 annotations")
    args = parser.parse_args()
    if args.quick:
        args.images, args.annotations = 10_000, 100_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "instances_train.json"
        start = time.perf_counter()
        write_coco(path, args.images, args.annotations)
        size_mb = path.stat().st_size / 1e6
        print(
            f"COCO-format file: {args.images} images, {args.annotations} annotations, "
            f"{size_mb:.0f} MB (written in {time.perf_counter() - start:.1f} s)\n"
        )
        t_ours_file, ours = timed(lambda: coco_labels(path), args.repeat)
        t_load, coco = timed(lambda: load_coco(path), args.repeat)
        t_loop, (presence, counts) = timed(lambda: pycocotools_loop(coco), args.repeat)
        t_ours_obj, from_obj = timed(lambda: coco_labels(coco), args.repeat)
        for got in (ours, from_obj):
            assert (got.counts != counts).nnz == 0 and (got.presence != presence).nnz == 0
    t_peer_file = t_load + t_loop
    header = f"{'':<36} {'balancers s':>12} {'pycocotools s':>14} {'speed-up':>9}"
    print(header)
    print("-" * len(header))
    rows = [
        ("from the file (JSON decode included)", t_ours_file, t_peer_file),
        ("from a loaded COCO object", t_ours_obj, t_loop),
    ]
    for name, ours_s, peer_s in rows:
        print(f"{name:<36} {ours_s:>12.3f} {peer_s:>14.3f} {peer_s / ours_s:>8.1f}x")
    try:
        import orjson  # noqa: F401

        decoder = "orjson"
    except ImportError:
        decoder = "json"
    print(
        f"\npycocotools: COCO(path) {t_load:.3f} s (json.load + index), per-image loop "
        f"{t_loop:.3f} s; balancers decodes the file with {decoder}; matrices equal on both "
        "sides."
    )


if __name__ == "__main__":
    main()
