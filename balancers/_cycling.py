"""Class-then-instance draws that cycle through shuffled per-class lists (numpy only, no torch).

Samplers that first pick a class and then an instance of it (class-balanced, progressive,
class-aware, P x K batches) share these kernels. Within a class, instances are taken from a
shuffled list of the class's members; when the list is exhausted it is reshuffled. A class of 10
members drawn 100 times therefore serves each member exactly 10 times, instead of a
Poisson-like number of times as independent uniform picks would.

All work is vectorized: the occurrence rank of each draw within its class comes from a stable
counting (radix) sort of the class codes, and the shuffled cycles of all classes are generated
together, classes of similar size side by side as rows of one matrix shuffled row-wise
(:meth:`numpy.random.Generator.permuted`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ._segments import segment_positions

__all__ = [
    "ClassDraws",
    "cycle_draws",
    "cycle_pool",
    "draw_classes",
    "narrow_codes",
    "stable_class_order",
]

_UNIFORM_SEARCH_LIMIT = 64  # up to this many classes, draw classes by searchsorted on the CDF
_SINGLE_CLASS_SIZE = 1 << 14  # classes at least this large are shuffled one by one

ClassDraws = npt.NDArray[np.integer]


def narrow_codes(codes: npt.NDArray[np.integer], n_classes: int) -> ClassDraws:
    """``codes`` in the narrowest unsigned dtype that holds ``n_classes`` (radix-sortable)."""
    if n_classes <= 1 << 8:
        dtype: type[np.integer] = np.uint8
    elif n_classes <= 1 << 16:
        dtype = np.uint16
    else:
        dtype = np.uint32
    return codes.astype(dtype, copy=False)


def stable_class_order(draws: ClassDraws, n_classes: int) -> npt.NDArray[np.int64]:
    """Stable ``argsort`` of class codes in ``[0, n_classes)`` in linear time.

    numpy sorts 8- and 16-bit integers stably by radix sort; more than 65536 classes take two
    16-bit passes (least significant digit first).
    """
    codes = narrow_codes(draws, n_classes)
    if codes.dtype.itemsize <= 2:
        return np.argsort(codes, kind="stable").astype(np.int64, copy=False)
    low = (codes & 0xFFFF).astype(np.uint16)
    first = np.argsort(low, kind="stable")
    high = (codes[first] >> 16).astype(np.uint16)
    return first[np.argsort(high, kind="stable")].astype(np.int64, copy=False)


def draw_classes(rng: np.random.Generator, probs: npt.NDArray[np.float64], size: int) -> ClassDraws:
    """``size`` independent class draws with probabilities ``probs`` (summing to 1).

    Equal probabilities use one bounded-integer draw per item; a few classes use the CDF; many
    classes use Walker's alias table (:class:`balancers._draw.AliasTable`).
    """
    n_classes = int(probs.shape[0])
    if np.all(probs == probs[0]):
        dtype = narrow_codes(np.zeros(0, dtype=np.int64), n_classes).dtype
        return rng.integers(0, n_classes, size=size, dtype=dtype)
    if n_classes <= _UNIFORM_SEARCH_LIMIT:
        cdf = np.cumsum(probs)
        cdf /= cdf[-1]
        found = np.searchsorted(cdf, rng.random(size), side="right")
        np.minimum(found, n_classes - 1, out=found)
        return narrow_codes(found, n_classes)
    from ._draw import AliasTable

    return narrow_codes(AliasTable(probs).sample(rng, size), n_classes)


def _fill_group(
    pool: npt.NDArray[np.int64],
    starts: npt.NDArray[np.int64],
    indptr: npt.NDArray[np.int64],
    rows: npt.NDArray[np.int64],
    group: npt.NDArray[np.int64],
    counts: npt.NDArray[np.int64],
    width: int,
    rng: np.random.Generator,
) -> None:
    """Shuffled cycles of the classes in ``group`` (all of size in ``(width / 2, width]``).

    Each class gets ``ceil(m / n)`` rows of ``width`` slots holding its ``n`` member positions
    and ``width - n`` blanks; every row is shuffled independently, the blanks are dropped (a
    uniform shuffle of the padded row is a uniform shuffle of the members), and the first ``m``
    entries of the class's concatenated rows are kept.
    """
    first = indptr[group]
    sizes = indptr[group + 1] - first
    m = counts[group]
    cycles = -(-m // sizes)
    row_size = np.repeat(sizes, cycles)
    # int64 rows: numpy shuffles 8-byte items fastest; the draws do not depend on the dtype.
    mat = np.repeat(first, cycles)[:, None] + np.arange(width, dtype=np.int64)
    half = width // 2
    tail = mat[:, half:]
    tail[np.arange(half, width) >= row_size[:, None]] = -1
    rng.permuted(mat, axis=1, out=mat)
    flat = mat[mat >= 0] if bool((row_size < width).any()) else mat.reshape(-1)
    # Class i holds flat[block_start[i]:][:cycles[i] * sizes[i]]; keep its first m[i] entries
    # and write them to pool[starts[c]:][:m[i]].
    block = cycles * sizes
    src = segment_positions(np.cumsum(block) - block, m)
    pool[segment_positions(starts[group], m)] = rows[flat[src]]


def cycle_pool(
    indptr: npt.NDArray[np.int64],
    rows: npt.NDArray[np.int64],
    counts: npt.NDArray[np.int64],
    rng: np.random.Generator,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """For each class ``c``, ``counts[c]`` instances cycling through shuffled member lists.

    Args:
        indptr: inverted index pointers: members of class ``c`` are
            ``rows[indptr[c]:indptr[c + 1]]`` (``Labels.class_members``).
        rows: member rows, grouped by class.
        counts: draws per class; a class drawn at least once must have a member.
        rng: the generator.

    Returns:
        ``(pool, starts)``: the instances of class ``c`` are
        ``pool[starts[c]:starts[c + 1]]`` in draw order. Within each class, consecutive runs of
        ``n_c`` instances are permutations of the class's members (the last run may be partial,
        and then holds distinct members).

    Example:
        >>> import numpy as np
        >>> pool, starts = cycle_pool(
        ...     np.array([0, 2, 5]), np.array([0, 3, 1, 2, 4]), np.array([4, 3]),
        ...     np.random.default_rng(0))
        >>> sorted(pool[:4].tolist()), sorted(pool[4:].tolist())
        ([0, 0, 3, 3], [1, 2, 4])
    """
    n_classes = int(counts.shape[0])
    starts = np.zeros(n_classes + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    pool = np.empty(int(starts[-1]), dtype=np.int64)
    sizes = np.diff(indptr)
    drawn = np.flatnonzero(counts > 0)
    if drawn.size and (sizes[drawn] == 0).any():
        raise ValueError("a class with no members cannot be drawn")
    large = drawn[sizes[drawn] >= _SINGLE_CLASS_SIZE]
    for c in large.tolist():
        members = rows[indptr[c] : indptr[c + 1]]
        n, m = int(members.shape[0]), int(counts[c])
        full, rest = divmod(m, n)
        out = pool[starts[c] : starts[c + 1]]
        if full:
            block = np.tile(members, (full, 1))
            rng.permuted(block, axis=1, out=block)
            out[: full * n] = block.reshape(-1)
        if rest:
            out[full * n :] = rng.choice(members, size=rest, replace=False)
    small = drawn[sizes[drawn] < _SINGLE_CLASS_SIZE]
    if small.size:
        # Group classes by the power of two above their size: padding costs at most 2x.
        width_exp = np.ceil(np.log2(sizes[small])).astype(np.int64)
        order = np.argsort(width_exp, kind="stable")
        small, width_exp = small[order], width_exp[order]
        bounds = np.flatnonzero(np.diff(width_exp)) + 1
        for group, exp in zip(
            np.split(small, bounds), width_exp[np.r_[0, bounds]].tolist(), strict=True
        ):
            _fill_group(pool, starts, indptr, rows, group, counts, 1 << int(exp), rng)
    return pool, starts


def cycle_draws(
    indptr: npt.NDArray[np.int64],
    rows: npt.NDArray[np.int64],
    draws: ClassDraws,
    rng: np.random.Generator,
) -> npt.NDArray[np.int64]:
    """The instance for each class draw, cycling through shuffled per-class lists.

    The ``j``-th draw of class ``c`` (in sequence order) takes entry ``j`` of the class's
    instance stream from :func:`cycle_pool`: in every window of ``n_c`` consecutive draws of
    class ``c`` aligned on multiples of ``n_c``, each member is used exactly once.

    Args:
        indptr: inverted index pointers (``Labels.class_members[0]``).
        rows: member rows grouped by class (``Labels.class_members[1]``).
        draws: class positions ``0..C-1``, one per draw, in sequence order.
        rng: the generator.

    Returns:
        The drawn rows (``int64``), aligned with ``draws``.

    Example:
        >>> import numpy as np
        >>> draws = np.array([0, 1, 0, 0, 1, 0], dtype=np.uint8)
        >>> out = cycle_draws(np.array([0, 2, 3]), np.array([5, 9, 7]), draws,
        ...                   np.random.default_rng(0))
        >>> sorted(out[[0, 2]].tolist()), out[[1, 4]].tolist()
        ([5, 9], [7, 7])
    """
    n_classes = int(indptr.shape[0] - 1)
    counts = np.bincount(draws, minlength=n_classes).astype(np.int64)
    pool, _ = cycle_pool(indptr, rows, counts, rng)
    out = np.empty(draws.shape[0], dtype=np.int64)
    out[stable_class_order(draws, n_classes)] = pool
    return out
