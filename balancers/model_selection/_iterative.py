"""Iterative stratification, label-batched and vectorized (torch-free).

The greedy algorithm of Sechidis et al. (2011) assigns, one example at a time, the examples of the
label with the fewest remaining examples to the fold that most wants that label, breaking ties by
the fold that most wants examples at all, then randomly (or by fold number). Szymański &
Kajdanowicz (2017) run the same procedure over label pairs (order 2).

Inside one label's batch, every choice depends only on that label's per-fold desire and the
per-fold total desire, and each assignment lowers both by one for the chosen fold. The sequence of
choices of a batch is therefore the merge of k arithmetic sequences (one per fold) in decreasing
order of desire, ties ordered by ``total desire - label desire`` (a constant of the fold within
the batch), then by the random or fixed fold priority. :func:`batch_picks` computes that sequence
in closed form (a water-filling level, then a sort of at most ``2 k^2`` boundary candidates), so a
batch costs O(m log m) numpy work for its m examples and the whole run O(nnz log nnz), with one
Python iteration per label (or label pair), not per example.

Each iteration takes the rarest item by one argmin over integer rarity keys
``(remaining - 1) * n_items + tie priority``, kept as uint64 so that an exhausted item wraps past
``2**63`` and is never taken, and lowers the keys of every item of the rows it placed with one
``np.subtract.at``. Batches of at most 48 examples (most label pairs) run the same greedy in plain
Python instead of :func:`batch_picks`, each fold's comparison key (desire, total - desire, rank)
packed into one integer; the picks are identical. Label pairs are numbered through a presence
table over the ``n_labels**2`` pair codes when that table is not much larger than the pairs, and
by ``np.unique`` otherwise (the same numbering).

All desires are kept as exact integers: fold ``j`` has integer weight ``w_j`` with ``W = sum(w)``
and desired share ``w_j / W``; desires are scaled by ``W`` so that one assignment subtracts ``W``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .._labels import Labels
from .._segments import segment_positions, segment_ranks

__all__ = [
    "ItemIndex",
    "batch_picks",
    "group_index",
    "item_index",
    "iterative_folds",
    "iterative_group_folds",
]

_I64 = np.int64
_LIVE = np.uint64(1 << 63)  # rarity keys at or above this belong to exhausted items
_SMALL = 48  # batches of at most this many examples are chosen in plain Python
_FEW_ROWS = 16  # the items of at most this many rows are gathered row by row
_SMALL_ITEM = 64  # items of at most this many rows are read in plain Python

IntArray = npt.NDArray[np.int64]


class ItemIndex:
    """The stratification items (labels or label pairs) as two inverted indexes.

    Attributes:
        n_samples: number of rows.
        n_items: number of items (labels, or label pairs present in the data).
        row_ptr, row_items: CSR of rows -> items (items of row ``r`` are
            ``row_items[row_ptr[r]:row_ptr[r + 1]]``).
        item_ptr, item_rows: CSR of items -> rows, rows ascending within an item.
        counts: rows per item.
        pairs: order 2 only: ``(n_items, 2)`` label positions ``(a, b)`` with ``a <= b``.
    """

    __slots__ = (
        "counts",
        "item_ptr",
        "item_rows",
        "n_items",
        "n_samples",
        "pairs",
        "row_items",
        "row_ptr",
    )

    def __init__(
        self,
        n_samples: int,
        row_ptr: IntArray,
        row_items: IntArray,
        n_items: int,
        pairs: IntArray | None = None,
        inverted: tuple[IntArray, IntArray] | None = None,
    ) -> None:
        self.n_samples = n_samples
        self.n_items = n_items
        self.row_ptr = row_ptr
        self.row_items = row_items
        self.pairs = pairs
        if inverted is None:
            # Small item ids sort by radix sort (stable) when they fit in 16 bits.
            narrow = row_items.astype(np.uint16) if n_items <= 1 << 16 else row_items
            order = np.argsort(narrow, kind="stable")
            rows_of_entries = np.repeat(np.arange(n_samples, dtype=_I64), np.diff(row_ptr))
            self.item_rows = rows_of_entries[order]
            self.counts = np.bincount(row_items, minlength=n_items).astype(_I64)
            self.item_ptr = np.zeros(n_items + 1, dtype=_I64)
            np.cumsum(self.counts, out=self.item_ptr[1:])
        else:
            self.item_ptr, self.item_rows = inverted
            self.counts = np.diff(self.item_ptr)

    def items_of(self, rows: IntArray) -> IntArray:
        """The items of ``rows``, row after row (with repeats across rows)."""
        starts = self.row_ptr[rows]
        return self.row_items[segment_positions(starts, self.row_ptr[rows + 1] - starts)]


def _dense_ids(keys: IntArray, n_keys: int) -> tuple[IntArray, IntArray]:
    """``np.unique(keys, return_inverse=True)`` for keys in ``[0, n_keys)``.

    By a presence table and its running count when the key space is not much larger than
    ``keys`` (O(len(keys) + n_keys), no sort); by ``np.unique`` otherwise.
    """
    if n_keys > 4 * keys.shape[0] + (1 << 20):
        uniq, inverse = np.unique(keys, return_inverse=True)
        return uniq.astype(_I64), inverse.reshape(-1).astype(_I64)
    present = np.zeros(n_keys, dtype=np.bool_)
    present[keys] = True
    ids = np.cumsum(present, dtype=_I64)
    return np.flatnonzero(present).astype(_I64), ids[keys] - 1


def item_index(labels: Labels, order: int) -> ItemIndex:
    """Build the items of ``order`` 1 (labels) or 2 (label pairs ``a <= b``, as in
    Szymański & Kajdanowicz 2017 and scikit-multilearn, so single labels count as ``(a, a)``).

    Multiclass labels have one item per row (their class) at either order.
    """
    n = labels.n_samples
    if labels.codes is not None:
        return ItemIndex(
            n, np.arange(n + 1, dtype=_I64), labels.codes.astype(_I64), labels.n_classes
        )
    assert labels.matrix is not None
    indptr = labels.matrix.indptr.astype(_I64)
    indices = labels.matrix.indices.astype(_I64)
    if order == 1:
        return ItemIndex(n, indptr, indices, labels.n_classes)
    # Order 2: each positive at position p pairs with the positives at p, p+1, ... of its row.
    row_len = np.diff(indptr)
    nnz = indices.shape[0]
    row_end = np.repeat(indptr[1:], row_len)
    per_p = row_end - np.arange(nnz, dtype=_I64)
    first = np.repeat(np.arange(nnz, dtype=_I64), per_p)
    second = segment_positions(np.arange(nnz, dtype=_I64), per_p)
    n_labels = labels.n_classes
    keys = indices[first] * n_labels + indices[second]
    uniq, inverse = _dense_ids(keys, n_labels * n_labels)
    pair_ptr = np.zeros(n + 1, dtype=_I64)
    np.cumsum(row_len * (row_len + 1) // 2, out=pair_ptr[1:])
    pairs = np.stack([uniq // n_labels, uniq % n_labels], axis=1).astype(_I64)
    return ItemIndex(n, pair_ptr, inverse, int(uniq.shape[0]), pairs)


def batch_picks(
    desire: IntArray,
    total: IntArray,
    step: int,
    m: int,
    fold_rank: IntArray,
    *,
    ordered: bool = True,
) -> IntArray:
    """The folds chosen by ``m`` greedy steps of iterative stratification, in order.

    Each step picks the fold with the largest ``desire``; ties go to the largest ``total``, then to
    the smallest ``fold_rank``; the chosen fold's ``desire`` and ``total`` drop by ``step``.

    Args:
        desire: per-fold desire for the current label (scaled integers).
        total: per-fold desire for examples (scaled integers).
        step: the scaled amount one assignment removes (``W``).
        m: number of examples to place (>= 1).
        fold_rank: a permutation of ``0..k-1``: the last tie-break (smaller wins).
        ordered: return the greedy sequence (True) or the same multiset grouped by fold.

    Returns:
        int64 array of ``m`` fold numbers.
    """
    k = desire.shape[0]
    tie = total - desire  # constant over the batch: both drop together
    # Rank of each fold in the within-level order: larger `tie` first, then smaller fold_rank.
    level_order = np.lexsort((fold_rank, -tie))
    level_rank = np.empty(k, dtype=_I64)
    level_rank[level_order] = np.arange(k, dtype=_I64)
    if m <= 2 * k:
        sure = np.zeros(k, dtype=_I64)
    else:
        # Continuous water level L with sum(max(0, desire - L)) = step * m (the sort-based
        # simplex projection); every value >= L + 2 * step is surely among the top m (one step
        # of margin for rounding), which leaves fewer than 2 k picks to sort out.
        d_sorted = np.sort(desire)[::-1].astype(np.float64)
        levels = (np.cumsum(d_sorted) - float(step) * m) / np.arange(1, k + 1)
        level = levels[np.flatnonzero(d_sorted > levels)[-1]]
        sure = np.floor((desire - level) / step).astype(_I64) - 1
        np.maximum(sure, 0, out=sure)
    rest = m - int(sure.sum())
    counts = sure
    if rest > 0:
        s = np.arange(rest, dtype=_I64)
        cand_val = (desire - step * sure)[:, None] - step * s[None, :]
        cand_key = (-cand_val * k + level_rank[:, None]).reshape(-1)
        if rest < cand_key.shape[0]:
            chosen = np.argpartition(cand_key, rest - 1)[:rest]
        else:
            chosen = np.arange(cand_key.shape[0])
        counts = counts + np.bincount(chosen // rest, minlength=k)
    folds = np.repeat(np.arange(k, dtype=_I64), counts)
    if not ordered or k == 1:
        return folds
    s_all = segment_ranks(counts)
    values = desire[folds] - step * s_all
    key = -values * k + level_rank[folds]
    return folds[np.argsort(key, kind="stable")]


def iterative_folds(
    index: ItemIndex,
    weights: IntArray,
    rng: np.random.Generator | None,
) -> IntArray:
    """Assign each row to a fold by iterative stratification over ``index``'s items.

    Args:
        index: the items (labels or label pairs) and their rows.
        weights: positive integer weight of each fold; fold ``j`` should get the share
            ``weights[j] / weights.sum()`` of the rows and of every item.
        rng: None for the deterministic variant (rows in index order, ties to the lower
            label/pair number and the lower fold number); a generator for random tie-breaks
            and a random row order (as if the rows had been shuffled first). Its draws, in
            order: ``permutation(n_items)`` (the items' tie priorities); for each item taken,
            ``permutation(k)`` (the fold ranks) and, when it places more than one row,
            ``permutation(picks)`` of its picks grouped by fold (the row order); for the rows
            with no item, ``permutation(k)`` and ``permutation(picks)``.

    Returns:
        int64 array: the fold of each row.
    """
    n = index.n_samples
    k = int(weights.shape[0])
    step = int(weights.sum())
    w = weights.astype(_I64)
    n_items = index.n_items
    fold = np.full(n, -1, dtype=_I64)
    counts = index.counts
    item_ptr, item_rows = index.item_ptr, index.item_rows
    row_ptr, row_items = index.row_ptr, index.row_items
    ptr = item_ptr.tolist()
    row_start = row_ptr.tolist()
    base_rank = list(range(k))
    zero = [0] * k
    # Folds are compared in plain Python by one integer each,
    #     packed = (desire * (spread - 1) + total + offset) * k - rank,
    # which orders them by desire, then total - desire, then rank (|desire|, |total| <= n * step,
    # so the middle term lies in [0, spread)). A pick lowers desire and total by `step`.
    offset = 2 * n * step
    spread = 2 * offset + 1
    span = (spread - 1) * k
    weight_span = [int(wj) * span for wj in w.tolist()]
    step_span = step * span
    step_k = step * k
    drop = step_span + step_k
    # total * k + offset * k, per fold: the part of `packed` that all items share.
    shared = [(n * int(wj) + offset) * k for wj in w.tolist()]
    # Rarity key: (remaining - 1) * n_items + tie priority, as uint64: an exhausted item wraps
    # past 2**63 and sorts last.
    prio = np.arange(n_items, dtype=_I64) if rng is None else rng.permutation(n_items).astype(_I64)
    scale = max(n_items, 1)
    key = ((counts - 1) * scale + prio).view(np.uint64)
    unit = np.uint64(scale)
    argmin, key_at = key.argmin, key.item
    concatenate, subtract_at = np.concatenate, np.subtract.at
    shuffle = None if rng is None else rng.shuffle
    while n_items:
        it = int(argmin())
        left = key_at(it)
        if left >= _LIVE:
            break
        m = left // scale + 1
        a, b = ptr[it], ptr[it + 1]
        c = b - a
        rows: IntArray | list[int]
        if shuffle is None:
            rank = base_rank
        else:
            rank = base_rank.copy()
            shuffle(rank)  # the draws of rng.permutation(k)
        if m == c:
            rows = item_rows[a:b]
            placed = zero
            packed = [c * ws + s - r for ws, s, r in zip(weight_span, shared, rank, strict=True)]
        else:
            item = item_rows[a:b]
            if c <= _SMALL_ITEM:
                rows = []
                placed = [0] * k
                for r, j in zip(item.tolist(), fold[item].tolist(), strict=True):
                    if j < 0:
                        rows.append(r)
                    else:
                        placed[j] += 1
            else:
                f = fold[item]
                free = f < 0
                placed = np.bincount(f[~free], minlength=k).tolist()
                rows = item[free]
            packed = [
                c * ws - p * step_span + s - r
                for ws, p, s, r in zip(weight_span, placed, shared, rank, strict=True)
            ]
        if m == 1:
            j = packed.index(max(packed))
            shared[j] -= step_k
            r = int(rows[0])
            fold[r] = j
            key[row_items[row_start[r] : row_start[r + 1]]] -= unit
            continue
        if m <= _SMALL:
            rows_list = rows if isinstance(rows, list) else rows.tolist()
            chosen = []
            for _ in range(m):
                best = max(packed)
                j = packed.index(best)
                packed[j] = best - drop
                chosen.append(j)
            for j in chosen:
                shared[j] -= step_k
            if shuffle is not None:
                chosen.sort()
                shuffle(chosen)  # the draws of rng.permutation(picks)
            for r, j in zip(rows_list, chosen, strict=True):
                fold[r] = j
            if m <= _FEW_ROWS:
                touched = concatenate(
                    [row_items[row_start[r] : row_start[r + 1]] for r in rows_list]
                )
            else:
                touched = index.items_of(np.array(rows_list, dtype=_I64))
        else:
            picks = batch_picks(
                c * w - step * np.array(placed, dtype=_I64),
                np.array([s // k - offset for s in shared], dtype=_I64),
                step,
                m,
                np.array(rank, dtype=_I64),
                ordered=rng is None,
            )
            if rng is not None:
                picks = rng.permutation(picks)
            for j, s in enumerate(np.bincount(picks, minlength=k).tolist()):
                shared[j] -= step_k * s
            rows_arr = np.asarray(rows, dtype=_I64)
            fold[rows_arr] = picks
            touched = index.items_of(rows_arr)
        # The item's rows leave every item they hold.
        if touched.shape[0] > n_items:
            key -= np.bincount(touched, minlength=n_items).view(np.uint64) * unit
        else:
            subtract_at(key, touched, unit)
    total = np.array([s // k - offset for s in shared], dtype=_I64)
    # Rows with no item: to the folds that most want examples (Sechidis et al., last step).
    empty = np.flatnonzero(fold < 0)
    if empty.shape[0]:
        remaining = total
        fold_rank = np.arange(k, dtype=_I64) if rng is None else rng.permutation(k).astype(_I64)
        picks = batch_picks(
            remaining, remaining, step, int(empty.shape[0]), fold_rank, ordered=rng is None
        )
        if rng is not None:
            picks = rng.permutation(picks)
        fold[empty] = picks
    return fold


def group_index(
    index: ItemIndex, group_ids: IntArray, n_groups: int
) -> tuple[ItemIndex, IntArray, IntArray]:
    """The groups as super-rows of ``index``: a group holds the items of its rows.

    Args:
        index: the items of the rows (from :func:`item_index`).
        group_ids: the group number (``0..n_groups-1``) of each row.
        n_groups: number of groups.

    Returns:
        ``(groups, mass, sizes)``: the items of each group as an :class:`ItemIndex` whose rows
        are the groups, the number of the group's rows holding each of those items (aligned with
        ``groups.row_items``) and the number of rows of each group.
    """
    n_items = max(index.n_items, 1)
    rows = np.repeat(np.arange(index.n_samples, dtype=_I64), np.diff(index.row_ptr))
    keys = group_ids[rows] * n_items + index.row_items
    uniq, mass = np.unique(keys, return_counts=True)
    owner = uniq // n_items
    ptr = np.zeros(n_groups + 1, dtype=_I64)
    np.cumsum(np.bincount(owner, minlength=n_groups), out=ptr[1:])
    groups = ItemIndex(n_groups, ptr, (uniq % n_items).astype(_I64), index.n_items, index.pairs)
    sizes = np.bincount(group_ids, minlength=n_groups).astype(_I64)
    return groups, mass.astype(_I64), sizes


def iterative_group_folds(
    groups: ItemIndex,
    mass: IntArray,
    sizes: IntArray,
    weights: IntArray,
    rng: np.random.Generator | None,
) -> IntArray:
    """Assign each group to a fold by iterative stratification over super-rows.

    The procedure of :func:`iterative_folds` with weighted examples: a group counts for
    ``mass`` rows of each of its items and ``sizes`` rows in all. Repeatedly take the item with
    the fewest unassigned groups and place its groups, largest share of the item first, each in
    the fold whose desire it best fills: the fold ``j`` that maximises
    ``(sum_i mass_i * desire_ij / total_i + size * desire_rows_j / n_rows) / share_j`` over the
    group's items ``i`` (the steepest descent of the chi-square distance between the folds'
    counts and their targets, ``sum (count - target)^2 / target`` over items and rows). Groups
    with no item go last, largest first, to the folds furthest below their row share.

    Args:
        groups: the items of each group (from :func:`group_index`).
        mass: rows of the group holding each item, aligned with ``groups.row_items``.
        sizes: rows of each group.
        weights: positive integer weight of each fold (its share of the rows and of every item).
        rng: None for the deterministic variant (ties to the lower item and fold numbers, groups
            of equal share in index order); a generator for random tie-breaks and group order.
            Its draws, in order: ``permutation(n_items)``; ``permutation(n_groups)``; per item
            taken, ``permutation(k)``; for the groups with no item, ``permutation(k)``.

    Returns:
        int64 array: the fold of each group.
    """
    n_groups, n_items = groups.n_samples, groups.n_items
    k = int(weights.shape[0])
    share = weights.astype(np.float64) / float(weights.sum())
    # The rows are one more item, number n_items, that every group holds `sizes` times.
    row_len = np.diff(groups.row_ptr)
    ext_ptr = groups.row_ptr + np.arange(n_groups + 1, dtype=_I64)
    last = ext_ptr[1:] - 1
    ext_items = np.full(int(ext_ptr[-1]), n_items, dtype=_I64)
    ext_mass = sizes.astype(np.float64)[np.repeat(np.arange(n_groups), row_len + 1)]
    inner = np.ones(ext_items.shape[0], dtype=np.bool_)
    inner[last] = False
    ext_items[inner] = groups.row_items
    ext_mass[inner] = mass
    total = np.bincount(ext_items, weights=ext_mass, minlength=n_items + 1)
    desire = total[:, None] * share[None, :]
    # Per entry, its weight in the fold choice: mass / total of the item.
    entry_weight = ext_mass / np.maximum(total[ext_items], 1.0)
    fold = np.full(n_groups, -1, dtype=_I64)
    prio = np.arange(n_items, dtype=_I64) if rng is None else rng.permutation(n_items).astype(_I64)
    visit = np.arange(n_groups, dtype=_I64) if rng is None else rng.permutation(n_groups)
    visit_rank = np.empty(n_groups, dtype=_I64)
    visit_rank[visit] = np.arange(n_groups, dtype=_I64)
    scale = max(n_items, 1)
    key = ((groups.counts - 1) * scale + prio).view(np.uint64)
    unit = np.uint64(scale)
    ptr = groups.item_ptr
    bounds = ext_ptr.tolist()
    # Where each (item, group) entry sits in the group's CSR, to read the item's mass.
    entry_of = np.argsort(groups.row_items, kind="stable")
    while n_items:
        it = int(key.argmin())
        if int(key[it]) >= int(_LIVE):
            break
        a, b = int(ptr[it]), int(ptr[it + 1])
        members = groups.item_rows[a:b]
        free = fold[members] < 0
        batch = members[free]
        own = mass[entry_of[a:b][free]]
        # Largest share of the item first, then largest group, then visit order.
        batch = batch[np.lexsort((visit_rank[batch], -sizes[batch], -own))]
        rank = None if rng is None else rng.permutation(k)
        chosen = []
        for g in batch.tolist():
            lo, hi = bounds[g], bounds[g + 1]
            items = ext_items[lo:hi]
            score = entry_weight[lo:hi] @ desire[items]
            score /= share
            j = int(score.argmax()) if rank is None else int(rank[score[rank].argmax()])
            desire[items, j] -= ext_mass[lo:hi]
            chosen.append(j)
        fold[batch] = chosen
        touched = groups.items_of(batch)  # the batch's groups leave every item they hold
        key -= np.bincount(touched, minlength=n_items).view(np.uint64) * unit
    rows_desire = desire[n_items]
    empty = np.flatnonzero(fold < 0)
    if empty.shape[0]:
        rank = np.arange(k) if rng is None else rng.permutation(k)
        empty = empty[np.lexsort((visit_rank[empty], -sizes[empty]))]
        for g in empty.tolist():
            j = int(rank[rows_desire[rank].argmax()])
            fold[g] = j
            rows_desire[j] -= sizes[g]
    return fold
