"""WeightedSampler, the engine's guarantees, and the WeightedRandomSampler builder."""

from __future__ import annotations

import functools
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from torch.utils.data import DataLoader, WeightedRandomSampler

from balancers import WeightedSampler, sample_weights, weighted_random_sampler
from balancers._keysort import argsort_keys
from tests._harness import (
    IndexDataset,
    check_shards,
    expected_shards,
    interrupted_and_resumed,
    loader_epochs,
    run_ddp,
)

WEIGHTS = [0.0, 1.0, 2.0, 3.0, 4.0, 0.5, 0.5, 8.0, 1.0, 1.0, 2.0]


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 40),
    replicas=st.integers(1, 5),
    drop_last=st.booleans(),
    replacement=st.booleans(),
    extra=st.integers(0, 30),
    seed=st.integers(0, 2**32),
    epoch=st.integers(0, 5),
    grouped=st.booleans(),
)
def test_shards_partition_the_global_sequence(
    n: int,
    replicas: int,
    drop_last: bool,
    replacement: bool,
    extra: int,
    seed: int,
    epoch: int,
    grouped: bool,
) -> None:
    rng = np.random.default_rng(seed)
    weights = rng.integers(1, 4, n).astype(float) if grouped else rng.random(n) + 0.01
    num_samples = n + extra if replacement else max(1, n - extra % n)
    samplers = [
        WeightedSampler(
            weights,
            replacement=replacement,
            num_samples=num_samples,
            seed=seed,
            num_replicas=replicas,
            rank=r,
            drop_last=drop_last,
        )
        for r in range(replicas)
    ]
    for s in samplers:
        s.set_epoch(epoch)
    global_seq = samplers[0].global_indices(epoch)
    assert global_seq.shape == (num_samples,)
    assert ((global_seq >= 0) & (global_seq < n)).all()
    if not replacement:
        assert len(set(global_seq.tolist())) == num_samples
    shards = [list(s) for s in samplers]
    assert shards == expected_shards(global_seq, replicas, drop_last)
    assert {len(s) for s in shards} == {len(samplers[0])}
    # every rank computed the same global sequence
    assert all(np.array_equal(s.global_indices(epoch), global_seq) for s in samplers)


def test_epochs_auto_advance_and_set_epoch_pins() -> None:
    s = WeightedSampler(WEIGHTS, seed=3)
    first, second = list(s), list(s)
    assert first == s.global_indices(0).tolist()
    assert second == s.global_indices(1).tolist()
    assert first != second
    s.set_epoch(7)
    assert list(s) == list(s) == s.global_indices(7).tolist()
    other_seed = WeightedSampler(WEIGHTS, seed=4)
    assert list(other_seed) != first


def test_same_sequence_in_a_fresh_process() -> None:
    code = (
        "import json; from balancers import WeightedSampler as W;"
        f"print(json.dumps([W({WEIGHTS}, seed=11).global_indices(e).tolist() for e in range(3)]"
        f" + [W({WEIGHTS}, seed=11, replacement=False).global_indices(2).tolist()]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    here = [WeightedSampler(WEIGHTS, seed=11).global_indices(e).tolist() for e in range(3)]
    here.append(WeightedSampler(WEIGHTS, seed=11, replacement=False).global_indices(2).tolist())
    assert json.loads(out.stdout) == here


@pytest.mark.parametrize("grouped", [True, False])
def test_with_replacement_matches_the_weights(grouped: bool) -> None:
    rng = np.random.default_rng(0)
    weights = rng.integers(1, 5, 50).astype(float) if grouped else rng.random(50)
    weights[3] = 0.0
    s = WeightedSampler(weights, num_samples=200_000, seed=1)
    counts = np.bincount(s.global_indices(0), minlength=50)
    assert counts[3] == 0
    keep = weights > 0
    expected = weights[keep] / weights.sum() * 200_000
    assert stats.chisquare(counts[keep], expected).pvalue > 1e-3


@pytest.mark.parametrize("grouped", [True, False])
def test_without_replacement_is_successive_sampling(grouped: bool) -> None:
    weights = (
        np.array([1.0, 1.0, 2.0, 4.0, 0.0]) if grouped else np.array([1.0, 1.5, 2.0, 4.5, 0.0])
    )
    s = WeightedSampler(weights, replacement=False, seed=5)
    assert len(s) == 4
    firsts, seconds = np.zeros(5), np.zeros(5)
    for epoch in range(6000):
        seq = s.global_indices(epoch)
        assert sorted(seq.tolist()) == [0, 1, 2, 3]
        firsts[seq[0]] += 1
        seconds[seq[1]] += 1
    p = weights / weights.sum()
    assert stats.chisquare(firsts[:4], p[:4] * 6000).pvalue > 1e-3
    # P(second = j) = sum_i p_i * p_j / (1 - p_i)
    p2 = np.array([sum(p[i] * p[j] / (1 - p[i]) for i in range(4) if i != j) for j in range(4)])
    assert stats.chisquare(seconds[:4], p2 * 6000).pvalue > 1e-3


_KEY_VALUES = st.one_of(
    st.floats(min_value=0.0, max_value=1e300),
    st.sampled_from([0.0, 1.0, 1.0 + 2.0**-52, 1.0 + 2.0**-51, 5e-324, float("inf")]),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_KEY_VALUES, min_size=0, max_size=300))
def test_argsort_keys_is_a_stable_argsort(values: list[float]) -> None:
    keys = np.asarray(values, dtype=np.float64)
    np.testing.assert_array_equal(argsort_keys(keys), np.argsort(keys, kind="stable"))


@pytest.mark.parametrize("spread", [0.0, 1e-6, 50.0])
def test_argsort_keys_repairs_equal_truncated_keys(spread: float) -> None:
    # 2**17 keys leave 47 bits for the key: over a wide range of exponents the packed keys are
    # truncated, and near-equal keys (a few ulps apart) share a truncated key
    rng = np.random.default_rng(0)
    base = np.exp(rng.normal(0.0, spread, 1 << 16)) if spread else np.ones(1 << 16)
    ulps = rng.integers(0, 4, base.shape[0]).astype(np.float64)
    keys = np.concatenate([base * (1.0 + ulps * 2.0**-52), rng.permutation(base)])
    keys[::97] = 0.0
    np.testing.assert_array_equal(argsort_keys(keys), np.argsort(keys, kind="stable"))


def test_no_size_cap_above_torch_multinomial_limit() -> None:
    n = 2**24 + 10
    weights = np.ones(n)
    weights[-1] = 1e7  # about 37% of the mass on the last index
    s = WeightedSampler(weights, num_samples=1000, seed=0)
    seq = s.global_indices(0)
    assert seq.max() < n and (seq == n - 1).sum() > 0
    s = WeightedSampler(weights, num_samples=1000, replacement=False, seed=0)
    assert len(set(s.global_indices(0).tolist())) == 1000


def test_dataloader_and_batch_mode() -> None:
    s = WeightedSampler(WEIGHTS, num_samples=23, seed=2)
    s.set_epoch(0)
    expected = s.global_indices(0).tolist()
    loader = DataLoader(IndexDataset(len(WEIGHTS)), sampler=s, batch_size=5)
    assert [i for b in loader for i in b.tolist()] == expected
    batches = list(DataLoader(IndexDataset(len(WEIGHTS)), batch_sampler=s.batches(5)))
    assert [b.tolist() for b in batches] == [expected[i : i + 5] for i in range(0, 23, 5)]
    assert len(s.batches(5)) == 5 and len(s.batches(5, drop_last=True)) == 4
    assert [len(b) for b in s.batches(5, drop_last=True)] == [5, 5, 5, 5]


def test_state_dict_roundtrip_without_a_loader() -> None:
    s = WeightedSampler(WEIGHTS, num_samples=200_000, seed=9, replacement=True)
    it = iter(s)
    head = [next(it) for _ in range(70_001)]  # crosses a chunk boundary
    state = json.loads(json.dumps(s.state_dict()))
    assert state["epoch"] == 0 and state["yielded"] == 70_001
    rest = list(it)
    fresh = WeightedSampler(WEIGHTS, num_samples=200_000, seed=9, replacement=True)
    fresh.load_state_dict(state)
    assert list(fresh) == rest
    assert head + rest == s.global_indices(0).tolist()
    assert list(fresh) == s.global_indices(1).tolist()  # then the next epoch


@pytest.mark.parametrize("num_workers", [0, 2])
@pytest.mark.parametrize("replacement", [True, False])
def test_stateful_dataloader_resume(num_workers: int, replacement: bool) -> None:
    make = functools.partial(WeightedSampler, WEIGHTS * 7, replacement=replacement, seed=4)
    full, before, after = interrupted_and_resumed(
        make, len(WEIGHTS) * 7, batch_size=4, num_workers=num_workers, stop_after=5
    )
    assert len(before) == 20
    assert before + after == full
    assert full == make().global_indices(0).tolist()


@pytest.mark.parametrize("num_workers", [0, 2])
def test_stateful_dataloader_resume_batch_mode(num_workers: int) -> None:
    def make() -> object:
        return WeightedSampler(WEIGHTS * 7, seed=4).batches(6)

    full, before, after = interrupted_and_resumed(
        make,
        len(WEIGHTS) * 7,
        batch_size=6,
        num_workers=num_workers,
        stop_after=3,
        batch_sampler=True,
    )
    assert before + after == full and len(before) == 3


def test_resume_with_set_epoch_under_ddp_style_loop() -> None:
    a = WeightedSampler(WEIGHTS * 3, seed=1, num_replicas=2, rank=1)
    a.set_epoch(4)
    it = iter(a)
    head = [next(it) for _ in range(5)]
    state = a.state_dict()
    b = WeightedSampler(WEIGHTS * 3, seed=1, num_replicas=2, rank=1)
    b.load_state_dict(state)
    b.set_epoch(4)  # the training loop sets the same epoch again: the resume point stays
    assert head + list(b) == a.rank_indices(4).tolist()
    b.set_epoch(5)
    assert list(b) == a.rank_indices(5).tolist()


@pytest.mark.parametrize("world_size", [2, 3])
def test_real_ddp_gloo(world_size: int) -> None:
    factories = {
        "pad": functools.partial(WeightedSampler, WEIGHTS, num_samples=17, seed=3),
        "drop": functools.partial(WeightedSampler, WEIGHTS, num_samples=17, seed=3, drop_last=True),
        "norepl": functools.partial(WeightedSampler, WEIGHTS, replacement=False, seed=8),
    }
    results = run_ddp(world_size, loader_epochs, factories, len(WEIGHTS), 2)
    for name, drop_last in (("pad", False), ("drop", True), ("norepl", False)):
        per_rank = [r[name] for r in results]
        # all ranks computed the same global sequences, and the gathered shards match the rule
        for r in per_rank[1:]:
            assert all(
                np.array_equal(a, b)
                for a, b in zip(r["global"], per_rank[0]["global"], strict=True)
            )
        check_shards(per_rank[0], world_size, drop_last)
        assert per_rank[0]["global"][0].tolist() != per_rank[0]["global"][1].tolist()


def test_weighted_random_sampler_builder() -> None:
    built = weighted_random_sampler([0, 0, 0, 1], num_samples=8, generator=torch.Generator())
    assert isinstance(built, WeightedRandomSampler)
    assert built.weights.tolist() == pytest.approx([1 / 3] * 3 + [1.0])
    assert built.num_samples == 8
    assert len(list(built)) == 8
    sqrt = weighted_random_sampler([[1, 0], [1, 1], [0, 0]], "sqrt", reduce="sum")
    assert sqrt.weights.tolist() == pytest.approx(
        sample_weights([[1, 0], [1, 1], [0, 0]], "sqrt", reduce="sum").tolist()
    )


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: WeightedSampler([1.0, -1.0]),
            ValueError,
            r"non-negative, but got weights\[1\]=-1.0",
        ),
        (lambda: WeightedSampler([1.0, float("nan")]), ValueError, "should be finite"),
        (lambda: WeightedSampler([1.0, float("inf")]), ValueError, "should be finite"),
        (lambda: WeightedSampler([0.0, 0.0]), ValueError, "all 2 weights are zero"),
        (lambda: WeightedSampler([]), ValueError, "should not be empty"),
        (lambda: WeightedSampler([[1.0, 2.0]]), ValueError, r"1-D .* shape \(1, 2\)"),
        (lambda: WeightedSampler(["a", "b"]), TypeError, "non-negative numbers"),
        (lambda: WeightedSampler([True, False]), TypeError, "dtype bool"),
        (lambda: WeightedSampler("abc"), TypeError, "1-D array-like"),
        (
            lambda: WeightedSampler([1.0], num_samples=0),
            ValueError,
            "`num_samples` should be a positive integer or None, but got num_samples=0",
        ),
        (
            lambda: WeightedSampler([1.0], num_samples=True),
            TypeError,
            "`num_samples` should be a positive integer",
        ),
        (
            lambda: WeightedSampler([1.0], num_samples=2.5),
            TypeError,
            "`num_samples` should be a positive integer",
        ),
        (
            lambda: WeightedSampler([1.0, 0.0, 2.0], replacement=False, num_samples=3),
            ValueError,
            r"at most the number of positive weights \(2\)",
        ),
        (
            lambda: WeightedSampler([1.0], replacement=1),
            TypeError,
            "`replacement` should be True or False",
        ),
        (
            lambda: WeightedSampler([1.0], num_replicas=2, rank=2),
            ValueError,
            r"`rank` should be in \[0, num_replicas - 1\]",
        ),
        (
            lambda: WeightedSampler([1.0], num_replicas=0),
            ValueError,
            "`num_replicas` should be a positive integer",
        ),
        (
            lambda: WeightedSampler([1.0], rank=-1),
            ValueError,
            "`rank` should be a non-negative integer",
        ),
        (
            lambda: WeightedSampler([1.0], seed=-1),
            ValueError,
            "`seed` should be a non-negative integer",
        ),
        (
            lambda: WeightedSampler([1.0], seed=None, num_replicas=2, rank=0),
            ValueError,
            "`seed` should be an integer when num_replicas > 1",
        ),
        (lambda: WeightedSampler([1.0], drop_last="yes"), TypeError, "`drop_last`"),
        (lambda: WeightedSampler([1.0]).set_epoch(-1), ValueError, "`epoch`"),
        (lambda: WeightedSampler([1.0]).batches(0), ValueError, "`batch_size`"),
        (
            lambda: WeightedSampler([1.0], seed=1).load_state_dict(
                {**WeightedSampler([1.0], seed=2).state_dict()}
            ),
            ValueError,
            "saved with seed=2",
        ),
        (
            lambda: WeightedSampler([1.0]).load_state_dict({"epoch": 0}),
            ValueError,
            "lacks the keys",
        ),
        (
            lambda: WeightedSampler([1.0]).load_state_dict([1]),
            TypeError,
            "`state_dict` should be a dict",
        ),
        (
            lambda: weighted_random_sampler([0, 1], replacement=False, num_samples=3),
            ValueError,
            "`num_samples` should be at most 2",
        ),
        (lambda: weighted_random_sampler([]), ValueError, "should not be empty"),
        (lambda: weighted_random_sampler([0, 1], generator=0), TypeError, "`generator`"),
    ],
)
def test_bad_input(call: object, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        call()  # type: ignore[operator]


def test_builder_rejects_more_than_torch_can_draw() -> None:
    with pytest.raises(ValueError, match=r"cannot draw from more than 2\*\*24.*WeightedSampler"):
        weighted_random_sampler(np.zeros(2**24 + 1, dtype=np.int64))


@pytest.mark.parametrize("stop", [1, 65_536, 65_537])
def test_abandoned_iteration_keeps_its_position(stop: int) -> None:
    # Items are served from chained per-chunk list iterators (65536 items per chunk): stopping
    # on either side of a chunk boundary, then dropping the iterator, keeps the exact count.
    s = WeightedSampler(WEIGHTS, num_samples=140_000, seed=3, replacement=True)
    expected = s.global_indices(0).tolist()
    it = iter(s)
    head = [next(it) for _ in range(stop)]
    del it
    state = s.state_dict()
    assert state["epoch"] == 0 and state["yielded"] == stop
    fresh = WeightedSampler(WEIGHTS, num_samples=140_000, seed=3, replacement=True)
    fresh.load_state_dict(state)
    assert head + list(fresh) == expected


def test_weights_whose_sum_overflows_are_scaled_not_collapsed() -> None:
    """Finite weights with an infinite float64 sum once put every draw on one index."""
    sampler = WeightedSampler([1e308, 1.7e308, 5.0], num_samples=3000, seed=0)
    counts = np.bincount(np.array(list(sampler)), minlength=3)
    assert counts[2] == 0
    assert counts[0] / 3000 == pytest.approx(1 / 2.7, abs=0.04)
    no_repeats = WeightedSampler([1e308, 1.7e308, 5.0], replacement=False, seed=0)
    assert sorted(no_repeats) == [0, 1, 2]


def test_weights_too_wide_for_float64_are_an_error() -> None:
    with pytest.raises(ValueError, match=r"sum overflows and, scaled down, weights\[2\]=1e-300"):
        WeightedSampler([1.7e308, 1.7e308, 1e-300])


def test_uint64_indices_above_int64_are_reported_as_given() -> None:
    from balancers import ResampledSampler

    with pytest.raises(
        ValueError, match=r"below 2\*\*63, but got indices\[1\]=18446744073709551615"
    ):
        ResampledSampler(np.array([0, 2**64 - 1], dtype=np.uint64))
