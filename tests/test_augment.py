"""AugmentedDataset, image round trips, seeding, pipelines and oversample_with_augmentation."""

from __future__ import annotations

import hashlib
import pickle
import random
import subprocess
import sys
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
from balancers.augment._images import array_spec, batch_spec
from balancers.augment._seeding import PREFILL, ItemGenerator, ItemRandom, StreamRandom

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


_PROCESS_SCRIPT = """
import hashlib, numpy as np
from balancers.augment import AugmentedDataset, default_pipeline
rng = np.random.default_rng(0)
data = [(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8), i % 3) for i in range(10)]
ds = AugmentedDataset(data, [*range(10), 1, 1, 2, 9], default_pipeline(), seed=11)
ds.set_epoch(2)
h = hashlib.sha256()
for k in range(len(ds)):
    h.update(ds[k][0].tobytes())
print(h.hexdigest())
"""


def test_same_output_in_another_process() -> None:
    rng = np.random.default_rng(0)
    data = [(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8), i % 3) for i in range(10)]
    ds = AugmentedDataset(data, [*range(10), 1, 1, 2, 9], default_pipeline(), seed=11)
    ds.set_epoch(2)
    h = hashlib.sha256()
    for k in range(len(ds)):
        h.update(ds[k][0].tobytes())
    out = subprocess.run(
        [sys.executable, "-c", _PROCESS_SCRIPT],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        timeout=120,
    )
    assert out.stdout.strip() == h.hexdigest()


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


# -- per-item random state and DataLoader batches ----------------------------------------------
class Seeded:
    """The random-state part of an albumentations-style transform (``set_random_state``)."""

    def __init__(self) -> None:
        self.random_generator = np.random.default_rng(0)
        self.py_random = random.Random(0)

    def set_random_state(self, generator: np.random.Generator, py_random: random.Random) -> None:
        self.random_generator, self.py_random = generator, py_random


class Draws(Seeded):
    """An albumentations-style transform whose output image holds its random draws: more Python
    doubles than are prefilled per item, getrandbits of several sizes, gauss, randint, choice,
    and numpy draws of 64 and 32 bits (an odd number of 32-bit ones, so a buffered half would
    leak into the next item)."""

    def __init__(self, n_doubles: int = 2 * PREFILL + 3) -> None:
        super().__init__()
        self.n_doubles = n_doubles

    def __call__(self, *, image: np.ndarray) -> dict[str, Any]:
        r, g = self.py_random, self.random_generator
        values = [r.random() for _ in range(self.n_doubles)]
        values += [r.getrandbits(7), r.getrandbits(64), r.getrandbits(130) % 2**52]
        values += [r.gauss(0.0, 1.0), r.randint(0, 10**6), r.choice(range(1000))]
        values += [g.random(), *g.integers(0, 2**31, size=3, dtype=np.int32).tolist()]
        raw = np.asarray(values, dtype=np.float64).view(np.uint8)
        return {"image": raw.reshape(len(values), 8, 1)}


def _same(a: Any, b: Any) -> None:
    assert type(a) is type(b)
    if isinstance(a, tuple | list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b


def test_batches_equal_items_whatever_the_order() -> None:
    base = Images(noise_images(5, (4, 4, 3)), [0, 1, 2, 3, 4])
    indices = [0, 1, 2, 3, 4, 0, 0, 3, 4, 4, 1]
    ds = AugmentedDataset(base, indices, Draws(), seed=9)
    keys = [10, 3, -1, 5, 0, 7, 7, 6, -11, 9, 8]
    for epoch in (0, 3):
        ds.set_epoch(epoch)
        items = [ds[k] for k in keys]
        _same(ds.__getitems__(keys), items)
        _same(ds.__getitems__(keys[::-1]), items[::-1])
        for k, item in zip(keys, items, strict=True):
            _same(ds.get(k), item)
            assert item[1] == base.targets[indices[k]]
            if ds.augmented[k]:  # the draws: a float64 record per item
                assert item[0].shape == (2 * PREFILL + 13, 8, 1)
        assert ds.__getitems__([]) == []
    # a pipeline that draws fewer doubles than are prefilled
    few = AugmentedDataset(base, indices, Draws(n_doubles=2), augment="all")
    _same(few.__getitems__(keys), [few[k] for k in keys])
    with pytest.raises(IndexError, match="index 11 is out of range"):
        ds.__getitems__([0, 11])
    with pytest.raises(IndexError, match="index -12 is out of range"):
        ds.__getitems__([-12])


def test_batches_of_every_item_kind_equal_items() -> None:
    images = [KINDS[name]() for name in sorted(KINDS)]
    images.append(_rgb()[:, ::-1])  # a non-contiguous view
    base = Images(images, list(range(len(images))))
    indices = [*range(len(images))] * 2
    ds = AugmentedDataset(base, indices, strong_pipeline(), seed=1)
    keys = list(range(len(indices)))[::-1]
    for got, k in zip(ds.__getitems__(keys), keys, strict=True):
        want = ds[k]
        assert _kind(got[0]) == _kind(want[0]) and got[1] == want[1]
        np.testing.assert_array_equal(as_array(got[0]), as_array(want[0]))


def _to_float(*, image: np.ndarray) -> dict[str, Any]:
    return {"image": image.astype(np.float32) * 0.5}


class _FloatOut(Seeded):
    """A seeded transform whose output dtype differs from its input's."""

    def __call__(self, *, image: np.ndarray) -> dict[str, Any]:
        return {"image": image.astype(np.float32) * self.py_random.random()}


def test_batches_convert_back_and_keep_bare_and_list_items() -> None:
    images = noise_images(2)

    class Mixed(Dataset[Any]):
        def __len__(self) -> int:
            return 3

        def __getitem__(self, i: int) -> Any:
            return [images[0], 1, "extra"] if i == 2 else images[i] if i else (images[0], 0, 7)

    for transform in (_FloatOut(), _to_float):
        ds = AugmentedDataset(Mixed(), [0, 1, 2, 0, 1, 2], transform)
        keys = [5, 4, 3, 2, 1, 0]
        got = ds.__getitems__(keys)
        _same(got, [ds[k] for k in keys])
        assert got[0][1:] == [1, "extra"] and got[2][1:] == (0, 7)
        assert isinstance(got[1], np.ndarray) and got[1].dtype == np.uint8


def test_batches_through_dataloader_workers_equal_items() -> None:
    base = Images(noise_images(6, (4, 4, 3)), list(range(6)))
    ds = AugmentedDataset(base, [*range(6), 5, 5, 0], Draws(), seed=3)
    ds.set_epoch(2)
    want = [ds[k][0] for k in range(len(ds))]
    for workers in (0, 2):
        got = _loader_images(ds, workers)
        for x, y in zip(got, want, strict=True):
            np.testing.assert_array_equal(x, y)


def test_pickled_dataset_serves_the_same_items() -> None:
    base = Images(noise_images(4, (4, 4, 3)), [0, 1, 2, 3])
    ds = AugmentedDataset(base, [0, 1, 2, 3, 1, 1], Draws(), augment="all", seed=5)
    ds.set_epoch(4)
    want = ds.__getitems__(list(range(6)))
    copy = pickle.loads(pickle.dumps(ds))
    assert copy.transform.py_random is copy._random.py_random
    _same(copy.__getitems__(list(range(6))), want)
    _same([copy[k] for k in range(6)], want)


def test_item_state_is_pinned() -> None:
    """The random state of an item, pinned: changing it changes every augmented pixel."""
    r = ItemRandom(0)
    assert r.words(0, 0) == (0xE2987B4B5E16BA13, 0xB49C402BFC853363)
    assert r.words(3, 7) == (0xD693E41A6A025980, 0x084BC53B5D895076)
    assert r.state_int(0, 0) == 0xE2987B4B5E16BA13_B49C402BFC853363
    r.reseed(0, 0)
    doubles = [r.py_random.random() for _ in range(3)]
    assert doubles == [0.20313319012895747, 0.09398654412114726, 0.6875504332806165]
    assert r.py_random.getrandbits(64) == 5705200976106816590
    assert int(r.generator.integers(0, 2**32)) == 1332636119


@settings(max_examples=30, deadline=None)
@given(
    st.integers(0, 2**63 - 1),
    st.integers(0, 1000),
    st.lists(st.integers(0, 2**40), min_size=1, max_size=20),
)
def test_planned_states_equal_lazy_ones(seed: int, epoch: int, ks: list[int]) -> None:
    planned, lazy = ItemRandom(seed), ItemRandom(seed)
    draws = PREFILL + 4  # past the prefilled doubles
    entries = planned.plan(epoch, np.asarray(ks, dtype=np.int64))
    for k, entry in zip(ks, entries, strict=True):
        hi, lo, row = entry
        assert (hi, lo) == lazy.words(epoch, k) and len(row) == PREFILL
        planned.install(entry)
        a = [planned.py_random.random() for _ in range(draws)], planned.generator.random()
        lazy.reseed(epoch, k)
        b = [lazy.py_random.random() for _ in range(draws)], lazy.generator.random()
        assert a == b
        assert all(0.0 <= x < 1.0 for x in a[0])
        assert list(row) == a[0][:PREFILL]


class Doubles(Seeded):
    """Draws ``counts[i]`` doubles for the ``i``-th item it sees, then one numpy double; the
    image holds them (zero-padded). ``swallow`` hides a ``StopIteration`` as some code would."""

    def __init__(self, counts: list[int], swallow: bool = False) -> None:
        super().__init__()
        self.counts, self.swallow, self.calls = counts, swallow, 0

    def __call__(self, *, image: int) -> dict[str, Any]:
        count = self.counts[image]
        self.calls += 1
        values = []
        for _ in range(count):
            try:
                values.append(self.py_random.random())
            except StopIteration:
                if not self.swallow:
                    raise
                values.append(-1.0)
        values.append(self.random_generator.random())
        return {"image": values + [0.0] * (2 * PREFILL + 2 - len(values))}


@pytest.mark.parametrize("swallow", [False, True])
def test_run_equals_whole_streams_when_items_draw_past_the_prefilled_doubles(
    swallow: bool,
) -> None:
    ks = np.arange(10, 16, dtype=np.int64)
    counts = [3, PREFILL - 1, 0, 5, 2, 1]
    reference = ItemRandom(7)
    transform = Doubles(counts)
    reference.bind(transform)
    want = []
    for k, image in zip(ks.tolist(), range(6), strict=True):
        reference.reseed(2, k)
        want.append(transform(image=image))
    r = ItemRandom(7)
    fast = Doubles(counts, swallow)
    r.bind(fast)
    assert r.run(fast, 2, ks, range(6)) == want
    assert fast.calls == 6 and not r.whole_streams  # all within the prefilled doubles
    for count in (PREFILL, PREFILL + 1, 2 * PREFILL):  # the item at position 1 reaches the end
        fast.counts = transform.counts = [3, count, 0, 5, 2, 1]
        for k, image in zip(ks.tolist(), range(6), strict=True):
            reference.reseed(2, k)
            want[image] = transform(image=image)
        r = ItemRandom(7)
        r.bind(fast)
        fast.calls = 0
        assert r.run(fast, 2, ks, range(6)) == want
        assert r.whole_streams  # later batches draw from whole streams at once
        assert fast.calls == (7 if swallow or count == PREFILL else 2 + 6)  # all again
        fast.calls = 0
        assert r.run(fast, 2, ks, range(6)) == want
        assert fast.calls == 6


def test_run_raises_the_pipeline_error_again() -> None:
    r = ItemRandom(0)

    def broken(*, image: int) -> dict[str, Any]:
        if image == 2:
            raise ValueError("image 2 is broken")
        return {"image": image}

    with pytest.raises(ValueError, match="image 2 is broken"):
        r.run(broken, 0, np.arange(4, dtype=np.int64), range(4))


def test_stream_random_methods() -> None:
    r = ItemRandom(1)
    r.reseed(0, 4)
    py = r.py_random
    assert isinstance(py, StreamRandom) and isinstance(py, random.Random)
    assert py.getrandbits(0) == 0
    for bits in (1, 7, 64, 65, 200):
        assert 0 <= py.getrandbits(bits) < 2**bits
    assert len({py.getrandbits(64) for _ in range(50)}) == 50
    assert 0 <= py.randint(3, 9) - 3 <= 6 and py.choice("abc") in "abc"
    values = [py.gauss(1.0, 2.0) for _ in range(2000)]
    assert abs(np.mean(values) - 1.0) < 0.2 and abs(np.std(values) - 2.0) < 0.2
    with pytest.raises(ValueError, match="non-negative"):
        py.getrandbits(-1)
    with pytest.raises(NotImplementedError):
        py.getstate()
    with pytest.raises(NotImplementedError):
        py.setstate(None)
    py.seed(3)  # ignored: the item's stream goes on
    r.reseed(0, 4)
    first = [py.random(), py.getrandbits(64)]
    r.reseed(0, 4)
    py.seed(99)
    assert [py.random(), py.getrandbits(64)] == first
    assert type(pickle.loads(pickle.dumps(py))) is StreamRandom


def reference_generator(r: ItemRandom, epoch: int, k: int) -> np.random.Generator:
    """A plain numpy Generator in the PCG64 state of item ``k`` of ``epoch``, set through the
    ``state`` property."""
    bits = np.random.PCG64()
    r.words(epoch, k)  # the epoch's increment
    bits.state = {
        "bit_generator": "PCG64",
        "state": {"state": r.state_int(epoch, k), "inc": r._inc},
        "has_uint32": 0,
        "uinteger": 0,
    }
    return np.random.Generator(bits)


def test_state_written_in_memory_equals_the_state_property() -> None:
    fast, slow = ItemRandom(2), ItemRandom(2)
    slow._writer = None  # what another numpy layout falls back to
    for r in (fast, slow):
        r.reseed(1, 0)
        r.generator.integers(0, 2**31, dtype=np.int32)  # leaves half a 64-bit draw buffered
    for k in (5, 6):
        draws = []
        for r in (fast, slow):
            r.reseed(1, k)
            assert r.generator.bit_generator.state["has_uint32"] == 0
            draws.append(r.generator.integers(0, 2**31, size=5, dtype=np.int32).tolist())
        expected = reference_generator(fast, 1, k).integers(0, 2**31, size=5, dtype=np.int32)
        assert draws[0] == draws[1] == expected.tolist()
    copy = pickle.loads(pickle.dumps(fast))  # rebuilt in the new process, epoch's increment kept
    copy.reseed(1, 5)
    fast.reseed(1, 5)
    assert copy.generator.random() == fast.generator.random()


def test_numpy_state_is_written_when_an_item_first_uses_the_generator() -> None:
    r = ItemRandom(3)
    gen = r.generator
    assert isinstance(gen, ItemGenerator) and isinstance(gen, np.random.Generator)
    assert np.random.default_rng(gen) is gen
    r.reseed(0, 1)
    first = gen.random(4).tolist()  # the item's state, then 4 draws
    r.reseed(0, 2)
    untouched = r.bit_generator.state["state"]["state"]  # read past the generator: no sync
    assert untouched != r.state_int(0, 2)
    assert gen.bit_generator.state["state"]["state"] == r.state_int(0, 2)  # synced on use
    r.reseed(0, 1)
    assert gen.random(2).tolist() + gen.random(2).tolist() == first  # synced once per item
    entry = (*r.words(0, 1), [])
    r.install(entry)
    assert gen.random(4).tolist() == first
    r.install(entry)  # the same entry again starts from its state
    assert gen.random(4).tolist() == first
    # rebuilt from a pickle: alone, a plain generator; with its ItemRandom, synced again
    alone = pickle.loads(pickle.dumps(gen))
    assert type(alone) is ItemGenerator and isinstance(alone.random(), float)
    copy = pickle.loads(pickle.dumps(r))
    copy.reseed(0, 1)
    assert copy.generator.random(4).tolist() == first


class SometimesNumpy(Seeded):
    """Draws from numpy for about half of the items only (decided by a Python-side draw)."""

    def __call__(self, *, image: np.ndarray) -> dict[str, Any]:
        values = [self.py_random.random()]
        if values[0] < 0.5:
            values += self.random_generator.random(3).tolist()
        raw = np.asarray(values + [0.0] * (4 - len(values))).view(np.uint8)
        return {"image": raw.reshape(4, 8, 1)}  # the float64 draws, as uint8 bytes


def test_items_that_skip_numpy_leave_the_next_item_its_own_state() -> None:
    base = Images(noise_images(3, (4, 4, 3)), [0, 1, 2])
    ds = AugmentedDataset(base, [0, 1, 2] * 8, SometimesNumpy(), augment="all", seed=4)
    ds.set_epoch(2)
    batch = ds.__getitems__(list(range(24)))
    _same(batch, [ds[k] for k in range(24)])
    _same(batch, [ds[k] for k in reversed(range(24))][::-1])
    reference = ItemRandom(4)
    used = 0
    for k, (image, _) in enumerate(batch):
        values = np.ascontiguousarray(image).reshape(-1).view(np.float64)
        if values[0] < 0.5:
            used += 1
            expected = reference_generator(reference, 2, k).random(3)
            np.testing.assert_array_equal(values[1:], expected)
    assert 0 < used < 24


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


def test_batch_spec_needs_one_dtype_and_rank_of_contiguous_arrays() -> None:
    u8 = np.zeros((3, 4, 3), np.uint8)
    assert batch_spec([u8, u8.copy()]) == array_spec(u8)
    f32 = np.zeros((3, 4), np.float32)
    assert batch_spec([f32] * 3) == array_spec(f32)
    assert batch_spec([]) is None
    for other in (
        np.zeros((3, 4, 3), np.float32),  # another dtype
        np.zeros((3, 4), np.uint8),  # another rank
        u8[:, ::-1],  # not contiguous
        torch.zeros(3, 3, 4, dtype=torch.uint8),
        Image.new("RGB", (4, 3)),
    ):
        assert batch_spec([u8, other]) is None and batch_spec([other, u8]) is None


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


def test_batches_whose_pipeline_changes_the_kind_of_some_images() -> None:
    images = noise_images(6, (4, 4, 3))
    base = Images(images, list(range(6)))
    indices = [*range(6)] * 4
    ds = AugmentedDataset(base, indices, _SomeFloat(), seed=2)
    keys = list(range(24))[::-1]
    got = ds.__getitems__(keys)
    _same(got, [ds[k] for k in keys])
    # the uint8 input comes back as uint8 whatever dtype the pipeline returned
    assert {item[0].dtype for item in got} == {np.dtype(np.uint8)}
    flipped = [np.array_equal(got[i][0], images[indices[k]][::-1]) for i, k in enumerate(keys)]
    assert 0 < sum(flipped[:18]) < 18  # both kinds of result among the augmented items
    bad = AugmentedDataset(base, [0, 0, 1, 1], _SomeFloat(wrap=True))
    with pytest.raises(TypeError, match=r"albumentations convention transform\(image=array\)"):
        bad.__getitems__([0, 1, 2, 3])


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
        batch = ds.__getitems__([2, 0, 1])  # the batch path applies the moved transform too
        for (got, got_target), k in zip(batch, [2, 0, 1], strict=True):
            want, want_target = ds[k]
            assert isinstance(got, torch.Tensor) and got_target == want_target
            torch.testing.assert_close(got, want)
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


def test_default_pipeline_without_flip() -> None:
    names = [type(t).__name__ for t in default_pipeline(horizontal_flip=False).transforms]
    assert names == ["Affine", "RandomBrightnessContrast"]
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
