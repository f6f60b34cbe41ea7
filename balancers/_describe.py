"""Imbalance diagnostics: :func:`describe` and :class:`ImbalanceReport`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._labels import check_labels

__all__ = ["ImbalanceReport", "describe"]


@dataclass(frozen=True)
class ImbalanceReport:
    """Counts per class and imbalance measures of a label set.

    Attributes:
        kind: ``"multiclass"`` or ``"multilabel"``.
        n_samples: number of samples (rows).
        classes: class ids (multiclass) or label columns (multilabel), sorted.
        counts: samples per class, or positives per label.
        imbalance_ratio: largest count / smallest count (over labels with positives).
        measures: further measures (multilabel: IRLbl per label, MeanIR, MaxIR, CVIR, SCUMBLE,
            cardinality, density, distinct labelsets, rows with no label).
    """

    kind: str
    n_samples: int
    classes: list[Any]
    counts: list[int]
    imbalance_ratio: float
    measures: dict[str, Any] = field(default_factory=dict)

    @property
    def shares(self) -> list[float]:
        """Each class's count divided by the number of samples."""
        return [c / self.n_samples for c in self.counts]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of everything in the report."""
        return {
            "kind": self.kind,
            "n_samples": self.n_samples,
            "classes": [c.item() if hasattr(c, "item") else c for c in self.classes],
            "counts": list(self.counts),
            "shares": self.shares,
            "imbalance_ratio": self.imbalance_ratio,
            **self.measures,
        }

    def __str__(self) -> str:
        head = "class" if self.kind == "multiclass" else "label"
        rows = [(str(c), str(n), f"{s:.2%}") for c, n, s in zip(
            self.classes, self.counts, self.shares, strict=True
        )]
        width = [max(len(head), *(len(r[0]) for r in rows)), max(5, *(len(r[1]) for r in rows)),
                 max(5, *(len(r[2]) for r in rows))]
        lines = [
            f"{self.kind} labels: {self.n_samples} samples, {len(self.classes)} "
            f"{head}es" if head == "class" else
            f"{self.kind} labels: {self.n_samples} samples, {len(self.classes)} labels",
            f"{head:<{width[0]}}  {'count':>{width[1]}}  {'share':>{width[2]}}",
        ]
        lines += [f"{a:<{width[0]}}  {b:>{width[1]}}  {c:>{width[2]}}" for a, b, c in rows]
        lines.append(f"imbalance ratio (max/min): {self.imbalance_ratio:.2f}")
        return "\n".join(lines)

    def plot(self) -> Any:
        """A matplotlib Figure: bar chart of the counts on a log scale (extra ``plot``)."""
        from ._optional import import_optional

        plt = import_optional("matplotlib.pyplot", extra="plot")
        fig, ax = plt.subplots(figsize=(max(4.0, 0.35 * len(self.classes) + 2), 3.5))
        ax.bar([str(c) for c in self.classes], self.counts, color="#4477aa")
        ax.set_yscale("log")
        ax.set_xlabel("class" if self.kind == "multiclass" else "label")
        ax.set_ylabel("count (log scale)")
        ax.set_title(f"{self.n_samples} samples, imbalance ratio {self.imbalance_ratio:.1f}")
        fig.tight_layout()
        return fig


def describe(labels: Any) -> ImbalanceReport:
    """Summarise the class balance of ``labels``.

    Args:
        labels: labels in any accepted form, or a Dataset (read with :func:`get_labels`).

    Returns:
        An :class:`ImbalanceReport`; ``str(report)`` is a table, ``report.to_dict()`` a dict.

    Example:
        >>> report = describe([0, 0, 0, 1])
        >>> report.counts, report.imbalance_ratio
        ([3, 1], 3.0)
    """
    info = check_labels(labels)
    counts = info.counts
    positive = counts[counts > 0]
    ratio = float(positive.max() / positive.min()) if positive.size else float("nan")
    return ImbalanceReport(
        kind=info.kind,
        n_samples=info.n_samples,
        classes=info.classes.tolist(),
        counts=[int(c) for c in counts],
        imbalance_ratio=ratio,
    )
