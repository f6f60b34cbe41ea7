"""balancers.streams on plain Python sources: target shares, bounds, determinism, resume, mixing
and bad input. (webdataset, Hugging Face, StatefulDataLoader and gloo: test_streams_io.py.)"""

from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from balancers import describe
from balancers.streams import BalancedStream, mix_streams

SHARES = np.array([0.4, 0.3, 0.2, 0.1])


def draw_labels(n: int, seed: int = 1, shares: np.ndarray = SHARES) -> list[int]:
    rng = np.random.Generator(np.random.PCG64(seed))
    return rng.choice(len(shares), size=n, p=shares).tolist()


class Items(IterableDataset[tuple[int, int]]):
    """A generator-backed source of ``(index, class)`` pairs; under DataLoader workers it
    yields its worker's share ``index % num_workers == worker`` (the source does the split)."""

    def __init__(self, labels: list[int]) -> None:
        self.labels = labels

    def __iter__(self) -> Iterator[tuple[int, int]]:
        info = get_worker_info()
        start, step = (info.id, info.num_workers) if info is not None else (0, 1)
        return ((i, self.labels[i]) for i in range(start, len(self.labels), step))


def shares_of(classes: list[Any], n_classes: int = 4) -> np.ndarray:
    counts = np.bincount(np.asarray(classes, dtype=np.int64), minlength=n_classes)
    return counts / counts.sum()


def tv(a: np.ndarray, b: np.ndarray) -> float:
    return 0.5 * float(np.abs(a - b).sum())


def target_shares(target: Any, counts: np.ndarray) -> np.ndarray:
    if isinstance(target, dict):
        t = np.array([target.get(c, 0.0) for c in range(len(counts))])
    else:
        t = counts.astype(np.float64) ** float(target)
    return t / t.sum()


DICT_TARGET = {0: 0.1, 1: 0.2, 2: 0.3, 3: 0.4}
LABELS = draw_labels(450_000)
COUNTS = np.bincount(LABELS, minlength=4)


# ------------------------------------------------------------------------------ target shares
@pytest.mark.parametrize("method", ["reject", "oversample"])
@pytest.mark.parametrize("target", [0, 0.5, DICT_TARGET], ids=["q0", "q0.5", "dict"])
def test_given_counts_reach_the_target_from_the_start(method: str, target: Any) -> None:
    stream = BalancedStream(
        Items(LABELS),
        label=1,
        target=target,
        method=method,
        class_counts=dict(enumerate(COUNTS.tolist())),
    )
    out = [c for _, c in itertools.islice(stream, 100_000)]
    assert len(out) == 100_000
    assert tv(shares_of(out), target_shares(target, COUNTS)) <= 0.01


@pytest.mark.parametrize("method", ["reject", "oversample"])
def test_estimated_counts_converge_to_the_target(method: str) -> None:
    labels = LABELS + draw_labels(100_000, seed=2)  # rejection keeps 40% of them
    stream = BalancedStream(Items(labels), label=1, method=method, target="balanced")
    out = [c for _, c in itertools.islice(stream, 200_000)]
    assert len(out) == 200_000
    assert tv(shares_of(out[100_000:]), np.full(4, 0.25)) <= 0.01


def test_reject_keep_probabilities_and_acceptance_rate() -> None:
    counts = {0: 800, 1: 200}
    stream = BalancedStream(
        Items(draw_labels(50_000, shares=np.array([0.8, 0.2]))), label=1, class_counts=counts
    )
    out = list(stream)
    stats = stream.stats()
    # keep 0.25 of class 0, all of class 1: acceptance 0.8 * 0.25 + 0.2 = 0.4
    assert stats["acceptance_rate"] == pytest.approx(0.4, abs=0.01)
    assert stats["items_seen"] == 50_000 and stats["items_yielded"] == len(out)
    assert stats["yielded"][1] == stats["seen"][1]


# ---------------------------------------------------------------------------------- invariants
def test_reject_output_is_a_subsequence() -> None:
    stream = BalancedStream(Items(LABELS[:20_000]), label=1, method="reject")
    idx = [i for i, _ in stream]
    assert idx == sorted(set(idx)) and len(idx) < 20_000
    assert all(LABELS[i] == c for i, c in BalancedStream(Items(LABELS[:500]), label=1))


@pytest.mark.parametrize("class_counts", [None, dict(enumerate(COUNTS.tolist()))])
def test_oversample_drops_nothing_and_bounds_its_buffers(class_counts: Any) -> None:
    size, n = 16, 20_000
    stream = BalancedStream(
        Items(LABELS[:n]), label=1, method="oversample", buffer_size=size, class_counts=class_counts
    )
    out, peak = [], 0
    for k, item in enumerate(stream):
        out.append(item)
        if k % 97 == 0:
            peak = max(peak, *stream.stats()["buffered"].values())
    assert 0 < peak <= size
    assert max(stream.stats()["buffered"].values()) == size
    # every source item once, in order, as first occurrences; repeats only of items seen before
    firsts, seen = [], set()
    for i, c in out:
        assert LABELS[i] == c
        if i not in seen:
            seen.add(i)
            firsts.append(i)
        else:
            assert i < firsts[-1] or i == firsts[-1]
    assert firsts == list(range(n))
    assert len(out) / n == pytest.approx(4 * SHARES.max(), abs=0.02)  # R = max_k s_k / t_k
    assert tv(shares_of([c for _, c in out]), np.full(4, 0.25)) <= 0.02


def test_multilabel_items_count_each_label() -> None:
    rng = np.random.Generator(np.random.PCG64(3))
    items = [
        {"id": i, "tags": sorted(set(rng.choice(3, size=rng.integers(0, 3), p=[0.7, 0.2, 0.1])))}
        for i in range(3000)
    ]
    for method in ("reject", "oversample"):
        stream = BalancedStream(items, label="tags", method=method)
        out = list(stream)
        stats = stream.stats()
        assert None in stats["seen"]  # rows with no label are their own group
        yielded = {
            c: sum(1 for x in out if (c in x["tags"] if c is not None else not x["tags"]))
            for c in stats["seen"]
        }
        assert yielded == stats["yielded"]
        counts = [stats["yielded"][c] for c in (0, 1, 2)]
        assert max(counts) / min(counts) < 2.5  # the 7:1 imbalance of the labels is reduced


def test_labels_of_many_forms() -> None:
    items = [
        (b"3", 0),
        (np.int64(3), 1),
        (torch.tensor(3), 2),
        (np.array([3, 5]), 3),
        (torch.tensor([5]), 4),
        ("cat", 5),
        ([], 6),
    ]
    stream = BalancedStream(items, label=0, target=1.0)  # q=1: the source itself, all kept
    assert [i for _, i in stream] == list(range(7))
    assert stream.stats()["seen"] == {3: 4, 5: 2, "cat": 1, None: 1} or stream.stats()["seen"] == {
        None: 1,
        3: 4,
        5: 2,
        "cat": 1,
    }
    by_callable = BalancedStream(items[:3], label=lambda item: item[0], target=1.0)
    assert len(list(by_callable)) == 3


def test_transform_runs_on_yielded_items_only() -> None:
    calls: list[int] = []

    def decode(item: tuple[int, int]) -> int:
        calls.append(item[0])
        return item[0]

    stream = BalancedStream(Items(LABELS[:5000]), label=1, transform=decode)
    assert list(stream) == calls and len(calls) < 5000


def test_class_counts_from_describe() -> None:
    report = describe(np.asarray(LABELS[:1000]))
    a = BalancedStream(Items(LABELS[:1000]), label=1, class_counts=report)
    b = BalancedStream(Items(LABELS[:1000]), label=1, class_counts=report.counts)
    assert list(a) == list(b)


# -------------------------------------------------------------------------------- determinism
def loader_items(stream: BalancedStream, workers: int) -> list[tuple[int, int]]:
    loader = DataLoader(stream, batch_size=None, num_workers=workers)
    return [(int(i), int(c)) for i, c in loader]


@pytest.mark.filterwarnings("ignore:This DataLoader will create 3 worker processes:UserWarning")
@pytest.mark.parametrize("method", ["reject", "oversample"])
def test_same_output_with_0_1_and_3_workers(method: str) -> None:
    labels = LABELS[:3000]

    def make(source_labels: list[int]) -> BalancedStream:
        return BalancedStream(Items(source_labels), label=1, method=method, seed=7)

    none, one = loader_items(make(labels), 0), loader_items(make(labels), 1)
    assert none == one
    three = loader_items(make(labels), 3)
    for w in range(3):
        share = [item for item in three if item[0] % 3 == w]
        # replay worker w in-process: its share of the source, its key (seed, epoch, rank, w)
        replay = [(w + 3 * i, c) for i, c in make(labels[w::3])._iterate(rank=0, worker=w)]
        assert share == replay
    assert sorted(three) != sorted(none)  # other shares and keys, other decisions


def test_epochs_differ_and_set_epoch_pins() -> None:
    stream = BalancedStream(Items(LABELS[:3000]), label=1, seed=3)
    first, second = list(stream), list(stream)  # iterations advance the epoch
    assert first != second
    stream.set_epoch(0)
    assert list(stream) == first and list(stream) == first
    assert stream.epoch == 0


@settings(max_examples=12, deadline=None)
@given(
    stop=st.integers(0, 2500),
    method=st.sampled_from(["reject", "oversample"]),
    given_counts=st.booleans(),
)
def test_resume_at_any_point_yields_the_rest(stop: int, method: str, given_counts: bool) -> None:
    labels = LABELS[:2000]
    counts = dict(enumerate(np.bincount(labels, minlength=4).tolist())) if given_counts else None

    def make() -> BalancedStream:
        return BalancedStream(
            Items(labels), label=1, method=method, class_counts=counts, buffer_size=8, seed=5
        )

    full = list(make())
    stop = min(stop, len(full))  # past the end, the state points at the next epoch
    stream = make()
    iterator = iter(stream)
    before = list(itertools.islice(iterator, stop))
    state = stream.state_dict()
    resumed = make()
    resumed.load_state_dict(state)
    assert before + list(resumed) == full
    assert resumed.stats()["yielded"] == make_stats(make)


def make_stats(make: Any) -> dict[Any, int]:
    stream = make()
    list(stream)
    return stream.stats()["yielded"]


# ------------------------------------------------------------------------------------ mixing
def test_mix_shares_follow_the_weights() -> None:
    sources = {name: Items([k] * 1000) for k, name in enumerate("abc")}
    mixed = mix_streams(sources, weights={"a": 0.5, "b": 0.3, "c": 0.2}, stop="never", seed=1)
    out = [c for _, c in itertools.islice(mixed, 100_000)]
    assert tv(shares_of(out, 3), np.array([0.5, 0.3, 0.2])) <= 0.01
    assert mixed.stats()["passes"]["a"] >= 49


def test_temperature_math_is_exact() -> None:
    sources = {"a": list(range(100)), "b": list(range(400))}
    by_sizes = mix_streams(sources, temperature=2.0, sizes={"a": 100, "b": 400})
    assert by_sizes.probabilities == {
        "a": pytest.approx(1 / 3, abs=1e-15),
        "b": pytest.approx(2 / 3, abs=1e-15),
    }
    assert mix_streams(sources, temperature=1.0).probabilities == {"a": 0.2, "b": 0.8}
    t = 3.0
    expected = np.array([100, 400]) ** (1 / t) / (np.array([100, 400]) ** (1 / t)).sum()
    assert list(mix_streams(sources, temperature=t).probabilities.values()) == pytest.approx(
        expected.tolist(), abs=1e-15
    )
    assert mix_streams(sources, weights=[1, 3]).probabilities == {"a": 0.25, "b": 0.75}


def test_stop_rules() -> None:
    small, large = list(range(10)), list(range(100, 400))
    first = list(mix_streams({"s": small, "l": large}, stop="first_exhausted", seed=2))
    assert [x for x in first if x < 100] == small and len([x for x in first if x >= 100]) < 300

    every = mix_streams({"s": small, "l": large}, stop="all_exhausted", seed=2)
    out = list(every)
    assert [x for x in out if x >= 100] == large  # the large source exactly once
    assert len([x for x in out if x < 100]) > 10  # the small one restarted
    assert every.stats()["passes"] == {"s": every.stats()["passes"]["s"], "l": 1}
    assert out[-1] >= 100 or out[-1] == small[(len([x for x in out if x < 100]) - 1) % 10]

    endless = mix_streams({"s": small, "l": large}, stop="never", seed=2)
    assert len(list(itertools.islice(endless, 5000))) == 5000

    zero = list(mix_streams({"s": small, "l": large}, weights=[1, 0], stop="all_exhausted"))
    assert zero == small  # a source with weight 0 is never drawn nor waited for


def test_mix_is_deterministic_and_resumable() -> None:
    def make() -> Any:
        return mix_streams({"a": Items([0] * 300), "b": Items([1] * 500)}, seed=4)

    full = list(make())
    assert full == list(make())
    stream = make()
    it = iter(stream)
    head = list(itertools.islice(it, 321))
    resumed = make()
    resumed.load_state_dict(stream.state_dict())
    assert head + list(resumed) == full


# ---------------------------------------------------------------------------------- bad input
def gen() -> Iterator[int]:
    yield 1


ITEMS = [{"x": 1, "cls": 0}, {"x": 2, "cls": 1}]

BAD_CONSTRUCTION = [
    (lambda: BalancedStream(5, label=0), TypeError, "`source` should be an iterable"),
    (lambda: BalancedStream(gen(), label=0), TypeError, "should be re-iterable"),
    (lambda: BalancedStream(ITEMS, label=1.5), TypeError, "`label` should be a dict key"),
    (lambda: BalancedStream(ITEMS, label="cls", target="uniform"), ValueError, "'balanced'"),
    (lambda: BalancedStream(ITEMS, label="cls", target=-1), ValueError, "`target` should be"),
    (lambda: BalancedStream(ITEMS, label="cls", target={}), ValueError, "at least one class"),
    (lambda: BalancedStream(ITEMS, label="cls", target={0: -1}), ValueError, "non-negative"),
    (lambda: BalancedStream(ITEMS, label="cls", target={0: 0, 1: 0}), ValueError, "all 2 shares"),
    (
        lambda: BalancedStream(ITEMS, label="cls", target={5: 1}, class_counts={0: 1, 1: 1}),
        ValueError,
        "names no class of `class_counts`",
    ),
    (
        lambda: BalancedStream(
            ITEMS, label="cls", target={0: 0.5, 1: 0.5}, class_counts={0: 10, 1: 0}
        ),
        ValueError,
        r"class 1 the share 0.5, but class_counts\[1\] is 0",
    ),
    (
        lambda: BalancedStream(
            ITEMS, label="cls", target={0: 1}, method="oversample", class_counts={0: 1, 1: 1}
        ),
        ValueError,
        "every class in the source needs a positive",
    ),
    (lambda: BalancedStream(ITEMS, label="cls", method="smote"), ValueError, "`method`"),
    (lambda: BalancedStream(ITEMS, label="cls", buffer_size=0), ValueError, "buffer_size=0"),
    (lambda: BalancedStream(ITEMS, label="cls", buffer_size=2.0), TypeError, "`buffer_size`"),
    (lambda: BalancedStream(ITEMS, label="cls", class_counts={0: -1}), ValueError, "non-negative"),
    (lambda: BalancedStream(ITEMS, label="cls", class_counts=[0, 0]), ValueError, "all 2 counts"),
    (lambda: BalancedStream(ITEMS, label="cls", class_counts="10"), TypeError, "`class_counts`"),
    (lambda: BalancedStream(ITEMS, label="cls", seed=-1), ValueError, "`seed`"),
    (lambda: mix_streams([ITEMS]), TypeError, "`sources` should be a"),
    (lambda: mix_streams({}), ValueError, "at least one source"),
    (lambda: mix_streams({"a": 3}), TypeError, r"`sources\['a'\]` should be an iterable"),
    (lambda: mix_streams({"a": ITEMS}, temperature=0), ValueError, "`temperature` should be"),
    (lambda: mix_streams({"a": ITEMS}, temperature=-1.0), ValueError, "`temperature` should be"),
    (lambda: mix_streams({"a": Items([0])}, temperature=2), ValueError, "have no len"),
    (lambda: mix_streams({"a": ITEMS}, weights=[1], temperature=2), ValueError, "not both"),
    (lambda: mix_streams({"a": ITEMS}, sizes=[1]), ValueError, "only used with `temperature`"),
    (lambda: mix_streams({"a": ITEMS}, weights=[-1]), ValueError, "non-negative"),
    (lambda: mix_streams({"a": ITEMS}, weights=[0]), ValueError, "all are zero"),
    (lambda: mix_streams({"a": ITEMS}, weights={"b": 1}), ValueError, "unknown sources"),
    (lambda: mix_streams({"a": ITEMS}, weights=[1, 2]), ValueError, "one value per source"),
    (lambda: mix_streams({"a": ITEMS}, stop="longest"), ValueError, "`stop`"),
]


@pytest.mark.parametrize(("make", "error", "message"), BAD_CONSTRUCTION)
def test_bad_arguments(make: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        make()


BAD_ITEMS = [
    (
        dict(source=[{"x": 1, "cls": 0}, {"x": 2}], label="cls"),
        ValueError,
        r"item 1 has no key 'cls' \(`label`\); its keys are 'x'",
    ),
    (dict(source=[(0, 1), (1,)], label=1), ValueError, "item 1 has 1 fields"),
    (
        dict(source=[{"cls": 0}, {"cls": {"a": 1}}], label="cls"),
        TypeError,
        "the label of item 1 should be a class id",
    ),
    (dict(source=[{"cls": None}], label="cls"), TypeError, "the label of item 0"),
    (
        dict(source=[{"cls": 0}, {"cls": 7}], label="cls", class_counts={0: 3}),
        ValueError,
        "item 1 has class 7, which `class_counts` does not list",
    ),
    (
        dict(source=[{"cls": 0}, {"cls": 1}], label="cls", target={9: 1.0}),
        ValueError,
        "`target` names no class of the source",
    ),
    (
        dict(source=[{"cls": 0}, {"cls": 1}], label="cls", target={0: 1.0}, method="oversample"),
        ValueError,
        "class 1 has none",
    ),
]


@pytest.mark.parametrize(("kwargs", "error", "message"), BAD_ITEMS)
def test_bad_items_raise_with_their_position(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    for method in ("reject", "oversample"):
        if kwargs.get("method", method) != method:
            continue
        with pytest.raises(error, match=message):
            list(BalancedStream(**{"method": method, **kwargs}))


def test_load_state_dict_checks() -> None:
    stream = BalancedStream(ITEMS, label="cls", seed=1)
    with pytest.raises(TypeError, match="`state_dict` should be a dict"):
        stream.load_state_dict([1])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lacks the keys"):
        stream.load_state_dict({"seed": 1})
    other = BalancedStream(ITEMS, label="cls", seed=2).state_dict()
    with pytest.raises(ValueError, match="seed=2"):
        stream.load_state_dict(other)
    assert math.isnan(BalancedStream(ITEMS, label="cls").stats()["acceptance_rate"])


def test_missing_extra_names_the_pip_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from balancers.streams import read_webdataset_labels

    monkeypatch.setitem(sys.modules, "webdataset", None)
    monkeypatch.setitem(sys.modules, "webdataset.shardlists", None)
    with pytest.raises(ImportError, match=r'pip install "balancers\[streams\]"'):
        read_webdataset_labels("shards-{000..001}.tar")


def test_a_partly_read_stream_still_goes_to_workers() -> None:
    stream = BalancedStream(Items(LABELS[:400]), label=1, seed=2)
    head = next(iter(stream))
    stream.set_epoch(0)
    assert loader_items(stream, 1)[0] == head
