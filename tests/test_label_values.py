"""Label values numpy would silently merge, wrap or rename: mixed types, missing labels, huge
floats, tensors numpy cannot hold, summed sparse duplicates, Subsets out of range."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.utils.data import Dataset, Subset, TensorDataset

from balancers import ClassBalancedSampler, class_weights, get_labels, sample_weights
from balancers._labels import check_labels


class Pairs(Dataset[tuple[int, object]]):
    """A dataset with no label attribute: labels come from ``dataset[i][1]``."""

    def __init__(self, targets: list[object]) -> None:
        self.items = targets

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple[int, object]:
        return 0, self.items[i]


class Targets(Pairs):
    """A dataset whose labels are a plain ``.targets`` list, as many user datasets have."""

    def __init__(self, targets: list[object]) -> None:
        super().__init__(targets)
        self.targets = targets


MIXED = [1, "1", 2]


@pytest.mark.parametrize(
    "form",
    [
        MIXED,
        tuple(MIXED),
        np.array(MIXED, dtype=object),
        Targets(MIXED),
        Pairs(MIXED),
        Subset(Targets(MIXED), [0, 1]),
    ],
    ids=["list", "tuple", "object-array", "targets", "pairs", "subset"],
)
def test_int_and_str_are_not_merged(form: object) -> None:
    with pytest.raises(TypeError, match=r"one type.*number and str.*\[0\]=1.*\[1\]='1'"):
        check_labels(form, progress=False)
    with pytest.raises(TypeError, match="one type"):
        class_weights(form)


@pytest.mark.parametrize("values", [[True, 2, 2], [1.0, "a"], [b"a", "a"]])
def test_other_mixes_are_type_errors(values: list[object]) -> None:
    with pytest.raises(TypeError, match="one type"):
        check_labels(values)


@pytest.mark.parametrize(
    ("form", "positions"),
    [
        (["a", np.nan, "b"], "[1]"),
        (["a", None, "b", None], "[1, 3]"),
        (pd.Categorical(["a", np.nan, "b"]), "[1]"),
        (np.array(["a", np.nan], dtype=object), "[1]"),
        ([0.0, 1.0, float("nan")], "[2]"),
        (torch.tensor([0.0, float("nan")]), "[1]"),
        (pd.Series([1, None, 2, pd.NA], dtype=object), "[1, 3]"),
        (Targets(["a", None]), "[1]"),
        (Pairs([0, float("nan")]), "[1]"),
        ([None] * 9, "[0, 1, 2, 3, 4, ...]"),
    ],
)
def test_missing_labels_are_an_error_with_count_and_positions(form: object, positions: str) -> None:
    with pytest.raises(ValueError, match=r"labels are missing \(None or NaN\), at positions") as e:
        check_labels(form, progress=False)
    assert positions in str(e.value)
    assert "'nan'" not in str(e.value)


@pytest.mark.parametrize("value", [9.3e18, -9.4e18, 2.0**53 + 2, 1e300])
def test_floats_beyond_exact_integers_are_rejected(value: float) -> None:
    with pytest.raises(ValueError, match=r"integer class ids.*at most 2\*\*53"):
        check_labels([0.0, value])


def test_floats_up_to_two_to_the_53_are_exact_class_ids() -> None:
    info = check_labels([0.0, 2.0**53, 2.0**53])
    assert info.classes.tolist() == [0, 2**53]
    assert info.counts.tolist() == [1, 2]


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_labels_and_weights(dtype: torch.dtype) -> None:
    labels = torch.tensor([0, 1, 1, 2], dtype=dtype)
    assert check_labels(labels).counts.tolist() == [1, 2, 1]
    weights = torch.tensor([1.0, 2.0, 0.0], dtype=dtype)
    sampler = ClassBalancedSampler(labels, seed=0)
    assert len(list(sampler)) == 4
    from balancers import WeightedSampler

    assert WeightedSampler(weights, seed=0).weights.tolist() == [1.0, 2.0, 0.0]


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta:UserWarning")
def test_sparse_tensor_labels_become_sparse_multilabel() -> None:
    dense = torch.tensor([[1, 0, 1], [0, 0, 0], [0, 1, 1]])
    for tensor in (dense.to_sparse(), dense.to_sparse_csr()):
        info = check_labels(tensor)
        assert info.kind == "multilabel"
        assert info.dense().tolist() == dense.tolist()
    assert sample_weights(dense.to_sparse()).tolist() == sample_weights(dense).tolist()


def test_sparse_tensor_weights_are_made_dense() -> None:
    from balancers import WeightedSampler

    sampler = WeightedSampler(torch.tensor([0.0, 3.0, 1.0]).to_sparse(), seed=0)
    assert sampler.weights.tolist() == [0.0, 3.0, 1.0]


def test_complex_tensor_is_our_type_error() -> None:
    with pytest.raises(TypeError, match="class ids, but got complex"):
        check_labels(torch.tensor([1 + 0j, 2 + 0j]))


@pytest.mark.parametrize(
    "matrix",
    [
        sp.coo_array((np.ones(2), ([0, 0], [1, 1])), shape=(2, 2)),
        torch.sparse_coo_tensor([[0, 0], [1, 1]], [1, 1], (2, 2), check_invariants=True),
    ],
    ids=["scipy", "torch"],
)
def test_summed_duplicate_entries_are_named(matrix: object) -> None:
    with pytest.raises(ValueError, match=r"contains 2.* after summing duplicate entries"):
        check_labels(matrix)


def test_duplicate_zero_and_one_entries_sum_to_one() -> None:
    coo = sp.coo_array((np.array([1, 0]), ([0, 0], [1, 1])), shape=(2, 2))
    assert check_labels(coo).counts.tolist() == [0, 1]


@pytest.mark.parametrize(("indices", "shown"), [([0, 7], "indices[1]=7"), ([-5], "indices[0]=-5")])
def test_subset_out_of_range_is_a_value_error(indices: list[int], shown: str) -> None:
    ds = TensorDataset(torch.zeros(4, 1), torch.tensor([0, 1, 0, 1]))
    with pytest.raises(
        ValueError, match=rf"`Subset.indices` should be in \[0, 4\).*{re.escape(shown)}"
    ):
        get_labels(Subset(ds, indices))


def test_subset_negative_indices_count_from_the_end_like_python() -> None:
    ds = TensorDataset(torch.zeros(4, 1), torch.tensor([0, 1, 2, 3]))
    assert get_labels(Subset(ds, [-1, 0])).tolist() == [3, 0]
    assert get_labels(Subset(ds, [])).tolist() == []


SCALARS = st.one_of(
    st.integers(-(2**62), 2**62),
    st.floats(allow_nan=True, allow_infinity=False, width=64),
    st.booleans(),
    st.text(st.characters(exclude_characters="\x00"), max_size=3),  # numpy strips trailing NULs
    st.binary(max_size=3).filter(lambda b: not b.endswith(b"\x00")),
    st.none(),
)


def _kind(value: object) -> str:
    return {bool: "bool", str: "str", bytes: "bytes"}.get(type(value), "number")


@given(st.lists(SCALARS, min_size=1, max_size=12))
def test_any_mix_is_one_class_type_or_an_error(values: list[object]) -> None:
    """Either every value keeps its identity in one class type, or a clear error."""
    kinds = {_kind(v) for v in values if v is not None}
    if any(v is None or (isinstance(v, float) and v != v) for v in values):
        with pytest.raises(ValueError, match="labels are missing"):
            check_labels(values)
    elif len(kinds) > 1:
        with pytest.raises(TypeError, match="should hold class ids of one type"):
            check_labels(values)
    elif any(isinstance(v, float) for v in values) and any(
        v != round(v) or abs(v) > 2**53  # type: ignore[call-overload,arg-type]
        for v in values
    ):
        with pytest.raises(ValueError, match="should hold integer class ids"):
            check_labels(values)
    else:
        info = check_labels(values)
        assert info.codes is not None
        restored = info.classes[info.codes].tolist()
        assert restored == values
        assert {_kind(r) for r in restored} == kinds
        assert len(info.classes) == len(set(values))
