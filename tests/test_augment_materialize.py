"""materialize: ImageFolder layout, manifest, resume after SIGKILL, workers, bad input."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import albumentations as A
import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import Dataset, TensorDataset
from torchvision.datasets import ImageFolder

from balancers.augment import AugmentedDataset, materialize

REPO = Path(__file__).resolve().parents[1]


class Shapes(Dataset[Any]):
    """Deterministic noise images with named classes; ``delay`` slows each item down."""

    classes = ("circle", "square", "triangle")

    def __init__(self, n: int = 12, delay: float = 0.0, size: int = 8) -> None:
        rng = np.random.default_rng(0)
        self.data = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
        self.targets = [i % 3 if i < n // 2 else 0 for i in range(n)]
        self.delay = delay

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i: int) -> tuple[Image.Image, int]:
        if self.delay:
            time.sleep(self.delay)
        return Image.fromarray(self.data[i]), self.targets[i]


def pipeline() -> A.Compose:
    return A.Compose([A.Affine(rotate=(10, 30), p=1.0), A.RandomBrightnessContrast(p=1.0)])


def pngs(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.png"))


def temporaries(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob(".*.tmp"))


def check_complete(root: Path) -> dict[str, Any]:
    manifest = json.loads((root / "manifest.json").read_text())
    files = pngs(root)
    assert manifest["complete"] is True
    assert len(files) == manifest["total"] == len(manifest["files"])
    assert {str(p.relative_to(root)) for p in files} == {f["file"] for f in manifest["files"]}
    for p in files:
        with Image.open(p) as im:
            im.load()
    assert temporaries(root) == []
    return manifest


INDICES = [*range(12), 1, 1, 4, 7, 10, 10]


def test_imagefolder_tree_manifest_and_pixels(tmp_path: Path) -> None:
    ds = Shapes()
    out = tmp_path / "out"
    result = materialize(ds, out, indices=INDICES, transform=pipeline(), seed=3, progress=False)
    assert (result.total, result.written, result.augmented) == (18, 18, 6)
    manifest = check_complete(out)
    job = manifest["job"]
    assert job["layout"] == "imagefolder" and job["seed"] == 3 and job["epoch"] == 0
    assert job["classes"] == ["circle", "square", "triangle"]
    assert job["transform"]["transform"]["__class_fullname__"] == "Compose"
    entry = manifest["files"][13]
    assert entry == {"file": "square/13.png", "index": 1, "augmented": True, "class": 1}

    folder = ImageFolder(str(out))
    assert folder.classes == ["circle", "square", "triangle"]
    labels = np.asarray(ds.targets)[INDICES]
    np.testing.assert_array_equal(np.bincount(folder.targets), np.bincount(labels))

    aug = AugmentedDataset(ds, INDICES, pipeline(), seed=3)
    for f in manifest["files"]:
        k = int(Path(f["file"]).stem)
        written = np.asarray(Image.open(out / f["file"]))
        np.testing.assert_array_equal(written, np.asarray(aug[k][0]))  # PNG is lossless
        if not f["augmented"]:
            np.testing.assert_array_equal(written, ds.data[f["index"]])
        else:
            assert not np.array_equal(written, ds.data[f["index"]])

    again = materialize(ds, out, indices=INDICES, transform=pipeline(), seed=3, progress=False)
    assert again.written == 0 and again.total == 18


def test_progress_bar(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    materialize(Shapes(6), tmp_path / "out")
    assert "Materializing" in capsys.readouterr().err


def test_class_ids_without_names_are_zero_padded_and_tensors_are_written(tmp_path: Path) -> None:
    targets = torch.tensor([0, 2, 10, 10, 2])
    images = torch.arange(5 * 3 * 4 * 4, dtype=torch.float32).reshape(5, 3, 4, 4) / 240.0
    out = tmp_path / "out"
    materialize(TensorDataset(images, targets), out, progress=False)
    manifest = check_complete(out)
    assert manifest["job"]["classes"] == ["00", "02", "10"]
    folder = ImageFolder(str(out))
    assert folder.classes == ["00", "02", "10"]
    assert np.bincount(folder.targets).tolist() == [1, 2, 2]
    written = np.asarray(Image.open(out / "10/2.png"))
    expected = np.rint(images[2].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    np.testing.assert_array_equal(written, expected)


def test_multilabel_flat_folder_and_labels_csv(tmp_path: Path) -> None:
    y = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1], [0, 0, 0]], dtype=np.int8)
    images = torch.randint(0, 256, (4, 1, 6, 6), dtype=torch.uint8)
    out = tmp_path / "ml"
    result = materialize(
        TensorDataset(images, torch.from_numpy(y)),
        out,
        indices=[0, 1, 2, 3, 2, 2],
        transform=pipeline(),
        progress=False,
    )
    assert result.total == 6 and result.augmented == 2
    manifest = check_complete(out)
    assert manifest["job"]["layout"] == "flat"
    assert manifest["files"][4] == {"file": "images/4.png", "index": 2, "augmented": True,
                                    "labels": [2]}  # fmt: skip
    with open(out / "labels.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["file", "label_0", "label_1", "label_2"]
    assert rows[1:] == [
        [f"images/{k}.png", *map(str, y[i])] for k, i in enumerate([0, 1, 2, 3, 2, 2])
    ]
    written = np.asarray(Image.open(out / "images/0.png"))
    np.testing.assert_array_equal(written, images[0, 0].numpy())


def test_resume_writes_only_missing_files_and_removes_temporaries(tmp_path: Path) -> None:
    ds = Shapes()
    out = tmp_path / "out"
    materialize(ds, out, indices=INDICES, transform=pipeline(), progress=False)
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in pngs(out)}
    removed = [p for i, p in enumerate(sorted(before)) if i % 4 == 0]
    for p in removed:
        p.unlink()
    (out / "square" / ".13.png.999.tmp").write_bytes(b"\x89PNG partial")
    (out / ".manifest.json.999.tmp").write_text("{")
    result = materialize(ds, out, indices=INDICES, transform=pipeline(), progress=False)
    assert result.written == len(removed)
    check_complete(out)
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in pngs(out)}
    assert after == before


def test_same_files_with_0_and_2_workers(tmp_path: Path) -> None:
    ds = Shapes(24)
    idx = [*range(24), *range(0, 24, 3)]
    digests = []
    for workers in (0, 2):
        out = tmp_path / f"w{workers}"
        materialize(ds, out, indices=idx, transform=pipeline(), num_workers=workers, progress=False)
        check_complete(out)
        digests.append({str(p.relative_to(out)): p.read_bytes() for p in pngs(out)})
    assert digests[0] == digests[1]


def test_materialize_an_augmented_dataset_uses_its_epoch(tmp_path: Path) -> None:
    ds = Shapes()
    aug = AugmentedDataset(ds, INDICES, pipeline(), seed=1)
    aug.set_epoch(4)
    result = materialize(aug, tmp_path / "out", progress=False)
    manifest = check_complete(tmp_path / "out")
    assert manifest["job"]["epoch"] == 4 and result.augmented == 6
    written = np.asarray(Image.open(tmp_path / "out" / manifest["files"][15]["file"]))
    np.testing.assert_array_equal(written, np.asarray(aug[15][0]))


_KILL_SCRIPT = """
import sys
sys.path.insert(0, {repo!r})
from tests.test_augment_materialize import Shapes, pipeline, INDICES_BIG
from balancers.augment import materialize
materialize(Shapes(200, delay=0.004), {out!r}, indices=INDICES_BIG, transform=pipeline(),
            seed=5, progress=False)
"""

INDICES_BIG = [*range(200), *range(0, 200, 2)]


def test_sigkill_mid_run_then_rerun_completes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    script = _KILL_SCRIPT.format(repo=str(REPO), out=str(out))
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO)
    try:
        deadline = time.monotonic() + 120
        while len(pngs(out)) < 40:
            assert proc.poll() is None, "the materialize process ended before it could be killed"
            assert time.monotonic() < deadline, "no files written in time"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    partial = json.loads((out / "manifest.json").read_text())
    assert partial["complete"] is False
    n_before = len(pngs(out))
    assert 40 <= n_before < 300

    result = materialize(
        Shapes(200), out, indices=INDICES_BIG, transform=pipeline(), seed=5, progress=False
    )
    assert result.written == 300 - n_before
    manifest = check_complete(out)
    assert manifest["total"] == 300
    folder = ImageFolder(str(out))
    labels = np.asarray(Shapes(200).targets)[INDICES_BIG]
    np.testing.assert_array_equal(np.bincount(folder.targets), np.bincount(labels))
    # the files written before the kill equal a clean run's files
    clean = tmp_path / "clean"
    materialize(Shapes(200), clean, indices=INDICES_BIG, transform=pipeline(), seed=5,
                progress=False)  # fmt: skip
    for p in pngs(clean):
        assert (out / p.relative_to(clean)).read_bytes() == p.read_bytes()


# -- bad input ---------------------------------------------------------------------------------
def test_out_dir_holding_something_else(tmp_path: Path) -> None:
    ds = Shapes()
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"`out_dir` .* should be empty or hold an unfinished"):
        materialize(ds, tmp_path / "busy", progress=False)
    materialize(ds, tmp_path / "job", indices=INDICES, transform=pipeline(), progress=False)
    with pytest.raises(ValueError, match=r"holds another materialize job \(different seed\)"):
        materialize(ds, tmp_path / "job", indices=INDICES, transform=pipeline(), seed=1,
                    progress=False)  # fmt: skip
    with pytest.raises(ValueError, match=r"\(different indices_sha256\)"):
        materialize(ds, tmp_path / "job", transform=pipeline(), progress=False)
    (tmp_path / "job" / "manifest.json").write_text("{broken")
    with pytest.raises(ValueError, match="cannot be read"):
        materialize(ds, tmp_path / "job", indices=INDICES, transform=pipeline(), progress=False)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (dict(out_dir=3), TypeError, "`out_dir` should be a folder path"),
        (dict(num_workers=-1), ValueError, "`num_workers` should be a non-negative integer"),
        (dict(progress="yes"), TypeError, "`progress` should be True or False"),
        (dict(indices=[0, 12]), ValueError, r"`indices` should be in \[0, 12\)"),
        (dict(transform=5), TypeError, "`transform` should be a callable"),
        (dict(augment="twice", transform=A.HorizontalFlip()), ValueError, "`augment` should be"),
        (dict(seed=-2), ValueError, "`seed` should be a non-negative integer"),
        (dict(dataset=[1, 2]), ValueError, "labels"),
        (dict(dataset="images"), TypeError, "`dataset` should be a map-style dataset"),
    ],
)
def test_bad_input(tmp_path: Path, kwargs: dict[str, Any], error: type, message: str) -> None:
    args: dict[str, Any] = {"dataset": Shapes(), "out_dir": tmp_path / "out", "progress": False}
    args.update(kwargs)
    with pytest.raises(error, match=message):
        materialize(args.pop("dataset"), args.pop("out_dir"), **args)
