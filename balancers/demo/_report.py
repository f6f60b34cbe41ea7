"""The demo's results: the table, the per-class recall plot and the JSON export."""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..metrics import ClassificationReport
from ._data import DemoData
from ._strategies import has_extra

__all__ = ["DemoResult", "StrategyResult", "versions"]


def versions() -> dict[str, str]:
    """The versions the numbers depend on: balancers, torch, torchvision, numpy and Python.

    The same seed gives the same numbers on the same versions; another torch release may change
    the last digits (its kernels and initialisers differ), so every table says what made it.
    """
    import torch
    import torchvision

    from .. import __version__

    return {
        "balancers": __version__,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


@dataclass
class StrategyResult:
    """The outcome of training with one strategy."""

    key: str
    title: str
    report: ClassificationReport
    seconds: float
    final_loss: float

    def to_dict(self) -> dict[str, Any]:
        r = self.report
        return {
            "title": self.title,
            "accuracy": r.accuracy,
            "balanced_accuracy": r.balanced_accuracy,
            "few_shot_accuracy": r.few_shot_accuracy,
            "worst_class_recall": r.worst_class_recall,
            "worst_class": r.worst_class,
            "per_class_recall": list(r.recall),
            "final_train_loss": self.final_loss,
            "seconds": self.seconds,
            "report": r.to_dict(),
        }


@dataclass
class DemoResult:
    """Every number of a demo run, with the table, the plot and the JSON export."""

    data: DemoData
    settings: dict[str, Any]
    results: list[StrategyResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def header(self) -> str:
        """Two lines: the data and settings, then the versions the numbers were produced with."""
        d, s = self.data, self.settings
        counts = d.train_counts
        made_with = ", ".join(f"{name} {version}" for name, version in versions().items())
        return (
            f"{d.description}: long-tailed train set of {sum(counts)} images "
            f"({s['profile']} profile, ratio {s['ratio']:g}: {counts[0]} ... {counts[-1]} per "
            f"class), balanced test set of {d.test_labels.shape[0]} ({d.test_per_class} per "
            f"class); {s['epochs']} epochs, batch {s['batch_size']}, seed {s['seed']}, "
            f"device {s['device']}\nversions: {made_with}"
        )

    def table(self) -> str:
        header = [
            "strategy",
            "accuracy",
            "balanced acc",
            "few-shot acc",
            "worst-class recall",
            "time",
        ]
        rows = []
        for res in self.results:
            r = res.report
            few = "-" if r.few_shot_accuracy is None else f"{r.few_shot_accuracy:.3f}"
            rows.append(
                [
                    res.title,
                    f"{r.accuracy:.3f}",
                    f"{r.balanced_accuracy:.3f}",
                    few,
                    f"{r.worst_class_recall:.3f} (class {r.worst_class})",
                    f"{res.seconds:.1f}s",
                ]
            )
        widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
        lines = [
            "  ".join(
                [
                    f"{header[0]:<{widths[0]}}",
                    *(f"{h:>{w}}" for h, w in zip(header[1:], widths[1:], strict=True)),
                ]
            )
        ]
        for row in rows:
            lines.append(
                "  ".join(
                    [
                        f"{row[0]:<{widths[0]}}",
                        *(f"{c:>{w}}" for c, w in zip(row[1:], widths[1:], strict=True)),
                    ]
                )
            )
        return "\n".join(lines)

    def shot_note(self) -> str:
        if not self.results:
            return ""
        groups = self.results[0].report.shot_groups()
        r = self.results[0].report
        return (
            f"few-shot: classes with fewer than {r.few:g} training images {groups['few']}; "
            f"many-shot: more than {r.many:g} {groups['many']}; the test set is balanced, so "
            "accuracy equals balanced accuracy."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.data.name,
            "description": self.data.description,
            "settings": dict(self.settings),
            "classes": list(self.data.classes),
            "train_counts": list(self.data.train_counts),
            "test_per_class": self.data.test_per_class,
            "train_indices": self.data.train_indices.tolist(),
            "test_indices": self.data.test_indices.tolist(),
            "strategies": {res.key: res.to_dict() for res in self.results},
            "versions": versions(),
        }

    def plot(self) -> Any:
        """Per-class recall by strategy (lines) over the training counts (bars, log scale)."""
        from .._optional import import_optional

        figure_mod = import_optional("matplotlib.figure", extra="plot")
        fig = figure_mod.Figure(figsize=(10.0, 5.6), layout="constrained")
        ax = fig.add_subplot()
        x = np.arange(len(self.data.classes))
        counts_ax = ax.twinx()
        counts_ax.bar(x, self.data.train_counts, color="#dddddd", width=0.6, zorder=0)
        counts_ax.set_yscale("log")
        counts_ax.set_ylabel("training images (log scale)", color="#777777")
        ax.set_zorder(counts_ax.get_zorder() + 1)
        ax.patch.set_visible(False)
        markers = "osD^v<>ph*"
        for i, res in enumerate(self.results):
            ax.plot(x, res.report.recall, marker=markers[i % len(markers)], label=res.title)
        ax.set_xticks(
            x,
            [f"{c}\n({n})" for c, n in zip(self.data.classes, self.data.train_counts, strict=True)],
        )
        ax.set_xlabel("class (training images)")
        ax.set_ylabel("recall on the balanced test set")
        ax.set_ylim(0.0, 1.02)
        ax.grid(axis="y", alpha=0.3)
        fig.legend(loc="outside lower center", ncols=4, fontsize="small", frameon=False)
        s = self.settings
        ax.set_title(
            f"Per-class recall by strategy: {self.data.description}, {s['profile']} long tail, "
            f"ratio {s['ratio']:g}"
        )
        return fig

    def save(self, out: Path) -> list[Path]:
        """Write ``results.json`` and (with matplotlib) ``recall_by_class.png``; return paths."""
        out.mkdir(parents=True, exist_ok=True)
        json_path = out / "results.json"
        json_path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        written = [json_path]
        if has_extra("plot"):
            png = out / "recall_by_class.png"
            self.plot().savefig(png, dpi=120)
            written.append(png)
        else:
            self.notes.append('plot skipped: it needs matplotlib (pip install "balancers[plot]")')
        return written
