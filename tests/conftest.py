"""Shared fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def test_data_root() -> Path:
    """Root of the real datasets (torchvision layout), from ``BALANCERS_TEST_DATA``."""
    value = os.environ.get("BALANCERS_TEST_DATA")
    if not value:
        pytest.skip("BALANCERS_TEST_DATA is not set: no real MNIST/Fashion-MNIST/yeast data")
    root = Path(value)
    if not root.is_dir():
        pytest.fail(f"BALANCERS_TEST_DATA={value} is not a directory")
    return root
