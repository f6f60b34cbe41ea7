"""long_tail_split and LongTailSplit: train/val/test guarantees and the JSON manifest."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import Dataset, Subset, TensorDataset

from balancers.datasets import LongTailSplit, labels_sha256, long_tail_counts, long_tail_split


class LabelOnly(Dataset[tuple[int, int]]):
    """A dataset that only has labels (the sample is its own index)."""

    def __init__(self, targets: Any) -> None:
        self.targets = list(np.asarray(targets).tolist())

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i: int) -> tuple[int, int]:
        return i, self.targets[i]


def _dataset(sizes: list[int], seed: int = 0) -> TensorDataset:
    labels = np.random.default_rng(seed).permutation(np.repeat(np.arange(len(sizes)), sizes))
    return TensorDataset(torch.arange(labels.size), torch.from_numpy(labels))


def _labels(subset: Subset[Any] | None) -> np.ndarray:
    assert subset is not None
    return np.asarray([int(subset[i][1]) for i in range(len(subset))])


TRAIN_SIZES = [60, 50, 55, 70]
TEST_SIZES = [12, 15, 10, 11]


@pytest.fixture
def train() -> TensorDataset:
    return _dataset(TRAIN_SIZES, seed=1)


@pytest.fixture
def test() -> TensorDataset:
    return _dataset(TEST_SIZES, seed=2)


def test_default_split(train: TensorDataset, test: TensorDataset) -> None:
    split = long_tail_split(train, test, imbalance_ratio=10)
    # n_max defaults to the smallest class (50); 50 * 10**(-i/3) = 50, 23.2, 10.8, 5
    assert split.counts == [50, 23, 10, 5]
    assert split.parameters["n_max"] == 50
    assert np.bincount(_labels(split.train)).tolist() == [50, 23, 10, 5]
    assert split.val is None
    assert split.test is not None
    assert np.bincount(_labels(split.test)).tolist() == [10, 10, 10, 10]
    assert split.class_counts == {"train": [50, 23, 10, 5], "val": None, "test": [10] * 4}
    assert isinstance(split.train, Subset)
    assert split.train.dataset is train
    assert "train=88" in repr(split)


def test_validation_is_balanced_and_disjoint(train: TensorDataset, test: TensorDataset) -> None:
    split = long_tail_split(train, test, imbalance_ratio=10, val_per_class=8, test_per_class=5)
    # n_max = smallest class - val_per_class = 42
    assert split.counts == long_tail_counts(42, 4, 10)
    assert split.val is not None
    assert np.bincount(_labels(split.val)).tolist() == [8] * 4
    assert np.intersect1d(split.train_indices, split.val_indices).size == 0
    assert np.bincount(_labels(split.test)).tolist() == [5] * 4


def test_whole_test_set_and_no_test(train: TensorDataset, test: TensorDataset) -> None:
    split = long_tail_split(train, test, imbalance_ratio=10, test_per_class=None)
    assert split.test is not None
    assert list(split.test.indices) == list(range(len(test)))
    assert long_tail_split(train, imbalance_ratio=10).test is None


def test_explicit_n_max_profiles_and_determinism(train: TensorDataset) -> None:
    split = long_tail_split(train, imbalance_ratio=4, profile="step", n_max=40, seed=3)
    assert split.counts == [40, 40, 10, 10]
    again = long_tail_split(train, imbalance_ratio=4, profile="step", n_max=40, seed=3)
    assert split.train_indices.tolist() == again.train_indices.tolist()
    other = long_tail_split(train, imbalance_ratio=4, profile="step", n_max=40, seed=4)
    assert split.train_indices.tolist() != other.train_indices.tolist()
    linear = long_tail_split(train, imbalance_ratio=4, profile="linear", n_max=40)
    assert linear.counts == [40, 30, 20, 10]


def test_ldam_uses_len_over_classes() -> None:
    labels = np.random.default_rng(5).permutation(np.repeat(np.arange(100), 500))
    split = long_tail_split(LabelOnly(labels), selection="ldam", imbalance_ratio=100)
    assert split.parameters["n_max"] == 500
    assert sum(split.counts) == 10847
    state = np.random.RandomState(0)
    expected = []
    for c, n in enumerate(long_tail_counts(500, 100, 100)):
        positions = np.flatnonzero(labels == c)
        expected.append(positions[state.permutation(positions.size)][:n])
    assert split.train_indices.tolist() == np.concatenate(expected).tolist()


def test_manifest_round_trip(tmp_path: Path, train: TensorDataset, test: TensorDataset) -> None:
    split = long_tail_split(train, test, imbalance_ratio=5, val_per_class=4, seed=9)
    path = split.save(tmp_path / "manifests" / "toy-lt.json")
    assert path == tmp_path / "manifests" / "toy-lt.json"
    assert [p.name for p in path.parent.iterdir()] == ["toy-lt.json"]  # no temporary left
    data = json.loads(path.read_text())
    assert data["format"] == "balancers.long_tail_split"
    assert data["parameters"]["imbalance_ratio"] == 5.0
    assert data["source"]["train"]["labels_sha256"] == labels_sha256(train)
    assert data["indices"]["val"] == split.val_indices.tolist()
    loaded = LongTailSplit.load(path, train, test)
    for name in ("train_indices", "val_indices", "test_indices"):
        assert getattr(loaded, name).tolist() == getattr(split, name).tolist()
    assert loaded.class_counts == split.class_counts
    assert loaded.parameters == split.parameters
    assert loaded.classes == [0, 1, 2, 3]
    # saving again replaces the file atomically
    split.save(path)
    assert [p.name for p in path.parent.iterdir()] == ["toy-lt.json"]


def test_manifest_keeps_ldam_order(tmp_path: Path) -> None:
    ds = _dataset([30, 30, 30], seed=4)
    split = long_tail_split(ds, imbalance_ratio=3, selection="ldam")
    loaded = LongTailSplit.load(split.save(tmp_path / "m.json"), ds)
    assert loaded.train_indices.tolist() == split.train_indices.tolist()
    assert list(loaded.train.indices) == split.train_indices.tolist()


def test_manifest_refuses_other_data(
    tmp_path: Path, train: TensorDataset, test: TensorDataset
) -> None:
    path = long_tail_split(train, test, imbalance_ratio=5).save(tmp_path / "m.json")
    labels = train.tensors[1].clone()
    labels[0] = (labels[0] + 1) % 4  # one label changed
    changed = TensorDataset(train.tensors[0], labels)
    with pytest.raises(ValueError, match=r"`train` does not match the manifest"):
        LongTailSplit.load(path, changed, test)
    with pytest.raises(ValueError, match=r"`test` does not match the manifest"):
        LongTailSplit.load(path, train, train)
    with pytest.raises(ValueError, match=r"made from 235 samples .* but got 48 samples"):
        LongTailSplit.load(path, test, test)
    with pytest.raises(ValueError, match=r"includes a test split: pass the test dataset"):
        LongTailSplit.load(path, train)
    no_test = long_tail_split(train, imbalance_ratio=5).save(tmp_path / "n.json")
    with pytest.raises(ValueError, match=r"`test` was given but the manifest"):
        LongTailSplit.load(no_test, train, test)


def _edit(path: Path, change: Any) -> Path:
    data = json.loads(path.read_text())
    change(data)
    out = path.with_name("edited.json")
    out.write_text(json.dumps(data))
    return out


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda d: d.update(format="other"), r"is not a balancers long-tail manifest"),
        (lambda d: d.update(format_version=99), r"manifest format version 99"),
        (lambda d: d.pop("indices"), r"is damaged: its 'indices' entry is missing"),
        (lambda d: d["source"]["train"].pop("labels_sha256"), r"lacks n_samples or labels_sha256"),
        (
            lambda d: d["indices"]["val"].append(d["indices"]["train"][0]),
            r"train and val .*overlap",
        ),
        (
            lambda d: d["indices"]["train"].append(10**6),
            r"its train index list holds 1000000 at position \d+, outside \[0, 235\)",
        ),
        (lambda d: d["indices"]["train"].append(10**30), r"train index list holds 10{30} at"),
        (lambda d: d["indices"]["train"].append(-1), r"train index list holds -1 at"),
        (lambda d: d["indices"]["val"].append(2.5), r"val index list holds 2.5 at .* not an int"),
        (lambda d: d["indices"]["val"].append(3.0), r"val index list holds 3.0 at .* not an int"),
        (lambda d: d["indices"]["val"].append("3"), r"val index list holds '3' at .* not an int"),
        (lambda d: d["indices"]["val"].append(True), r"val index list holds True at"),
        (lambda d: d["indices"]["val"].append({"i": 1}), r"val index list holds \{'i': 1\}"),
        (lambda d: d["indices"]["val"].append([1, 2]), r"val index list holds \[1, 2\] at"),
        (lambda d: d["indices"].update(val={"0": 1}), r"val index list is dict, not a list"),
        (lambda d: d["indices"]["val"].append(d["indices"]["val"][0]), r"val indices contain dup"),
        (lambda d: d["counts"]["train"].reverse(), r"class counts differ"),
    ],
)
def test_damaged_manifest(tmp_path: Path, train: TensorDataset, change: Any, match: str) -> None:
    path = long_tail_split(train, imbalance_ratio=5, val_per_class=3).save(tmp_path / "m.json")
    with pytest.raises(ValueError, match=match):
        LongTailSplit.load(_edit(path, change), train)


def test_not_json(tmp_path: Path, train: TensorDataset) -> None:
    path = tmp_path / "m.json"
    path.write_bytes(b"\x80\x04K\x01.")  # a pickle, which is never read
    with pytest.raises(ValueError, match=r"is not a JSON manifest"):
        LongTailSplit.load(path, train)


def test_checksum_is_canonical() -> None:
    assert labels_sha256([1, 0, 2]) == labels_sha256(np.array([1, 0, 2], dtype=np.uint8))
    assert labels_sha256([1, 0, 2]) == labels_sha256(torch.tensor([1, 0, 2]))
    assert labels_sha256([1, 0, 2]) != labels_sha256([1, 0, 1])
    assert labels_sha256([1, 0, 2]) != labels_sha256([1, 0, 2, 2])
    assert labels_sha256(["a", "b"]) != labels_sha256(["b", "a"])
    # the documented byte form, so that the checksum of a published manifest never drifts
    form = b"int64;3\n" + np.array([7, 0, 300], dtype="<i8").tobytes()
    assert labels_sha256([7, 0, 300]) == hashlib.sha256(form).hexdigest()
    assert labels_sha256(["b", "a"]) == hashlib.sha256(b"text;2\nb\na").hexdigest()


@settings(max_examples=25, deadline=None)
@given(
    sizes=st.lists(st.integers(10, 60), min_size=2, max_size=6),
    ratio=st.floats(1.0, 10.0),
    val=st.integers(0, 5),
    seed=st.integers(0, 10**6),
    selection=st.sampled_from(["random", "first", "ldam"]),
)
def test_split_invariants(
    sizes: list[int], ratio: float, val: int, seed: int, selection: str
) -> None:
    ds = LabelOnly(np.random.default_rng(seed).permutation(np.repeat(np.arange(len(sizes)), sizes)))
    n_max = min(sizes) - val - max(1, (min(sizes) - val) // 3)  # room for a test set
    if n_max / ratio < 1.01:
        return
    split = long_tail_split(
        ds,
        ds,
        imbalance_ratio=ratio,
        val_per_class=val,
        seed=seed,
        selection=selection,
        n_max=n_max,
    )
    labels = np.asarray(ds.targets)
    assert np.bincount(labels[split.train_indices], minlength=len(sizes)).tolist() == split.counts
    assert np.unique(split.train_indices).size == split.train_indices.size
    if val:
        assert split.val_indices is not None
        assert np.intersect1d(split.train_indices, split.val_indices).size == 0
        assert np.bincount(labels[split.val_indices]).tolist() == [val] * len(sizes)
    # One dataset as train and test: the test set is what train and val left, never a sample
    # of either, balanced at the smallest class's leftovers.
    assert split.test_indices is not None
    used = split.train_indices if split.val_indices is None else split.val_indices
    assert np.intersect1d(split.test_indices, split.train_indices).size == 0
    assert np.intersect1d(split.test_indices, used).size == 0
    left = min(n - c - val for n, c in zip(sizes, split.counts, strict=True))
    assert np.bincount(labels[split.test_indices]).tolist() == [left] * len(sizes)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"imbalance_ratio": 0.9}, ValueError, r"`imbalance_ratio` should be a finite number >= 1"),
        ({"profile": "cosine"}, ValueError, r"`profile` should be one of"),
        ({"selection": "paper"}, ValueError, r"`selection` should be one of"),
        ({"n_max": 61}, ValueError, r"n_max=61: class 0 has 60 samples and the profile asks"),
        ({"n_max": 60, "profile": "step"}, ValueError, r"class 1 has 50 samples .* asks for 60"),
        ({"n_max": 0}, ValueError, r"`n_max` should be a positive integer or None"),
        ({"val_per_class": -1}, ValueError, r"`val_per_class` should be a non-negative integer"),
        ({"val_per_class": 50}, ValueError, r"`val_per_class` should leave training samples"),
        (
            {"val_per_class": 11, "n_max": 50},
            ValueError,
            r"`val_per_class` should be at most 10, the training samples left in class 0",
        ),
        ({"test_per_class": 11}, ValueError, r"`test_per_class` should be at most the smallest"),
        ({"test_per_class": 0}, ValueError, r"`test_per_class` should be a positive integer"),
        ({"test_per_class": "max"}, ValueError, r"`test_per_class` should be 'min'"),
        ({"test_per_class": 2.5}, TypeError, r"`test_per_class` should be"),
        ({"seed": None}, TypeError, r"`seed` should be a non-negative integer for a split"),
        ({"seed": 2**32, "selection": "ldam"}, ValueError, r"`seed` should be below 2\*\*32"),
        ({"imbalance_ratio": 100}, ValueError, r"`imbalance_ratio` should be at most n_max=50"),
    ],
)
def test_bad_input(
    train: TensorDataset,
    test: TensorDataset,
    kwargs: dict[str, Any],
    error: type[Exception],
    match: str,
) -> None:
    args: dict[str, Any] = {"imbalance_ratio": 10}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        long_tail_split(train, test, **args)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: long_tail_split([0, 1, 1]), TypeError, r"`train` should be a map-style torch"),
        (
            lambda: long_tail_split(_dataset([5, 5]), [0, 1]),
            TypeError,
            r"`test` should be a map-style torch Dataset",
        ),
        (
            lambda: long_tail_split(
                TensorDataset(torch.zeros(3, 1), torch.tensor([[1, 0], [0, 1], [1, 1]]))
            ),
            ValueError,
            r"`train` should be multiclass",
        ),
    ],
)
def test_bad_datasets(call: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        call()


def test_public_names() -> None:
    import balancers.datasets

    names = balancers.datasets.__all__
    assert list(names) == sorted(names)
    assert all(hasattr(balancers.datasets, name) for name in names)
    assert {"LongTailSplit", "long_tail_split", "CIFAR10LT", "MNISTLT"} <= set(names)
