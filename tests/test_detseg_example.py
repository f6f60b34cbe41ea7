"""examples/make_detection_segmentation_data.py writes files that the real readers accept."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from balancers.detection import coco_labels
from balancers.segmentation import pixel_class_counts

SCRIPT = Path(__file__).resolve().parent.parent / "examples" / "make_detection_segmentation_data.py"


def test_example_writes_genuine_formats(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "detseg"
    args = ["--out", str(out), "--images", "40", "--masks", "12", "--size", "32"]
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), *args])
    runpy.run_path(str(SCRIPT), run_name="__main__")
    printed = capsys.readouterr().out
    assert "repeat factors, basis='mean'" in printed
    assert "median-frequency weights" in printed
    from pycocotools.coco import COCO
    from torchvision.datasets import CocoDetection

    annotation_file = out / "annotations" / "instances_train.json"
    coco = COCO(str(annotation_file))
    labels = coco_labels(coco)
    assert labels.n_images == 40 and labels.category_ids.tolist() == [1, 3, 18, 44, 62, 77, 85, 90]
    assert labels.counts.sum() + labels.n_crowd == len(coco.getAnnIds())
    image, target = CocoDetection(str(out / "images"), str(annotation_file))[0]
    assert image.size == (64, 48) and isinstance(target, list)
    with Image.open(next((out / "masks").glob("*.png"))) as mask:
        assert mask.mode == "P" and mask.size == (32, 32)
    counts = pixel_class_counts(out / "masks", 8, progress=False)
    assert counts.shape == (12, 8)
    assert (np.asarray(counts.sum(axis=1)) == 32 * 32 - 2 * 32).all()  # a void border of 2
