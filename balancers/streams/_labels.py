"""How a stream item's class is read: a dict key, a tuple index or a callable.

An item's class is normalised to a hashable Python value: ``int`` and ``str`` pass through, numpy
and 0-d torch scalars become Python scalars, ``bytes`` (undecoded webdataset fields such as
``.cls``) are read as text and become an ``int`` when the text is one. A list, tuple, set, 1-D
array or tensor is the item's list of classes (multilabel): it becomes a ``tuple`` of classes, and
an empty list becomes the "no label" group ``None``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Hashable, Mapping
from typing import Any

import numpy as np

from .._validation import describe_value

__all__ = ["LabelReader", "normalize_class"]


def _text_class(raw: bytes | bytearray, position: int) -> Any:
    try:
        text = bytes(raw).decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ValueError(
            f"the label of item {position} is {len(raw)} bytes that are not text (an image or "
            "other binary field?); a bytes label should hold the class as text, like a "
            "webdataset .cls field."
        ) from None
    body = text[1:] if text[:1] in "+-" else text
    return int(text) if body.isdigit() else text


def normalize_class(raw: Any, position: int) -> Any:
    """The class of one item (hashable), a ``tuple`` of classes for a multilabel item, or None
    for an item with an empty label list.

    Raises:
        TypeError: the label is None or of an unhashable type.
    """
    kind = type(raw)
    if kind is int or kind is str:
        return raw
    if isinstance(raw, (bytes, bytearray)):
        return _text_class(raw, position)
    if isinstance(raw, np.generic):
        return raw.item()
    if (type(raw).__module__.startswith("torch") and hasattr(raw, "tolist")) or isinstance(
        raw, np.ndarray
    ):
        raw = raw.tolist()
    if isinstance(raw, (list, tuple, set, frozenset)):
        classes = tuple(dict.fromkeys(_single(value, position) for value in raw))
        return classes if classes else None
    return _single(raw, position)


def _single(raw: Any, position: int) -> Any:
    if isinstance(raw, (bytes, bytearray)):
        return _text_class(raw, position)
    if isinstance(raw, np.generic):
        return raw.item()
    if raw is None or not isinstance(raw, Hashable) or isinstance(raw, (tuple, frozenset)):
        raise TypeError(
            f"the label of item {position} should be a class id (an int, a str or another "
            f"hashable scalar) or a list of them, but got {describe_value(raw)} of type "
            f"{type(raw).__name__}. Pass a `label` callable that returns the class."
        )
    return raw


class LabelReader:
    """Read the raw label of an item: ``item[key]``, ``item[index]`` or ``label(item)``."""

    def __init__(self, label: Any) -> None:
        if isinstance(label, bool) or not (isinstance(label, (str, int)) or callable(label)):
            raise TypeError(
                "`label` should be a dict key (str), a tuple index (int) or a callable that "
                f"returns an item's class, but got label={describe_value(label)} of type "
                f"{type(label).__name__}."
            )
        self.label = label
        self.read: Callable[[Any], Any] = label if callable(label) else operator.itemgetter(label)

    def missing(self, item: Any, position: int, exc: Exception) -> Exception:
        """The error for an item whose label cannot be read (names what the item has)."""
        label = self.label
        if callable(label):
            return exc
        if isinstance(item, Mapping):
            keys = ", ".join(repr(k) for k in list(item)[:12])
            return ValueError(
                f"item {position} has no key {label!r} (`label`); its keys are {keys}. Pass "
                "`label` as one of these keys or as a callable."
            )
        if isinstance(item, (tuple, list)):
            return ValueError(
                f"item {position} has {len(item)} fields, so `label`={label!r} is out of range. "
                f"Pass an index below {len(item)}."
            )
        return TypeError(
            f"item {position} is a {type(item).__name__}, which cannot be indexed by "
            f"`label`={label!r}. Pass `label` as a callable that returns the item's class."
        )
