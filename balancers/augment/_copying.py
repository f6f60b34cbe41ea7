"""A deep copy of a pipeline whose objects keep CPython's compact attribute layout.

``copy.deepcopy`` fills each copied instance with ``y.__dict__.update(state)``. On CPython 3.11,
reading ``__dict__`` turns an instance's inline attribute values into a separate dict, and every
later attribute read of that instance takes a slower path: an albumentations pipeline copied
that way runs about 3% slower on 32x32 images than a freshly built one. :func:`rebuilt_copy`
creates such instances with ``cls.__new__(cls)`` and sets their attributes one by one (with
``object.__setattr__``, which bypasses a custom ``__setattr__`` as ``__dict__.update`` does), so
the copy reads its attributes as fast as a new pipeline (reading the original's attributes
turns its own layout, as ``copy.deepcopy`` does). Lists, dicts, tuples and bound methods
are walked the same way; objects with their own copy or pickle protocol, ``__slots__`` or a custom
``__new__``, and every other type, go through ``copy.deepcopy`` with the same memo.
"""

from __future__ import annotations

import copy
import copyreg
import types
from typing import Any

__all__ = ["rebuilt_copy"]


def _plain(cls: Any) -> bool:
    """Whether ``copy.deepcopy`` would copy instances of ``cls`` as ``new + __dict__.update``."""
    return (
        cls not in copyreg.dispatch_table
        and cls.__new__ is object.__new__
        and cls.__reduce_ex__ is object.__reduce_ex__
        and cls.__reduce__ is object.__reduce__
        and getattr(cls, "__getstate__", None) is getattr(object, "__getstate__", None)
        and not hasattr(cls, "__setstate__")
        and not hasattr(cls, "__deepcopy__")
        and not hasattr(cls, "__slots__")
        and cls.__dictoffset__ != 0  # instances have a __dict__
    )


def _copy(obj: Any, memo: dict[int, Any], plain: dict[Any, bool]) -> Any:
    key = id(obj)
    if key in memo:
        return memo[key]
    cls: Any = type(obj)
    if cls is list:
        new_list: list[Any] = []
        memo[key] = new_list
        new_list.extend([_copy(x, memo, plain) for x in obj])
    elif cls is dict:
        new_dict: dict[Any, Any] = {}
        memo[key] = new_dict
        for k, v in obj.items():
            new_dict[_copy(k, memo, plain)] = _copy(v, memo, plain)
    elif cls is tuple:
        items = [_copy(x, memo, plain) for x in obj]
        if key in memo:  # reached again through its own items
            return memo[key]
        same = all(a is b for a, b in zip(items, obj, strict=True))
        memo[key] = obj if same else tuple(items)
    elif cls is types.MethodType:
        memo[key] = types.MethodType(obj.__func__, _copy(obj.__self__, memo, plain))
    else:
        if cls not in plain:
            plain[cls] = _plain(cls)
        if not plain[cls]:
            return copy.deepcopy(obj, memo)
        new = cls.__new__(cls)
        memo[key] = new
        for name, value in vars(obj).items():
            object.__setattr__(new, name, _copy(value, memo, plain))
    memo.setdefault(id(memo), []).append(obj)  # keeps the original alive, as deepcopy does
    return memo[key]


def rebuilt_copy(obj: Any) -> Any:
    """A deep copy of ``obj`` (as ``copy.deepcopy``) whose plain instances are rebuilt attribute
    by attribute, so that they keep the compact layout of newly created objects.

    Example:
        >>> class Node:
        ...     def __init__(self, value, children=()):
        ...         self.value, self.children = value, list(children)
        >>> tree = Node(1, [Node(2)])
        >>> clone = rebuilt_copy(tree)
        >>> clone is tree, clone.children[0] is tree.children[0], clone.children[0].value
        (False, False, 2)
    """
    return _copy(obj, {}, {})
