"""Vectorized weighted draws (numpy only, no torch): alias tables and weighted permutations.

These are the index kernels behind :class:`balancers.WeightedSampler`. They take an explicit
``np.random.Generator`` and never touch a global RNG.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ._keysort import argsort_keys

__all__ = ["AliasTable", "WeightGroups", "WeightedPermutation", "WithReplacement"]

_CHUNK = 1 << 22
_MAX_GROUPS = 256


class AliasTable:
    """Walker's alias table for O(1) weighted draws with replacement (Walker 1977; Vose 1991).

    The table is built without a Python loop: with the scaled weights :math:`p_i = n w_i / W`,
    the deficits :math:`1 - p_i` of the small items and the excesses :math:`p_j - 1` of the large
    items are laid on two lines by cumulative sums. A small item takes as alias the large item
    whose excess interval contains the start of its deficit; a large item keeps the part of its
    column not given away and takes the next large item as alias (the sweep of Vose's algorithm,
    resolved with ``searchsorted``). Construction is O(n) plus a sorted search, and a draw is one
    uniform number, one comparison and one gather.

    Args:
        weights: 1-D non-negative float64 weights with a positive sum (validated by the caller).

    Example:
        >>> import numpy as np
        >>> table = AliasTable(np.array([1.0, 0.0, 3.0]))
        >>> draws = table.sample(np.random.default_rng(0), 10_000)
        >>> bool((draws != 1).all()), round(float((draws == 2).mean()), 2)
        (True, 0.75)
    """

    def __init__(self, weights: npt.NDArray[np.float64]) -> None:
        n = int(weights.shape[0])
        self.n = n
        index_dtype = np.int32 if n < 2**31 else np.int64
        prob = weights * (n / weights.sum())  # scaled weights; becomes the keep-probabilities
        alias = np.arange(n, dtype=index_dtype)
        small_mask = prob < 1.0
        if small_mask.all():  # rounding pushed every scaled weight below 1
            small_mask[int(np.argmax(prob))] = False
        small = np.flatnonzero(small_mask).astype(index_dtype, copy=False)
        np.logical_not(small_mask, out=small_mask)
        large = np.flatnonzero(small_mask).astype(index_dtype, copy=False)
        del small_mask
        excess_end = prob[large]
        excess_end -= 1.0
        if small.size and excess_end.sum() <= 0.0:  # equal weights up to rounding
            small = small[:0]
        if small.size:
            np.cumsum(excess_end, out=excess_end)
            deficit = prob[small]
            np.subtract(1.0, deficit, out=deficit)
            deficit_end = np.cumsum(deficit)
            deficit_start = np.subtract(deficit_end, deficit, out=deficit)
            # Make the two totals agree exactly (they differ only by rounding).
            excess_end *= deficit_end[-1] / excess_end[-1]
            owner = np.searchsorted(excess_end, deficit_start, side="right")
            np.minimum(owner, large.size - 1, out=owner)
            alias[small] = large[owner]
            del owner
            # A large item retires when the deficits pass its excess end: it keeps 1 - overshoot
            # and borrows the overshoot from the next large item. The deficit straddling a large
            # item's excess end is the last one starting before it.
            last = np.searchsorted(deficit_start, excess_end[:-1], side="left")
            last -= 1
            overshoot = deficit_end[np.maximum(last, 0)]
            overshoot -= excess_end[:-1]
            overshoot[last < 0] = 0.0
            np.clip(overshoot, 0.0, 1.0, out=overshoot)
            np.subtract(1.0, overshoot, out=overshoot)
            prob[large[:-1]] = overshoot
            alias[large[:-1]] = large[1:]
            prob[large[-1]] = 1.0
        else:
            prob[large] = 1.0
        self.prob = prob
        self.alias = alias

    def sample(
        self,
        rng: np.random.Generator,
        size: int,
        out: npt.NDArray[np.int64] | None = None,
    ) -> npt.NDArray[np.int64]:
        """Draw ``size`` indices with replacement, in chunks to bound temporary memory."""
        if out is None:
            out = np.empty(size, dtype=np.int64)
        for start in range(0, size, _CHUNK):
            stop = min(start + _CHUNK, size)
            u = rng.random(stop - start)
            u *= self.n
            column = u.astype(np.int64)
            np.minimum(column, self.n - 1, out=column)
            u -= column
            keep = u < self.prob[column]
            out[start:stop] = np.where(keep, column, self.alias[column])
        return out


_HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)


def _find_values(
    values: npt.NDArray[np.float64], w: npt.NDArray[np.float64]
) -> npt.NDArray[np.uint8] | None:
    """Position of each ``w`` in the sorted ``values`` (at most 256), or None if one is missing.

    A multiplicative hash of the float bits into a 65536-entry table replaces a binary search
    per item; a hash collision between two of ``values`` falls back to ``searchsorted``.
    """
    keys = values.view(np.uint64) * _HASH_MULTIPLIER >> np.uint64(48)
    if np.unique(keys).shape[0] == values.shape[0]:
        table = np.zeros(1 << 16, dtype=np.uint8)
        table[keys] = np.arange(values.shape[0], dtype=np.uint8)
        hashed = w.view(np.uint64) * _HASH_MULTIPLIER
        hashed >>= np.uint64(48)
        where = table[hashed]
    else:
        where = np.minimum(np.searchsorted(values, w), values.shape[0] - 1).astype(np.uint8)
    return where if np.array_equal(values[where], w) else None


class WeightGroups:
    """Items grouped by equal weight, when the weights take at most 256 distinct values.

    Weights derived from labels (per-class weights) always do; they allow draws that cost one
    small-table lookup plus one uniform pick inside a group, with no per-item table to build.

    Attributes:
        values: the distinct positive weights, ascending.
        members: item indices sorted by group (stable, so ascending within a group).
        starts: ``members[starts[g]:starts[g + 1]]`` are the items of group ``g``.
    """

    def __init__(
        self,
        values: npt.NDArray[np.float64],
        members: npt.NDArray[np.int64],
        starts: npt.NDArray[np.int64],
    ) -> None:
        self.values = values
        self.members = members
        self.starts = starts
        self.sizes = np.diff(starts)

    @classmethod
    def from_weights(cls, weights: npt.NDArray[np.float64]) -> WeightGroups | None:
        positive = np.flatnonzero(weights > 0)
        all_positive = positive.shape[0] == weights.shape[0]
        w = weights if all_positive else weights[positive]
        probe = np.unique(w[:: max(1, w.shape[0] // 20_000)])
        if probe.shape[0] > _MAX_GROUPS:
            return None
        where = _find_values(probe, w)
        if where is None:
            probe = np.unique(w)
            if probe.shape[0] > _MAX_GROUPS:
                return None
            where = np.searchsorted(probe, w).astype(np.uint8)
        order = np.argsort(where, kind="stable")  # radix sort of uint8 group ids
        starts = np.zeros(probe.shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(where, minlength=probe.shape[0]), out=starts[1:])
        members = order if all_positive else positive[order]
        return cls(probe, members.astype(np.int64, copy=False), starts)

    def sample(self, rng: np.random.Generator, size: int, out: npt.NDArray[np.int64]) -> None:
        """Draw ``size`` items with replacement into ``out``: a group, then a uniform member."""
        mass = self.values * self.sizes
        cdf = np.cumsum(mass / mass.sum())
        cdf[-1] = 1.0
        sizes = self.sizes.astype(np.float64)
        for start in range(0, size, _CHUNK):
            stop = min(start + _CHUNK, size)
            group = np.searchsorted(cdf, rng.random(stop - start), side="right")
            np.minimum(group, cdf.shape[0] - 1, out=group)
            offset = rng.random(stop - start)
            offset *= sizes[group]
            pick = offset.astype(np.int64)
            np.minimum(pick, self.sizes[group] - 1, out=pick)
            pick += self.starts[group]
            out[start:stop] = self.members[pick]


class WeightedPermutation:
    """Weighted sampling without replacement (successive sampling) for any number of items.

    An item with weight :math:`w_i` gets the key :math:`E_i / w_i` with :math:`E_i \\sim
    \\mathrm{Exp}(1)`; the items in ascending key order are a draw of sequential weighted sampling
    without replacement (Efraimidis & Spirakis 2006, in exponential form). Zero weights are never
    drawn. When the weights form few groups (:class:`WeightGroups`) the keys of each group are
    generated already sorted (Renyi's representation of exponential order statistics) with the
    members in uniformly random order, and the groups are merged by a run-aware stable sort,
    which is faster than sorting random keys. Other keys are ordered by a sort of packed 64-bit
    integers (:func:`balancers._keysort.argsort_keys`), exactly as a stable ``argsort``.
    """

    def __init__(
        self, weights: npt.NDArray[np.float64], groups: WeightGroups | None = None
    ) -> None:
        self.n_items = int(weights.shape[0])
        self.positive = np.flatnonzero(weights > 0)
        self.weights = weights[self.positive]
        self.groups = groups

    @property
    def n_positive(self) -> int:
        return int(self.positive.shape[0])

    def sample(self, rng: np.random.Generator, size: int) -> npt.NDArray[np.int64]:
        """The first ``size`` items of a weighted random permutation (``size <= n_positive``)."""
        groups = self.groups
        if groups is not None and groups.values.shape[0] == 1:  # uniform
            if size < groups.members.shape[0]:
                return rng.choice(groups.members, size=size, replace=False).astype(np.int64)
            return rng.permutation(groups.members).astype(np.int64)
        if groups is not None:
            keys = np.empty(groups.members.shape[0], dtype=np.float64)
            shuffled = np.empty_like(groups.members)
            for g, group_weight in enumerate(groups.values.tolist()):
                a, b = int(groups.starts[g]), int(groups.starts[g + 1])
                gaps = rng.standard_exponential(b - a)
                gaps /= np.arange(b - a, 0, -1, dtype=np.float64)
                np.cumsum(gaps, out=keys[a:b])
                keys[a:b] /= group_weight
                shuffled[a:b] = rng.permutation(groups.members[a:b])
            members: npt.NDArray[np.int64] | None = shuffled
            stable = True
        else:
            keys = np.asarray(rng.standard_exponential(self.weights.shape[0]), dtype=np.float64)
            keys /= self.weights
            # with every weight positive, the items are their own positions
            members = None if self.positive.shape[0] == self.n_items else self.positive
            stable = False
        if size < keys.shape[0]:
            part = np.argpartition(keys, size - 1)[:size]
            order = part[argsort_keys(keys[part])]
        else:
            # timsort merges the sorted runs of the groups; random keys go through a sort of
            # packed integers (balancers._keysort)
            order = np.argsort(keys, kind="stable") if stable else argsort_keys(keys)
        if members is None:
            return order.astype(np.int64, copy=False)
        return members[order].astype(np.int64, copy=False)


class WithReplacement:
    """Draws with replacement: per-group draws when the weights allow, else an alias table."""

    def __init__(
        self, weights: npt.NDArray[np.float64], groups: WeightGroups | None = None
    ) -> None:
        self.groups = groups
        self.table = AliasTable(weights) if groups is None else None

    def sample(self, rng: np.random.Generator, size: int) -> npt.NDArray[np.int64]:
        out = np.empty(size, dtype=np.int64)
        if self.groups is not None:
            self.groups.sample(rng, size, out)
        else:
            assert self.table is not None
            self.table.sample(rng, size, out)
        return out
