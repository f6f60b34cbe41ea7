"""RepeatFactorSampler: factors by hand, stochastic rounding, epoch sizes, real DDP, resume."""

from __future__ import annotations

import functools
import hashlib
import math
import warnings
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import balancers
from balancers import RepeatFactorSampler
from balancers.samplers import RepeatFactorSampler as FromSamplers
from tests._harness import check_shards, interrupted_and_resumed, loader_epochs, run_ddp

# Rows 0-5 {0}, rows 6-7 {0, 1}, row 8 {1}, row 9 {2}: f = 0.8, 0.3, 0.1.
Y = np.zeros((10, 3), dtype=np.int8)
Y[:8, 0] = 1
Y[6:9, 1] = 1
Y[9, 2] = 1


def test_factors_by_hand() -> None:
    s = RepeatFactorSampler(Y, threshold=0.4)
    # r(c) = max(1, sqrt(0.4 / f)): 1, sqrt(4/3), 2
    np.testing.assert_allclose(s.class_repeat_factors_, [1.0, math.sqrt(4 / 3), 2.0])
    # rows with label 1 take its factor (the max over their labels)
    expected = [1.0] * 6 + [math.sqrt(4 / 3)] * 3 + [2.0]
    np.testing.assert_allclose(s.repeat_factors_, expected)
    assert s.expected_size_ == pytest.approx(sum(expected))
    assert len(s) == round(sum(expected)) == 11


def test_rows_without_labels_get_one_and_multiclass_works() -> None:
    y = np.vstack([Y, np.zeros((2, 3), dtype=np.int8)])
    s = RepeatFactorSampler(y, threshold=0.4)
    assert s.repeat_factors_[-2:].tolist() == [1.0, 1.0]
    m = RepeatFactorSampler([0] * 9 + [1], threshold=0.4)  # f = 0.9, 0.1
    assert m.repeat_factors_.tolist() == [1.0] * 9 + [2.0]
    assert sorted(m.global_indices(0).tolist()) == [*range(10), 9]  # integral factors: exact


def test_stochastic_rounding_each_epoch() -> None:
    s = RepeatFactorSampler(Y, threshold=0.4, seed=3)
    r = s.repeat_factors_
    sizes = []
    totals = np.zeros(10)
    for epoch in range(400):
        seq = s.global_indices(epoch)
        counts = np.bincount(seq, minlength=10)
        assert ((counts == np.floor(r)) | (counts == np.ceil(r))).all()
        sizes.append(seq.shape[0])
        totals += counts
    # expected count per sample is r(i); 400 epochs, Bernoulli(0.1547) sd per sample ~ 0.018
    np.testing.assert_allclose(totals / 400, r, atol=0.08)
    assert np.mean(sizes) == pytest.approx(s.expected_size_, abs=0.15)
    assert len(set(sizes)) > 1  # the size varies with the rounding


def test_epoch_is_shuffled_and_deterministic() -> None:
    y = np.zeros((2000, 2), dtype=np.int8)
    y[:1990, 0] = 1
    y[1990:, 1] = 1
    a = RepeatFactorSampler(y, threshold=0.05, seed=1)
    b = RepeatFactorSampler(y, threshold=0.05, seed=1)
    assert np.array_equal(a.global_indices(2), b.global_indices(2))
    seq = a.global_indices(0)
    assert not np.array_equal(seq, np.sort(seq))
    assert not np.array_equal(seq, a.global_indices(1))
    assert not np.array_equal(seq, RepeatFactorSampler(y, threshold=0.05, seed=2).global_indices(0))
    # iteration auto-advances epochs and yields the same sequences as global_indices
    assert list(a) == seq.tolist()
    assert list(a) == a.global_indices(1).tolist()


@pytest.mark.filterwarnings("ignore:all repeat factors are 1:UserWarning")
@settings(max_examples=40, deadline=None)
@given(
    st.integers(2, 60).flatmap(
        lambda n: st.lists(
            st.lists(st.integers(0, 1), min_size=3, max_size=3), min_size=n, max_size=n
        )
    ),
    st.floats(0.001, 2.0),
    st.integers(0, 50),
    st.integers(0, 20),
)
def test_epoch_size_within_bounds(rows: list[list[int]], t: float, seed: int, epoch: int) -> None:
    s = RepeatFactorSampler(rows, threshold=t, seed=seed)
    r = s.repeat_factors_
    seq = s.global_indices(epoch)
    counts = np.bincount(seq, minlength=len(rows))
    assert ((counts == np.floor(r)) | (counts == np.ceil(r))).all()
    assert np.floor(r).sum() <= seq.shape[0] <= np.ceil(r).sum()
    assert (r >= 1).all()


def test_fixed_num_samples() -> None:
    s = RepeatFactorSampler(Y, threshold=0.4, num_samples=37, seed=0)
    assert len(s) == 37
    for epoch in range(3):
        seq = s.global_indices(epoch)
        assert seq.shape[0] == 37
        assert set(seq.tolist()) == set(range(10))  # at least three full passes


def test_len_per_rank_and_shards() -> None:
    shards = [
        RepeatFactorSampler(Y, threshold=0.4, seed=5, num_replicas=3, rank=r).rank_indices(4)
        for r in range(3)
    ]
    total = RepeatFactorSampler(Y, threshold=0.4, seed=5).global_indices(4).shape[0]
    assert {len(s) for s in shards} == {math.ceil(total / 3)}
    s0 = RepeatFactorSampler(Y, threshold=0.4, seed=5, num_replicas=3, rank=0)
    assert len(s0) == math.ceil(11 / 3)


def test_exported_and_accepts_tensors() -> None:
    assert balancers.RepeatFactorSampler is FromSamplers is RepeatFactorSampler
    assert "RepeatFactorSampler" in balancers.__all__
    s = RepeatFactorSampler(torch.tensor(Y), threshold=0.4)
    np.testing.assert_allclose(
        s.repeat_factors_, RepeatFactorSampler(Y, threshold=0.4).repeat_factors_
    )


# ---------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"threshold": 0.0}, ValueError, r"`threshold` should be a finite number > 0, but got"),
        ({"threshold": -0.1}, ValueError, "threshold=-0.1"),
        ({"threshold": float("nan")}, ValueError, "`threshold`"),
        ({"threshold": float("inf")}, ValueError, "`threshold`"),
        ({"threshold": "0.001"}, TypeError, "`threshold`"),
        ({"threshold": True}, TypeError, "`threshold`"),
        ({"num_samples": 0}, ValueError, "`num_samples` should be a positive integer"),
        ({"num_samples": 2.5}, TypeError, "`num_samples`"),
        ({"num_replicas": 2, "rank": 2}, ValueError, "`rank` should be in"),
        ({"seed": -3}, ValueError, "`seed`"),
        ({"drop_last": 1}, TypeError, "`drop_last`"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        RepeatFactorSampler(Y, **kwargs)


@pytest.mark.parametrize(
    ("labels", "error", "match"),
    [
        ([], ValueError, "should not be empty"),
        (np.zeros((2, 2, 2)), ValueError, "3-D"),
        ([[0, 2], [1, 0]], ValueError, "0/1 indicator matrix"),
        ("abc", TypeError, "`labels` should be"),
    ],
)
def test_bad_labels(labels: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        RepeatFactorSampler(labels)


def test_single_all_ones_column_is_harmless() -> None:
    with pytest.warns(UserWarning, match=r"frequency 1; try threshold >= 2"):
        s = RepeatFactorSampler(np.ones((5, 1), dtype=np.int8), threshold=0.5)
    assert s.repeat_factors_.tolist() == [1.0] * 5
    assert sorted(s.global_indices(0).tolist()) == list(range(5))


# --------------------------------------------------------------------------- DDP and resume
BIG = np.zeros((50, 4), dtype=np.int8)
BIG[:, 0] = 1
BIG[::5, 1] = 1
BIG[[3, 17], 2] = 1
BIG[40:45, 3] = 1
BIG[45:, 0] = 0  # rows 45-49 carry no label


@pytest.mark.parametrize("world_size", [2, 3])
def test_real_ddp_gloo(world_size: int) -> None:
    factories = {
        "pad": functools.partial(RepeatFactorSampler, BIG, threshold=0.3, seed=7),
        "drop": functools.partial(RepeatFactorSampler, BIG, threshold=0.3, seed=7, drop_last=True),
    }
    results = run_ddp(world_size, loader_epochs, factories, BIG.shape[0], 3)
    for name, drop_last in (("pad", False), ("drop", True)):
        per_rank = [r[name] for r in results]
        for r in per_rank[1:]:  # every rank drew the same epochs
            for a, b in zip(r["global"], per_rank[0]["global"], strict=True):
                assert np.array_equal(a, b)
        check_shards(per_rank[0], world_size, drop_last)
        sizes = [len(g) for g in per_rank[0]["global"]]
        for epoch, shards in enumerate(per_rank[0]["shards"]):
            expected = sizes[epoch] // world_size if drop_last else -(-sizes[epoch] // world_size)
            assert [len(s) for s in shards] == [expected] * world_size
        r = RepeatFactorSampler(BIG, threshold=0.3).repeat_factors_
        assert all(np.floor(r).sum() <= size <= np.ceil(r).sum() for size in sizes)


@pytest.mark.parametrize("num_workers", [0, 2])
def test_stateful_dataloader_resume(num_workers: int) -> None:
    make = functools.partial(RepeatFactorSampler, BIG, threshold=0.3, seed=4)
    full, before, after = interrupted_and_resumed(
        make, BIG.shape[0], batch_size=4, num_workers=num_workers, stop_after=5
    )
    assert len(before) == 20
    assert before + after == full
    assert full == make().global_indices(0).tolist()


def test_state_dict_resume_mid_epoch() -> None:
    a = RepeatFactorSampler(BIG, threshold=0.3, seed=2, num_replicas=2, rank=1)
    a.set_epoch(3)
    it = iter(a)
    head = [next(it) for _ in range(7)]
    b = RepeatFactorSampler(BIG, threshold=0.3, seed=2, num_replicas=2, rank=1)
    b.load_state_dict(a.state_dict())
    b.set_epoch(3)
    assert head + list(b) == a.rank_indices(3).tolist()


# ------------------------------------------------------------- today's outputs, bit for bit
def _sha(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]


def _reference_labels() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.Generator(np.random.PCG64(2024))
    rates = np.array([0.5, 0.2, 0.05, 0.01, 0.002, 0.0006, 0.0003, 0.0])
    multilabel = (rng.random((20000, 8)) < rates).astype(np.int8)
    multiclass = np.random.Generator(np.random.PCG64(7)).choice(
        5, size=3000, p=[0.9, 0.08, 0.015, 0.004, 0.001]
    )
    return multilabel, multiclass


# Digests of repeat_factors_ and of epochs 0-2, recorded before power and basis existed.
REFERENCE = {
    "ml_default": (
        "77c000399b0f264d",
        ["f3040d46726728c0", "98efbacb3dd820f1", "1ee1f53810931d5d"],
        20008,
    ),
    "ml_t01_seed3": (
        "cc5f94b3bce25d53",
        ["89c264362886285c", "cd41516266ef8eb1", "b3fb34261c848d68"],
        21332,
    ),
    "mc_t005_fixed": (
        "e36b7b9d4f3838f2",
        ["e1e9583990c8e9de", "b24eb7f839a6939f", "128d125f1dc375e3"],
        5000,
    ),
}


@pytest.mark.parametrize("explicit", [False, True])
def test_defaults_give_todays_outputs_bit_for_bit(explicit: bool) -> None:
    multilabel, multiclass = _reference_labels()
    extra: dict[str, Any] = {"power": 0.5, "basis": "image"} if explicit else {}
    samplers = {
        "ml_default": RepeatFactorSampler(multilabel, **extra),
        "ml_t01_seed3": RepeatFactorSampler(multilabel, threshold=0.1, seed=3, **extra),
        "mc_t005_fixed": RepeatFactorSampler(
            multiclass, threshold=0.05, seed=1, num_samples=5000, **extra
        ),
    }
    for name, s in samplers.items():
        factors, epochs, length = REFERENCE[name]
        assert _sha(s.repeat_factors_) == factors
        assert [_sha(s.global_indices(e)) for e in range(3)] == epochs
        assert len(s) == length


# ------------------------------------------------------------------- power and basis by hand
# Ten images, categories 1, 2, 3 ("A", "B", "C"): (image, category, instances).
RFS_ANNOTATIONS = [(0, 1, 5), (1, 1, 1), (2, 1, 1), (2, 2, 1), (3, 2, 4), (4, 3, 1)]
RFS_ANNOTATIONS += [(i, 1, 1) for i in range(5, 10)]
# image frequency: A 8/10, B 2/10, C 1/10; instances: A 12, B 5, C 1 of 18.
F_IMAGE = {"A": 0.8, "B": 0.2, "C": 0.1}
F_INSTANCE = {"A": 12 / 18, "B": 5 / 18, "C": 1 / 18}
F_MEAN = {k: math.sqrt(F_IMAGE[k] * F_INSTANCE[k]) for k in F_IMAGE}
T = 0.25


def rfs_coco() -> dict[str, Any]:
    anns = []
    for image, cat, k in RFS_ANNOTATIONS:
        anns += [{"id": len(anns) + 1, "image_id": image, "category_id": cat, "iscrowd": 0}] * k
    for j, a in enumerate(anns):
        anns[j] = {**a, "id": j + 1}
    return {
        "images": [{"id": i, "file_name": f"{i}.jpg"} for i in range(10)],
        "annotations": anns,
        "categories": [{"id": c, "name": n} for c, n in ((1, "A"), (2, "B"), (3, "C"))],
    }


def _by_hand(freq: dict[str, float], power: float) -> list[float]:
    return [max(1.0, (T / freq[k]) ** power) for k in ("A", "B", "C")]


@pytest.mark.parametrize("power", [0.5, 1.0, 0.75])
@pytest.mark.parametrize(
    ("basis", "freq"), [("image", F_IMAGE), ("instance", F_INSTANCE), ("mean", F_MEAN)]
)
def test_power_and_basis_by_hand(basis: str, freq: dict[str, float], power: float) -> None:
    from balancers.detection import coco_labels

    labels = coco_labels(rfs_coco())
    s = RepeatFactorSampler(labels, threshold=T, power=power, basis=basis)
    np.testing.assert_allclose(s.class_frequencies_, [freq[k] for k in "ABC"], rtol=1e-14)
    class_r = _by_hand(freq, power)
    np.testing.assert_allclose(s.class_repeat_factors_, class_r, rtol=1e-14)
    # image 2 holds A and B (max), 3 holds B, 4 holds C, the others A only
    expected = [1.0, 1.0, max(class_r[:2]), class_r[1], class_r[2]] + [1.0] * 5
    np.testing.assert_allclose(s.repeat_factors_, expected, rtol=1e-14)
    assert f"power={power}" in repr(s) and f"basis={basis!r}" in repr(s)


def test_hand_values_spelled_out() -> None:
    from balancers.detection import coco_labels

    labels = coco_labels(rfs_coco())
    sq = RepeatFactorSampler(labels, threshold=T, basis="instance")
    assert sq.class_repeat_factors_.tolist() == [1.0, 1.0, math.sqrt(4.5)]
    lin = RepeatFactorSampler(labels, threshold=T, power=1.0)
    np.testing.assert_allclose(lin.class_repeat_factors_, [1.0, 1.25, 2.5], rtol=1e-15)
    # the image basis on COCO labels is the presence matrix's plain RFS
    plain = RepeatFactorSampler(labels.presence, threshold=T)
    assert (
        plain.repeat_factors_.tolist()
        == RepeatFactorSampler(labels, threshold=T).repeat_factors_.tolist()
    )


def test_power_one_on_plain_labels() -> None:
    s = RepeatFactorSampler(Y, threshold=0.4, power=1.0)  # f = 0.8, 0.3, 0.1
    np.testing.assert_allclose(s.class_repeat_factors_, [1.0, 4 / 3, 4.0], rtol=1e-15)
    # instance basis on 0/1 labels: each positive is one instance, 12 in all
    inst = RepeatFactorSampler(Y, threshold=0.4, basis="instance")
    np.testing.assert_allclose(inst.class_frequencies_, [8 / 12, 3 / 12, 1 / 12], rtol=1e-15)


def test_coco_detection_directly(tmp_path: Any) -> None:
    import json

    from torchvision.datasets import CocoDetection

    from balancers.detection import coco_labels

    path = tmp_path / "ann.json"
    path.write_text(json.dumps(rfs_coco()))
    ds = CocoDetection(str(tmp_path), str(path))
    a = RepeatFactorSampler(ds, threshold=T, basis="mean", seed=2)
    b = RepeatFactorSampler(coco_labels(path, image_ids=ds.ids), threshold=T, basis="mean", seed=2)
    assert a.repeat_factors_.tolist() == b.repeat_factors_.tolist()
    assert a.global_indices(1).tolist() == b.global_indices(1).tolist()


# ---------------------------------------------------------------- a plain epoch is reported
def test_warns_when_every_factor_is_one() -> None:
    labels = [0] * 92 + [1] * 8  # f = 0.92, 0.08
    message = (
        "all repeat factors are 1 at threshold=0.001; the rarest label has frequency 0.08; "
        "try threshold >= 0.1"
    )
    with pytest.warns(UserWarning, match=message):
        s = RepeatFactorSampler(labels)
    assert s.repeat_factors_.tolist() == [1.0] * 100
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        acting = RepeatFactorSampler(labels, threshold=0.1)
    assert acting.repeat_factors_.max() > 1.0
    with pytest.warns(UserWarning, match=r"frequency 0.1; try threshold >= 0.2"):
        RepeatFactorSampler([0] * 9 + [1], threshold=0.1)
    with pytest.warns(UserWarning, match=r"no sample carries a label"):
        RepeatFactorSampler(np.zeros((4, 2), dtype=np.int8))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"power": 0.0}, ValueError, r"`power` should be a finite number > 0, but got power=0.0"),
        ({"power": -1}, ValueError, r"`power` should be"),
        ({"power": float("nan")}, ValueError, r"`power` should be"),
        ({"power": "0.5"}, TypeError, r"`power` should be a finite number"),
        ({"power": True}, TypeError, r"`power`"),
        ({"basis": "images"}, ValueError, r"`basis` should be one of 'image', 'instance', 'mean'"),
        ({"basis": 1}, TypeError, r"`basis` should be one of"),
    ],
)
def test_bad_power_and_basis(kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        RepeatFactorSampler(Y, **kwargs)
