"""Sampler state dicts: every field checked on load, and what ``sampler.state_dict()`` alone is
right for beside a DataLoader (no workers, or StatefulDataLoader) and what it is not (workers)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader
from torchdata.stateful_dataloader import StatefulDataLoader

from balancers import (
    BalancedBatchSampler,
    ClassAwareSampler,
    ClassBalancedSampler,
    ProgressivelyBalancedSampler,
    ResampledSampler,
    WeightedSampler,
)
from balancers.samplers._engine import EpochSampler
from tests._harness import IndexDataset

LABELS = [0] * 6 + [1] * 3 + [2] * 2

SAMPLERS: dict[str, Callable[[], EpochSampler[Any]]] = {
    "weighted": lambda: WeightedSampler([1.0] * 9 + [3.0, 3.0], seed=3),
    "class_balanced": lambda: ClassBalancedSampler(LABELS, seed=3),
    "class_aware": lambda: ClassAwareSampler(LABELS, seed=3, num_replicas=2, rank=1),
    "progressive": lambda: ProgressivelyBalancedSampler(LABELS, epochs=4, seed=3),
    "resampled": lambda: ResampledSampler([0, 1, 1, 2, 5], seed=3),
    "batches": lambda: BalancedBatchSampler(
        LABELS, classes_per_batch=2, samples_per_class=2, num_batches=5, seed=3
    ),
}


def _midway(make: Callable[[], EpochSampler[Any]], steps: int = 3) -> EpochSampler[Any]:
    sampler = make()
    iterator = iter(sampler)
    for _ in range(steps):
        next(iterator)
    return sampler


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"yielded": 12}, r"`state_dict\['yielded'\]` should be an integer in \[0, 11\].*Epoch 0"),
        ({"yielded": -1}, r"state_dict\['yielded'\]"),
        ({"yielded": 2.0}, r"`state_dict\['yielded'\]` should be.*of type float"),
        ({"pinned": "false"}, r"`state_dict\['pinned'\]` should be True or False.*'false'"),
        ({"pinned": 0}, r"state_dict\['pinned'\]"),
        ({"epoch": True}, r"`state_dict\['epoch'\]` should be a non-negative integer"),
        ({"seed": "3"}, r"`state_dict\['seed'\]` should be a non-negative integer.*'3'"),
        ({"seed": 4}, r"saved with seed=4, but this sampler has seed=3.*seed=4\.$"),
        ({"num_replicas": 2}, r"saved with num_replicas=2"),
        ({"rank": 1}, r"`state_dict\['rank'\]` should be an integer in \[0, 0\]"),
        ({"sampler": "ClassAwareSampler"}, r"saved by sampler='ClassAwareSampler'"),
        ({"version": 3}, r"`state_dict\['version'\]` should be an integer in \[1, 2\]"),
        ({"extra": 1}, r"has the unknown keys \['extra'\]"),
        ({"epoch": None}, r"`state_dict\['epoch'\]`"),
    ],
)
def test_every_field_is_checked(change: dict[str, Any], message: str) -> None:
    sampler = SAMPLERS["weighted"]()
    state = {**_midway(SAMPLERS["weighted"]).state_dict(), **change}
    with pytest.raises(ValueError, match=message):
        sampler.load_state_dict(state)
    assert sampler.state_dict() == SAMPLERS["weighted"]().state_dict()  # left as it was


@pytest.mark.parametrize("key", ["version", "sampler", "epoch", "yielded", "pinned", "rank"])
def test_a_missing_key_is_named(key: str) -> None:
    state = _midway(SAMPLERS["weighted"]).state_dict()
    del state[key]
    with pytest.raises(ValueError, match=rf"lacks the keys \['{key}'\]"):
        SAMPLERS["weighted"]().load_state_dict(state)


def test_a_state_from_another_kind_of_sampler_is_rejected() -> None:
    state = _midway(SAMPLERS["class_balanced"]).state_dict()
    with pytest.raises(ValueError, match="saved by sampler='ClassBalancedSampler'"):
        ClassAwareSampler(LABELS, seed=3).load_state_dict(state)


def test_version_one_states_still_resume() -> None:
    state = _midway(SAMPLERS["weighted"]).state_dict()
    del state["sampler"]
    state["version"] = 1
    sampler = SAMPLERS["weighted"]()
    sampler.load_state_dict(state)
    assert list(sampler) == SAMPLERS["weighted"]().rank_indices(0)[3:].tolist()


def test_a_state_at_the_very_end_of_an_epoch_resumes_the_next() -> None:
    sampler = SAMPLERS["weighted"]()
    state = _midway(SAMPLERS["weighted"], 11).state_dict()
    assert state["yielded"] == 11
    sampler.load_state_dict(state)
    assert list(sampler) == []
    assert list(sampler) == SAMPLERS["weighted"]().rank_indices(1).tolist()


FIELD_VALUES = st.one_of(
    st.integers(-2, 13),
    st.booleans(),
    st.none(),
    st.floats(-2, 13),
    st.sampled_from(["0", "3", "false", "WeightedSampler", "ClassAwareSampler"]),
)


@settings(max_examples=150, deadline=None)
@given(
    name=st.sampled_from(sorted(SAMPLERS)),
    steps=st.integers(0, 4),
    key=st.sampled_from(
        ["version", "sampler", "epoch", "yielded", "pinned", "seed", "num_replicas", "rank", "x"]
    ),
    delete=st.booleans(),
    value=FIELD_VALUES,
)
def test_any_mutation_is_the_state_it_says_or_a_value_error(
    name: str, steps: int, key: str, delete: bool, value: object
) -> None:
    """A mutated state either loads as exactly what it says (and resumes from there) or fails
    whole with a ValueError; nothing is reinterpreted ("false" as True, 2.0 as 2)."""
    state = _midway(SAMPLERS[name], steps).state_dict()
    if delete:
        state.pop(key, None)
    else:
        state[key] = value
    sampler = SAMPLERS[name]()
    before = sampler.state_dict()
    try:
        sampler.load_state_dict(state)
    except ValueError:
        assert sampler.state_dict() == before
        return
    got = sampler.state_dict()
    said = {**state, "rank": sampler.rank, "version": 2, "sampler": type(sampler).__name__}
    assert json.dumps(got, sort_keys=True) == json.dumps(said, sort_keys=True)
    rest = [x if isinstance(x, int) else list(x) for x in sampler]
    expected = sampler.rank_indices(state["epoch"])[state["yielded"] :].tolist()
    assert rest == expected


# ------------------------------------------------------- sampler.state_dict() beside a DataLoader
N, BATCH, CONSUMED = 64, 4, 3


def _sampler() -> WeightedSampler:
    return WeightedSampler(torch.arange(1, N + 1, dtype=torch.float64), seed=5)


def _rest_after(state: dict[str, Any]) -> list[int]:
    sampler = _sampler()
    sampler.load_state_dict(state)
    return [
        int(i) for b in DataLoader(IndexDataset(N), batch_size=BATCH, sampler=sampler) for i in b
    ]


def test_state_dict_alone_is_exact_beside_a_loader_without_workers() -> None:
    sampler = _sampler()
    loader = DataLoader(IndexDataset(N), batch_size=BATCH, sampler=sampler, num_workers=0)
    iterator = iter(loader)
    seen = [int(i) for _ in range(CONSUMED) for i in next(iterator)]
    state = sampler.state_dict()
    assert state["yielded"] == CONSUMED * BATCH
    assert seen + _rest_after(state) == _sampler().rank_indices(0).tolist()


@pytest.mark.slow
def test_workers_read_ahead_of_the_loop_and_the_documented_remedy_is_exact() -> None:
    """With workers, the loader takes indices for prefetched batches: the sampler's count is
    ahead of what the loop consumed. Setting ``yielded`` to the consumed samples is exact."""
    sampler = _sampler()
    loader = DataLoader(
        IndexDataset(N), batch_size=BATCH, sampler=sampler, num_workers=2, prefetch_factor=2
    )
    iterator = iter(loader)
    seen = [int(i) for _ in range(CONSUMED) for i in next(iterator)]
    state = sampler.state_dict()
    del iterator
    assert state["yielded"] == (CONSUMED + 2 * 2) * BATCH  # ahead: workers * prefetch_factor
    assert len(seen + _rest_after(state)) < N  # resuming from it would skip samples
    state["yielded"] = CONSUMED * BATCH  # the remedy the docs give
    assert seen + _rest_after(state) == _sampler().rank_indices(0).tolist()


@pytest.mark.slow
def test_stateful_dataloader_with_workers_is_exact() -> None:
    loader = StatefulDataLoader(
        IndexDataset(N), batch_size=BATCH, sampler=_sampler(), num_workers=2
    )
    iterator = iter(loader)
    seen = [int(i) for _ in range(CONSUMED) for i in next(iterator)]
    state = loader.state_dict()
    del iterator, loader
    resumed = StatefulDataLoader(
        IndexDataset(N), batch_size=BATCH, sampler=_sampler(), num_workers=2
    )
    resumed.load_state_dict(state)
    rest = [int(i) for b in resumed for i in b]
    assert seen + rest == _sampler().rank_indices(0).tolist()
