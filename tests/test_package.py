"""Packaging: public names, the built wheel's contents, typing marker."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import balancers

ROOT = Path(__file__).resolve().parents[1]


def test_all_is_sorted_and_importable() -> None:
    assert list(balancers.__all__) == sorted(balancers.__all__)
    for name in balancers.__all__:
        assert hasattr(balancers, name), name


def test_repo_root_datasets_is_not_a_package() -> None:
    assert (ROOT / "datasets").is_dir()
    assert not (ROOT / "datasets" / "__init__.py").exists()


@pytest.mark.slow
def test_wheel_contains_only_the_balancers_package(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(ROOT),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
        ],
        check=True,
    )
    (wheel,) = tmp_path.glob("balancers-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names}
    assert "datasets" not in top_level
    assert {t for t in top_level if not t.endswith(".dist-info")} == {"balancers"}
    assert "balancers/py.typed" in names
    assert not any(name.startswith(("tests/", "benchmarks/", "examples/")) for name in names)
