"""A spy on PIL's ``Image.open``: proves that labels were read without opening an image."""

from __future__ import annotations

from typing import Any

import pytest
from PIL import Image


def spy_on_image_open(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record every ``PIL.Image.open`` call (the files are still opened); return the record."""
    opened: list[Any] = []
    real_open = Image.open

    def spy(*args: Any, **kwargs: Any) -> Any:
        opened.append(args[0])
        return real_open(*args, **kwargs)

    monkeypatch.setattr(Image, "open", spy)
    return opened
