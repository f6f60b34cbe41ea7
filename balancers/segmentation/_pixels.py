"""Per-image per-class pixel counts validated in one place (the image x class count matrix)."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .._validation import describe_value

__all__ = ["check_pixel_counts"]


def check_pixel_counts(value: Any, name: str = "pixel_counts") -> sp.csr_array:
    """``value`` as an ``(n_images, n_classes)`` int64 CSR array of pixel counts.

    Accepts what :func:`~balancers.segmentation.pixel_class_counts` returns, any
    ``scipy.sparse`` matrix, a numpy array or a torch tensor of non-negative integers (floats
    with integral values are accepted).

    Raises:
        TypeError: not a matrix of numbers.
        ValueError: not 2-D, empty, negative, non-integral or NaN values, or no pixel at all.
    """
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    if sp.issparse(value):
        matrix = sp.csr_array(value)
    else:
        if isinstance(value, str | bytes | dict | set) or value is None:
            raise TypeError(
                f"`{name}` should be an (n_images, n_classes) matrix of pixel counts (from "
                f"pixel_class_counts), but got {describe_value(value)} of type "
                f"{type(value).__name__}."
            )
        try:
            arr = np.asarray(value)
        except ValueError as exc:
            raise ValueError(
                f"`{name}` should be a 2-D matrix, but got a ragged sequence."
            ) from exc
        if arr.ndim != 2:
            raise ValueError(
                f"`{name}` should be 2-D (n_images, n_classes), but got shape {arr.shape}."
            )
        matrix = sp.csr_array(arr)
    data = matrix.data
    if data.dtype == np.bool_ or not (
        np.issubdtype(data.dtype, np.integer) or np.issubdtype(data.dtype, np.floating)
    ):
        raise TypeError(
            f"`{name}` should hold pixel counts (integers), but got dtype {data.dtype}."
        )
    if matrix.shape[0] == 0 or matrix.shape[1] == 0:
        raise ValueError(
            f"`{name}` should have at least one image and one class, but got shape {matrix.shape}."
        )
    if np.issubdtype(data.dtype, np.floating):
        bad = ~np.isfinite(data) | (data != np.round(data))
        if bad.any():
            raise ValueError(
                f"`{name}` should hold whole pixel counts, but it contains {data[bad][0].item()!r}."
            )
    if (data < 0).any():
        raise ValueError(
            f"`{name}` should hold non-negative pixel counts, but it contains "
            f"{data[data < 0][0].item()!r}."
        )
    out = sp.csr_array(
        (data.astype(np.int64), matrix.indices.copy(), matrix.indptr.copy()), shape=matrix.shape
    )
    out.sum_duplicates()
    out.eliminate_zeros()
    out.sort_indices()
    if out.nnz == 0:
        raise ValueError(f"`{name}` should count at least one pixel, but every count is 0.")
    return out
