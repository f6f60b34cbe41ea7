"""Multilabel random resampling: ML-ROS, ML-RUS (by label) and LP-ROS, LP-RUS (by labelset).

All four return dataset indices (``np.ndarray[int64]``): oversamplers return every original
index followed by the clones, undersamplers the kept indices in ascending order.

Reference: F. Charte, A. J. Rivera, M. J. del Jesus, F. Herrera, "Addressing imbalance in
multilabel classification: Measures and random resampling algorithms", Neurocomputing 163, 2015.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from .._labels import Labels, check_labels
from .._measures import irlbl, labelsets
from .._rng import make_rng
from .._segments import segment_positions, segment_ranks
from .._validation import check_real, check_seed

__all__ = ["lp_ros", "lp_rus", "ml_ros", "ml_rus"]

IndexArray = npt.NDArray[np.int64]

#: most clones evaluated at once by ML-ROS
_BLOCK = 1 << 16


# --------------------------------------------------------------------------------- validation
def _label_matrix(labels: Any, func: str) -> tuple[Labels, sp.csr_array]:
    """Validated labels and their 0/1 CSR matrix (multiclass labels become one-hot)."""
    info = check_labels(labels)
    if info.is_multilabel:
        assert info.matrix is not None
        matrix = info.matrix
    else:
        assert info.codes is not None
        n = info.n_samples
        matrix = sp.csr_array(
            (np.ones(n, dtype=np.int8), info.codes, np.arange(n + 1, dtype=np.int64)),
            shape=(n, info.n_classes),
        )
    if info.n_classes < 2:
        raise ValueError(
            f"`labels` should have at least two label columns (or classes) for {func}, but got "
            f"{info.n_classes} with {int(info.counts[0])} positives among {info.n_samples} "
            "rows: there is no imbalance between labels to correct. For a binary task pass the "
            "labels as a 1-D array of 0/1 class ids to random_oversample/random_undersample."
        )
    return info, matrix


def _budget(labels_n: int, percentage: Any, func: str, *, undersample: bool) -> int:
    hint = (
        "It is the share of the dataset to delete, e.g. percentage=25.0."
        if undersample
        else "It is the share of the dataset size to add as clones, e.g. percentage=25.0."
    )
    p = check_real(
        percentage,
        "percentage",
        low=0.0,
        low_inclusive=False,
        high=100.0 if undersample else None,
        high_inclusive=False,
        hint=hint,
    )
    assert p is not None
    return math.floor(labels_n * p / 100.0 + 1e-9)


def _seed(seed: Any) -> int | None:
    return check_seed(seed)


def _warn_short(
    func: str,
    done: int,
    budget: int,
    n: int,
    percentage: Any,
    *,
    goal: str,
    nothing: str,
    stacklevel: int = 3,
) -> None:
    """Warn when ``func`` used less than its budget: say why and what would make it act.

    ``goal``: what stopped it early ("every minority label reached ..."); ``nothing``: why there
    was nothing to do at all, with the remedy.
    """
    if done >= budget > 0:
        return
    verb = "deleted" if func.endswith("rus") else "cloned"
    if budget == 0:
        reason = (
            f"percentage={percentage:g} of {n} rows is a budget of 0 rows; raise `percentage` "
            f"to at least {100.0 / n:.3g} for one row"
        )
    elif done == 0:
        reason = nothing
    else:
        reason = (
            f"`percentage` is only a ceiling (percentage={percentage:g}: at most {budget} "
            f"rows) and {goal} first, so a larger percentage gives the same result"
        )
    warnings.warn(f"{func} {verb} {done} rows: {reason}.", UserWarning, stacklevel=stacklevel)


# ------------------------------------------------------------------------------------ helpers
class _Uniforms:
    """The generator's stream of uniforms, read ahead without consuming (``peek``/``advance``).

    Draw ``j`` of the whole run always uses value ``j`` of the stream, however the run is cut
    into blocks.
    """

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.buffer = np.empty(0, dtype=np.float64)

    def peek(self, n: int) -> npt.NDArray[np.float64]:
        if self.buffer.shape[0] < n:
            more = self.rng.random(max(n - self.buffer.shape[0], 1024))
            self.buffer = np.concatenate([self.buffer, more])
        return self.buffer[:n]

    def advance(self, n: int) -> None:
        self.buffer = self.buffer[n:]


def _mean_ir(counts: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.float64], float]:
    ir = irlbl(counts)
    finite = ir[np.isfinite(ir)]
    return ir, float(finite.mean()) if finite.size else math.inf


def _gather_rows(
    matrix: sp.csr_array, rows: IndexArray
) -> tuple[IndexArray, npt.NDArray[np.int64]]:
    """``(entry_pos, entry_label)``: the labels of ``rows`` laid out row after row."""
    starts = matrix.indptr[rows].astype(np.int64)
    lengths = matrix.indptr[rows + 1].astype(np.int64) - starts
    entry_pos = np.repeat(np.arange(rows.shape[0], dtype=np.int64), lengths)
    entry_label = matrix.indices[segment_positions(starts, lengths)].astype(np.int64)
    return entry_pos, entry_label


# ------------------------------------------------------------------------------------- ML-ROS
def _ml_ros_clones(
    matrix: sp.csr_array,
    counts: npt.NDArray[np.int64],
    members: tuple[IndexArray, IndexArray],
    budget: int,
    rng: np.random.Generator,
) -> IndexArray:
    """The clones of ML-ROS, in cloning order (see :func:`ml_ros` for the algorithm).

    The algorithm is sequential (whether a bag stays depends on every earlier clone), but bags
    only leave at a few moments. Blocks of whole rounds are therefore evaluated at once: the
    running count of every label after each clone comes from a stable sort of the block's
    label entries, the running maximum from a cumulative maximum, and the block is kept up to
    the end of the first round in which a bag leaves. The result equals the clone-by-clone loop.
    """
    n_labels = int(counts.shape[0])
    ir, mean_ir = _mean_ir(counts)
    active = np.flatnonzero(np.isfinite(ir) & (ir > mean_ir)).astype(np.int64)
    indptr, rows = members
    bag_start = indptr[:-1]
    bag_size = np.diff(indptr)
    counts = counts.astype(np.int64).copy()
    max_count = int(counts.max())
    stream = _Uniforms(rng)
    out: list[IndexArray] = []
    spent = 0
    while spent < budget and active.shape[0]:
        m = int(active.shape[0])
        # Rounds until the nearest bag could leave if the maximum stayed put: each round adds
        # at least one positive to every active bag.
        deficit = max_count / mean_ir - counts[active]
        rounds = max(math.ceil(float(deficit.min())), -(-64 // m), 1)
        rounds = min(rounds, max(1, _BLOCK // m))
        n_clones = min(rounds * m, budget - spent)
        bag_of = active[np.arange(n_clones) % m]
        u = stream.peek(n_clones)
        size = bag_size[bag_of]
        pick = np.minimum((u * size).astype(np.int64), size - 1)
        clone_rows = rows[bag_start[bag_of] + pick]
        entry_pos, entry_label = _gather_rows(matrix, clone_rows)
        # Count of each entry's label right after its clone: prior count + earlier entries + 1.
        order = np.argsort(entry_label, kind="stable")
        sorted_labels = entry_label[order]
        group_first = np.searchsorted(sorted_labels, sorted_labels, side="left")
        running = np.empty_like(entry_label)
        running[order] = (
            counts[sorted_labels] + np.arange(order.shape[0], dtype=np.int64) - group_first + 1
        )
        entry_starts = np.searchsorted(entry_pos, np.arange(n_clones), side="left")
        clone_max = np.maximum.reduceat(running, entry_starts)
        run_max = np.maximum.accumulate(np.maximum(clone_max, max_count))
        own = entry_label == bag_of[entry_pos]  # exactly one entry per clone: its bag's label
        bag_count = running[own]
        leaves = run_max / bag_count <= mean_ir
        if leaves.any():
            first_round = int(np.flatnonzero(leaves)[0]) // m
            accept = min(n_clones, (first_round + 1) * m)
        else:
            accept = n_clones
        kept_entries = entry_label[: int(entry_starts[accept]) if accept < n_clones else None]
        counts += np.bincount(kept_entries, minlength=n_labels)
        max_count = int(run_max[accept - 1])
        gone = bag_of[:accept][leaves[:accept]]
        if gone.size:
            active = active[~np.isin(active, gone)]
        out.append(clone_rows[:accept])
        stream.advance(accept)
        spent += accept
    if not out:
        return np.empty(0, dtype=np.int64)
    return np.concatenate(out).astype(np.int64, copy=False)


def ml_ros(labels: Any, percentage: float = 25.0, *, seed: int | None = 0) -> IndexArray:
    """ML-ROS: multilabel random oversampling by label (Charte et al. 2015).

    The algorithm: MeanIR is computed once from the original labels; every label whose IRLbl is
    above it is a *minority bag* (its rows). Rounds visit the bags in label order and clone one
    row drawn uniformly from each bag's original rows; after its clone, a bag whose IRLbl
    (recomputed with every clone so far, the maximum count included) is at most MeanIR leaves.
    Cloning stops once ``floor(n_samples * percentage / 100)`` clones are made or no bag is left.

    Guarantees:
        * every original index is present once, followed by the clones in cloning order;
        * only rows that carry a minority label (IRLbl > MeanIR of the original data) are cloned;
        * at most ``floor(n_samples * percentage / 100)`` clones;
        * label counts are updated incrementally, so the cost is linear in the clones' labels
          (blocks of rounds are evaluated with vectorized numpy; the result is the same as the
          clone-by-clone loop);
        * rows with no label and labels without positives never take part;
        * deterministic given ``seed``.

    MeanIR of the result is usually lower, but not always: a clone also adds to the counts of
    the row's other labels, and when that raises the largest count every IRLbl rises with it.
    With the largest count unchanged, MeanIR never increases.

    Args:
        labels: multilabel labels (2-D 0/1 array-like, scipy.sparse or a Dataset); multiclass
            labels are treated as one-hot.
        percentage: size of the cloning budget as a percentage of the number of rows, > 0.
        seed: seed of the random draws.

    Returns:
        ``np.ndarray[int64]``: ``arange(n_samples)`` followed by the clones.

    Raises:
        TypeError: wrong argument types.
        ValueError: ``percentage <= 0``, invalid labels, or fewer than two label columns.

    Warns:
        UserWarning: fewer clones than the budget were made (``percentage`` is only a ceiling:
            the bags all left first, or there was none), saying why and what would act.

    Example:
        >>> y = [[1, 0], [1, 0], [1, 0], [1, 0], [1, 1], [0, 1]]
        >>> idx = ml_ros(y, 25.0, seed=0)
        >>> idx[:6].tolist(), sorted(set(idx[6:].tolist()) - {4, 5})
        ([0, 1, 2, 3, 4, 5], [])
    """
    info, matrix = _label_matrix(labels, "ml_ros")
    budget = _budget(info.n_samples, percentage, "ml_ros", undersample=False)
    rng = make_rng(_seed(seed))
    clones = _ml_ros_clones(matrix, info.counts, _members(info, matrix), budget, rng)
    _warn_short(
        "ml_ros",
        int(clones.shape[0]),
        budget,
        info.n_samples,
        percentage,
        goal=f"every minority label reached IRLbl <= MeanIR ({_mean_ir(info.counts)[1]:.3g})",
        nothing=f"no label has IRLbl above MeanIR ({_mean_ir(info.counts)[1]:.3g}), so there is "
        "no minority label to clone",
    )
    return np.concatenate([np.arange(info.n_samples, dtype=np.int64), clones])


def _members(info: Labels, matrix: sp.csr_array) -> tuple[IndexArray, IndexArray]:
    if info.is_multilabel:
        return info.class_members
    csc = matrix.tocsc()
    csc.sort_indices()
    return csc.indptr.astype(np.int64), csc.indices.astype(np.int64)


# ------------------------------------------------------------------------------------- ML-RUS
def _ml_rus_deleted(
    matrix: sp.csr_array,
    counts_in: npt.NDArray[np.int64],
    members: tuple[IndexArray, IndexArray],
    budget: int,
    rng: np.random.Generator,
) -> npt.NDArray[np.bool_]:
    """Mask of the rows ML-RUS deletes (see :func:`ml_rus`).

    Setting up the bags (candidate rows, their random order) is vectorized. The deletions
    themselves are sequential by nature: a row deleted for one bag leaves the candidates of
    every other bag that holds it, and each bag's stay depends on all earlier deletions. The
    loop does constant work per deletion plus the deleted row's labels (counts are updated
    incrementally, the maximum is recomputed only when it may have dropped).
    """
    n = int(matrix.shape[0])
    ir, mean_ir = _mean_ir(counts_in)
    finite = np.isfinite(ir)
    minority = finite & (ir > mean_ir)
    majority = np.flatnonzero(finite & (ir < mean_ir))
    protected = np.zeros(n, dtype=bool)
    indptr, rows = members
    for label in np.flatnonzero(minority):
        protected[rows[indptr[label] : indptr[label + 1]]] = True
    deleted = np.zeros(n, dtype=bool)
    if budget == 0 or majority.size == 0:
        return deleted
    queues: dict[int, list[int]] = {}
    for label in majority.tolist():
        candidates = rows[indptr[label] : indptr[label + 1]]
        candidates = candidates[~protected[candidates]]
        if candidates.size:
            queues[label] = rng.permutation(candidates).tolist()
    counts = counts_in.astype(np.int64).tolist()
    max_count = max(counts)
    row_ptr = matrix.indptr.tolist()
    row_labels = matrix.indices
    gone = bytearray(n)
    heads = dict.fromkeys(queues, 0)
    active = list(queues)
    spent = 0
    while spent < budget and active:
        leaving: set[int] = set()
        for bag in active:
            queue, head = queues[bag], heads[bag]
            while head < len(queue) and gone[queue[head]]:
                head += 1
            if head == len(queue):  # no candidate left
                leaving.add(bag)
                heads[bag] = head
                continue
            row = queue[head]
            heads[bag] = head + 1
            gone[row] = 1
            spent += 1
            dropped_max = False
            for label in row_labels[row_ptr[row] : row_ptr[row + 1]].tolist():
                dropped_max |= counts[label] == max_count
                counts[label] -= 1
            if dropped_max:
                max_count = max(counts)
            if counts[bag] == 0 or max_count / counts[bag] >= mean_ir:
                leaving.add(bag)
            if spent == budget:
                break
        active = [b for b in active if b not in leaving]
    deleted[np.frombuffer(bytes(gone), dtype=np.uint8).astype(bool)] = True
    return deleted


def ml_rus(labels: Any, percentage: float = 25.0, *, seed: int | None = 0) -> IndexArray:
    """ML-RUS: multilabel random undersampling by label (Charte et al. 2015).

    MeanIR is computed once from the original labels. Labels with IRLbl below it are *majority
    bags*; labels with IRLbl above it are minority labels, and a row carrying any of them is
    never deleted. Rounds visit the majority bags in label order and delete from each one row
    drawn uniformly among its remaining deletable rows (without replacement: a row is deleted
    at most once, whichever bag drew it); after its deletion a bag whose IRLbl (recomputed
    with every deletion so far) reaches MeanIR leaves, as does a bag with nothing left to
    delete. Deletion stops once ``floor(n_samples * percentage / 100)`` rows are deleted or no
    bag is left.

    Guarantees:
        * the result is a set of distinct original indices, in ascending order;
        * no deleted row carries a minority label (IRLbl > MeanIR of the original data);
        * at most ``floor(n_samples * percentage / 100)`` rows are deleted;
        * rows with no label are never deleted;
        * deterministic given ``seed``.

    Args:
        labels: multilabel labels (multiclass labels are treated as one-hot).
        percentage: the deletion budget as a percentage of the number of rows, in (0, 100).
        seed: seed of the random draws.

    Returns:
        ``np.ndarray[int64]``: the kept indices, ascending.

    Raises:
        TypeError: wrong argument types.
        ValueError: ``percentage`` outside (0, 100), invalid labels, or fewer than two labels.

    Warns:
        UserWarning: fewer rows than the budget were deleted (``percentage`` is only a ceiling),
            saying why and what would act.

    Example:
        >>> y = [[1, 0]] * 6 + [[1, 1], [0, 1]]
        >>> kept = ml_rus(y, 25.0, seed=0)
        >>> len(kept), {6, 7} <= set(kept.tolist())
        (6, True)
    """
    info, matrix = _label_matrix(labels, "ml_rus")
    budget = _budget(info.n_samples, percentage, "ml_rus", undersample=True)
    rng = make_rng(_seed(seed))
    deleted = _ml_rus_deleted(matrix, info.counts, _members(info, matrix), budget, rng)
    _warn_short(
        "ml_rus",
        int(deleted.sum()),
        budget,
        info.n_samples,
        percentage,
        goal=f"every majority label reached IRLbl >= MeanIR ({_mean_ir(info.counts)[1]:.3g}) or "
        "ran out of rows without a minority label",
        nothing=f"no label has IRLbl below MeanIR ({_mean_ir(info.counts)[1]:.3g}) with a row "
        "free of minority labels, so there is no row ML-RUS may delete",
    )
    return np.flatnonzero(~deleted).astype(np.int64)


# ------------------------------------------------------------------------------ LP-ROS/LP-RUS
def _share_budget(need: npt.NDArray[np.int64], budget: int) -> npt.NDArray[np.int64]:
    """How much each bag gets when bags, in the given order, take ``min(need, remaining share)``.

    The loop it replaces: ``share = remaining // bags_left; take = min(need[i], share)``. With
    ``need`` ascending, bags take their full need up to the first one whose need exceeds its
    share; from there on every bag takes the even share ``q`` or ``q + 1`` (the last ``r``).
    """
    m = int(need.shape[0])
    out = np.zeros(m, dtype=np.int64)
    if m == 0:
        return out
    before = np.cumsum(need) - need
    left = np.arange(m, 0, -1, dtype=np.int64)
    fails = np.flatnonzero(need * left > budget - before)
    cut = int(fails[0]) if fails.size else m
    out[:cut] = need[:cut]
    if cut < m:
        remaining = budget - int(before[cut])
        q, r = divmod(remaining, m - cut)
        out[cut:] = q
        if r:
            out[m - r :] += 1
    return out


def _lp_plan(
    labels: Any, percentage: Any, func: str, *, undersample: bool
) -> tuple[int, Any, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Labelset groups, the bags taking part (in processing order) and how many rows each gets."""
    info, matrix = _label_matrix(labels, func)
    budget = _budget(info.n_samples, percentage, func, undersample=undersample)
    groups = labelsets(matrix)
    sizes = groups.counts
    mean_size = info.n_samples / groups.n_sets
    if undersample:
        # Majority labelsets, smallest excess first.
        gap = np.floor(sizes - mean_size).astype(np.int64)
        bags = np.flatnonzero(sizes > mean_size)
        bags = bags[np.argsort(sizes[bags], kind="stable")]
    else:
        # Minority labelsets, smallest deficit (largest labelset) first.
        gap = np.floor(mean_size - sizes).astype(np.int64)
        bags = np.flatnonzero(sizes < mean_size)
        bags = bags[np.argsort(-sizes[bags], kind="stable")]
    take = _share_budget(gap[bags], budget)
    side, kind = ("above", "majority") if undersample else ("below", "minority")
    _warn_short(
        func,
        int(take.sum()),
        budget,
        info.n_samples,
        percentage,
        goal=f"every {kind} labelset reached the mean labelset size ({mean_size:.3g})",
        nothing=f"no labelset is a whole row {side} the mean labelset size ({mean_size:.3g}: "
        f"{groups.n_sets} distinct labelsets in {info.n_samples} rows), so no `percentage` "
        f"makes it act; with this many labelsets use {func.replace('lp', 'ml')}, which works "
        "label by label",
        stacklevel=4,
    )
    return info.n_samples, groups, bags.astype(np.int64), take


def lp_ros(labels: Any, percentage: float = 25.0, *, seed: int | None = 0) -> IndexArray:
    """LP-ROS: label-powerset random oversampling (Charte et al. 2015).

    Rows are grouped by labelset (rows with no label form the empty labelset). Labelsets
    smaller than the mean labelset size are minority bags; they are visited from the largest
    to the smallest, each receiving ``min(floor(mean size - size), remaining budget / bags
    left)`` clones drawn uniformly with replacement from its rows, so budget a bag does not
    need goes to the smaller ones. The budget is ``floor(n_samples * percentage / 100)``.

    Guarantees:
        * every original index is present once, followed by the clones;
        * only rows of minority labelsets are cloned, and no labelset grows beyond the mean
          labelset size;
        * at most ``floor(n_samples * percentage / 100)`` clones;
        * vectorized: the budget split is computed in closed form, the clones in one draw;
        * deterministic given ``seed``.

    Args:
        labels: multilabel labels (multiclass labels: the classes are the labelsets).
        percentage: the cloning budget as a percentage of the number of rows, > 0.
        seed: seed of the random draws.

    Returns:
        ``np.ndarray[int64]``: ``arange(n_samples)`` followed by the clones.

    Raises:
        TypeError: wrong argument types.
        ValueError: ``percentage <= 0``, invalid labels, or fewer than two labels.

    Warns:
        UserWarning: fewer clones than the budget were made (``percentage`` is only a ceiling),
            or none because no labelset is a whole row below the mean size (then use ml_ros).

    Example:
        >>> y = [[1, 0]] * 6 + [[0, 1]] + [[1, 1]] * 2  # labelset sizes 6, 1, 2; mean 3
        >>> clones = lp_ros(y, 34.0, seed=0)[9:].tolist()  # a budget of floor(9 * 0.34) = 3
        >>> len(clones), clones.count(6)  # [1, 1] grows by 1 and [0, 1] by 2, both to 3
        (3, 2)
    """
    n, groups, bags, take = _lp_plan(labels, percentage, "lp_ros", undersample=False)
    rng = make_rng(_seed(seed))
    bag_of = np.repeat(bags, take)
    size = groups.counts[bag_of]
    pick = np.minimum((rng.random(bag_of.shape[0]) * size).astype(np.int64), size - 1)
    clones = groups.members[groups.starts[bag_of] + pick]
    return np.concatenate([np.arange(n, dtype=np.int64), clones.astype(np.int64)])


def lp_rus(labels: Any, percentage: float = 25.0, *, seed: int | None = 0) -> IndexArray:
    """LP-RUS: label-powerset random undersampling (Charte et al. 2015).

    Rows are grouped by labelset (rows with no label form the empty labelset). Labelsets
    larger than the mean labelset size are majority bags; they are visited from the smallest
    to the largest, each losing ``min(floor(size - mean size), remaining budget / bags left)``
    distinct rows drawn uniformly without replacement. The budget is
    ``floor(n_samples * percentage / 100)``.

    Guarantees:
        * the result is a set of distinct original indices, in ascending order;
        * only rows of majority labelsets are deleted, and no labelset shrinks below the mean
          labelset size;
        * at most ``floor(n_samples * percentage / 100)`` rows are deleted;
        * vectorized; deterministic given ``seed``.

    Args:
        labels: multilabel labels (multiclass labels: the classes are the labelsets).
        percentage: the deletion budget as a percentage of the number of rows, in (0, 100).
        seed: seed of the random draws.

    Returns:
        ``np.ndarray[int64]``: the kept indices, ascending.

    Raises:
        TypeError: wrong argument types.
        ValueError: ``percentage`` outside (0, 100), invalid labels, or fewer than two labels.

    Warns:
        UserWarning: fewer rows than the budget were deleted (``percentage`` is only a ceiling),
            or none because no labelset is a whole row above the mean size (then use ml_rus).

    Example:
        >>> y = [[1, 0]] * 6 + [[0, 1], [1, 1]]
        >>> kept = lp_rus(y, 25.0, seed=0)
        >>> len(kept), {6, 7} <= set(kept.tolist())
        (6, True)
    """
    n, groups, bags, take = _lp_plan(labels, percentage, "lp_rus", undersample=True)
    rng = make_rng(_seed(seed))
    deleted = np.zeros(n, dtype=bool)
    if bags.size:
        size = groups.counts[bags]
        bag_of = np.repeat(np.arange(bags.shape[0]), size)
        within = segment_ranks(size)
        member_pos = segment_positions(groups.starts[bags], size)
        keys = rng.random(bag_of.shape[0])
        order = np.lexsort((keys, bag_of))  # by bag, then random key
        rank = np.empty_like(order)
        rank[order] = within
        chosen = rank < take[bag_of]
        deleted[groups.members[member_pos[chosen]]] = True
    return np.flatnonzero(~deleted).astype(np.int64)
