"""Lazy public names for a package (PEP 562): a submodule is imported when a name is first used.

A package lists its public names in a map ``{name: module}`` (module relative to the package;
``"."`` for a submodule of that name) and installs the module-level ``__getattr__`` and
``__dir__`` made by :func:`attach`, under ``if not TYPE_CHECKING`` next to the plain imports that
type checkers read. ``import balancers`` then costs almost nothing, and the first use of, say,
``balancers.WeightedSampler`` imports torch and the samplers.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["attach"]


def attach(
    package: str, sources: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package`` that import each name from its module.

    A name, once imported, is stored in the package's namespace, so ``__getattr__`` runs once
    per name.

    Example:
        >>> getattr_, dir_ = attach("json", {"JSONDecoder": ".decoder", "decoder": "."})
        >>> getattr_("JSONDecoder").__name__, getattr_("decoder").__name__
        ('JSONDecoder', 'json.decoder')
    """

    def __getattr__(name: str) -> Any:
        module = sources.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        if module == ".":
            value: Any = importlib.import_module(f"{package}.{name}")
        else:
            value = getattr(importlib.import_module(module, package), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(sources))

    return __getattr__, __dir__
