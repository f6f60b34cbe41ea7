"""Class-id values numpy would silently merge or rename: missing labels and mixed types.

``np.asarray([1, "1"])`` makes both the string ``"1"``, ``np.asarray([True, 2])`` makes ``True``
the class ``1``, and a NaN among strings becomes the class ``"nan"``. These checks run on Python
sequences before they are converted.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

__all__ = ["check_class_values", "missing_error"]


#: how many positions an error about missing labels shows
_SHOWN = 5


def _is_missing(value: Any) -> bool:
    """None, a float NaN or pandas' ``NA``: a label that is not there."""
    if value is None or type(value).__name__ == "NAType":
        return True
    return isinstance(value, numbers.Real) and value != value  # NaN is the only x != x


def _kind(kind_of: type) -> str:
    """The class-id kind of a Python type: values of two kinds must not be merged."""
    if issubclass(kind_of, bool | np.bool_):
        return "bool"
    if issubclass(kind_of, numbers.Real):
        return "number"
    if issubclass(kind_of, str):
        return "str"
    if issubclass(kind_of, bytes):
        return "bytes"
    if kind_of is type(None) or kind_of.__name__ == "NAType":
        return "missing"
    if issubclass(kind_of, list | tuple | np.ndarray | torch.Tensor):
        return "row"
    return "other"


def missing_error(positions: Sequence[int], n: int, name: str) -> ValueError:
    """The error for missing labels at ``positions`` among ``n``: their count and the first few."""
    shown = ", ".join(str(i) for i in positions[:_SHOWN]) + (
        ", ..." if len(positions) > _SHOWN else ""
    )
    return ValueError(
        f"`{name}` should have a class for every sample, but {len(positions)} of {n} labels "
        f"are missing (None or NaN), at positions [{shown}]. Drop those samples or give them "
        "a class of their own."
    )


def check_class_values(values: Sequence[Any], name: str) -> None:
    """Reject missing labels and class ids of mixed types before numpy merges them.

    ``np.asarray([1, "1"])`` silently makes both the string ``"1"``; a NaN among strings becomes
    the class ``"nan"``. Scalars of one kind (numbers, booleans, strings, bytes) pass; the kinds
    are decided per type, so a long list of one type costs one pass of ``type()``.

    Raises:
        ValueError: missing labels (None, NaN, pandas NA), with their count and first positions.
        TypeError: class ids of more than one kind.

    Example:
        >>> check_class_values(["cat", "dog", "cat"], "labels")  # one kind: passes
        >>> try:
        ...     check_class_values([1, "1", 2], "labels")
        ... except TypeError as exc:
        ...     print(str(exc)[:68])
        `labels` should hold class ids of one type (integers or strings), bu
    """
    kinds = {_kind(t) for t in set(map(type, values))}
    if "row" in kinds or (len(kinds - {"other"}) <= 1 and "missing" not in kinds):
        return  # one kind (a float NaN is found by the float path), or rows of a 2-D array
    missing = [i for i, v in enumerate(values) if _is_missing(v)]
    if missing:
        raise missing_error(missing, len(values), name)
    first: dict[str, int] = {}
    for i, v in enumerate(values):
        first.setdefault(_kind(type(v)), i)
    first.pop("other", None)
    examples = ", ".join(f"{name}[{i}]={values[i]!r}" for i in sorted(first.values()))
    raise TypeError(
        f"`{name}` should hold class ids of one type (integers or strings), but got "
        f"{' and '.join(sorted(first))} class ids mixed ({examples}). Convert them to one "
        "type first, e.g. [str(y) for y in labels]."
    )
