"""Imbalance diagnostics: :func:`describe` and :class:`ImbalanceReport`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._labels import check_labels
from ._measures import multilabel_measures
from .detection._coco import coco_source

__all__ = ["ImbalanceReport", "describe"]


def _json_number(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _format_ir(value: float) -> str:
    return f"{value:.2f}" if math.isfinite(value) else "inf"


@dataclass(frozen=True)
class ImbalanceReport:
    """Counts per class and imbalance measures of a label set.

    Attributes:
        kind: ``"multiclass"`` or ``"multilabel"``.
        n_samples: number of samples (rows).
        classes: class ids (multiclass) or label columns (multilabel), sorted.
        counts: samples per class, or positives per label.
        imbalance_ratio: largest count / smallest count (over labels with positives; for
            multilabel labels this equals MaxIR).
        names: the class (or label) names, in the order of ``classes``, when the labels come
            from a dataset with a ``classes`` list of names such as ``ImageFolder`` (also through
            ``Subset``), else None.
        measures: multilabel only (empty for multiclass): ``irlbl`` (IRLbl per label, ``inf``
            for a label without positives), ``mean_ir``, ``max_ir``, ``cvir``, ``scumble``,
            ``cardinality``, ``density``, ``n_labelsets`` (distinct labelsets) and
            ``n_empty_rows`` (rows with no label). Each is also an attribute of the report.
            COCO annotations (:class:`~balancers.detection.CocoLabels`) add ``instances``
            (instances per category; ``counts`` are then images per category),
            ``n_instances`` and ``n_crowd``; ``classes`` are the category ids and ``names``
            the category names.
    """

    kind: str
    n_samples: int
    classes: list[Any]
    counts: list[int]
    imbalance_ratio: float
    measures: dict[str, Any] = field(default_factory=dict)
    names: list[str] | None = None

    def _measure(self, name: str) -> Any:
        if name not in self.measures:
            raise AttributeError(f"`{name}` is only defined for multilabel labels.")
        return self.measures[name]

    @property
    def irlbl(self) -> list[float]:
        """IRLbl per label: largest label count / label count (multilabel only)."""
        return list(self._measure("irlbl"))

    @property
    def mean_ir(self) -> float:
        """MeanIR: mean IRLbl over the labels with positives (multilabel only)."""
        return float(self._measure("mean_ir"))

    @property
    def max_ir(self) -> float:
        """MaxIR: largest IRLbl over the labels with positives (multilabel only)."""
        return float(self._measure("max_ir"))

    @property
    def cvir(self) -> float:
        """CVIR: sample standard deviation of IRLbl / MeanIR (multilabel only)."""
        return float(self._measure("cvir"))

    @property
    def scumble(self) -> float:
        """SCUMBLE: mean concurrence of frequent and rare labels per row (multilabel only)."""
        return float(self._measure("scumble"))

    @property
    def cardinality(self) -> float:
        """Mean number of labels per row (multilabel only)."""
        return float(self._measure("cardinality"))

    @property
    def density(self) -> float:
        """Cardinality / number of labels (multilabel only)."""
        return float(self._measure("density"))

    @property
    def n_labelsets(self) -> int:
        """Number of distinct labelsets (multilabel only)."""
        return int(self._measure("n_labelsets"))

    @property
    def n_empty_rows(self) -> int:
        """Rows with no positive label (multilabel only)."""
        return int(self._measure("n_empty_rows"))

    @property
    def instances(self) -> list[int]:
        """Instances per category (COCO annotations only; ``counts`` are images)."""
        if "instances" not in self.measures:
            raise AttributeError("`instances` is only defined for COCO detection annotations.")
        return list(self.measures["instances"])

    @property
    def shares(self) -> list[float]:
        """Each class's count divided by the number of samples."""
        return [c / self.n_samples for c in self.counts]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of everything in the report (``inf`` becomes ``None``).

        Example:
            >>> describe([[1, 0], [1, 1], [1, 0]]).to_dict()["irlbl"]
            [1.0, 3.0]
        """
        out: dict[str, Any] = {
            "kind": self.kind,
            "n_samples": self.n_samples,
            "classes": [c.item() if hasattr(c, "item") else c for c in self.classes],
            "counts": list(self.counts),
            "shares": self.shares,
            "imbalance_ratio": _json_number(self.imbalance_ratio),
        }
        if self.names is not None:
            out["names"] = list(self.names)
        for key, value in self.measures.items():
            if key == "irlbl":
                out[key] = [_json_number(v) for v in value]
            elif isinstance(value, float):
                out[key] = _json_number(value)
            else:
                out[key] = value
        return out

    def __str__(self) -> str:
        multilabel = self.kind == "multilabel"
        head = "label" if multilabel else "class"
        named = self.names is not None
        detection = "instances" in self.measures
        columns = [head, *(["name"] if named else []), "images" if detection else "count"]
        columns += ["share", *(["instances"] if detection else [])]
        columns += ["IRLbl"] if multilabel else []
        rows = [
            [str(c), str(n), f"{s:.2%}"]
            for c, n, s in zip(self.classes, self.counts, self.shares, strict=True)
        ]
        if self.names is not None:
            for row, name in zip(rows, self.names, strict=True):
                row.insert(1, str(name))
        if detection:
            for row, k in zip(rows, self.measures["instances"], strict=True):
                row.append(str(k))
        if multilabel:
            for row, ir in zip(rows, self.measures["irlbl"], strict=True):
                row.append(_format_ir(ir))
        width = [max(len(columns[j]), *(len(r[j]) for r in rows)) for j in range(len(columns))]
        left = 2 if named else 1  # the id and name columns are left-aligned, numbers right

        def line(cells: list[str]) -> str:
            first = [f"{c:<{w}}" for c, w in zip(cells[:left], width[:left], strict=True)]
            rest = [f"{c:>{w}}" for c, w in zip(cells[left:], width[left:], strict=True)]
            return "  ".join([*first, *rest])

        plural = "labels" if multilabel else "classes"
        lines = [f"{self.kind} labels: {self.n_samples} samples, {len(self.classes)} {plural}"]
        lines.append(line(columns))
        lines += [line(r) for r in rows]
        summary: list[tuple[str, str]] = [
            ("imbalance ratio (max/min)", _format_ir(self.imbalance_ratio))
        ]
        if multilabel:
            m = self.measures
            summary += [
                ("MeanIR", f"{m['mean_ir']:.4f}"),
                ("MaxIR", f"{m['max_ir']:.4f}"),
                ("CVIR", f"{m['cvir']:.4f}"),
                ("SCUMBLE", f"{m['scumble']:.4f}"),
                ("cardinality", f"{m['cardinality']:.4f}"),
                ("density", f"{m['density']:.4f}"),
                ("distinct labelsets", str(m["n_labelsets"])),
                ("rows with no label", str(m["n_empty_rows"])),
            ]
        if detection:
            summary += [
                ("instances", str(self.measures["n_instances"])),
                ("crowd annotations left out", str(self.measures["n_crowd"])),
            ]
        key_width = max(len(k) for k, _ in summary)
        lines += [f"{k + ':':<{key_width + 1}} {v}" for k, v in summary]
        return "\n".join(lines)

    def plot(self) -> Any:
        """A matplotlib Figure: bar chart of the counts on a log scale (extra ``plot``).

        For multilabel labels the IRLbl of each label is drawn on a second axis, with MeanIR as a
        dashed line: labels above the line are the minority labels of ML-ROS.
        """
        from ._optional import import_optional

        plt = import_optional("matplotlib.pyplot", extra="plot")
        names = [str(c) for c in (self.classes if self.names is None else self.names)]
        fig, ax = plt.subplots(figsize=(max(4.0, 0.35 * len(self.classes) + 2), 3.5))
        ax.bar(names, [max(c, 0) for c in self.counts], color="#4477aa", label="count")
        ax.set_yscale("log")
        ax.set_xlabel("class" if self.kind == "multiclass" else "label")
        ax.set_ylabel("count (log scale)")
        if len(names) * max(len(n) for n in names) > 40:
            ax.tick_params(axis="x", labelrotation=90)
        if self.kind == "multilabel":
            ir = [v if math.isfinite(v) else float("nan") for v in self.measures["irlbl"]]
            ax2 = ax.twinx()
            ax2.plot(names, ir, "o", color="#cc6677", label="IRLbl")
            ax2.axhline(self.measures["mean_ir"], color="#cc6677", ls="--", lw=1, label="MeanIR")
            ax2.set_yscale("log")
            ax2.set_ylabel("IRLbl (log scale)", color="#cc6677")
            # Head room above the bars and markers for the legend.
            ax.set_ylim(top=max(max(self.counts), 1) * 8)
            ax2.set_ylim(0.8, max(self.measures["max_ir"], 1.0) * 8)
            ax2.legend(loc="upper left", fontsize="small", ncol=2)
            title = (
                f"{self.n_samples} samples, MeanIR {self.measures['mean_ir']:.2f}, "
                f"MaxIR {self.measures['max_ir']:.2f}"
            )
        else:
            title = f"{self.n_samples} samples, imbalance ratio {self.imbalance_ratio:.1f}"
        ax.set_title(title)
        fig.tight_layout()
        return fig


def describe(labels: Any) -> ImbalanceReport:
    """Summarise the class balance of ``labels``.

    For multiclass labels: counts, shares and the imbalance ratio (largest / smallest class).
    For multilabel labels also the measures of Charte et al.: IRLbl per label (largest label
    count / label count), MeanIR and MaxIR (mean and maximum IRLbl), CVIR (coefficient of
    variation of IRLbl) [1], SCUMBLE (concurrence of frequent and rare labels in the same rows,
    the mean over rows of ``1 - geometric mean / arithmetic mean`` of the row's IRLbl) [2], label
    cardinality and density, the number of distinct labelsets and of rows with no label.

    COCO detection annotations (a :class:`~balancers.detection.CocoLabels`, an annotation file
    path or dict, a pycocotools ``COCO`` object or torchvision's ``CocoDetection``) are described
    as multilabel labels (images per category, the measures above over images) with the
    instances per category added; ``classes`` are the category ids, ``names`` their names.

    Guarantees:
        * labels without positives get ``IRLbl = inf`` and are left out of MeanIR, MaxIR, CVIR;
        * rows with fewer than two labels (including rows with none) have SCUMBLE 0;
        * CVIR is 0 when fewer than two labels have positives (never NaN).

    Args:
        labels: labels in any accepted form, or a Dataset (read with :func:`get_labels`). A
            dataset with a ``classes`` list of names (``ImageFolder``, torchvision datasets, also
            inside ``Subset``) gives the report its class names.

    Returns:
        An :class:`ImbalanceReport`; ``str(report)`` is a table, ``report.to_dict()`` a dict,
        ``report.plot()`` a matplotlib Figure.

    References:
        [1] F. Charte, A. J. Rivera, M. J. del Jesus, F. Herrera, "Addressing imbalance in
        multilabel classification: Measures and random resampling algorithms", Neurocomputing
        163, 2015. [2] F. Charte et al., "Concurrence among imbalanced labels and its influence
        on multilabel resampling algorithms", HAIS 2014.

    Example:
        >>> report = describe([0, 0, 0, 1])
        >>> report.counts, report.imbalance_ratio
        ([3, 1], 3.0)
        >>> ml = describe([[1, 1, 0], [1, 0, 0], [1, 0, 1], [0, 0, 0]])
        >>> ml.irlbl, ml.mean_ir, ml.n_empty_rows
        ([1.0, 3.0, 3.0], 2.3333333333333335, 1)
        >>> import torch
        >>> from torch.utils.data import TensorDataset
        >>> pets = TensorDataset(torch.zeros(3, 1), torch.tensor([0, 1, 1]))
        >>> pets.classes = ["cat", "dog"]
        >>> describe(pets).names
        ['cat', 'dog']
    """
    coco = coco_source(labels)
    info = check_labels(labels if coco is None else coco.presence)
    counts = info.counts
    positive = counts[counts > 0]
    ratio = float(positive.max() / positive.min()) if positive.size else float("inf")
    measures: dict[str, Any] = {}
    if info.is_multilabel:
        assert info.matrix is not None
        m = multilabel_measures(info.matrix, counts)
        measures = {
            "irlbl": [float(v) for v in m.irlbl],
            "mean_ir": m.mean_ir,
            "max_ir": m.max_ir,
            "cvir": m.cvir,
            "scumble": m.scumble,
            "cardinality": m.cardinality,
            "density": m.density,
            "n_labelsets": m.n_labelsets,
            "n_empty_rows": m.n_empty_rows,
        }
    classes = info.classes.tolist()
    names = _class_names(labels, classes)
    if coco is not None:
        instances = np.asarray(coco.counts.sum(axis=0)).reshape(-1)
        measures["instances"] = [int(k) for k in instances]
        measures["n_instances"] = int(instances.sum())
        measures["n_crowd"] = coco.n_crowd
        classes, names = coco.category_ids.tolist(), list(coco.category_names)
    return ImbalanceReport(
        kind=info.kind,
        n_samples=info.n_samples,
        classes=classes,
        counts=[int(c) for c in counts],
        imbalance_ratio=ratio,
        measures=measures,
        names=names,
    )


def _class_names(labels: Any, ids: list[Any]) -> list[str] | None:
    """The names of class ids ``0..C-1`` from the ``classes`` list of a dataset (or the dataset
    a ``Subset`` wraps), or None when there is no such list."""
    dataset = labels
    for _ in range(16):  # Subset of Subset of ...: follow `.dataset` a bounded number of times
        classes = getattr(dataset, "classes", None)
        if classes is not None or not hasattr(dataset, "dataset"):
            break
        dataset = dataset.dataset
    if not isinstance(classes, (list, tuple)) or not all(isinstance(c, str) for c in classes):
        return None
    if not all(isinstance(i, int) and 0 <= i < len(classes) for i in ids):
        return None
    return [classes[i] for i in ids]
