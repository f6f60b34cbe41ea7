"""long_tail_split with one dataset as train and test: the test set never shares a sample with
train or val; and a test set must have the train set's classes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import Subset, TensorDataset
from torchvision.datasets import ImageFolder

from balancers.datasets import LongTailSplit, long_tail_split


def _dataset(sizes: list[int], seed: int = 0) -> TensorDataset:
    labels = np.random.default_rng(seed).permutation(np.repeat(np.arange(len(sizes)), sizes))
    return TensorDataset(torch.arange(labels.size), torch.from_numpy(labels))


def _used(split: LongTailSplit) -> set[int]:
    val = [] if split.val_indices is None else split.val_indices.tolist()
    return set(split.train_indices.tolist()) | set(val)


def test_the_docstring_call_with_default_n_max_is_a_clear_error_with_the_leak_free_call() -> None:
    y = torch.arange(4).repeat_interleave(50)
    ds = TensorDataset(torch.zeros(200, 1), y)
    with pytest.raises(ValueError, match=r"`test` is the same data as `train`") as info:
        long_tail_split(ds, ds, imbalance_ratio=10, val_per_class=5)
    message = str(info.value)
    assert "class 0 has 0 of its 50 samples left" in message
    n_max = int(re.search(r"n_max=(\d+)", message).group(1))  # type: ignore[union-attr]
    split = long_tail_split(ds, ds, imbalance_ratio=10, val_per_class=5, n_max=n_max)
    assert split.test_indices is not None
    assert not set(split.test_indices.tolist()) & _used(split)


@pytest.mark.parametrize("test_per_class", ["min", 3, None])
def test_same_object_draws_test_from_what_train_and_val_left(test_per_class: object) -> None:
    ds = _dataset([40, 30, 35])
    split = long_tail_split(
        ds, ds, imbalance_ratio=5, n_max=20, val_per_class=4, test_per_class=test_per_class
    )
    test = split.test_indices
    assert test is not None
    assert not set(test.tolist()) & _used(split)
    labels = ds.tensors[1].numpy()
    counts = np.bincount(labels[test], minlength=3).tolist()
    if test_per_class is None:  # everything left over
        assert len(test) == len(ds) - len(_used(split))
    else:
        left = min(n - c - 4 for n, c in zip([40, 30, 35], split.counts, strict=True))
        assert split.counts == [20, 8, 4]
        assert left == 16  # class 0: 40 - 20 train - 4 val
        assert counts == [3 if test_per_class == 3 else left] * 3


def test_subsets_of_one_dataset_are_the_same_data() -> None:
    base = _dataset([40, 40])
    train = Subset(base, list(range(60)))  # the first 60 items
    test = Subset(base, list(range(20, 80)))  # overlaps train on items 20..59
    split = long_tail_split(train, test, imbalance_ratio=2, n_max=10, test_per_class=None)
    assert split.test is not None and split.test_indices is not None
    train_items = {int(split.train[i][0]) for i in range(len(split.train))}
    test_items = {int(split.test[i][0]) for i in range(len(split.test))}
    assert not train_items & test_items
    assert test_items >= set(range(60, 80))  # items only in `test` are all kept


def test_separate_test_data_is_unchanged() -> None:
    train, test = _dataset([40, 40], seed=1), _dataset([10, 12], seed=2)
    split = long_tail_split(train, test, imbalance_ratio=2, test_per_class=None)
    assert split.test_indices is not None
    assert split.test_indices.tolist() == list(range(22))


def _folder(root: Path, sizes: list[int]) -> Path:
    for c, n in enumerate(sizes):
        (root / f"class{c}").mkdir(parents=True)
        for i in range(n):
            Image.new("L", (2, 2), color=i).save(root / f"class{c}" / f"{i}.png")
    return root


def test_two_image_folders_of_the_same_files_are_the_same_data(tmp_path: Path) -> None:
    root = _folder(tmp_path / "imgs", [12, 9])
    split = long_tail_split(
        ImageFolder(str(root)), ImageFolder(str(root)), imbalance_ratio=2, n_max=5
    )
    assert split.counts == [5, 2]
    assert split.test_indices is not None
    assert not set(split.test_indices.tolist()) & _used(split)
    assert split.class_counts["test"] == [7, 7]  # 12 - 5 and 9 - 2 left


def test_load_refuses_a_manifest_whose_test_leaks_into_train(tmp_path: Path) -> None:
    ds = _dataset([40, 30])
    path = long_tail_split(ds, ds, imbalance_ratio=2, n_max=10).save(tmp_path / "m.json")
    assert LongTailSplit.load(path, ds, ds).test_indices is not None
    data = json.loads(path.read_text())
    data["indices"]["test"][0] = data["indices"]["train"][0]
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r"puts training or validation samples in the test set"):
        LongTailSplit.load(path, ds, ds)


@pytest.mark.parametrize(
    ("test_labels", "message"),
    [
        ([0, 1, 1, 0], r"missing from test: \[2\]"),
        ([0, 1, 2, 3], r"not in train: \[3\]"),
        ([0, 1, 5, 9], r"missing from test: \[2\]; not in train: \[5, 9\]"),
    ],
)
def test_test_set_with_other_classes_is_named(test_labels: list[int], message: str) -> None:
    train = _dataset([20, 20, 20])
    test = TensorDataset(torch.zeros(len(test_labels)), torch.tensor(test_labels))
    with pytest.raises(
        ValueError, match=rf"`test` should have the same classes as `train`.*{message}"
    ):
        long_tail_split(train, test, imbalance_ratio=2)
