"""``balancers materialize`` and an end-to-end run on real MNIST."""

from __future__ import annotations

import json
from pathlib import Path

import albumentations as A
import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader, Subset
from torchvision import transforms as T
from torchvision.datasets import MNIST, ImageFolder

from balancers.augment import default_pipeline, oversample_with_augmentation
from balancers.cli import main
from balancers.datasets import long_tail_counts, long_tail_indices


def image_folder(root: Path, counts: dict[str, int]) -> Path:
    rng = np.random.default_rng(0)
    for name, count in counts.items():
        (root / name).mkdir(parents=True)
        for i in range(count):
            pixels = rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.png")
    return root


def test_cli_oversamples_an_image_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = image_folder(tmp_path / "data", {"cat": 6, "dog": 2, "eel": 1})
    out = tmp_path / "out"
    argv = ["materialize", "--dataset", "imagefolder", "--root", str(data), "--out", str(out)]
    assert main([*argv, "--no-progress", "--seed", "3"]) == 0
    printed = capsys.readouterr().out
    assert "18 files" in printed and "9 augmented" in printed and "18 written now" in printed
    folder = ImageFolder(str(out))
    assert folder.classes == ["cat", "dog", "eel"]
    assert np.bincount(folder.targets).tolist() == [6, 6, 6]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["complete"] and manifest["job"]["seed"] == 3
    # originals are copied pixel for pixel
    source = ImageFolder(str(data))
    for f in manifest["files"]:
        if not f["augmented"]:
            want = np.asarray(source[f["index"]][0])
            np.testing.assert_array_equal(np.asarray(Image.open(out / f["file"])), want)
    # running it again finds the job done
    assert main([*argv, "--no-progress", "--seed", "3"]) == 0
    assert "0 written now, 18 already there" in capsys.readouterr().out


def test_cli_flips_only_when_asked_and_restarts_another_job(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = image_folder(tmp_path / "data", {"cat": 3, "dog": 1})
    out = tmp_path / "out"
    argv = ["materialize", "--dataset", "imagefolder", "--root", str(data), "--out", str(out)]
    assert main([*argv, "--no-progress"]) == 0
    steps = json.loads((out / "manifest.json").read_text())["job"]["transform"]["transform"]
    assert [t["__class_fullname__"] for t in steps["transforms"]] == ["Affine", "RandomGamma"]
    capsys.readouterr()
    assert main([*argv, "--no-progress", "--flip"]) == 2  # another pipeline: refused
    err = capsys.readouterr().err
    assert "(different pipeline)" in err and "--restart" in err
    assert main([*argv, "--no-progress", "--flip", "--restart"]) == 0
    steps = json.loads((out / "manifest.json").read_text())["job"]["transform"]["transform"]
    assert steps["transforms"][0]["__class_fullname__"] == "HorizontalFlip"
    assert "6 written now" in capsys.readouterr().out


def test_cli_with_a_saved_pipeline_and_without_oversampling(tmp_path: Path) -> None:
    data = image_folder(tmp_path / "data", {"a": 3, "b": 1})
    pipeline = tmp_path / "pipeline.yaml"
    A.save(A.Compose([A.HorizontalFlip(p=1.0)]), str(pipeline), data_format="yaml")
    out = tmp_path / "out"
    base = ["materialize", "--dataset", "imagefolder", "--root", str(data), "--no-progress"]
    assert main([*base, "--out", str(out), "--augment", str(pipeline)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["job"]["transform"]["transform"]["transforms"][0]["__class_fullname__"] == (
        "HorizontalFlip"
    )
    source = ImageFolder(str(data))
    for f in manifest["files"]:
        written = np.asarray(Image.open(out / f["file"]))
        original = np.asarray(source[f["index"]][0])
        flipped = original[:, ::-1] if f["augmented"] else original
        np.testing.assert_array_equal(written, flipped)
    plain = tmp_path / "plain"
    args = [*base, "--out", str(plain), "--strategy", "none", "--augment", "none"]
    assert main(args) == 0
    assert np.bincount(ImageFolder(str(plain)).targets).tolist() == [3, 1]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--augment", "{broken}"], "Could not read an albumentations pipeline from '.*bad.yaml'"),
        (["--augment", "missing.yaml"], "missing.yaml' does not exist"),
        (["--num-workers", "-1"], "--num-workers should be >= 0"),
        (["--seed", "-1"], "--seed should be >= 0"),
    ],
)
def test_cli_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    data = image_folder(tmp_path / "data", {"a": 2, "b": 1})
    bad = tmp_path / "bad.yaml"
    bad.write_text("transform: [unclosed")
    extra = [str(bad) if e == "{broken}" else e for e in extra]
    extra = [str(tmp_path / e) if e == "missing.yaml" else e for e in extra]
    argv = ["materialize", "--dataset", "imagefolder", "--root", str(data)]
    assert main([*argv, "--out", str(tmp_path / "out"), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("balancers materialize: error: ")
    assert len(err.strip().splitlines()) == 1
    import re

    assert re.search(message, err), err


def test_cli_missing_root(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["materialize", "--dataset", "mnist", "--root", str(tmp_path / "nothing")]
    assert main([*argv, "--out", str(tmp_path / "out")]) == 2
    assert "is not a directory" in capsys.readouterr().err


# -- real MNIST --------------------------------------------------------------------------------
def test_mnist_long_tail_oversampled_with_augmentation_through_a_dataloader(
    test_data_root: Path,
) -> None:
    mnist = MNIST(str(test_data_root), train=True, transform=T.ToTensor())
    counts = long_tail_counts(40, 10, 20)  # 40 ... 2 images per class
    keep = long_tail_indices(mnist.targets, counts, seed=0)
    subset = Subset(mnist, keep.tolist())
    ds = oversample_with_augmentation(subset, default_pipeline(horizontal_flip=False), seed=0)
    assert len(ds) == 400 and int(ds.augmented.sum()) == 400 - sum(counts)
    runs = []
    for workers in (0, 2):
        ds.set_epoch(1)
        loader = DataLoader(ds, batch_size=64, shuffle=False, num_workers=workers)
        images, targets = zip(*loader, strict=True)
        runs.append((torch.cat(images), torch.cat(targets)))
    torch.testing.assert_close(runs[0][0], runs[1][0], rtol=0, atol=0)
    images, targets = runs[0]
    assert images.shape == (400, 1, 28, 28) and images.dtype == torch.float32
    assert float(images.min()) >= 0.0 and float(images.max()) <= 1.0
    assert torch.bincount(targets).tolist() == [40] * 10
    expected = mnist.targets[torch.from_numpy(keep[ds.indices])]
    assert torch.equal(targets, expected)
    for k in np.flatnonzero(~ds.augmented)[:20].tolist():
        torch.testing.assert_close(images[k], subset[int(ds.indices[k])][0], rtol=0, atol=0)
    changed = [
        not torch.equal(images[k], subset[int(ds.indices[k])][0])
        for k in np.flatnonzero(ds.augmented).tolist()
    ]
    assert np.mean(changed) > 0.5  # each of the three steps fires with p=0.5


def test_cli_materializes_a_long_tail_mnist_split(
    test_data_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "split.json"
    split = ["split", "mnist", "--root", str(test_data_root), "--ratio", "10", "--n-max", "20"]
    assert main([*split, "--test-per-class", "all", "--out", str(manifest)]) == 0
    out = tmp_path / "out"
    argv = ["materialize", "--dataset", "mnist", "--root", str(test_data_root)]
    argv += ["--manifest", str(manifest), "--out", str(out), "--no-flip", "--no-progress"]
    assert main(argv) == 0
    capsys.readouterr()
    folder = ImageFolder(str(out))
    assert folder.classes == MNIST.classes
    assert np.bincount(folder.targets).tolist() == [20] * 10
    image, _ = folder[0]
    assert image.size == (28, 28)
