"""CIFAR10LT, CIFAR100LT, MNISTLT, FashionMNISTLT.

CIFAR runs on files written here in the genuine pickle-batch format (torchvision's md5 check is
replaced by an existence check in these tests only); MNIST and Fashion-MNIST run on the real files.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torchvision.datasets.cifar
from PIL import Image
from torchvision.datasets import CIFAR10, MNIST, FashionMNIST

from balancers.cli import main
from balancers.datasets import (
    CIFAR10LT,
    CIFAR100LT,
    MNISTLT,
    FashionMNISTLT,
    LongTailSplit,
    long_tail_counts,
    long_tail_split,
)

CIFAR10_LT_100 = [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]


@pytest.fixture(autouse=True)
def existence_check_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake CIFAR files cannot have the real md5: check that they exist instead."""
    monkeypatch.setattr(
        torchvision.datasets.cifar, "check_integrity", lambda fpath, md5=None: os.path.isfile(fpath)
    )


def _images(n: int, offset: int = 0) -> np.ndarray:
    """CIFAR rows (R plane, G plane, B plane) whose first two red pixels encode the row number."""
    rows = np.zeros((n, 3072), dtype=np.uint8)
    number = np.arange(offset, offset + n)
    rows[:, 0] = number % 256
    rows[:, 1] = number // 256
    rows[:, 1024:] = 128  # green and blue planes
    return rows


def _row_numbers(data: np.ndarray) -> np.ndarray:
    """Invert _images on torchvision's HWC data."""
    return data[:, 0, 0, 0].astype(np.int64) + 256 * data[:, 0, 1, 0].astype(np.int64)


def _dump(path: Path, entry: dict[str, Any]) -> None:
    with open(path, "wb") as fh:
        pickle.dump(entry, fh, protocol=2)


def write_cifar10(root: Path, train_labels: np.ndarray, test_labels: np.ndarray) -> None:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for b, part in enumerate(np.array_split(np.arange(train_labels.size), 5), start=1):
        _dump(
            folder / f"data_batch_{b}",
            {
                "batch_label": f"training batch {b} of 5",
                "labels": train_labels[part].tolist(),
                "data": _images(part.size, int(part[0])),
                "filenames": [f"img_{i}.png" for i in part],
            },
        )
    _dump(
        folder / "test_batch",
        {
            "batch_label": "testing batch 1 of 1",
            "labels": test_labels.tolist(),
            "data": _images(test_labels.size),
            "filenames": [f"test_{i}.png" for i in range(test_labels.size)],
        },
    )
    names = ["airplane", "automobile", "bird", "cat", "deer"]
    names += ["dog", "frog", "horse", "ship", "truck"]
    _dump(folder / "batches.meta", {"num_cases_per_batch": 10000, "label_names": names})


def write_cifar100(root: Path, train_labels: np.ndarray, test_labels: np.ndarray) -> None:
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    for name, labels in (("train", train_labels), ("test", test_labels)):
        _dump(
            folder / name,
            {
                "filenames": [f"{name}_{i}.png" for i in range(labels.size)],
                "batch_label": f"{name} batch 1 of 1",
                "fine_labels": labels.tolist(),
                "coarse_labels": (labels // 5).tolist(),
                "data": _images(labels.size),
            },
        )
    fine = [f"class_{i:02d}" for i in range(100)]
    coarse = [f"super_{i:02d}" for i in range(20)]
    _dump(folder / "meta", {"fine_label_names": fine, "coarse_label_names": coarse})


def _shuffled(per_class: int, num_classes: int, seed: int) -> np.ndarray:
    labels = np.repeat(np.arange(num_classes), per_class)
    return np.random.default_rng(seed).permutation(labels)


@pytest.fixture(scope="module")
def tiny_cifar10(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, np.ndarray]:
    root = tmp_path_factory.mktemp("cifar10")
    train, test = _shuffled(20, 10, 0), _shuffled(6, 10, 1)
    write_cifar10(root, train, test)
    return root, train, test


@pytest.fixture(scope="module")
def tiny_cifar100(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, np.ndarray]:
    root = tmp_path_factory.mktemp("cifar100")
    train, test = _shuffled(5, 100, 2), _shuffled(2, 100, 3)
    write_cifar100(root, train, test)
    return root, train, test


def test_cifar10_train(tiny_cifar10: tuple[Path, np.ndarray, np.ndarray]) -> None:
    root, labels, _ = tiny_cifar10
    ds = CIFAR10LT(root, imbalance_ratio=10, seed=4)
    assert isinstance(ds, CIFAR10)
    expected = long_tail_counts(20, 10, 10)
    assert ds.class_counts == expected
    assert len(ds) == sum(expected) == ds.data.shape[0]
    assert ds.data.shape[1:] == (32, 32, 3)
    assert isinstance(ds.targets, list)
    assert all(type(t) is int for t in ds.targets)
    # .data and .targets hold exactly the selected samples, aligned
    rows = _row_numbers(ds.data)
    assert rows.tolist() == ds.indices.tolist()
    assert ds.targets == labels[rows].tolist()
    assert np.bincount(ds.targets).tolist() == expected
    assert ds.classes[0] == "airplane"
    assert ds.class_to_idx["truck"] == 9
    image, target = ds[0]
    assert isinstance(image, Image.Image)
    assert target == ds.targets[0]
    text = repr(ds)
    assert "Dataset CIFAR10LT" in text
    assert "Split: train" in text
    assert "Imbalance ratio: 10" in text
    assert ds.imbalance_ratio == 10
    assert ds.profile == "exp"


def test_cifar10_matches_long_tail_split(tiny_cifar10: tuple[Path, np.ndarray, np.ndarray]) -> None:
    root = tiny_cifar10[0]
    kwargs: dict[str, Any] = {"imbalance_ratio": 5, "val_per_class": 3, "seed": 2}
    split = long_tail_split(
        CIFAR10(root, train=True), CIFAR10(root, train=False), test_per_class=4, **kwargs
    )
    train = CIFAR10LT(root, split="train", **kwargs)
    val = CIFAR10LT(root, split="val", **kwargs)
    test = CIFAR10LT(root, split="test", test_per_class=4, **kwargs)
    assert train.indices.tolist() == split.train_indices.tolist()
    assert val.indices.tolist() == split.val_indices.tolist()
    assert test.indices.tolist() == split.test_indices.tolist()
    assert not set(train.indices.tolist()) & set(val.indices.tolist())
    assert val.class_counts == [3] * 10
    assert test.class_counts == [4] * 10
    assert test.train is False
    assert "Split: test" in repr(test)
    assert "Val per class: 3" in repr(val)


def test_cifar10_transforms(tiny_cifar10: tuple[Path, np.ndarray, np.ndarray]) -> None:
    ds = CIFAR10LT(
        tiny_cifar10[0],
        imbalance_ratio=2,
        transform=lambda img: torch.tensor(np.asarray(img)).permute(2, 0, 1),
        target_transform=lambda t: t + 100,
    )
    image, target = ds[3]
    assert image.shape == (3, 32, 32)
    assert target == ds.targets[3] + 100


def test_cifar100(tiny_cifar100: tuple[Path, np.ndarray, np.ndarray]) -> None:
    root, labels, test_labels = tiny_cifar100
    ds = CIFAR100LT(root, imbalance_ratio=5, selection="first")
    expected = long_tail_counts(5, 100, 5)
    assert ds.class_counts == expected
    rows = _row_numbers(ds.data)
    # "first": the first n_c images of each class, in file order
    first = np.concatenate([np.flatnonzero(labels == c)[:n] for c, n in enumerate(expected)])
    assert rows.tolist() == np.sort(first).tolist()
    assert ds.targets == labels[rows].tolist()
    assert ds.classes[99] == "class_99"
    test = CIFAR100LT(root, split="test")
    assert test.class_counts == [2] * 100
    assert len(test) == test_labels.size


def test_manifest_of_changed_file_content(
    tmp_path: Path, tiny_cifar10: tuple[Path, np.ndarray, np.ndarray]
) -> None:
    root, train_labels, test_labels = tiny_cifar10
    split = long_tail_split(CIFAR10(root), CIFAR10(root, train=False), imbalance_ratio=4)
    path = split.save(tmp_path / "cifar10-lt.json")
    assert (
        LongTailSplit.load(path, CIFAR10(root), CIFAR10(root, train=False)).counts == split.counts
    )
    other = tmp_path / "other"
    changed = train_labels.copy()
    changed[[0, 1]] = changed[[1, 0]] if changed[0] != changed[1] else (changed[[0, 1]] + 1) % 10
    write_cifar10(other, changed, test_labels)
    new = long_tail_split(CIFAR10(other), CIFAR10(other, train=False), imbalance_ratio=4)
    assert new.checksums["train"] != split.checksums["train"]
    assert new.checksums["test"] == split.checksums["test"]
    with pytest.raises(ValueError, match=r"`train` does not match the manifest"):
        LongTailSplit.load(path, CIFAR10(other), CIFAR10(other, train=False))


def test_cli_on_cifar10(
    tmp_path: Path,
    tiny_cifar10: tuple[Path, np.ndarray, np.ndarray],
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = tiny_cifar10[0]
    out = tmp_path / "manifests"
    out.mkdir()
    argv = ["split", "cifar10", "--root", str(root), "--ratio", "10", "--val-per-class", "2"]
    assert main([*argv, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    counts = long_tail_counts(18, 10, 10)
    assert f"0      airplane  {counts[0]:>8}{2:>8}{6:>8}" in printed
    total = next(line for line in printed.splitlines() if line.startswith("total"))
    assert total.split() == ["total", str(sum(counts)), "20", "60"]
    assert printed.rstrip().endswith("cifar10-lt-exp10-seed0.json")
    path = out / "cifar10-lt-exp10-seed0.json"
    loaded = LongTailSplit.load(path, CIFAR10(root), CIFAR10(root, train=False))
    assert loaded.counts == counts
    assert loaded.class_counts["val"] == [2] * 10
    assert loaded.train_indices.tolist() == (
        CIFAR10LT(root, imbalance_ratio=10, val_per_class=2).indices.tolist()
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"split": "valid"}, ValueError, r"`split` should be one of 'train', 'val', 'test'"),
        ({"split": 1}, TypeError, r"`split` should be one of"),
        ({"split": "val"}, ValueError, r"`val_per_class` should be positive for split='val'"),
        ({"imbalance_ratio": 0}, ValueError, r"`imbalance_ratio` should be a finite number >= 1"),
        ({"profile": "steps"}, ValueError, r"`profile` should be one of"),
        ({"n_max": 21}, ValueError, r"n_max=21: class 0 has 20 samples"),
        ({"test_per_class": 7, "split": "test"}, ValueError, r"`test_per_class` should be at most"),
    ],
)
def test_cifar_bad_input(
    tiny_cifar10: tuple[Path, np.ndarray, np.ndarray],
    kwargs: dict[str, Any],
    error: type[Exception],
    match: str,
) -> None:
    args: dict[str, Any] = {"imbalance_ratio": 10}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        CIFAR10LT(tiny_cifar10[0], **args)


@pytest.mark.parametrize(
    ("cls", "where"),
    [
        (CIFAR10LT, r"cifar-10-batches-py"),
        (CIFAR100LT, r"cifar-100-python"),
        (MNISTLT, r"MNIST/raw"),
        (FashionMNISTLT, r"FashionMNIST/raw"),
    ],
)
def test_missing_files_say_where_they_go(tmp_path: Path, cls: Any, where: str) -> None:
    with pytest.raises(FileNotFoundError, match=rf"not found .*/{where}\b.*download=True"):
        cls(tmp_path)


# --- LDAM-DRW, bit-exact, on a full-size CIFAR-10 fake (5000 labels per class) -----------------


@pytest.fixture(scope="module")
def full_cifar10(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    root = tmp_path_factory.mktemp("cifar10-full")
    train = _shuffled(5000, 10, 11)
    write_cifar10(root, train, _shuffled(2, 10, 12))
    return root, train


def _ldam_expected(labels: np.ndarray, counts: list[int], seed: int) -> np.ndarray:
    """IMBALANCECIFAR10's selection, derived with RandomState.permutation (same stream)."""
    state = np.random.RandomState(seed)
    parts = []
    for c, n in enumerate(counts):
        positions = np.flatnonzero(labels == c)
        parts.append(positions[state.permutation(positions.size)][:n])
    return np.concatenate(parts)


@pytest.mark.parametrize(
    ("ratio", "seed", "counts"),
    [
        (100, 0, CIFAR10_LT_100),
        (10, 1, [5000, 3871, 2997, 2320, 1796, 1391, 1077, 834, 645, 500]),
    ],
)
def test_ldam_cifar10_is_bit_exact(
    full_cifar10: tuple[Path, np.ndarray], ratio: int, seed: int, counts: list[int]
) -> None:
    root, labels = full_cifar10
    ds = CIFAR10LT(root, imbalance_ratio=ratio, seed=seed, selection="ldam")
    assert ds.class_counts == counts
    expected = _ldam_expected(labels, counts, seed)
    assert ds.indices.tolist() == expected.tolist()
    # LDAM-DRW's .data order: class by class, each class in its shuffled order
    assert _row_numbers(ds.data).tolist() == expected.tolist()
    assert ds.targets == np.repeat(np.arange(10), counts).tolist()


# --- MNIST and Fashion-MNIST, real files --------------------------------------------------------

MNIST_TRAIN = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def test_mnist_lt(test_data_root: Path) -> None:
    full = MNIST(test_data_root, train=True)
    assert np.bincount(full.targets.numpy()).tolist() == MNIST_TRAIN
    ds = MNISTLT(root=test_data_root)
    assert isinstance(ds, MNIST)
    # n_max defaults to the smallest class (class 5, 5421 images), so every class fills
    assert ds.class_counts == [5421, 3249, 1948, 1167, 700, 419, 251, 150, 90, 54]
    assert isinstance(ds.targets, torch.Tensor)
    assert isinstance(ds.data, torch.Tensor)
    assert ds.data.shape == (13449, 28, 28)
    index = torch.from_numpy(ds.indices)
    assert torch.equal(ds.data, full.data[index])
    assert torch.equal(ds.targets, full.targets[index])
    assert ds.raw_folder == os.path.join(test_data_root, "MNIST", "raw")
    image, target = ds[0]
    assert isinstance(image, Image.Image)
    assert target == int(ds.targets[0])
    test = MNISTLT(root=test_data_root, split="test")
    assert test.class_counts == [892] * 10


def test_mnist_val_disjoint(test_data_root: Path) -> None:
    train = MNISTLT(test_data_root, imbalance_ratio=50, val_per_class=100, seed=5)
    val = MNISTLT(test_data_root, split="val", imbalance_ratio=50, val_per_class=100, seed=5)
    assert train.class_counts == long_tail_counts(5321, 10, 50)
    assert val.class_counts == [100] * 10
    assert np.intersect1d(train.indices, val.indices).size == 0


def test_fashion_mnist_lt(test_data_root: Path) -> None:
    ds = FashionMNISTLT(test_data_root, imbalance_ratio=10, profile="step", seed=1)
    assert isinstance(ds, FashionMNIST)
    assert ds.class_counts == [6000] * 5 + [600] * 5
    full = FashionMNIST(test_data_root, train=True)
    assert torch.equal(ds.targets, full.targets[torch.from_numpy(ds.indices)])
    assert ds.classes == full.classes
    test = FashionMNISTLT(test_data_root, split="test", test_per_class=None)
    assert len(test) == 10000
