"""Class-level samplers: class-balanced (q), progressive, class-aware, P x K batches, resampled."""

from __future__ import annotations

import functools
from collections import Counter
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chisquare
from torch.utils.data import DataLoader

from balancers import (
    BalancedBatchSampler,
    ClassAwareSampler,
    ClassBalancedSampler,
    ProgressivelyBalancedSampler,
    ResampledSampler,
    random_oversample,
)
from balancers._cycling import cycle_draws, cycle_pool, stable_class_order
from balancers._labels import check_labels
from balancers.samplers._balanced_batch import distinct_rows
from tests._harness import (
    IndexDataset,
    check_shards,
    interrupted_and_resumed,
    loader_epochs,
    run_ddp,
)

# 9 of class 3, 4 of class 7, 1 of class 42 (non-contiguous ids), in shuffled order.
LABELS = np.array([3, 7, 3, 3, 42, 3, 7, 3, 3, 7, 3, 3, 7, 3])
MULTILABEL = np.array(
    [
        [1, 0, 0, 0],
        [1, 1, 0, 0],
        [0, 0, 0, 0],  # no label: never drawn
        [1, 0, 0, 0],
        [0, 1, 0, 0],
        [1, 0, 1, 0],  # label 3 has no positive row: never drawn
        [0, 0, 0, 0],
        [1, 0, 0, 0],
    ]
)


def windows_are_distinct(instances: np.ndarray, size: int) -> bool:
    """Each aligned run of ``size`` consecutive items holds distinct items."""
    return all(
        len(set(instances[j : j + size].tolist())) == len(instances[j : j + size])
        for j in range(0, len(instances), size)
    )


def check_cycling(labels: np.ndarray, draws: np.ndarray) -> None:
    """Every class's draws, in order, cycle through its members without early repeats."""
    for cls, n_c in Counter(labels.tolist()).items():
        mine = draws[labels[draws] == cls]
        assert windows_are_distinct(mine, n_c)


# ------------------------------------------------------------------------------ the kernels
def test_cycle_pool_exact_small_fixture() -> None:
    indptr, rows = np.array([0, 2, 5, 5]), np.array([10, 11, 20, 21, 22])
    pool, starts = cycle_pool(indptr, rows, np.array([5, 2, 0]), np.random.default_rng(1))
    assert starts.tolist() == [0, 5, 7, 7]
    a = pool[:5].tolist()
    assert sorted(a[:2]) == [10, 11] and sorted(a[2:4]) == [10, 11] and a[4] in (10, 11)
    assert len(set(pool[5:7].tolist())) == 2 and set(pool[5:7].tolist()) <= {20, 21, 22}


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    sizes=st.lists(st.integers(1, 40), min_size=1, max_size=12),
    n_draws=st.integers(1, 400),
    seed=st.integers(0, 2**31),
)
def test_cycle_draws_cycles_through_members(sizes: list[int], n_draws: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.repeat(np.arange(len(sizes)), sizes))
    lab = check_labels(labels)
    draws = rng.integers(0, len(sizes), n_draws).astype(np.uint8)
    out = cycle_draws(*lab.class_members, draws, rng)
    assert (labels[out] == draws).all()
    check_cycling(labels, out)
    # each member of a class is used floor or ceil of draws_c / n_c times
    uses = np.bincount(out, minlength=labels.shape[0])
    m = np.bincount(draws, minlength=len(sizes))
    n = np.asarray(sizes)[labels]
    assert ((uses == m[labels] // n) | (uses == -(-m[labels] // n))).all()


def test_cycling_large_classes_and_many_classes() -> None:
    rng = np.random.default_rng(0)
    sizes = np.r_[20_000, 3, 700, np.ones(70_000, dtype=np.int64)]
    labels = rng.permutation(np.repeat(np.arange(sizes.shape[0]), sizes))
    lab = check_labels(labels)
    draws = np.r_[np.zeros(50_000, np.int64), np.ones(10, np.int64), rng.integers(0, 70_003, 3000)]
    draws = rng.permutation(draws)
    out = cycle_draws(*lab.class_members, draws.astype(np.uint32), rng)
    assert (labels[out] == draws).all()
    big = out[draws == 0]
    assert windows_are_distinct(big, 20_000)
    assert np.bincount(big, minlength=labels.shape[0]).max() == 3


def test_stable_class_order_above_65536_classes() -> None:
    codes = np.random.default_rng(3).integers(0, 200_000, 50_000)
    order = stable_class_order(codes.astype(np.uint32), 200_000)
    assert order.tolist() == np.argsort(codes, kind="stable").tolist()


@pytest.mark.parametrize(("n_items", "k"), [(10, 3), (10, 9), (10, 10), (1000, 5)])
def test_distinct_rows(n_items: int, k: int) -> None:
    rows = distinct_rows(np.random.default_rng(0), 300, n_items, k)
    assert rows.shape == (300, k)
    assert all(len(set(r)) == k for r in rows.tolist())
    assert rows.min() >= 0 and rows.max() < n_items


@pytest.mark.parametrize(("n_items", "k"), [(12, 3), (12, 6), (12, 7)])  # k * k <= 4 n and above
def test_distinct_rows_are_uniform_subsets_in_random_order(n_items: int, k: int) -> None:
    rows = distinct_rows(np.random.default_rng(1), 6000, n_items, k)
    uniform = np.full(n_items, 1.0 / n_items)
    for column in (rows[:, 0], rows[:, -1]):  # each position holds any item equally often
        counts = np.bincount(column, minlength=n_items)
        assert chisquare(counts, uniform * rows.shape[0]).pvalue > 1e-3
    # every 2-subset {i, j} appears together equally often: k(k-1)/(n(n-1)) of the rows
    sets = np.zeros((n_items, n_items))
    for row in rows[:2000].tolist():
        for i in row:
            sets[i, row] += 1
    pairs = sets[np.triu_indices(n_items, 1)]
    expected = 2000 * k * (k - 1) / (n_items * (n_items - 1))
    assert chisquare(pairs, np.full(pairs.shape, expected)).pvalue > 1e-3


# ---------------------------------------------------------------------- ClassBalancedSampler
@pytest.mark.parametrize(
    ("q", "expected"),
    [(0.0, [1 / 3, 1 / 3, 1 / 3]), (0.5, [3 / 6, 2 / 6, 1 / 6]), (1.0, [9 / 14, 4 / 14, 1 / 14])],
)
def test_class_probabilities_exact(q: float, expected: list[float]) -> None:
    sampler = ClassBalancedSampler(LABELS, q=q)
    np.testing.assert_allclose(sampler.class_probabilities(), expected)


@settings(max_examples=6, deadline=None, derandomize=True)
@given(
    counts=st.lists(st.integers(1, 300), min_size=2, max_size=8),
    q=st.sampled_from([0.0, 0.5, 1.0]),
)
def test_class_frequencies_follow_n_to_the_q(counts: list[int], q: float) -> None:
    labels = np.repeat(np.arange(len(counts)), counts)
    draws = ClassBalancedSampler(labels, q=q, num_samples=40_000, seed=5).global_indices(0)
    observed = np.bincount(labels[draws], minlength=len(counts))
    expected = np.asarray(counts, dtype=float) ** q
    expected *= observed.sum() / expected.sum()
    assert chisquare(observed, expected).pvalue > 1e-3


def test_rare_class_members_used_equally() -> None:
    labels = np.array([0] * 990 + [1] * 10)
    sampler = ClassBalancedSampler(labels, q=0.0, num_samples=2000, seed=2)
    draws = sampler.global_indices(0)
    rare = draws[draws >= 990]
    uses = np.bincount(rare - 990, minlength=10)
    assert uses.max() - uses.min() <= 1
    check_cycling(labels, draws)


def test_multilabel_rows_without_labels_never_drawn() -> None:
    sampler = ClassBalancedSampler(MULTILABEL, q=0.0, num_samples=3000, seed=0)
    draws = sampler.global_indices(0)
    assert not set(draws.tolist()) & {2, 6}
    probs = sampler.class_probabilities()
    assert probs[3] == 0.0
    np.testing.assert_allclose(probs[:3], [1 / 3] * 3)
    # label 2 is only in row 5: a third of the draws, up to noise, go through it
    assert 850 < int((draws == 5).sum()) < 1250


def test_accepts_sparse_and_dataset() -> None:
    a = ClassBalancedSampler(sp.csr_array(MULTILABEL), q=0.5).global_indices(1)
    b = ClassBalancedSampler(MULTILABEL, q=0.5).global_indices(1)
    assert a.tolist() == b.tolist()


# -------------------------------------------------------------- ProgressivelyBalancedSampler
def test_progressive_interpolation_exact() -> None:
    sampler = ProgressivelyBalancedSampler(LABELS, epochs=4)
    instance = np.array([9, 4, 1]) / 14
    balanced = np.full(3, 1 / 3)
    np.testing.assert_allclose(sampler.class_probabilities(0), instance)
    np.testing.assert_allclose(sampler.class_probabilities(2), (instance + balanced) / 2)
    np.testing.assert_allclose(sampler.class_probabilities(4), balanced)
    np.testing.assert_allclose(sampler.class_probabilities(9), balanced)  # clamped at T


@pytest.mark.parametrize("epoch", [0, 2, 4])
def test_progressive_frequencies(epoch: int) -> None:
    labels = np.repeat(np.arange(3), [600, 300, 100])
    sampler = ProgressivelyBalancedSampler(labels, epochs=4, num_samples=30_000, seed=1)
    sampler.set_epoch(epoch)
    observed = np.bincount(labels[np.fromiter(sampler, dtype=np.int64)], minlength=3)
    expected = sampler.class_probabilities(epoch) * observed.sum()
    assert chisquare(observed, expected).pvalue > 1e-3


# ----------------------------------------------------------------------- ClassAwareSampler
@pytest.mark.parametrize("k", [1, 3])
def test_class_aware_visits_every_class_once_per_round(k: int) -> None:
    sampler = ClassAwareSampler(LABELS, samples_per_class=k, num_samples=3 * k * 20, seed=4)
    draws = sampler.global_indices(0)
    classes = LABELS[draws]
    for j in range(0, len(classes), 3 * k):
        window = classes[j : j + 3 * k]
        assert sorted(Counter(window.tolist()).values()) == [k, k, k]
        runs = window.reshape(3, k)
        assert (runs == runs[:, :1]).all()  # a visit takes k of the same class
    check_cycling(LABELS, draws)
    assert len(sampler) == 3 * k * 20


def test_class_aware_multilabel() -> None:
    sampler = ClassAwareSampler(MULTILABEL, num_samples=30, seed=0)
    draws = sampler.global_indices(0)
    assert not set(draws.tolist()) & {2, 6}
    # rounds of 3 visits (labels 0, 1, 2): label 2 lives only in row 5, once per round
    for j in range(0, 30, 3):
        assert 5 in draws[j : j + 3].tolist()
    np.testing.assert_allclose(sampler.class_probabilities(), [1 / 3, 1 / 3, 1 / 3, 0])


# -------------------------------------------------------------------- BalancedBatchSampler
@settings(max_examples=15, deadline=None, derandomize=True)
@given(
    sizes=st.lists(st.integers(1, 12), min_size=2, max_size=10),
    data=st.data(),
)
def test_every_batch_is_p_by_k(sizes: list[int], data: st.DataObject) -> None:
    labels = np.repeat(np.arange(len(sizes)) * 5 + 1, sizes)
    p = data.draw(st.integers(1, len(sizes)))
    k = data.draw(st.integers(1, 6))
    sampler = BalancedBatchSampler(
        labels, classes_per_batch=p, samples_per_class=k, num_batches=9, seed=0
    )
    batches = list(sampler)
    assert len(batches) == len(sampler) == 9
    for batch in batches:
        assert len(batch) == p * k
        counts = Counter(labels[batch].tolist())
        assert len(counts) == p and set(counts.values()) == {k}
    check_cycling(labels, np.concatenate(batches))


def test_balanced_batch_small_class_filled_by_cycling_and_loader() -> None:
    labels = np.array([0] * 10 + [1] * 2 + [2] * 5)
    sampler = BalancedBatchSampler(labels, classes_per_batch=3, samples_per_class=4)
    assert sampler.num_batches == 1 == len(sampler)  # default: 17 // 12
    (batch,) = list(sampler)
    ones = [i for i in batch if labels[i] == 1]
    assert sorted(ones) == [10, 10, 11, 11]
    loader = DataLoader(IndexDataset(len(labels)), batch_sampler=sampler)
    assert [b.tolist() for b in loader] == [sampler.global_indices(1)[0].tolist()]


def test_balanced_batch_classes_equally_often() -> None:
    labels = np.repeat(np.arange(6), [500, 200, 50, 20, 5, 1])
    sampler = BalancedBatchSampler(
        labels, classes_per_batch=2, samples_per_class=2, num_batches=3000
    )
    observed = np.bincount(labels[sampler.global_indices(0).reshape(-1)], minlength=6)
    assert chisquare(observed).pvalue > 1e-3


# ------------------------------------------------------------------------ ResampledSampler
def test_resampled_sampler_permutes_the_multiset() -> None:
    idx = random_oversample(LABELS, seed=0)
    sampler = ResampledSampler(idx, seed=1)
    e0, e1 = sampler.global_indices(0), sampler.global_indices(1)
    assert sorted(e0.tolist()) == sorted(idx.tolist()) == sorted(e1.tolist())
    assert e0.tolist() != e1.tolist()
    assert len(sampler) == len(idx)


def test_resampled_sampler_no_shuffle_and_num_samples() -> None:
    assert ResampledSampler([4, 1, 1], shuffle=False, num_samples=7).global_indices(3).tolist() == [
        4,
        1,
        1,
        4,
        1,
        1,
        4,
    ]
    long = ResampledSampler([4, 1, 1, 9], num_samples=10, seed=0).global_indices(0)
    assert sorted(long[:4].tolist()) == [1, 1, 4, 9] and sorted(long[4:8].tolist()) == [1, 1, 4, 9]


# --------------------------------------------------------------- engine guarantees, all samplers
FACTORIES: dict[str, Any] = {
    "cb_q0": functools.partial(ClassBalancedSampler, LABELS, q=0.0, num_samples=23, seed=3),
    "cb_sqrt_drop": functools.partial(
        ClassBalancedSampler, MULTILABEL, q=0.5, num_samples=19, seed=3, drop_last=True
    ),
    "progressive": functools.partial(ProgressivelyBalancedSampler, LABELS, epochs=2, seed=1),
    "aware": functools.partial(ClassAwareSampler, MULTILABEL, num_samples=20, seed=2),
    "pk": functools.partial(
        BalancedBatchSampler, LABELS, classes_per_batch=2, samples_per_class=3, num_batches=7
    ),
    "pk_drop": functools.partial(
        BalancedBatchSampler,
        LABELS,
        classes_per_batch=3,
        samples_per_class=2,
        num_batches=5,
        drop_last=True,
    ),
    "resampled": functools.partial(ResampledSampler, [0, 3, 3, 5, 9, 9, 9, 12, 13], seed=7),
}
DROP_LAST = {"cb_sqrt_drop", "pk_drop"}
N_ITEMS = len(LABELS)


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_same_seed_same_epoch_and_epochs_differ(name: str) -> None:
    a, b = FACTORIES[name](), FACTORIES[name]()
    assert a.global_indices(3).tolist() == b.global_indices(3).tolist()
    assert a.global_indices(3).tolist() != a.global_indices(4).tolist()
    assert list(a) == a.global_indices(0).tolist()  # fresh iteration is epoch 0, then 1
    assert list(a) == a.global_indices(1).tolist()


@pytest.mark.parametrize("world_size", [2, 3])
def test_real_ddp_gloo(world_size: int) -> None:
    results = run_ddp(world_size, loader_epochs, FACTORIES, N_ITEMS, 2)
    for name in FACTORIES:
        per_rank = [r[name] for r in results]
        for r in per_rank[1:]:
            assert all(
                np.array_equal(x, y)
                for x, y in zip(r["global"], per_rank[0]["global"], strict=True)
            )
        check_shards(per_rank[0], world_size, name in DROP_LAST)
        assert per_rank[0]["len"] == len(per_rank[0]["shards"][0][0])


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_stateful_dataloader_resume(name: str) -> None:
    batch = name.startswith("pk")
    full, before, after = interrupted_and_resumed(
        FACTORIES[name],
        N_ITEMS,
        batch_size=3,
        num_workers=2 if name == "cb_q0" else 0,
        stop_after=2,
        batch_sampler=batch,
    )
    assert before + after == full
    assert len(before) == (2 if batch else 6)


# ------------------------------------------------------------------------------ bad input
BAD_INPUT = [
    (lambda: ClassBalancedSampler(LABELS, q=-0.5), ValueError, r"`q` should be .*>= 0.*q=-0.5"),
    (lambda: ClassBalancedSampler(LABELS, q=float("nan")), ValueError, r"`q` should be"),
    (lambda: ClassBalancedSampler(LABELS, q="1"), TypeError, r"`q` should be a finite number"),
    (lambda: ClassBalancedSampler(LABELS, q=True), TypeError, r"`q` should be"),
    (lambda: ClassBalancedSampler([], q=0.0), ValueError, r"`labels` should not be empty"),
    (
        lambda: ClassBalancedSampler(np.zeros((3, 2)), q=0.0),
        ValueError,
        r"at least one positive label",
    ),
    (lambda: ClassBalancedSampler(LABELS, num_samples=0), ValueError, r"`num_samples` should be"),
    (
        lambda: ClassBalancedSampler(LABELS, num_replicas=2, rank=2),
        ValueError,
        r"`rank` should be in \[0, num_replicas - 1\]",
    ),
    (
        lambda: ProgressivelyBalancedSampler(LABELS, epochs=0),
        ValueError,
        r"`epochs` should be a positive integer, but got epochs=0",
    ),
    (lambda: ProgressivelyBalancedSampler(LABELS, epochs=2.0), TypeError, r"`epochs` should be"),
    (
        lambda: ProgressivelyBalancedSampler(MULTILABEL, epochs=2),
        ValueError,
        r"`labels` should be multiclass.*ClassBalancedSampler",
    ),
    (
        lambda: ProgressivelyBalancedSampler(LABELS, epochs=2).class_probabilities(-1),
        ValueError,
        r"`epoch` should be a non-negative integer",
    ),
    (
        lambda: ClassAwareSampler(LABELS, samples_per_class=0),
        ValueError,
        r"`samples_per_class` should be a positive integer",
    ),
    (
        lambda: BalancedBatchSampler(LABELS, classes_per_batch=4, samples_per_class=2),
        ValueError,
        r"`classes_per_batch` should be an integer in \[1, 3\].*3 classes",
    ),
    (
        lambda: BalancedBatchSampler(LABELS, classes_per_batch=0, samples_per_class=2),
        ValueError,
        r"`classes_per_batch` should be",
    ),
    (
        lambda: BalancedBatchSampler(LABELS, classes_per_batch=2, samples_per_class=0),
        ValueError,
        r"`samples_per_class` should be a positive integer",
    ),
    (
        lambda: BalancedBatchSampler(
            LABELS, classes_per_batch=2, samples_per_class=2, num_batches=0
        ),
        ValueError,
        r"`num_batches` should be a positive integer",
    ),
    (
        lambda: BalancedBatchSampler(MULTILABEL, classes_per_batch=2, samples_per_class=2),
        ValueError,
        r"`labels` should be multiclass.*ClassAwareSampler",
    ),
    (
        lambda: BalancedBatchSampler(LABELS, classes_per_batch=2, samples_per_class=2).batches(4),
        TypeError,
        r"`sampler` should be a balancers sampler that yields indices",
    ),
    (lambda: ResampledSampler([]), ValueError, r"`indices` should not be empty"),
    (
        lambda: ResampledSampler([1, -2]),
        ValueError,
        r"non-negative dataset indices.*indices\[1\]=-2",
    ),
    (lambda: ResampledSampler([[1, 2]]), ValueError, r"`indices` should be 1-D"),
    (lambda: ResampledSampler([0.5, 1.0]), TypeError, r"`indices` should hold integer indices"),
    (lambda: ResampledSampler("012"), TypeError, r"`indices` should be a 1-D array-like"),
    (lambda: ResampledSampler([1, 2], shuffle=1), TypeError, r"`shuffle` should be True or False"),
]


@pytest.mark.parametrize(("call", "error", "match"), BAD_INPUT)
def test_bad_input(call: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        call()


# ------------------------------------------------------------------ rows with no label (opt-in)
NO_LABEL = np.array([[1, 0], [0, 0], [0, 1], [0, 0], [1, 1], [0, 0], [0, 0]])  # 4 rows empty


@pytest.mark.parametrize("make", [ClassAwareSampler, ClassBalancedSampler])
def test_rows_with_no_label_are_never_drawn_by_default(make: Any) -> None:
    draws = list(make(NO_LABEL, num_samples=300, seed=0))
    assert not set(draws) & {1, 3, 5, 6}


def test_class_aware_no_label_group_is_visited_like_a_class() -> None:
    sampler = ClassAwareSampler(NO_LABEL, num_samples=300, seed=0, no_label_group=True)
    draws = np.array(list(sampler))
    rounds = draws.reshape(-1, 3)  # 3 groups: label 0, label 1, no label
    assert (np.isin(rounds, [1, 3, 5, 6]).sum(axis=1) >= 1).all()
    empty_draws = draws[np.isin(draws, [1, 3, 5, 6])]
    assert sorted(Counter(empty_draws.tolist()).values()) == [25, 25, 25, 25]  # cycled evenly
    assert sampler.class_probabilities().tolist() == pytest.approx([1 / 3] * 3)
    assert "no_label_group=True" in repr(sampler)


def test_class_balanced_no_label_group_has_its_size_to_the_power_q() -> None:
    sampler = ClassBalancedSampler(NO_LABEL, q=1.0, seed=0, no_label_group=True)
    assert sampler.class_probabilities().tolist() == pytest.approx([2 / 8, 2 / 8, 4 / 8])
    balanced = ClassBalancedSampler(NO_LABEL, q=0.0, seed=0, no_label_group=True)
    assert balanced.class_probabilities().tolist() == pytest.approx([1 / 3] * 3)


def test_no_label_group_makes_an_all_empty_matrix_drawable() -> None:
    empty = np.zeros((3, 2), dtype=np.int8)
    with pytest.raises(ValueError, match=r"every row of the multilabel matrix is empty.*no_label"):
        ClassAwareSampler(empty)
    assert sorted(ClassAwareSampler(empty, num_samples=3, no_label_group=True)) == [0, 1, 2]


def test_no_label_group_leaves_multiclass_labels_as_they_are() -> None:
    labels = [0, 0, 1, 2]
    plain = list(ClassAwareSampler(labels, seed=1))
    assert list(ClassAwareSampler(labels, seed=1, no_label_group=True)) == plain


@pytest.mark.parametrize("make", [ClassAwareSampler, ClassBalancedSampler])
def test_no_label_group_must_be_a_bool(make: Any) -> None:
    with pytest.raises(TypeError, match=r"`no_label_group` should be True or False, but got"):
        make(NO_LABEL, no_label_group="yes")
