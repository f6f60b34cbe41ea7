"""The imbalanced-regression example: one short run writes its table and JSON."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "train_regression.py"


def test_train_regression_smoke(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("train_regression", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["train_regression"] = module
    spec.loader.exec_module(module)
    out = tmp_path / "regression"
    module.main(
        ["--seeds", "0", "--epochs", "2", "--strategies", "mse", "lds-sampler", "--out", str(out)]
    )
    table = out.with_suffix(".md").read_text(encoding="utf-8")
    assert "| lds-sampler |" in table and "few-shot MAE" in table
    result = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert set(result["runs"]) == {"mse", "lds-sampler"}
    run = result["runs"]["mse"][0]
    assert run["n_samples"] == 442
    assert sum(run["regions"][r]["n"] for r in ("many", "medium", "few")) == 442
    assert np.isfinite(run["mae"]) and run["mae"] > 0
