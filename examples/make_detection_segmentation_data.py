"""Write a small long-tailed detection and segmentation data set in the genuine file formats.

No detection or segmentation data set is available offline, so this script writes one that the
real readers accept:

* ``OUT/images/*.jpg`` and ``OUT/annotations/instances_train.json``: COCO format (``images``,
  ``annotations`` with ``bbox``, ``area``, polygon ``segmentation`` and ``iscrowd``,
  ``categories`` with COCO's non-contiguous ids), readable by pycocotools and torchvision's
  ``CocoDetection``; category frequencies fall off exponentially, some images have no object and
  some annotations are crowd regions;
* ``OUT/masks/*.png``: Pascal VOC-style palette PNG label masks (class ids as palette indices,
  255 on void borders) with a long tail of pixel classes.

Then it shows what balancers makes of them: ``describe`` of the COCO file, the repeat factors of
``RepeatFactorSampler`` for each basis, the pixel counts, ``RareClassSampler``'s class
probabilities and the median-frequency class weights.

Run ``python examples/make_detection_segmentation_data.py --out detseg`` (about 10 s).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image

# A slice of COCO's category ids and names (ids are not contiguous, as in COCO).
CATEGORIES = [
    (1, "person"),
    (3, "car"),
    (18, "dog"),
    (44, "bottle"),
    (62, "chair"),
    (77, "cell phone"),
    (85, "clock"),
    (90, "toothbrush"),
]
N_CLASSES = 8  # segmentation classes 0 (background) .. 7
PALETTE = [0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0, 0, 0, 128, 128, 0, 128, 0, 128, 128]
PALETTE += [128, 128, 128] + [0, 0, 0] * 247 + [224, 224, 192]  # 255: void


def write_coco(out: Path, n_images: int, rng: np.random.Generator) -> Path:
    """JPEG images and a COCO-format annotation file; returns the file's path."""
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "annotations").mkdir(parents=True, exist_ok=True)
    width, height = 64, 48
    category_p = np.exp(-np.arange(len(CATEGORIES)) / 1.2)
    category_p /= category_p.sum()
    images, annotations = [], []
    for k in range(n_images):
        image_id = 1000 + 7 * k
        name = f"{image_id:012d}.jpg"
        Image.new("RGB", (width, height), tuple(int(v) for v in rng.integers(0, 255, 3))).save(
            out / "images" / name, quality=70
        )
        images.append({"id": image_id, "file_name": name, "width": width, "height": height})
        n_objects = 0 if rng.random() < 0.1 else int(rng.integers(1, 6))  # 10% without objects
        for cat in rng.choice(len(CATEGORIES), size=n_objects, p=category_p):
            x, y = int(rng.integers(0, width - 10)), int(rng.integers(0, height - 10))
            w, h = int(rng.integers(4, 10)), int(rng.integers(4, 10))
            crowd = int(rng.random() < 0.03)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": CATEGORIES[cat][0],
                    "bbox": [x, y, w, h],
                    "area": float(w * h),
                    "segmentation": [[x, y, x + w, y, x + w, y + h, x, y + h]],
                    "iscrowd": crowd,
                }
            )
    data = {
        "info": {"description": "balancers long-tailed detection example", "year": 2026},
        "licenses": [{"id": 1, "name": "CC BY 4.0", "url": ""}],
        "images": images,
        "annotations": annotations,
        "categories": [{"id": c, "name": n, "supercategory": "thing"} for c, n in CATEGORIES],
    }
    path = out / "annotations" / "instances_train.json"
    path.write_text(json.dumps(data))
    return path


def write_masks(out: Path, n_masks: int, size: int, rng: np.random.Generator) -> Path:
    """Palette PNG label masks with a long tail of classes; returns their folder."""
    folder = out / "masks"
    folder.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[:size, :size]
    for k in range(n_masks):
        mask = np.zeros((size, size), dtype=np.uint8)
        mask[size // 2 :] = 1  # "road" in the lower half of every mask
        for c in range(2, N_CLASSES):
            # rarer and rarer classes; each one is in at least one mask
            if rng.random() < 0.8 * 0.55 ** (c - 2) or k == c - 2:
                x0, y0 = rng.integers(0, size, 2)
                r = int(rng.integers(size // 20, size // 6))
                mask[(yy - y0) ** 2 + (xx - x0) ** 2 < r * r] = c
        mask[:, :2] = 255  # a void border
        image = Image.fromarray(mask, mode="L").convert("P")
        image.putpalette(PALETTE)
        image.save(folder / f"{k:06d}.png")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("detseg"))
    parser.add_argument("--images", type=int, default=500, help="detection images")
    parser.add_argument("--masks", type=int, default=300, help="segmentation masks")
    parser.add_argument("--size", type=int, default=128, help="mask height and width")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    annotation_file = write_coco(args.out, args.images, rng)
    mask_folder = write_masks(args.out, args.masks, args.size, rng)
    print(f"wrote {annotation_file} and {args.masks} masks in {mask_folder}\n")

    import balancers
    from balancers.detection import coco_labels
    from balancers.segmentation import RareClassSampler, pixel_class_counts

    labels = coco_labels(annotation_file)
    print(balancers.describe(labels), "\n")
    for basis in ("image", "instance", "mean"):
        sampler = balancers.RepeatFactorSampler(labels, threshold=0.1, basis=basis)
        factors = ", ".join(f"{r:.2f}" for r in sampler.class_repeat_factors_)
        print(f"repeat factors, basis={basis!r:<10} [{factors}]  epoch ~{len(sampler)} images")
    counts = pixel_class_counts(mask_folder, N_CLASSES, progress=False)
    min_pixels = max(1, args.size * args.size // 400)  # a quarter of a percent of a mask
    sampler = RareClassSampler(counts, temperature=0.1, min_pixels=min_pixels)
    shares = counts.sum(axis=0) / counts.sum()
    print("\npixel share per class:  ", np.round(shares, 4).tolist())
    print("rare-class probability: ", np.round(sampler.class_probabilities_, 3).tolist())
    weights = balancers.class_weights(counts, "median_frequency")
    print("median-frequency weights:", [round(w, 3) for w in weights.tolist()])


if __name__ == "__main__":
    main()
