"""AugmentedDataset, image round trips, seeding, pipelines and oversample_with_augmentation."""

from __future__ import annotations

import hashlib
import pickle
import random
import subprocess
import sys
import threading
import warnings
from pathlib import Path
from typing import Any

import albumentations as A
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from torch.utils.data import DataLoader, Dataset, Subset

from balancers.augment import (
    AugmentedDataset,
    default_pipeline,
    from_hwc,
    load_pipeline,
    oversample_with_augmentation,
    to_hwc,
)
from balancers.augment._images import array_spec
from balancers.augment._seeding import AUGMENT_STREAM, ItemRandom

REPO = Path(__file__).resolve().parents[1]


class Images(Dataset[Any]):
    """A small in-memory image dataset with a ``targets`` attribute."""

    def __init__(self, images: list[Any], targets: Any, transform: Any = None) -> None:
        self.images = images
        self.targets = targets
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[Any, Any]:
        image = self.images[i]
        if self.transform is not None:
            image = self.transform(image)
        return image, self.targets[i]


def noise_images(n: int, shape: tuple[int, ...] = (16, 16, 3), seed: int = 0) -> list[Any]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, shape, dtype=np.uint8) for _ in range(n)]


def strong_pipeline() -> A.Compose:
    """Always changes a noise image: rotation of at least 10 degrees, then brightness."""
    return A.Compose(
        [
            A.Affine(rotate=(10, 30), p=1.0),
            A.RandomBrightnessContrast(brightness_limit=(0.1, 0.3), p=1.0),
        ]
    )


def as_array(image: Any) -> np.ndarray:
    if isinstance(image, torch.Tensor):
        return image.numpy()
    return np.asarray(image)


def digest(ds: Any) -> str:
    h = hashlib.sha256()
    for k in range(len(ds)):
        h.update(np.ascontiguousarray(as_array(ds[k][0])).tobytes())
    return h.hexdigest()


@pytest.fixture
def base() -> Images:
    return Images(noise_images(4), [0, 0, 1, 2])


INDICES = [0, 1, 2, 3, 2, 2, 3, 0]


# -- what is served ----------------------------------------------------------------------------
def test_originals_untouched_and_repeats_differ(base: Images) -> None:
    ds = AugmentedDataset(base, INDICES, strong_pipeline(), seed=0)
    assert ds.augmented.tolist() == [False] * 4 + [True] * 4
    for k, i in enumerate(INDICES):
        image, target = ds[k]
        assert target == base.targets[i]
        assert image.dtype == np.uint8 and image.shape == (16, 16, 3)
        if k < 4:
            np.testing.assert_array_equal(image, base.images[i])
        else:
            assert not np.array_equal(image, base.images[i])
    # two clones of the same index get different augmentations
    assert not np.array_equal(ds[4][0], ds[5][0])


def test_all_and_none_modes(base: Images) -> None:
    every = AugmentedDataset(base, INDICES, strong_pipeline(), augment="all")
    assert every.augmented.all()
    assert all(not np.array_equal(every[k][0], base.images[i]) for k, i in enumerate(INDICES))
    plain = AugmentedDataset(base, INDICES, None, augment="none")
    assert not plain.augmented.any()
    for k, i in enumerate(INDICES):
        np.testing.assert_array_equal(plain[k][0], base.images[i])


def test_same_seed_same_pixels_other_seed_or_epoch_other_pixels(base: Images) -> None:
    a = AugmentedDataset(base, INDICES, strong_pipeline(), seed=3)
    b = AugmentedDataset(base, INDICES, strong_pipeline(), seed=3)
    c = AugmentedDataset(base, INDICES, strong_pipeline(), seed=4)
    assert digest(a) == digest(b) != digest(c)
    epoch0 = [a[k][0] for k in range(len(a))]
    a.set_epoch(1)
    assert a.epoch == 1
    for k in range(len(a)):
        same = np.array_equal(a[k][0], epoch0[k])
        assert same == (k < 4), k  # originals stay, clones change with the epoch
    a.set_epoch(0)
    assert all(np.array_equal(a[k][0], epoch0[k]) for k in range(len(a)))


def test_item_does_not_depend_on_access_order(base: Images) -> None:
    ds = AugmentedDataset(base, INDICES, strong_pipeline(), seed=1)
    forward = [ds[k][0] for k in range(len(ds))]
    backward = [ds[k][0] for k in reversed(range(len(ds)))][::-1]
    for x, y in zip(forward, backward, strict=True):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(ds[-1][0], forward[-1])


def _loader_images(ds: AugmentedDataset, workers: int, **kwargs: Any) -> list[np.ndarray]:
    loader = DataLoader(ds, batch_size=3, num_workers=workers, **kwargs)
    return [img.numpy() for batch, _ in loader for img in batch]


def _spawn_data() -> list[tuple[np.ndarray, int]]:
    """Items as a plain list (picklable into spawned processes)."""
    return [(image, i % 3) for i, image in enumerate(noise_images(9, (8, 8, 3), seed=2))]


def _pixels(ds: AugmentedDataset, epoch: int, workers: int, **kwargs: Any) -> list[bytes]:
    ds.set_epoch(epoch)
    loader = DataLoader(ds, batch_size=4, num_workers=workers, **kwargs)
    return [image.numpy().tobytes() for batch, _ in loader for image in batch]


def rank_pixels(indices: list[int]) -> tuple[int, dict[int, list[bytes]]]:
    """DDP target: each rank serves every item of epochs 0 and 1 (no workers)."""
    import torch.distributed as dist

    ds = AugmentedDataset(_spawn_data(), indices, default_pipeline(), seed=21)
    return dist.get_rank(), {e: _pixels(ds, e, 0) for e in (0, 1)}


@pytest.mark.slow
def test_same_pixels_with_0_and_3_spawned_workers_and_on_every_gloo_rank() -> None:
    from tests._harness import run_ddp

    indices = [*range(9), 0, 0, 4, 4, 4, 8, 1]
    ds = AugmentedDataset(_spawn_data(), indices, default_pipeline(), seed=21)
    want = {e: _pixels(ds, e, 0) for e in (0, 1)}
    augmented = ds.augmented.tolist()
    differ = [a != b for a, b in zip(want[0], want[1], strict=True)]
    assert not any(d for d, aug in zip(differ, augmented, strict=True) if not aug)  # originals
    assert sum(differ) >= 4  # of 7 clones (the default pipeline may leave a clone as it is)
    with warnings.catch_warnings():  # 3 workers on a 2-core machine: torch's advice, not a fault
        warnings.filterwarnings("ignore", "This DataLoader will create", UserWarning)
        spawned = _pixels(ds, 1, 3, multiprocessing_context="spawn")
    assert spawned == want[1]
    for rank, got in sorted(run_ddp(2, rank_pixels, indices)):
        assert got == want, rank


def test_same_output_with_0_and_2_workers_and_epochs_reach_persistent_workers() -> None:
    base = Images(noise_images(12, (8, 8, 3)), list(range(12)))
    indices = [*range(12), 0, 0, 5, 5, 5, 11]
    ds = AugmentedDataset(base, indices, default_pipeline(), seed=7)
    ref = {e: [] for e in (0, 1)}
    for e in (0, 1):
        ds.set_epoch(e)
        ref[e] = _loader_images(ds, 0)
    assert any(not np.array_equal(x, y) for x, y in zip(ref[0], ref[1], strict=True))
    loader = DataLoader(ds, batch_size=3, num_workers=2, persistent_workers=True)
    for e in (0, 1):
        ds.set_epoch(e)
        got = [img.numpy() for batch, _ in loader for img in batch]
        for x, y in zip(got, ref[e], strict=True):
            np.testing.assert_array_equal(x, y)


def test_no_global_random_state_is_read_or_changed(base: Images) -> None:
    ds = AugmentedDataset(base, INDICES, strong_pipeline(), seed=0)
    first = digest(ds)
    random.seed(123)
    np.random.seed(123)  # noqa: NPY002 - the test checks that the library ignores it
    torch.manual_seed(123)
    states = (random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state())  # noqa: NPY002
    assert digest(ds) == first
    assert random.getstate() == states[0]
    np.testing.assert_array_equal(np.random.get_state()[1], states[1])  # noqa: NPY002
    assert torch.equal(torch.get_rng_state(), states[2])


def global_rng_transform(*, image: np.ndarray) -> dict[str, Any]:
    """A transform in the albumentations calling convention that draws from global RNGs."""
    shift = random.randint(1, 50) + int(np.random.randint(0, 50))  # noqa: NPY002
    return {"image": (image.astype(np.int64) + shift).clip(0, 255).astype(np.uint8)}


def test_callable_without_set_random_state_is_seeded_and_restores_globals(base: Images) -> None:
    ds = AugmentedDataset(base, INDICES, global_rng_transform, seed=0)
    py_state, np_state = random.getstate(), np.random.get_state()  # noqa: NPY002
    first = digest(ds)
    assert random.getstate() == py_state
    np.testing.assert_array_equal(np.random.get_state()[1], np_state[1])  # noqa: NPY002
    random.random()
    assert digest(ds) == first
    again = AugmentedDataset(base, INDICES, global_rng_transform, seed=0)
    assert digest(again) == first


# -- per-item random state ---------------------------------------------------------------------
class Seeded:
    """The random-state part of an albumentations-style transform (``set_random_state``)."""

    def __init__(self) -> None:
        self.random_generator = np.random.default_rng(0)
        self.py_random = random.Random(0)

    def set_random_state(self, generator: np.random.Generator, py_random: random.Random) -> None:
        self.random_generator, self.py_random = generator, py_random


class Draws(Seeded):
    """An albumentations-style transform whose output image holds its random draws (Python
    doubles, getrandbits, gauss, randint, and numpy draws of 64 and 32 bits: an odd number of
    32-bit ones, so that a buffered half would leak into the next item)."""

    def __call__(self, *, image: np.ndarray) -> dict[str, Any]:
        r, g = self.py_random, self.random_generator
        values = [r.random() for _ in range(5)]
        values += [r.getrandbits(7), r.getrandbits(64), r.gauss(0.0, 1.0), r.randint(0, 10**6)]
        values += [g.random(), *g.integers(0, 2**31, size=3, dtype=np.int32).tolist()]
        raw = np.asarray(values, dtype=np.float64).view(np.uint8)
        return {"image": raw.reshape(len(values), 8, 1)}


class KeepsBoundMethods(Seeded):
    """Keeps bound methods of its generators across items, as some libraries do."""

    def set_random_state(self, generator: np.random.Generator, py_random: random.Random) -> None:
        super().set_random_state(generator, py_random)
        self.draw, self.py_draw = generator.random, py_random.random

    def __call__(self, *, image: np.ndarray) -> dict[str, Any]:
        values = np.asarray([self.draw(), self.py_draw()]).view(np.uint8)
        return {"image": values.reshape(2, 8, 1)}


def test_item_state_is_pinned() -> None:
    """Stream version 2, pinned: changing it changes every augmented pixel (and needs a new
    AUGMENT_STREAM)."""
    assert AUGMENT_STREAM == 2
    r = ItemRandom(0)
    assert r.state_int(0, 0) == 0xA30FEBCFD9C2825F4510BDF882D9D721
    assert r.state_int(3, 7) == 0xB23C8C1973B1FDECDC441EDAF461C40D
    r.reseed(0, 0)
    assert [r.py_random.random() for _ in range(2)] == [0.15196443972588825, 0.19583705989872813]
    assert r.py_random.getrandbits(64) == 17838628064825012976
    assert int(r.generator.integers(0, 2**32)) == 490234184


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**63 - 1), st.integers(0, 1000), st.lists(st.integers(0, 2**40), max_size=8))
def test_item_state_depends_only_on_seed_epoch_and_k(seed: int, epoch: int, ks: list[int]) -> None:
    fresh, used = ItemRandom(seed), ItemRandom(seed)
    for k in ks:  # whatever items came before
        used.reseed(epoch + 1, k)
        used.generator.integers(0, 2**31, dtype=np.int32)  # leaves half a draw buffered
        used.py_random.gauss(0.0, 1.0)
    for r in (fresh, used):
        r.reseed(epoch, 5)
    assert fresh.generator.integers(0, 2**31, size=3, dtype=np.int32).tolist() == (
        used.generator.integers(0, 2**31, size=3, dtype=np.int32).tolist()
    )
    assert fresh.py_random.random() == used.py_random.random()


def test_items_are_the_same_whatever_came_before_and_with_kept_bound_methods() -> None:
    base = Images(noise_images(4, (4, 4, 3)), [0, 1, 2, 3])
    for transform in (Draws(), KeepsBoundMethods()):
        ds = AugmentedDataset(base, [0, 1, 2, 3] * 3, transform, augment="all", seed=9)
        ds.set_epoch(3)
        forward = [ds[k][0] for k in range(12)]
        for k in (7, 2, 11, 0):
            alone = AugmentedDataset(base, [0, 1, 2, 3] * 3, transform, augment="all", seed=9)
            alone.set_epoch(3)
            np.testing.assert_array_equal(alone[k][0], forward[k])
        assert len({x.tobytes() for x in forward}) == 12


def test_pickled_dataset_serves_the_same_items() -> None:
    base = Images(noise_images(4, (4, 4, 3)), [0, 1, 2, 3])
    ds = AugmentedDataset(base, [0, 1, 2, 3, 1, 1], Draws(), augment="all", seed=5)
    ds.set_epoch(4)
    want = [ds[k][0] for k in range(6)]
    copy = pickle.loads(pickle.dumps(ds))
    for k in range(6):
        np.testing.assert_array_equal(copy[k][0], want[k])


# -- the caller's pipeline and pipeline errors -----------------------------------------------
def _random_state(transform: Any) -> tuple[Any, ...]:
    return transform.random_generator.bit_generator.state, transform.py_random.getstate()


def test_callers_pipeline_is_never_modified(base: Images) -> None:
    pipeline = default_pipeline(horizontal_flip=True)
    described = pipeline.to_dict()
    states = [_random_state(t) for t in (pipeline, *pipeline.transforms)]
    objects = {id(t): t for t in pipeline.transforms}
    attributes = {id(t): {k: repr(v) for k, v in vars(t).items()} for t in pipeline.transforms}
    ds = AugmentedDataset(base, INDICES, pipeline, seed=0)
    assert ds.transform is not pipeline
    digest(ds)
    _loader_images(ds, 2)
    for t, state in zip((pipeline, *pipeline.transforms), states, strict=True):
        assert _same_state(_random_state(t), state)
    assert pipeline.to_dict() == described
    for t in pipeline.transforms:
        assert objects[id(t)] is t
        assert {k: repr(v) for k, v in vars(t).items()} == attributes[id(t)]


def _same_state(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    return bool(a[0] == b[0] and a[1] == b[1])


class HoldsALock(A.ImageOnlyTransform):
    """A transform with an attribute that copy.deepcopy cannot copy."""

    def __init__(self) -> None:
        super().__init__(p=1.0)
        self.lock = threading.Lock()

    def apply(self, img: np.ndarray, **params: Any) -> np.ndarray:
        return img


def test_uncopyable_pipeline_is_a_clear_type_error(base: Images) -> None:
    pipeline = A.Compose([A.HorizontalFlip(), A.OneOf([A.Blur(), HoldsALock()])])
    with pytest.raises(TypeError, match=r"`transform` should be copyable.*HoldsALock.*lock") as e:
        AugmentedDataset(base, INDICES, pipeline)
    assert "__deepcopy__" in str(e.value)
    with pytest.raises(TypeError, match="HoldsALock"):
        oversample_with_augmentation(base, pipeline)


class RaisesOnce(Seeded):
    """Counts the items it runs (by their source image) and raises on the image ``bad``."""

    def __init__(self, bad: int) -> None:
        super().__init__()
        self.bad, self.calls = bad, []

    def __call__(self, *, image: np.ndarray) -> dict[str, Any]:
        self.calls.append(int(image[0, 0, 0]))
        if image[0, 0, 0] == self.bad:
            raise ValueError("this image is broken")
        return {"image": image}


def test_pipeline_error_names_k_and_source_index_and_nothing_runs_twice() -> None:
    images = [np.full((4, 4, 3), i, np.uint8) for i in range(5)]
    base = Images(images, [0, 1, 2, 3, 4])
    indices = [0, 1, 2, 3, 4, 4, 0, 3, 1]  # clones at k = 5..8; k = 7 is image 3
    ds = AugmentedDataset(base, indices, RaisesOnce(bad=3), seed=0)
    loader = DataLoader(ds, batch_size=9)
    with pytest.raises(RuntimeError, match=r"item k=7 \(source index 3, epoch 0\)") as e:
        next(iter(loader))
    assert isinstance(e.value.__cause__, ValueError)
    assert "ValueError: this image is broken" in str(e.value)
    assert ds.transform.calls == [4, 0, 3]  # k = 5, 6, 7: each once, then the error
    with pytest.raises(RuntimeError, match=r"item k=7 \(source index 3"):
        ds[7]


def test_array_spec_takes_only_contiguous_uint8_or_float32_arrays() -> None:
    for dtype in (np.uint8, np.float32):
        for shape in ((3, 4), (3, 4, 2)):
            image = np.zeros(shape, dtype)
            spec = array_spec(image)
            assert spec == to_hwc(image)[1] and to_hwc(image)[0] is image
    view = np.zeros((4, 4, 3), np.uint8)[:, ::-1]
    for image in (view, np.zeros((3, 4), np.float64), np.zeros((2, 3, 4, 1), np.uint8), [1]):
        assert array_spec(image) is None
    arr, spec = to_hwc(view)
    assert arr.flags.c_contiguous and spec.kind == "numpy"


class _SomeFloat(Seeded):
    """A seeded transform that returns a float32 image for some items and a flipped uint8 copy
    for the others (or, with ``wrap``, something that is not a dict)."""

    def __init__(self, wrap: bool = False) -> None:
        super().__init__()
        self.wrap = wrap

    def __call__(self, *, image: np.ndarray) -> Any:
        x = self.py_random.random()
        out = image.astype(np.float32) * x if x < 0.5 else image[::-1].copy()
        return [out] if self.wrap else {"image": out, "extra": 1}


def test_pipeline_that_changes_the_kind_of_some_images() -> None:
    images = noise_images(6, (4, 4, 3))
    base = Images(images, list(range(6)))
    indices = [*range(6)] * 4
    ds = AugmentedDataset(base, indices, _SomeFloat(), seed=2)
    got = [ds[k] for k in range(24)]
    # the uint8 input comes back as uint8 whatever dtype the pipeline returned
    assert {item[0].dtype for item in got} == {np.dtype(np.uint8)}
    flipped = [np.array_equal(got[k][0], images[indices[k]][::-1]) for k in range(6, 24)]
    assert 0 < sum(flipped) < 18  # both kinds of result among the augmented items
    bad = AugmentedDataset(base, [0, 0, 1, 1], _SomeFloat(wrap=True))
    with pytest.raises(TypeError, match=r"albumentations convention transform\(image=array\)"):
        bad[1]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=1, max_size=30), st.sampled_from(["repeats", "all"]))
def test_mask_and_targets_invariants(indices: list[int], mode: str) -> None:
    base = Images(noise_images(6, (4, 4)), [10, 11, 12, 13, 14, 15])
    ds = AugmentedDataset(base, indices, A.Compose([A.HorizontalFlip(p=1.0)]), augment=mode)
    seen: set[int] = set()
    expected = []
    for i in indices:
        expected.append(mode == "all" or i in seen)
        seen.add(i)
    assert ds.augmented.tolist() == expected
    assert len(ds) == len(indices)
    assert ds.targets.tolist() == [10 + i for i in indices]
    for k, i in enumerate(indices):
        image, target = ds[k]
        assert target == 10 + i
        want = base.images[i][:, ::-1] if expected[k] else base.images[i]
        np.testing.assert_array_equal(image, want)


# -- image kinds -------------------------------------------------------------------------------
def _rgb(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (12, 10, 3), dtype=np.uint8)


KINDS = {
    "pil-L": lambda: Image.fromarray(_rgb()[:, :, 0]),
    "pil-RGB": lambda: Image.fromarray(_rgb()),
    "pil-RGBA": lambda: Image.fromarray(np.dstack([_rgb(), _rgb(1)[:, :, :1]])),
    "pil-P": lambda: Image.fromarray(_rgb()).convert("P"),
    "numpy-uint8-HW": lambda: _rgb()[:, :, 0].copy(),
    "numpy-uint8-HWC": _rgb,
    "numpy-float32": lambda: _rgb().astype(np.float32) / 255,
    "numpy-float64": lambda: _rgb().astype(np.float64) / 255,
    "tensor-uint8-CHW": lambda: torch.from_numpy(_rgb().transpose(2, 0, 1).copy()),
    "tensor-float32-CHW": lambda: torch.from_numpy(_rgb().transpose(2, 0, 1) / 255.0).float(),
    "tensor-float64-1HW": lambda: torch.from_numpy(_rgb()[None, :, :, 0] / 255.0),
    "tensor-uint8-HW": lambda: torch.from_numpy(_rgb()[:, :, 0].copy()),
}


def _kind(image: Any) -> tuple[Any, ...]:
    if isinstance(image, Image.Image):
        return ("pil", image.mode if image.mode != "P" else "RGB", image.size)
    if isinstance(image, np.ndarray):
        return ("numpy", image.dtype, image.shape)
    return ("tensor", image.dtype, tuple(image.shape))


@pytest.mark.parametrize("name", sorted(KINDS))
def test_each_image_kind_round_trips_type_and_dtype(name: str) -> None:
    image = KINDS[name]()
    arr, spec = to_hwc(image)
    assert arr.dtype in (np.uint8, np.float32) and arr.ndim in (2, 3)
    back = from_hwc(arr, spec)
    assert _kind(back) == _kind(image)
    if not (isinstance(image, Image.Image) and image.mode == "P"):
        np.testing.assert_allclose(as_array(back), as_array(image), atol=1e-6)
    ds = AugmentedDataset(Images([image], [5]), [0, 0], strong_pipeline(), seed=0)
    (orig, t0), (aug, t1) = ds[0], ds[1]
    assert orig is image and t0 == t1 == 5
    assert _kind(aug) == _kind(image)
    assert not np.array_equal(as_array(aug), as_array(image))


def test_float_images_stay_in_range() -> None:
    image = _rgb().astype(np.float32) / 255
    ds = AugmentedDataset(Images([image], [0]), [0], strong_pipeline(), augment="all")
    out = ds[0][0]
    assert out.dtype == np.float32 and out.min() >= 0.0 and out.max() <= 1.0


def test_multilabel_targets_pass_through_unchanged() -> None:
    targets = [np.array([1, 0, 1], dtype=np.int8), np.array([0, 1, 0], dtype=np.int8)]
    tensors = [torch.tensor([1.0, 0.0, 1.0]), torch.tensor([0.0, 1.0, 0.0])]
    for labels in (targets, tensors):
        base = Images(noise_images(2), labels)
        ds = AugmentedDataset(base, [0, 1, 1, 0], strong_pipeline())
        for k, i in enumerate([0, 1, 1, 0]):
            target = ds[k][1]
            assert target is labels[i]
        assert ds.targets.shape == (4, 3)


def test_items_that_are_bare_images_or_lists() -> None:
    images = noise_images(2)

    class Bare(Dataset[Any]):
        def __len__(self) -> int:
            return 2

        def __getitem__(self, i: int) -> Any:
            return images[i] if i == 0 else [images[i], 1, "extra"]

    ds = AugmentedDataset(Bare(), [0, 1, 0, 1], strong_pipeline())
    assert isinstance(ds[2], np.ndarray) and ds[2].shape == images[0].shape
    item = ds[3]
    assert isinstance(item, list) and item[1:] == [1, "extra"]


# -- datasets with their own transform ---------------------------------------------------------
def _image_folder(root: Path, n_per_class: int = 3) -> Path:
    rng = np.random.default_rng(0)
    for c in ("cat", "dog"):
        (root / c).mkdir(parents=True)
        for i in range(n_per_class):
            pixels = rng.integers(0, 256, (10, 10, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / c / f"{i}.png")
    return root


def test_dataset_transform_applied_after_augmentation(tmp_path: Path) -> None:
    from torchvision import transforms as T
    from torchvision.datasets import ImageFolder

    to_tensor = T.ToTensor()
    folder = ImageFolder(str(_image_folder(tmp_path / "data")), transform=to_tensor)
    raw = ImageFolder(str(tmp_path / "data"))
    pipeline = strong_pipeline()
    for ds_in, idx in ((folder, [0, 3, 3]), (Subset(folder, [3, 0, 1]), [1, 0, 0])):
        ds = AugmentedDataset(ds_in, idx, pipeline, seed=2)
        image, target = ds[0]
        torch.testing.assert_close(image, ds_in[idx[0]][0])  # original: dataset[i] exactly
        clone, target = ds[2]
        assert isinstance(clone, torch.Tensor) and clone.dtype == torch.float32
        raw_index = idx[2] if ds_in is folder else [3, 0, 1][idx[2]]
        expected = to_tensor(ds.augment_image(raw[raw_index][0], 2))  # PIL in, then ToTensor
        torch.testing.assert_close(clone, expected)
        assert target == raw[raw_index][1]
    assert folder.transform is to_tensor  # the caller's dataset is not modified


def test_dataset_transform_keep_augments_the_transformed_image(tmp_path: Path) -> None:
    from torchvision import transforms as T
    from torchvision.datasets import ImageFolder

    folder = ImageFolder(str(_image_folder(tmp_path / "data")), transform=T.ToTensor())
    ds = AugmentedDataset(folder, [0, 0], strong_pipeline(), dataset_transform="keep")
    clone = ds[1][0]
    assert isinstance(clone, torch.Tensor) and clone.dtype == torch.float32
    expected = ds.augment_image(folder[0][0], 1)
    torch.testing.assert_close(clone, expected)


# -- pipelines ---------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_pipeline_file_round_trip(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"pipeline.{fmt}"
    A.save(default_pipeline(), str(path), data_format=fmt)
    loaded = load_pipeline(path)
    image = _rgb()
    base = Images([image], [0])
    a = AugmentedDataset(base, [0], default_pipeline(), augment="all", seed=5)
    b = AugmentedDataset(base, [0], loaded, augment="all", seed=5)
    for e in range(4):
        a.set_epoch(e)
        b.set_epoch(e)
        np.testing.assert_array_equal(a[0][0], b[0][0])


def test_default_pipeline_never_flips_unless_asked_and_keeps_the_background() -> None:
    assert [type(t).__name__ for t in default_pipeline().transforms] == ["Affine", "RandomGamma"]
    flipping = default_pipeline(horizontal_flip=True).transforms
    assert [type(t).__name__ for t in flipping] == ["HorizontalFlip", "Affine", "RandomGamma"]
    digit = np.zeros((28, 28), np.uint8)  # an MNIST-like "1": white stroke on black
    digit[6:22, 12:16] = 255
    page = 255 - digit  # dark ink on a white page
    float_digit = digit.astype(np.float32) / 255
    for image in (digit, page, float_digit, np.dstack([digit] * 3)):
        ds = AugmentedDataset([(image, 0)] * 40, range(40), default_pipeline(), augment="all")
        changed = 0
        for k in range(40):
            out = ds[k][0]
            assert out.shape == image.shape and out.dtype == image.dtype
            corners = out[[0, 0, -1, -1], [0, -1, 0, -1]]
            np.testing.assert_array_equal(corners, image[[0, 0, -1, -1], [0, -1, 0, -1]])
            changed += not np.array_equal(out, image)
        assert changed > 10
    with pytest.raises(TypeError, match="`horizontal_flip` should be True or False"):
        default_pipeline(horizontal_flip=1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "suffix"),
    [
        ("transform: [not, a, pipeline", ".yaml"),
        ("{'__class_fullname__': 'NoSuchTransform', 'p': 1}", ".yaml"),
        ('{"transform": {"__class_fullname__": "NoSuchTransform"}}', ".json"),
        ("not json at all", ".json"),
        ("", ".txt"),
    ],
)
def test_pipeline_file_that_does_not_parse(tmp_path: Path, text: str, suffix: str) -> None:
    path = tmp_path / f"broken{suffix}"
    path.write_text(text)
    with pytest.raises(
        ValueError, match=r"Could not read an albumentations pipeline from .*broken"
    ):
        load_pipeline(path)


def test_pipeline_file_missing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.yaml"):
        load_pipeline(tmp_path / "nope.yaml")
    with pytest.raises(TypeError, match="`path` should be a path"):
        load_pipeline(3)  # type: ignore[arg-type]


def test_import_without_albumentations_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['albumentations'] = None\n"
        "import balancers\n"
        "try:\n    import balancers.augment\nexcept ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert 'pip install "balancers[augment]"' in out.stdout


# -- bad input ---------------------------------------------------------------------------------
def _pipe() -> A.Compose:
    return A.Compose([A.HorizontalFlip()])


BAD = [
    (dict(augment="some"), ValueError, "`augment` should be one of 'repeats', 'all', 'none'"),
    (dict(augment=1), TypeError, "`augment` should be one of"),
    (dict(indices=[0, 4]), ValueError, r"`indices` should be in \[0, 4\).*indices\[1\]=4"),
    (dict(indices=[-1, 0]), ValueError, r"`indices` should be in \[0, 4\).*indices\[0\]=-1"),
    (dict(indices=[[0, 1]]), ValueError, "`indices` should be 1-D"),
    (dict(indices=[]), ValueError, "`indices` should not be empty"),
    (dict(indices=[0.5]), TypeError, "`indices` should hold integer dataset indices"),
    (dict(indices=[True]), TypeError, "`indices` should hold integer dataset indices"),
    (dict(indices="0"), TypeError, "`indices` should be a 1-D array-like"),
    (dict(indices=None), TypeError, "`indices` should be a 1-D array-like"),
    (dict(transform="flip"), TypeError, "`transform` should be a callable albumentations"),
    (dict(transform=None), ValueError, "`transform` should be an albumentations transform"),
    (dict(seed=-1), ValueError, "`seed` should be a non-negative integer or None"),
    (dict(seed=True), TypeError, "`seed` should be a non-negative integer or None"),
    (dict(dataset_transform="before"), ValueError, "`dataset_transform` should be one of"),
    (dict(dataset=3), TypeError, "`dataset` should be a map-style dataset"),
]


@pytest.mark.parametrize(("kwargs", "error", "message"), BAD)
def test_bad_input(base: Images, kwargs: dict[str, Any], error: type, message: str) -> None:
    args: dict[str, Any] = {"dataset": base, "indices": [0, 1], "transform": _pipe()}
    args.update(kwargs)
    with pytest.raises(error, match=message):
        AugmentedDataset(args.pop("dataset"), args.pop("indices"), args.pop("transform"), **args)


def test_bad_input_at_use(base: Images) -> None:
    ds = AugmentedDataset(base, [0, 0], _pipe())
    with pytest.raises(ValueError, match="`epoch` should be a non-negative integer"):
        ds.set_epoch(-1)
    with pytest.raises(TypeError, match="`epoch` should be a non-negative integer"):
        ds.set_epoch(1.0)  # type: ignore[arg-type]
    bad = AugmentedDataset(base, [0, 0], lambda image: image)
    with pytest.raises(TypeError, match=r"albumentations convention transform\(image=array\)"):
        bad[1]
    for image, message in [
        ("a string", "Cannot augment an image of type str"),
        (np.zeros((4, 4), np.uint16), "Cannot augment a numpy array of dtype uint16"),
        (np.zeros((1, 4, 4, 3), np.uint8), r"Cannot augment a numpy array of shape \(1, 4, 4, 3\)"),
        (torch.zeros(3, 4, 4, dtype=torch.int32), "Cannot augment a tensor of dtype torch.int32"),
        (Image.new("I;16", (4, 4)), "Cannot augment a PIL image in mode 'I;16'"),
    ]:
        ds = AugmentedDataset(Images([image], [0]), [0, 0], _pipe())
        assert ds[0][0] is image  # originals are never converted
        with pytest.raises(TypeError, match=message):
            ds[1]
    with pytest.raises(IndexError):
        ds[2]


# -- oversample_with_augmentation --------------------------------------------------------------
def test_oversample_with_augmentation_multilabel() -> None:
    y = np.array([[1, 0], [1, 0], [1, 0], [1, 0], [1, 0], [1, 0], [1, 1], [0, 1]], dtype=np.int8)
    base = Images(noise_images(8), list(y))
    ds = oversample_with_augmentation(base, strong_pipeline(), percentage=25.0, seed=0)
    from balancers.resample import ml_ros

    expected = ml_ros(y, 25.0, seed=0)  # 2 clones: the whole budget (50% would warn: a ceiling)
    np.testing.assert_array_equal(ds.indices, expected)
    n_clones = len(expected) - 8
    assert n_clones > 0 and ds.augmented.tolist() == [False] * 8 + [True] * n_clones
    assert set(ds.indices[8:].tolist()) <= {6, 7}  # only rows with the minority label
    for k in range(len(ds)):
        np.testing.assert_array_equal(ds[k][1], y[ds.indices[k]])
    with pytest.raises(ValueError, match="`sampling_strategy` should be 'auto' for multilabel"):
        oversample_with_augmentation(base, strong_pipeline(), "minority")
    with pytest.raises(ValueError, match="percentage"):
        oversample_with_augmentation(base, strong_pipeline(), percentage=-1.0)


def test_oversample_with_augmentation_checks_before_resampling(base: Images) -> None:
    with pytest.raises(TypeError, match="`transform` should be a callable"):
        oversample_with_augmentation(base, "flip")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`augment` should be one of"):
        oversample_with_augmentation(base, _pipe(), augment="twice")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="`dataset` should be a map-style dataset"):
        oversample_with_augmentation(None, _pipe())


def test_oversample_with_augmentation_multiclass() -> None:
    base = Images(noise_images(7), [3, 3, 3, 3, 7, 7, 42])
    ds = oversample_with_augmentation(base, strong_pipeline(), seed=4)
    from balancers.resample import random_oversample

    np.testing.assert_array_equal(ds.indices, random_oversample(base.targets, seed=4))
    assert np.unique(ds.targets, return_counts=True)[1].tolist() == [4, 4, 4]
    assert int(ds.augmented.sum()) == 12 - 7
    for k, i in enumerate(ds.indices.tolist()):
        image, target = ds[k]
        assert target == base.targets[i]
        assert np.array_equal(image, base.images[i]) == (not ds.augmented[k])
    minority = oversample_with_augmentation(base, strong_pipeline(), {42: 3}, seed=4)
    assert np.bincount(minority.indices).tolist() == [1, 1, 1, 1, 1, 1, 3]
    with pytest.raises(ValueError, match="absent from the labels"):
        oversample_with_augmentation(base, strong_pipeline(), {5: 10})
