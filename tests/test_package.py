"""Packaging: public names, the built wheel's contents, typing marker."""

from __future__ import annotations

import ast
import importlib
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


@pytest.mark.parametrize("package", ["balancers", "balancers.datasets", "balancers.demo"])
def test_lazy_names_agree_with_all_and_the_type_checking_imports(package: str) -> None:
    """The three lists of a lazy package (``__all__``, the name -> module map, the imports that
    type checkers read) name the same things, and every name resolves to its module's object."""
    module = importlib.import_module(package)
    tree = ast.parse(Path(module.__file__ or "").read_text(encoding="utf-8"))
    typed = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
        for stmt in node.body
        if isinstance(stmt, ast.ImportFrom)
        for alias in stmt.names
    }
    sources = module._SOURCES
    assert list(sources) == sorted(sources)
    assert list(module.__all__) == sorted(module.__all__)
    assert typed == set(sources)
    assert set(module.__all__) - {"__version__"} <= set(sources)
    for name, where in sources.items():
        value = getattr(module, name)
        if where == ".":
            assert value is importlib.import_module(f"{package}.{name}")
        else:
            assert value is getattr(importlib.import_module(where, package), name)
    assert set(module.__all__) <= set(dir(module))
    with pytest.raises(AttributeError, match=f"module {package!r} has no attribute 'nope'"):
        module.nope  # noqa: B018
