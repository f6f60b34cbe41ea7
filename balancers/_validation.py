"""Argument checks shared by every public entry point.

Every message has one shape: "`name` should be <expected>, but got name=<value>", followed by the
fix where there is one. Wrong types raise :class:`TypeError`, wrong values :class:`ValueError`.
``bool`` is never accepted where an integer is expected.
"""

from __future__ import annotations

import numbers
from collections.abc import Collection
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "check_bool",
    "check_choice",
    "check_indices",
    "check_int",
    "check_nonnegative_weights",
    "check_real",
    "check_seed",
    "describe_value",
    "tensor_to_numpy",
]


def describe_value(value: Any) -> str:
    """Return a short ``repr`` of ``value`` for error messages (arrays are summarised)."""
    if isinstance(value, np.ndarray):
        return f"array(shape={value.shape}, dtype={value.dtype})"
    if type(value).__module__.startswith("torch") and hasattr(value, "shape"):
        return f"tensor(shape={tuple(value.shape)}, dtype={value.dtype})"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def tensor_to_numpy(value: Any, name: str) -> Any:
    """A torch tensor as a numpy array; any other value is returned unchanged.

    Sparse tensors are made dense and bfloat16 tensors (which numpy cannot hold) become float32,
    so callers see a plain numpy array with the values the tensor holds.

    Raises:
        TypeError: a tensor dtype numpy cannot hold and that has no exact float32 form.
    """
    if not (type(value).__module__.startswith("torch") and hasattr(value, "detach")):
        return value
    tensor = value.detach().cpu()
    if tensor.layout != _torch_strided():
        tensor = tensor.to_dense()
    if str(tensor.dtype) == "torch.bfloat16":
        tensor = tensor.float()  # exact: every bfloat16 value is a float32 value
    try:
        return tensor.numpy()
    except TypeError as exc:
        raise TypeError(
            f"`{name}` should be a tensor of a numeric dtype numpy can hold, but got "
            f"{describe_value(value)}. Convert it first, e.g. {name}.long() or {name}.float()."
        ) from exc


def _torch_strided() -> Any:
    import torch

    return torch.strided


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def check_int(
    value: Any,
    name: str,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    allow_none: bool = False,
    hint: str = "",
) -> int | None:
    """Check that ``value`` is an integer in ``[minimum, maximum]`` and return it as ``int``.

    Args:
        value: the value to check.
        name: the argument name used in messages.
        minimum: smallest allowed value, or None.
        maximum: largest allowed value, or None.
        allow_none: accept None and return it.
        hint: a sentence appended to the message (the fix).

    Raises:
        TypeError: ``value`` is not an integer (``bool`` and floats are rejected).
        ValueError: ``value`` is outside the allowed range.
    """
    if value is None and allow_none:
        return None
    suffix = f" {hint}" if hint else ""
    if minimum is not None and maximum is None:
        expected = {0: "a non-negative integer", 1: "a positive integer"}.get(
            minimum, f"an integer >= {minimum}"
        )
    elif minimum is not None and maximum is not None:
        expected = f"an integer in [{minimum}, {maximum}]"
    elif maximum is not None:
        expected = f"an integer <= {maximum}"
    else:
        expected = "an integer"
    if allow_none:
        expected += " or None"
    if not _is_int(value):
        raise TypeError(
            f"`{name}` should be {expected}, but got {name}={describe_value(value)} "
            f"of type {type(value).__name__}.{suffix}"
        )
    ivalue = int(value)
    if (minimum is not None and ivalue < minimum) or (maximum is not None and ivalue > maximum):
        raise ValueError(f"`{name}` should be {expected}, but got {name}={ivalue}.{suffix}")
    return ivalue


def check_real(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
    allow_none: bool = False,
    hint: str = "",
) -> float | None:
    """Check that ``value`` is a finite real number within the given bounds; return a ``float``.

    Raises:
        TypeError: ``value`` is not a real number (``bool`` is rejected).
        ValueError: ``value`` is NaN, infinite or out of bounds.
    """
    if value is None and allow_none:
        return None
    suffix = f" {hint}" if hint else ""
    parts = []
    if low is not None:
        parts.append(f"{'>=' if low_inclusive else '>'} {low:g}")
    if high is not None:
        parts.append(f"{'<=' if high_inclusive else '<'} {high:g}")
    expected = "a finite number" + (" " + " and ".join(parts) if parts else "")
    if allow_none:
        expected += " or None"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"`{name}` should be {expected}, but got {name}={describe_value(value)} "
            f"of type {type(value).__name__}.{suffix}"
        )
    fvalue = float(value)
    bad = not np.isfinite(fvalue)
    if low is not None:
        bad |= fvalue < low if low_inclusive else fvalue <= low
    if high is not None:
        bad |= fvalue > high if high_inclusive else fvalue >= high
    if bad:
        raise ValueError(f"`{name}` should be {expected}, but got {name}={value!r}.{suffix}")
    return fvalue


def check_bool(value: Any, name: str) -> bool:
    """Check that ``value`` is a ``bool`` and return it."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"`{name}` should be True or False, but got {name}={describe_value(value)} "
            f"of type {type(value).__name__}."
        )
    return bool(value)


def check_choice(value: Any, name: str, choices: Collection[str]) -> str:
    """Check that ``value`` is one of the strings in ``choices`` and return it."""
    options = ", ".join(repr(c) for c in choices)
    if not isinstance(value, str):
        raise TypeError(
            f"`{name}` should be one of {options}, but got {name}={describe_value(value)} "
            f"of type {type(value).__name__}."
        )
    if value not in choices:
        raise ValueError(f"`{name}` should be one of {options}, but got {name}={value!r}.")
    return value


def check_seed(value: Any, name: str = "seed") -> int | None:
    """Check a ``seed`` argument: a non-negative integer or None."""
    return check_int(value, name, minimum=0, allow_none=True)


def check_nonnegative_weights(weights: Any, name: str = "weights") -> npt.NDArray[np.float64]:
    """Convert ``weights`` to a 1-D float64 array and check that it is a usable distribution.

    The weights must be finite, non-negative and not all zero.

    Raises:
        TypeError: ``weights`` is not numeric array-like.
        ValueError: wrong shape, empty, negative, NaN, infinite or all zero.
    """
    if isinstance(weights, (str, bytes)) or weights is None:
        raise TypeError(
            f"`{name}` should be a 1-D array-like of non-negative numbers, but got "
            f"{name}={describe_value(weights)}."
        )
    weights = tensor_to_numpy(weights, name)
    try:
        arr = np.asarray(weights)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(
            f"`{name}` should be a 1-D array-like of non-negative numbers, but got "
            f"{name}={describe_value(weights)}."
        ) from exc
    if arr.dtype == np.bool_ or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise TypeError(
            f"`{name}` should be a 1-D array-like of non-negative numbers, but got an array "
            f"of dtype {arr.dtype}."
        )
    if arr.ndim != 1:
        raise ValueError(
            f"`{name}` should be 1-D (one weight per sample), but got shape {arr.shape}. "
            "Flatten it or pass one row of weights per sample."
        )
    if arr.size == 0:
        raise ValueError(f"`{name}` should not be empty, but got {name} with 0 elements.")
    arr = arr.astype(np.float64, copy=False)
    finite = np.isfinite(arr)
    if not finite.all():
        first = int(np.flatnonzero(~finite)[0])
        raise ValueError(
            f"`{name}` should be finite, but got {name}[{first}]={float(arr[first])!r} "
            f"({int((~finite).sum())} non-finite values)."
        )
    negative = arr < 0
    if negative.any():
        first = int(np.flatnonzero(negative)[0])
        raise ValueError(
            f"`{name}` should be non-negative, but got {name}[{first}]={float(arr[first])!r} "
            f"({int(negative.sum())} negative values)."
        )
    if not (arr > 0).any():
        raise ValueError(
            f"`{name}` should have at least one positive value, but all {arr.size} "
            "weights are zero."
        )
    with np.errstate(over="ignore"):
        overflows = not np.isfinite(arr.sum())
    if overflows:
        # Finite weights whose float64 sum overflows: only the ratios matter, so scale them down.
        scaled = arr / arr.max()
        lost = (scaled == 0) & (arr > 0)
        if lost.any():
            first = int(np.flatnonzero(lost)[0])
            raise ValueError(
                f"`{name}` should span a range float64 can hold, but their sum overflows and, "
                f"scaled down, {name}[{first}]={float(arr[first])!r} becomes 0 "
                f"({int(lost.sum())} weights lost). Rescale or clip the weights."
            )
        arr = scaled
    return arr


def check_indices(
    indices: Any,
    name: str = "indices",
    *,
    size: int | None = None,
    noun: str = "dataset indices",
    hint: str = "",
) -> npt.NDArray[np.int64]:
    """Convert ``indices`` to a non-empty 1-D int64 array of dataset positions.

    Args:
        indices: a 1-D array-like of integers (list, numpy array or tensor).
        name: the argument name used in messages.
        size: when given, every index must be in ``[0, size)``; otherwise only non-negative.
        noun: how the dtype message names the values ("integer <noun>").
        hint: a sentence appended to the dtype message (the fix).

    Raises:
        TypeError: not array-like, or not integers (``bool`` is rejected).
        ValueError: ragged, not 1-D, empty, negative or out of range.
    """
    value = tensor_to_numpy(indices, name)
    if isinstance(value, str | bytes | dict | set) or value is None:
        raise TypeError(
            f"`{name}` should be a 1-D array-like of {noun}, but got "
            f"{name}={describe_value(indices)} of type {type(indices).__name__}."
        )
    try:
        arr = np.asarray(value)
    except ValueError as exc:
        raise ValueError(
            f"`{name}` should be a 1-D array of indices, but got a ragged sequence."
        ) from exc
    integer = arr.dtype != np.bool_ and np.issubdtype(arr.dtype, np.integer)
    if not integer and not (arr.size == 0 and arr.ndim == 1):  # [] is float64: reported as empty
        suffix = f" {hint}" if hint else ""
        raise TypeError(
            f"`{name}` should hold integer {noun}, but got an array of dtype {arr.dtype}.{suffix}"
        )
    if arr.ndim != 1:
        raise ValueError(
            f"`{name}` should be 1-D, but got shape {arr.shape}. Flatten it with .ravel()."
        )
    if arr.size == 0:
        raise ValueError(f"`{name}` should not be empty, but got 0 indices.")
    if arr.dtype.kind == "u" and arr.dtype.itemsize == 8:
        huge = arr > np.iinfo(np.int64).max
        if huge.any():
            first = int(np.flatnonzero(huge)[0])
            raise ValueError(
                f"`{name}` should hold {noun} below 2**63, but got {name}[{first}]="
                f"{int(arr[first])} ({int(huge.sum())} too large)."
            )
    arr = arr.astype(np.int64)
    bad = arr < 0 if size is None else (arr < 0) | (arr >= size)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        expected = (
            "non-negative dataset indices"
            if size is None
            else f"in [0, {size}) for a dataset of {size} items"
        )
        raise ValueError(
            f"`{name}` should {'hold ' if size is None else 'be '}{expected}, but got "
            f"{name}[{first}]={int(arr[first])} ({int(bad.sum())} out of range)."
        )
    return arr
