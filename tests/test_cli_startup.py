"""``balancers --help``, ``--version`` and argument errors start without torch or torchvision.

Each case runs in a fresh interpreter and looks at ``sys.modules`` at exit (not a timing test:
``benchmarks/bench_import.py`` measures the times).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

import balancers

ROOT = Path(__file__).resolve().parents[1]

_PROBE = """
import json, sys
from balancers.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
heavy = sorted(m for m in ("torch", "torchvision", "sklearn", "albumentations") if m in sys.modules)
print(json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
"""


def _probe(*argv: str) -> tuple[str, dict[str, object]]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return done.stdout, json.loads(done.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["--help"], 0),
        (["--version"], 0),
        (["demo", "--help"], 0),
        (["describe", "--help"], 0),
        (["split", "--help"], 0),
        (["materialize", "--help"], 0),
        ([], 2),
        (["nonsense"], 2),
        (["split", "mnist", "--ratio", "many"], 2),
        (["materialize", "--dataset", "mnist"], 2),
    ],
)
def test_help_version_and_argument_errors_do_not_import_torch(argv: list[str], code: int) -> None:
    _, result = _probe(*argv)
    assert result == {"code": code, "heavy": []}


def test_version_is_the_installed_one() -> None:
    out, _ = _probe("--version")
    assert out == f"balancers {version('balancers')}\n"


def test_package_version_is_the_project_version() -> None:
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from 3.11")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    if "version" in config["project"]:
        assert config["project"]["version"] == balancers.__version__
    else:  # one source: the build reads balancers.__version__
        assert config["project"]["dynamic"] == ["version"]
        dynamic = config["tool"]["setuptools"]["dynamic"]
        assert dynamic["version"] == {"attr": "balancers.__version__"}


def test_import_balancers_imports_no_torch_until_a_name_is_used() -> None:
    code = (
        "import sys, balancers, balancers.datasets, balancers.demo\n"
        "before = 'torch' in sys.modules\n"
        "balancers.WeightedSampler\n"
        "print(before, 'torch' in sys.modules, 'torchvision' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.stdout.split() == ["False", "True", "False"]
