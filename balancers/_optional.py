"""Imports of optional dependencies with an error that names the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["import_optional"]

_PACKAGES = {
    "augment": "albumentations",
    "plot": "matplotlib",
    "multilearn": "scikit-multilearn",
    "tables": "pyarrow",
    "hf": "datasets",
}


def import_optional(module: str, *, extra: str) -> ModuleType:
    """Import ``module`` or raise ImportError naming ``pip install "balancers[extra]"``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        package = _PACKAGES.get(extra, module.split(".")[0])
        raise ImportError(
            f"This feature needs {package}, which is not installed. Install it with: "
            f'pip install "balancers[{extra}]"'
        ) from exc
