"""Mixed targets for stratification: several columns turned into one 0/1 indicator matrix.

Label columns pass through, a categorical column becomes one indicator per category, and a
continuous column is first cut into bins with :func:`bin_continuous`. The stratifiers then
balance every indicator (``order=1``) or every pair of them (``order=2``: finding x sex,
sex x age band, ...).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from .._labels import check_labels
from .._regression import check_targets
from .._validation import check_choice, check_int, describe_value

__all__ = ["bin_continuous", "stratification_targets"]

STRATEGIES = ("quantile", "uniform")


def bin_continuous(y: Any, n_bins: int = 5, strategy: str = "quantile") -> npt.NDArray[np.int64]:
    """Cut a continuous column into ``n_bins`` ordered bins, for stratification.

    ``strategy="quantile"`` puts about the same number of values in each bin (edges at the
    quantiles; equal edges from repeated values merge, so fewer bins can come out, numbered
    from 0 without gaps);
    ``"uniform"`` uses equal-width bins over ``[min, max]``. A constant column gives a single
    bin (all zeros) whatever ``n_bins`` is.

    Args:
        y: a 1-D numeric column (list, numpy, torch, pandas), finite.
        n_bins: number of bins, at least 2.
        strategy: ``"quantile"`` or ``"uniform"``.

    Returns:
        int64 bin numbers from 0 to at most ``n_bins - 1`` (in increasing order of the values),
        one per row.

    Raises:
        TypeError: ``y`` not numeric, or ``n_bins``/``strategy`` of the wrong type.
        ValueError: ``y`` empty, not 1-D or with NaN/inf; ``n_bins < 2``; unknown strategy.

    Example:
        >>> bin_continuous([3.0, 1.0, 2.0, 4.0, 5.0, 6.0], n_bins=3).tolist()
        [1, 0, 0, 1, 2, 2]
    """
    values = check_targets(y, "y")
    n = check_int(
        n_bins, "n_bins", minimum=2, hint="Use n_bins=2 or more (one bin does not stratify)."
    )
    assert n is not None
    strategy = check_choice(strategy, "strategy", STRATEGIES)
    if strategy == "quantile":
        inner = np.unique(np.quantile(values, np.linspace(0.0, 1.0, n + 1)[1:-1]))
        raw = np.searchsorted(inner, values, side="right")
        # Bins left empty by repeated values are dropped: the bins stay numbered 0, 1, ...
        return np.unique(raw, return_inverse=True)[1].reshape(-1).astype(np.int64)
    lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        return np.zeros(values.shape[0], dtype=np.int64)
    return np.clip(((values - lo) * (n / (hi - lo))).astype(np.int64), 0, n - 1)


def stratification_targets(*columns: Any) -> sp.csr_array:
    """Stack label, categorical and binned columns into the 0/1 matrix the stratifiers take.

    Each column is one of:

    - a 2-D 0/1 matrix (dense or ``scipy.sparse``): label columns, kept as they are;
    - a 1-D array of categories (ints, strings; for a continuous column, the output of
      :func:`bin_continuous`): one indicator column per category, in sorted order.

    Pass the result as ``y`` to :class:`IterativeStratifiedKFold`,
    :class:`IterativeStratifiedGroupKFold` or :func:`iterative_train_test_split`; ``order=2``
    then balances the pairs across columns too (finding x sex, sex x age band).

    Args:
        *columns: the columns, all with the same number of rows.

    Returns:
        A ``scipy.sparse.csr_array`` of int8, shape ``(n_rows, total indicator columns)``,
        the columns in the order given.

    Raises:
        TypeError: a column is of an unsupported type.
        ValueError: no column, a column with another number of rows, or a 2-D column that is
            not 0/1.

    Example:
        >>> import numpy as np
        >>> findings = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
        >>> sex = ["F", "M", "M", "F"]
        >>> age = bin_continuous([20, 35, 60, 80], n_bins=2)
        >>> stratification_targets(findings, sex, age).toarray().tolist()
        [[1, 0, 1, 0, 1, 0], [0, 1, 0, 1, 1, 0], [1, 1, 0, 1, 0, 1], [0, 0, 1, 0, 0, 1]]
    """
    if not columns:
        raise ValueError(
            "`columns` should hold at least one column, but got none. Pass label matrices "
            "and 1-D categorical or binned columns."
        )
    blocks = []
    n_rows: int | None = None
    for i, column in enumerate(columns):
        name = f"columns[{i}]"
        if not sp.issparse(column) and np.ndim(_plain(column)) == 1:
            values = np.asarray(_plain(column))
            if values.dtype.kind == "f" and not np.all(np.isfinite(values)):
                raise ValueError(
                    f"`{name}` should hold finite categories, but got NaN or inf in "
                    f"{describe_value(values)}. Fill the missing values first."
                )
            _, codes = np.unique(values, return_inverse=True)
            codes = codes.reshape(-1)
            m = int(codes.max()) + 1 if codes.shape[0] else 0
            block = sp.csr_array(
                (np.ones(codes.shape[0], np.int8), (np.arange(codes.shape[0]), codes)),
                shape=(codes.shape[0], m),
            )
        else:
            labels = check_labels(column, name)
            if labels.matrix is None:
                raise ValueError(
                    f"`{name}` should be a 2-D 0/1 label matrix or a 1-D column, but got "
                    f"{describe_value(column)}."
                )
            block = labels.matrix.astype(np.int8)
        if n_rows is None:
            n_rows = block.shape[0]
        elif block.shape[0] != n_rows:
            raise ValueError(
                f"`{name}` should have {n_rows} rows like columns[0], but got {block.shape[0]}. "
                "Pass columns of the same rows."
            )
        blocks.append(block)
    return sp.csr_array(sp.hstack(blocks, format="csr"), dtype=np.int8)


def _plain(column: Any) -> Any:
    if hasattr(column, "detach"):
        return column.detach().cpu().numpy()
    if hasattr(column, "to_numpy"):
        return column.to_numpy()
    return column
