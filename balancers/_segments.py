"""Index arithmetic on consecutive segments (numpy only): the positions a list of ranges covers,
and the rank of each entry within its segment."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["segment_positions", "segment_ranks"]

IntArray = npt.NDArray[np.int64]


def segment_ranks(lengths: npt.NDArray[np.integer]) -> IntArray:
    """``concatenate([arange(n) for n in lengths])``, vectorized.

    Example:
        >>> segment_ranks(np.array([2, 0, 3])).tolist()
        [0, 1, 0, 1, 2]
    """
    return segment_positions(np.zeros(len(lengths), dtype=np.int64), lengths)


def segment_positions(
    starts: npt.NDArray[np.integer], lengths: npt.NDArray[np.integer]
) -> IntArray:
    """``concatenate([arange(s, s + n) for s, n in zip(starts, lengths)])``, vectorized.

    Example:
        >>> segment_positions(np.array([10, 4]), np.array([2, 3])).tolist()
        [10, 11, 4, 5, 6]
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.cumsum(lengths) - lengths
    return np.repeat(np.asarray(starts, dtype=np.int64) - offsets, lengths) + np.arange(
        total, dtype=np.int64
    )
