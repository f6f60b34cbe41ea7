"""Segmentation: exact pixel counts (arrays, palette and grayscale PNGs, datasets, workers),
the checksum cache, RareClassSampler (softmax draws, min_pixels, DDP, resume) and pixel class
weights."""

from __future__ import annotations

import functools
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from PIL import Image
from scipy.stats import chisquare
from torch.utils.data import Dataset

from balancers import class_weights
from balancers.samplers import RareClassSampler as FromSamplers
from balancers.segmentation import RareClassSampler, pixel_class_counts
from tests._harness import check_shards, interrupted_and_resumed, loader_epochs, run_ddp
from tests._spies import spy_on_image_open

# Three 4x5 masks, classes 0..3 (class 2 absent), 255 ignored.
MASKS = np.array(
    [
        [[0, 0, 0, 1, 1], [0, 0, 0, 1, 1], [255, 255, 0, 0, 0], [0, 0, 0, 0, 0]],
        [[3, 3, 0, 0, 0], [3, 3, 0, 0, 0], [0, 0, 0, 0, 255], [0, 0, 0, 0, 0]],
        [[1, 1, 1, 1, 1], [1, 1, 1, 1, 1], [1, 1, 1, 1, 1], [1, 1, 1, 1, 1]],
    ],
    dtype=np.uint8,
)
COUNTS = [[14, 4, 0, 0], [15, 0, 0, 4], [0, 20, 0, 0]]
PALETTE = [0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0] + [0, 0, 0] * 251 + [224, 224, 192]


def write_masks(folder: Path, masks: np.ndarray, mode: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, mask in enumerate(masks):
        image = Image.fromarray(mask, mode="L")
        if mode == "P":
            image = image.convert("P")  # keeps the values as palette indices
            image.putpalette(PALETTE)
        path = folder / f"mask_{i:03d}.png"
        image.save(path)
        paths.append(path)
    return paths


# ------------------------------------------------------------------------------ pixel counts
def test_arrays_exact() -> None:
    counts = pixel_class_counts(MASKS, 4, progress=False)
    assert isinstance(counts, sp.csr_array) and counts.dtype == np.int64
    assert counts.toarray().tolist() == COUNTS
    as_list = pixel_class_counts(list(MASKS), 4, progress=False)
    assert as_list.toarray().tolist() == COUNTS
    tensors = pixel_class_counts([torch.from_numpy(m).long() for m in MASKS], 4, progress=False)
    assert tensors.toarray().tolist() == COUNTS
    int_masks = MASKS.astype(np.int32)
    int_masks[int_masks == 255] = -1
    ignored = pixel_class_counts(int_masks, 4, ignore_index=-1, progress=False)
    assert ignored.toarray().tolist() == COUNTS


def test_ignore_index_none_and_inside_the_classes() -> None:
    with pytest.raises(ValueError, match=r"mask 0 holds 255 \(2 pixels\)"):
        pixel_class_counts(MASKS, 4, ignore_index=None, progress=False)
    counts = pixel_class_counts(MASKS, 256, ignore_index=None, progress=False).toarray()
    assert counts[:, 255].tolist() == [2, 1, 0]
    no_void = np.where(MASKS == 255, 1, MASKS)
    background_ignored = pixel_class_counts(no_void, 4, ignore_index=0, progress=False).toarray()
    assert background_ignored.tolist() == [[0, 6, 0, 0], [0, 1, 0, 4], [0, 20, 0, 0]]
    # 255 is then an ordinary value outside the classes: an error
    with pytest.raises(ValueError, match=r"set ignore_index=255"):
        pixel_class_counts(MASKS, 4, ignore_index=0, progress=False)


@pytest.mark.parametrize("mode", ["P", "L"])
def test_png_folder_palette_and_grayscale(tmp_path: Path, mode: str) -> None:
    paths = write_masks(tmp_path / "masks", MASKS, mode)
    with Image.open(paths[0]) as image:
        assert image.mode == mode
    by_folder = pixel_class_counts(tmp_path / "masks", 4, progress=False)
    assert by_folder.toarray().tolist() == COUNTS
    by_files = pixel_class_counts([str(p) for p in paths[::-1]], 4, progress=False)
    assert by_files.toarray().tolist() == COUNTS[::-1]


def test_sixteen_bit_png(tmp_path: Path) -> None:
    mask = np.array([[0, 300, 300], [1, 1, 65535]], dtype=np.uint16)
    Image.fromarray(mask).save(tmp_path / "m.png")
    counts = pixel_class_counts(tmp_path, 301, ignore_index=65535, progress=False)
    assert counts.toarray()[0, [0, 1, 300]].tolist() == [1, 2, 2]


class PairDataset(Dataset[tuple[Any, Any]]):
    """(image, mask) pairs, masks as PIL images, as a segmentation dataset yields them."""

    def __init__(self, masks: np.ndarray) -> None:
        self.masks = [Image.fromarray(m) for m in masks]  # not paths: items are read

    def __len__(self) -> int:
        return len(self.masks)

    def __getitem__(self, i: int) -> tuple[Any, Any]:
        return torch.zeros(3, 4, 5), self.masks[i]


class PathDataset(Dataset[tuple[Any, Any]]):
    """Like torchvision's VOCSegmentation: ``.masks`` lists the mask files."""

    def __init__(self, paths: list[Path]) -> None:
        self.masks = [str(p) for p in paths]

    def __len__(self) -> int:
        return len(self.masks)

    def __getitem__(self, i: int) -> tuple[Any, Any]:
        raise AssertionError("the mask files are read directly")


def test_datasets_and_workers(tmp_path: Path) -> None:
    assert pixel_class_counts(PairDataset(MASKS), 4, progress=False).toarray().tolist() == COUNTS
    paths = write_masks(tmp_path, MASKS, "P")
    assert pixel_class_counts(PathDataset(paths), 4, progress=False).toarray().tolist() == COUNTS
    many = np.concatenate([MASKS] * 30)  # 90 masks: several batches per worker
    serial = pixel_class_counts(many, 4, progress=False)
    parallel = pixel_class_counts(many, 4, num_workers=2, progress=True)
    assert (serial != parallel).nnz == 0
    assert serial.toarray().tolist() == COUNTS * 30


def test_cache_is_used_and_invalidated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = write_masks(tmp_path / "masks", MASKS, "P")
    cache = tmp_path / "cache" / "counts.npz"
    first = pixel_class_counts(tmp_path / "masks", 4, cache=cache, progress=False)
    assert cache.is_file()

    opened = spy_on_image_open(monkeypatch)
    second = pixel_class_counts(tmp_path / "masks", 4, cache=cache, progress=False)
    assert opened == []  # read from the cache, nothing decoded
    assert (first != second).nnz == 0

    changed = MASKS[1].copy()
    changed[0, 0] = 2
    stat = os.stat(paths[1])
    Image.fromarray(changed).convert("P").save(paths[1])
    os.utime(paths[1], ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same mtime: content counts
    third = pixel_class_counts(tmp_path / "masks", 4, cache=cache, progress=False)
    assert len(opened) == 3  # recounted
    assert third.toarray()[1].tolist() == [15, 0, 1, 3]
    # other arguments are part of the key as well
    fourth = pixel_class_counts(tmp_path / "masks", 5, cache=cache, progress=False)
    assert fourth.shape == (3, 5) and len(opened) == 6
    arrays = pixel_class_counts(MASKS, 4, cache=tmp_path / "arrays.npz", progress=False)
    assert (
        pixel_class_counts(MASKS, 4, cache=tmp_path / "arrays.npz", progress=False)
        .toarray()
        .tolist()
        == arrays.toarray().tolist()
    )


def test_corrupt_cache_is_recomputed(tmp_path: Path) -> None:
    cache = tmp_path / "counts.npz"
    cache.write_bytes(b"not a numpy file")
    counts = pixel_class_counts(MASKS, 4, cache=cache, progress=False)
    assert counts.toarray().tolist() == COUNTS
    assert pixel_class_counts(MASKS, 4, cache=cache, progress=False).toarray().tolist() == COUNTS


RGB = np.zeros((2, 3, 3), dtype=np.uint8)


def _rgb_folder(tmp_path: Path) -> Path:
    Image.fromarray(RGB).save(tmp_path / "rgb.png")
    return tmp_path


BAD_COUNTS: list[tuple[Any, dict[str, Any], type[Exception], str]] = [
    (MASKS, {"num_classes": 3}, ValueError, r"class ids in \[0, num_classes - 1\] = \[0, 2\]"),
    (
        MASKS,
        {"num_classes": 4, "shape": (5, 4)},
        ValueError,
        r"`masks` should all have the declared shape=\(5, 4\), but mask 0 has shape \(4, 5\)",
    ),
    (
        [MASKS[0], MASKS[0][:3]],
        {"num_classes": 4, "shape": (4, 5)},
        ValueError,
        r"mask 1 has shape \(3, 5\)",
    ),
    (MASKS[0], {"num_classes": 4}, ValueError, r"For one mask pass masks\[None\]"),
    ([RGB], {"num_classes": 4}, ValueError, r"should hold 2-D label masks"),
    ([MASKS[0].astype(float)], {"num_classes": 4}, ValueError, r"integer class ids"),
    ([], {"num_classes": 4}, ValueError, r"`masks` should not be empty"),
    ("/no/such/folder", {"num_classes": 4}, ValueError, r"does not exist"),
    (42, {"num_classes": 4}, TypeError, r"`masks` should be a folder of PNG masks"),
    (MASKS, {"num_classes": 0}, ValueError, r"`num_classes` should be a positive integer"),
    (MASKS, {"num_classes": 4.0}, TypeError, r"`num_classes` should be"),
    (MASKS, {"num_classes": 4, "ignore_index": "255"}, TypeError, r"`ignore_index`"),
    (MASKS, {"num_classes": 4, "num_workers": -1}, ValueError, r"`num_workers`"),
    (MASKS, {"num_classes": 4, "shape": (4,)}, ValueError, r"`shape` should be a \(height"),
    (MASKS, {"num_classes": 4, "cache": 3}, TypeError, r"`cache` should be a file path"),
    (
        PairDataset(MASKS),
        {"num_classes": 4, "cache": "c.npz"},
        ValueError,
        r"`cache` needs masks whose bytes can be checksummed",
    ),
]


@pytest.mark.parametrize(("masks", "kwargs", "error", "match"), BAD_COUNTS)
def test_bad_counts_input(masks: Any, kwargs: dict[str, Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        pixel_class_counts(masks, progress=False, **kwargs)


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"is a RGB image. Convert color-coded masks"):
        pixel_class_counts(_rgb_folder(tmp_path), 4, progress=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match=r"has no \*.png file"):
        pixel_class_counts(empty, 4, progress=False)
    with pytest.raises(ValueError, match=r"should name existing files"):
        pixel_class_counts([tmp_path / "missing.png"], 4, progress=False)
    paths = write_masks(tmp_path / "m", MASKS, "P")
    with pytest.raises(ValueError, match=rf"mask 1 \('{paths[1]}'\) holds 3"):
        pixel_class_counts(paths, 3, progress=False)


# --------------------------------------------------------------------------- RareClassSampler
# 40 images, 4 classes: class 0 everywhere, class 1 in 10 images, class 2 in 4 (two of them
# below 50 pixels), class 3 in 2.
def rare_counts() -> np.ndarray:
    counts = np.zeros((40, 4), dtype=np.int64)
    counts[:, 0] = 900
    counts[:10, 1] = 100
    counts[10:14, 2] = [200, 300, 20, 30]
    counts[20:22, 3] = 80
    return counts


def softmax_by_hand(freq: list[float], t: float) -> list[float]:
    w = [math.exp((1 - f) / t) for f in freq]
    return [x / sum(w) for x in w]


def test_probabilities_follow_the_softmax() -> None:
    counts = rare_counts()
    total = counts.sum()
    freq = [c / total for c in counts.sum(axis=0).tolist()]
    for t in (0.01, 0.05, 1.0):
        s = RareClassSampler(counts, temperature=t, min_pixels=1)
        np.testing.assert_allclose(s.class_frequencies_, freq, rtol=1e-14)
        np.testing.assert_allclose(s.class_probabilities_, softmax_by_hand(freq, t), rtol=1e-9)
    assert FromSamplers is RareClassSampler


def test_class_draws_chi_square_and_min_pixels() -> None:
    counts = rare_counts()
    s = RareClassSampler(counts, temperature=0.02, min_pixels=50, num_samples=4000, seed=11)
    assert s.class_probabilities_[2] > 0 and s.class_probabilities_[3] > 0
    classes, images = s.class_draws(0)
    assert images.tolist() == s.global_indices(0).tolist()
    assert (counts[images, classes] >= 50).all()  # every image holds its class
    observed = np.bincount(classes, minlength=4)
    expected = s.class_probabilities_ * 4000
    keep = expected > 5
    assert keep.sum() >= 3
    _, p = chisquare(observed[keep], expected[keep] * observed[keep].sum() / expected[keep].sum())
    assert p > 0.001
    # class 2 has two eligible images (200 and 300 pixels): drawn in alternation, cycling
    drawn = images[classes == 2]
    assert set(drawn.tolist()) == {10, 11}
    assert all(len(set(drawn[j : j + 2].tolist())) == 2 for j in range(0, len(drawn) - 1, 2))


def test_skipped_classes_warn_and_none_left_errors() -> None:
    counts = rare_counts()
    counts[:, 3] = 0  # class 3 has no pixel at all
    with pytest.warns(UserWarning, match=r"skips classes \[3\] \(1 classes, 1 of them with no"):
        s = RareClassSampler(counts, min_pixels=50)
    assert s.class_probabilities_[3] == 0.0
    assert s.skipped_classes_.tolist() == [3]
    assert math.isclose(s.class_probabilities_.sum(), 1.0)
    with pytest.warns(UserWarning, match=r"skips classes \[1, 2, 3\] \(3 classes, 0 of them"):
        RareClassSampler(rare_counts(), min_pixels=500)
    with pytest.raises(ValueError, match=r"no image has min_pixels=5000 pixels of any class"):
        RareClassSampler(rare_counts(), min_pixels=5000)


def test_accepts_counts_from_pixel_class_counts_sparse_and_tensor() -> None:
    counts = pixel_class_counts(np.concatenate([MASKS] * 2), 4, progress=False)
    with pytest.warns(UserWarning, match=r"skips classes \[2\]"):
        s = RareClassSampler(counts, temperature=0.5)
    with pytest.warns(UserWarning, match=r"skips classes \[2\]"):
        t = RareClassSampler(torch.as_tensor(counts.toarray()), temperature=0.5)
    assert s.global_indices(3).tolist() == t.global_indices(3).tolist()
    assert len(s) == 6
    assert "temperature=0.5, min_pixels=1" in repr(s)


BAD_RARE: list[tuple[Any, dict[str, Any], type[Exception], str]] = [
    (rare_counts(), {"temperature": 0.0}, ValueError, r"`temperature` should be a finite number"),
    (rare_counts(), {"temperature": -1.0}, ValueError, r"temperature=-1.0"),
    (rare_counts(), {"temperature": "0.01"}, TypeError, r"`temperature`"),
    (rare_counts(), {"min_pixels": 0}, ValueError, r"`min_pixels` should be a positive integer"),
    (rare_counts(), {"min_pixels": 1.5}, TypeError, r"`min_pixels`"),
    (rare_counts(), {"num_samples": 0}, ValueError, r"`num_samples`"),
    (-rare_counts(), {}, ValueError, r"`pixel_counts` should hold non-negative pixel counts"),
    (np.zeros((3, 2)), {}, ValueError, r"should count at least one pixel"),
    (np.ones(3), {}, ValueError, r"`pixel_counts` should be 2-D"),
    (np.full((2, 2), 0.5), {}, ValueError, r"whole pixel counts"),
    ("counts", {}, TypeError, r"`pixel_counts` should be an \(n_images, n_classes\) matrix"),
    (np.zeros((0, 3)), {}, ValueError, r"at least one image and one class"),
]


@pytest.mark.parametrize(("counts", "kwargs", "error", "match"), BAD_RARE)
def test_bad_rare_class_input(counts: Any, kwargs: dict[str, Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        RareClassSampler(counts, **kwargs)


FACTORIES = {
    "rare": functools.partial(RareClassSampler, rare_counts(), temperature=0.05, seed=3),
    "rare_drop": functools.partial(
        RareClassSampler, rare_counts(), min_pixels=50, num_samples=17, seed=1, drop_last=True
    ),
}


@pytest.mark.filterwarnings("ignore:RareClassSampler skips classes:UserWarning")
@pytest.mark.parametrize("world_size", [2, 3])
def test_real_ddp_gloo(world_size: int) -> None:
    results = run_ddp(world_size, loader_epochs, FACTORIES, 40, 2)
    for name in FACTORIES:
        per_rank = [r[name] for r in results]
        for r in per_rank[1:]:
            assert all(
                np.array_equal(x, y)
                for x, y in zip(r["global"], per_rank[0]["global"], strict=True)
            )
        check_shards(per_rank[0], world_size, name == "rare_drop")
        assert per_rank[0]["len"] == len(per_rank[0]["shards"][0][0])


@pytest.mark.parametrize(("name", "workers"), [("rare", 0), ("rare_drop", 2)])
def test_stateful_dataloader_resume(name: str, workers: int) -> None:
    full, before, after = interrupted_and_resumed(
        FACTORIES[name], 40, batch_size=3, num_workers=workers, stop_after=2
    )
    assert before + after == full
    assert len(before) == 6
    assert full == FACTORIES[name]().global_indices(0).tolist()


# ------------------------------------------------------------------------------ class weights
def test_median_frequency_and_enet_weights_by_hand() -> None:
    counts = np.array([[30, 10, 0], [40, 0, 20], [50, 0, 0]])
    # median frequency: pixels / pixels of the images holding the class
    freq = [120 / 150, 10 / 40, 20 / 60]
    median = sorted(freq)[1]
    expected = [median / f for f in freq]
    got = class_weights(counts, "median_frequency", normalize=False)
    assert got.dtype == torch.float32
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)
    normalized = class_weights(sp.csr_array(counts), "median_frequency")
    np.testing.assert_allclose(normalized.sum().item(), 3.0, rtol=1e-6)
    p = [120 / 150, 10 / 150, 20 / 150]
    enet = class_weights(counts, "enet", normalize=False)
    np.testing.assert_allclose(enet.numpy(), [1 / math.log(1.02 + x) for x in p], rtol=1e-6)
    # a class without pixels: ENet caps it at 1 / ln(1.02); median frequency cannot weight it
    with_empty = np.hstack([counts, np.zeros((3, 1), dtype=int)])
    assert math.isclose(
        class_weights(with_empty, "enet", normalize=False)[3].item(),
        1 / math.log(1.02),
        rel_tol=1e-6,
    )
    with pytest.raises(ValueError, match=r"no pixel of class 3 .* Drop that class or use"):
        class_weights(with_empty, "median_frequency")
    with pytest.raises(ValueError, match=r"`scheme` should be one of .*'median_frequency'"):
        class_weights(counts, "median")
    with pytest.raises(ValueError, match=r"`labels` should hold non-negative pixel counts"):
        class_weights(-counts, "enet")
