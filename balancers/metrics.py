"""Imbalance-aware evaluation: per-class and per-label reports on scikit-learn's metrics.

Plain accuracy hides what imbalance does: a classifier that ignores its rare classes can score well.
:func:`classification_report` puts per-class recall, balanced accuracy, the worst class and the
many/medium/few-shot split of long-tailed recognition (Liu et al. 2019) side by side;
:func:`multilabel_report` does the same per label, with average precision. Reports print as tables,
convert to JSON-ready dicts with ``to_dict()`` and plot with matplotlib (extra ``plot``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    accuracy_score,
    average_precision_score,
    hamming_loss,
    precision_recall_fscore_support,
)

from ._labels import Labels, check_labels
from ._optional import import_optional
from ._regression import (
    REGIONS,
    bin_index,
    check_bins,
    check_targets,
    check_thresholds,
    histogram,
    shot_regions,
)
from ._validation import check_choice, check_real, describe_value

__all__ = [
    "ClassificationReport",
    "MultilabelReport",
    "RegressionReport",
    "classification_report",
    "multilabel_report",
    "plot_confusion_matrix",
    "regression_report",
]


def _py(value: Any) -> Any:
    """numpy scalars to Python scalars, NaN to None (for JSON)."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-align the first column, right-align the rest."""
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first = f"{cells[0]:<{widths[0]}}"
        rest = [f"{c:>{w}}" for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest])

    return [line(header), *(line(r) for r in rows)]


@dataclass(frozen=True)
class ClassificationReport:
    """Per-class and summary metrics of a multiclass classifier.

    Attributes:
        classes: the class ids, sorted.
        precision: per-class precision (0 for a class that is never predicted).
        recall: per-class recall (0 for a class absent from ``y_true``; such classes are left out
            of ``balanced_accuracy``, ``worst_class_recall`` and the shot accuracies).
        f1: per-class F1 score.
        support: test samples per class.
        confusion: confusion matrix of counts, rows = true class, columns = predicted class.
        accuracy: fraction of correct predictions.
        balanced_accuracy: mean recall over the classes present in ``y_true`` (equal to
            ``sklearn.metrics.balanced_accuracy_score``).
        macro_f1: unweighted mean F1 over ``classes``.
        worst_class_recall: the smallest recall of a class present in ``y_true``.
        worst_class: the class with that recall (the first one on a tie).
        train_counts: training samples per class, when given.
        many: classes with more than ``many`` training samples are many-shot.
        few: classes with fewer than ``few`` training samples are few-shot; the rest are
            medium-shot.
        many_shot_accuracy: mean recall of the many-shot classes (None without ``train_counts`` or
            when the group is empty); likewise ``medium_shot_accuracy`` and ``few_shot_accuracy``.
    """

    classes: list[Any]
    precision: list[float]
    recall: list[float]
    f1: list[float]
    support: list[int]
    confusion: npt.NDArray[np.int64]
    accuracy: float
    balanced_accuracy: float
    macro_f1: float
    worst_class_recall: float
    worst_class: Any
    train_counts: list[int] | None = None
    many: float = 100
    few: float = 20
    many_shot_accuracy: float | None = None
    medium_shot_accuracy: float | None = None
    few_shot_accuracy: float | None = None

    @property
    def n_samples(self) -> int:
        """Number of evaluated samples."""
        return int(sum(self.support))

    def shot_groups(self) -> dict[str, list[Any]]:
        """The classes of each shot group ``"many"``, ``"medium"``, ``"few"`` (by train count)."""
        if self.train_counts is None:
            return {"many": [], "medium": [], "few": []}
        groups: dict[str, list[Any]] = {"many": [], "medium": [], "few": []}
        for cls, n in zip(self.classes, self.train_counts, strict=True):
            key = "many" if n > self.many else "few" if n < self.few else "medium"
            groups[key].append(cls)
        return groups

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of every number in the report."""
        out: dict[str, Any] = {
            "n_samples": self.n_samples,
            "accuracy": self.accuracy,
            "balanced_accuracy": self.balanced_accuracy,
            "macro_f1": self.macro_f1,
            "worst_class_recall": self.worst_class_recall,
            "worst_class": _py(self.worst_class),
            "per_class": {
                "class": [_py(c) for c in self.classes],
                "precision": list(self.precision),
                "recall": list(self.recall),
                "f1": list(self.f1),
                "support": list(self.support),
            },
            "confusion_matrix": self.confusion.tolist(),
        }
        if self.train_counts is not None:
            out["per_class"]["train_count"] = list(self.train_counts)
            out.update(
                many=self.many,
                few=self.few,
                many_shot_accuracy=self.many_shot_accuracy,
                medium_shot_accuracy=self.medium_shot_accuracy,
                few_shot_accuracy=self.few_shot_accuracy,
                shot_groups={k: [_py(c) for c in v] for k, v in self.shot_groups().items()},
            )
        return out

    def __str__(self) -> str:
        header = ["class", "precision", "recall", "f1-score", "support"]
        if self.train_counts is not None:
            header.append("train")
        rows = []
        for i, cls in enumerate(self.classes):
            row = [
                str(cls),
                _fmt(self.precision[i]),
                _fmt(self.recall[i]),
                _fmt(self.f1[i]),
                str(self.support[i]),
            ]
            if self.train_counts is not None:
                row.append(str(self.train_counts[i]))
            rows.append(row)
        lines = _table(header, rows)
        lines.append("")
        summary = [
            ("accuracy", f"{_fmt(self.accuracy)} ({self.n_samples} samples)"),
            ("balanced accuracy", _fmt(self.balanced_accuracy)),
            ("macro F1", _fmt(self.macro_f1)),
            ("worst-class recall", f"{_fmt(self.worst_class_recall)} (class {self.worst_class})"),
        ]
        if self.train_counts is not None:
            groups = self.shot_groups()
            rules = {
                "many": f"> {self.many:g}",
                "medium": f"{self.few:g}-{self.many:g}",
                "few": f"< {self.few:g}",
            }
            values = {
                "many": self.many_shot_accuracy,
                "medium": self.medium_shot_accuracy,
                "few": self.few_shot_accuracy,
            }
            for key in ("many", "medium", "few"):
                n = len(groups[key])
                summary.append(
                    (
                        f"{key}-shot accuracy",
                        f"{_fmt(values[key])} ({n} class{'es' if n != 1 else ''} with "
                        f"{rules[key]} train samples)",
                    )
                )
        width = max(len(name) for name, _ in summary)
        lines += [f"{name:<{width}}  {value}" for name, value in summary]
        return "\n".join(lines)

    def plot_confusion_matrix(
        self, *, normalize: str | None = "true", ax: Any = None, cmap: str = "Blues"
    ) -> Any:
        """Plot the confusion matrix with scikit-learn's ``ConfusionMatrixDisplay``.

        Args:
            normalize: ``"true"`` (rows sum to 1: the diagonal is the per-class recall),
                ``"pred"`` (columns sum to 1), ``"all"`` or None (counts).
            ax: a matplotlib Axes to draw on; by default a new Figure is made (not registered with
                pyplot, so nothing needs closing).
            cmap: a matplotlib colormap name.

        Returns:
            The matplotlib ``Figure``.

        Raises:
            ImportError: matplotlib is not installed (``pip install "balancers[plot]"``).
            ValueError: unknown ``normalize``.
        """
        if normalize is not None:
            check_choice(normalize, "normalize", ("true", "pred", "all"))
        figure_mod = import_optional("matplotlib.figure", extra="plot")
        cm: npt.NDArray[Any] = self.confusion
        if normalize is not None:
            cm = cm.astype(np.float64)
            axis = {"true": 1, "pred": 0, "all": None}[normalize]
            total = cm.sum(axis=axis, keepdims=axis is not None)
            cm = np.divide(cm, total, out=np.zeros_like(cm), where=np.asarray(total) > 0)
        n = len(self.classes)
        if ax is None:
            size = min(12.0, max(4.0, 0.45 * n + 2.0))
            fig = figure_mod.Figure(figsize=(size + 1.0, size), layout="constrained")
            ax = fig.add_subplot()
        display = ConfusionMatrixDisplay(cm, display_labels=[str(c) for c in self.classes])
        display.plot(
            ax=ax,
            cmap=cmap,
            include_values=n <= 20,
            values_format=".2f" if normalize is not None else "d",
            xticks_rotation="vertical" if n > 10 else "horizontal",
            colorbar=True,
        )
        ax.set_title(
            "Confusion matrix"
            + ("" if normalize is None else f" (normalized over {normalize} labels)").replace(
                "over all labels", "over all samples"
            )
        )
        return ax.figure


def _as_1d(values: Any, name: str) -> tuple[npt.NDArray[Any], Labels]:
    info = check_labels(values, name)
    if info.is_multilabel:
        raise ValueError(
            f"`{name}` should be 1-D class ids for classification_report, but got a 2-D "
            "multilabel indicator matrix. Use balancers.metrics.multilabel_report for multilabel "
            "predictions."
        )
    assert info.codes is not None
    return info.classes[info.codes], info


def _resolve_train_counts(train_counts: Any, classes: list[Any]) -> list[int]:
    if isinstance(train_counts, Mapping):
        missing = [c for c in classes if c not in train_counts]
        if missing:
            raise ValueError(
                f"`train_counts` should have a count for every class, but classes {missing[:10]} "
                "are missing from it."
            )
        values = [train_counts[c] for c in classes]
    else:
        if isinstance(train_counts, (str, bytes)):
            raise TypeError(
                "`train_counts` should be a sequence of counts or a {class: count} dict, but got "
                f"{describe_value(train_counts)}."
            )
        if hasattr(train_counts, "detach"):
            train_counts = train_counts.detach().cpu().numpy()
        arr = np.asarray(train_counts)
        if arr.ndim != 1 or arr.shape[0] != len(classes):
            raise ValueError(
                f"`train_counts` should have one count per class ({len(classes)}, ordered like "
                f"the sorted classes {classes[:10]}), but got shape {arr.shape}. Pass a "
                "{class: count} dict to name the classes."
            )
        values = arr.tolist()
    out = []
    for cls, v in zip(classes, values, strict=True):
        message = (
            f"`train_counts` should hold non-negative integers, but got {v!r} for class {cls!r}."
        )
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer, float)):
            raise TypeError(message)
        if not math.isfinite(v) or v < 0 or v != int(v):
            raise ValueError(message)
        out.append(int(v))
    return out


def _confusion(
    true: npt.NDArray[Any], pred: npt.NDArray[Any], classes: npt.NDArray[Any]
) -> npt.NDArray[np.int64]:
    """``sklearn.metrics.confusion_matrix(true, pred, labels=classes)``, without its warning for
    a single class."""
    n = classes.shape[0]
    t, p = np.searchsorted(classes, true), np.searchsorted(classes, pred)
    return np.bincount(t * n + p, minlength=n * n).reshape(n, n).astype(np.int64)


def _group_mean(values: npt.NDArray[np.float64], mask: npt.NDArray[np.bool_]) -> float | None:
    return float(values[mask].mean()) if mask.any() else None


def classification_report(
    y_true: Any,
    y_pred: Any,
    *,
    train_counts: Any = None,
    many: float = 100,
    few: float = 20,
    labels: Any = None,
) -> ClassificationReport:
    """Per-class precision/recall/F1 and imbalance-aware summaries of multiclass predictions.

    The numbers come from scikit-learn (``precision_recall_fscore_support`` with
    ``zero_division=0``, ``accuracy_score``). The shot split follows Liu et al. (2019): classes
    with more than ``many`` training samples are many-shot, fewer than ``few`` few-shot, the rest
    medium-shot; a group's accuracy is the mean recall of its classes.

    Guarantees:

    * ``balanced_accuracy`` equals ``sklearn.metrics.balanced_accuracy_score`` and ``macro_f1``
      equals ``f1_score(average="macro", zero_division=0)``.
    * A class that is never predicted has precision 0 (no warning); a class that is predicted but
      absent from ``y_true`` is listed with recall 0 and left out of the recall summaries.
    * Results are ordered by sorted class id.

    Args:
        y_true: true class ids (1-D list, numpy or tensor; integers or strings).
        y_pred: predicted class ids, same length.
        train_counts: training samples per class: a ``{class: count}`` dict, or a sequence aligned
            with the sorted classes of the report. Enables the many/medium/few-shot accuracies.
        many: many-shot threshold (strictly more training samples than this).
        few: few-shot threshold (strictly fewer training samples than this).
        labels: the classes to report, in any order (sorted in the report); default the sorted
            union of ``y_true`` and ``y_pred``. Useful to include classes absent from both.

    Returns:
        A :class:`ClassificationReport`; ``str(report)`` is a table, ``report.to_dict()`` a dict,
        ``report.plot_confusion_matrix()`` a Figure.

    Raises:
        TypeError: labels of the wrong type; non-numeric ``many``/``few``/``train_counts``.
        ValueError: empty, 2-D or different-length inputs; predictions or true labels outside
            ``labels``; ``few > many``; ``train_counts`` that do not cover every class.

    Example:
        >>> report = classification_report([0, 0, 0, 0, 1, 1, 2, 2], [0, 0, 0, 0, 1, 0, 0, 0],
        ...                                train_counts={0: 500, 1: 50, 2: 5})
        >>> report.accuracy, report.balanced_accuracy, report.worst_class
        (0.625, 0.5, 2)
        >>> report.many_shot_accuracy, report.medium_shot_accuracy, report.few_shot_accuracy
        (1.0, 0.5, 0.0)

    References:
        Z. Liu, Z. Miao, X. Zhan, J. Wang, B. Gong, S. X. Yu. "Large-Scale Long-Tailed Recognition
        in an Open World." CVPR 2019 (many/medium/few-shot accuracy).
    """
    true, _ = _as_1d(y_true, "y_true")
    pred, _ = _as_1d(y_pred, "y_pred")
    if true.shape[0] != pred.shape[0]:
        raise ValueError(
            f"`y_pred` should have one prediction per sample of y_true ({true.shape[0]}), but got "
            f"{pred.shape[0]}."
        )
    if (true.dtype.kind in "US") != (pred.dtype.kind in "US"):
        raise TypeError(
            "`y_true` and `y_pred` should hold class ids of the same type, but got "
            f"{true.dtype} and {pred.dtype}."
        )
    many_v = check_real(many, "many", low=0.0)
    few_v = check_real(few, "few", low=0.0)
    assert many_v is not None and few_v is not None
    if few_v > many_v:
        raise ValueError(f"`few` should be at most `many`, but got few={few!r} and many={many!r}.")
    if labels is None:
        classes_arr = np.union1d(true, pred)
    else:
        classes_arr = np.unique(_as_1d(labels, "labels")[0])
        for name, values in (("y_true", true), ("y_pred", pred)):
            outside = np.setdiff1d(values, classes_arr)
            if outside.size:
                raise ValueError(
                    f"`{name}` holds classes {outside[:10].tolist()} that are not in `labels`; "
                    "add them to labels or leave labels=None."
                )
    classes = classes_arr.tolist()
    precision, recall, f1, support = precision_recall_fscore_support(
        true, pred, labels=classes_arr, average=None, zero_division=0
    )
    recall = np.asarray(recall, dtype=np.float64)
    support = np.asarray(support, dtype=np.int64)
    present = support > 0
    present_recall = recall[present]
    worst = int(np.flatnonzero(present)[np.argmin(present_recall)])
    counts = None if train_counts is None else _resolve_train_counts(train_counts, classes)
    shots: dict[str, float | None] = {"many": None, "medium": None, "few": None}
    if counts is not None:
        c = np.asarray(counts)
        shots["many"] = _group_mean(recall, present & (c > many_v))
        shots["few"] = _group_mean(recall, present & (c < few_v))
        shots["medium"] = _group_mean(recall, present & (c >= few_v) & (c <= many_v))
    return ClassificationReport(
        classes=classes,
        precision=[float(v) for v in precision],
        recall=[float(v) for v in recall],
        f1=[float(v) for v in f1],
        support=[int(v) for v in support],
        confusion=_confusion(true, pred, classes_arr),
        accuracy=float(accuracy_score(true, pred)),
        balanced_accuracy=float(present_recall.mean()),
        macro_f1=float(np.mean(f1)),
        worst_class_recall=float(recall[worst]),
        worst_class=classes[worst],
        train_counts=counts,
        many=many_v,
        few=few_v,
        many_shot_accuracy=shots["many"],
        medium_shot_accuracy=shots["medium"],
        few_shot_accuracy=shots["few"],
    )


def plot_confusion_matrix(
    y_true: Any,
    y_pred: Any,
    *,
    labels: Any = None,
    normalize: str | None = "true",
    ax: Any = None,
) -> Any:
    """Plot the (by default row-normalized) confusion matrix of multiclass predictions.

    Shorthand for ``classification_report(y_true, y_pred, labels=labels).plot_confusion_matrix(
    normalize=normalize, ax=ax)``; returns the matplotlib Figure (extra ``plot``).

    Example:
        >>> fig = plot_confusion_matrix([0, 1, 1, 2], [0, 1, 0, 2])
        >>> fig.axes[0].get_xlabel()
        'Predicted label'
    """
    report = classification_report(y_true, y_pred, labels=labels)
    return report.plot_confusion_matrix(normalize=normalize, ax=ax)


@dataclass(frozen=True)
class MultilabelReport:
    """Per-label and averaged metrics of multilabel predictions.

    Attributes:
        labels: label names (column numbers unless ``label_names`` was given).
        threshold: the score threshold that turned scores into predictions.
        precision, recall, f1: per-label values at ``threshold`` (0 where undefined).
        average_precision: per-label AP from the scores (None for a label with no positives).
        support: positives per label.
        micro: ``{"precision", "recall", "f1", "average_precision"}`` pooled over all labels.
        macro: the same, averaged over labels (AP over the labels that have positives).
        subset_accuracy: fraction of rows whose whole predicted label set is exact.
        hamming_loss: fraction of wrong label decisions.
        n_samples: number of rows.
    """

    labels: list[Any]
    threshold: float
    precision: list[float]
    recall: list[float]
    f1: list[float]
    average_precision: list[float | None]
    support: list[int]
    micro: dict[str, float | None]
    macro: dict[str, float | None]
    subset_accuracy: float
    hamming_loss: float
    n_samples: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of every number in the report."""
        return {
            "n_samples": self.n_samples,
            "threshold": self.threshold,
            "per_label": {
                "label": [_py(v) for v in self.labels],
                "precision": list(self.precision),
                "recall": list(self.recall),
                "f1": list(self.f1),
                "average_precision": list(self.average_precision),
                "support": list(self.support),
            },
            "micro": dict(self.micro),
            "macro": dict(self.macro),
            "subset_accuracy": self.subset_accuracy,
            "hamming_loss": self.hamming_loss,
        }

    def __str__(self) -> str:
        header = ["label", "precision", "recall", "f1-score", "AP", "support"]
        rows = [
            [str(lab), _fmt(p), _fmt(r), _fmt(f), _fmt(ap), str(s)]
            for lab, p, r, f, ap, s in zip(
                self.labels,
                self.precision,
                self.recall,
                self.f1,
                self.average_precision,
                self.support,
                strict=True,
            )
        ]
        for name, avg in (("micro avg", self.micro), ("macro avg", self.macro)):
            rows.append(
                [
                    name,
                    _fmt(avg["precision"]),
                    _fmt(avg["recall"]),
                    _fmt(avg["f1"]),
                    _fmt(avg["average_precision"]),
                    str(sum(self.support)),
                ]
            )
        lines = _table(header, rows)
        lines.insert(len(lines) - 2, "")
        lines += [
            "",
            f"subset accuracy  {_fmt(self.subset_accuracy)} ({self.n_samples} samples, "
            f"threshold {self.threshold:g})",
            f"hamming loss     {_fmt(self.hamming_loss)}",
        ]
        return "\n".join(lines)


def _as_score_matrix(y_score: Any, shape: tuple[int, int]) -> npt.NDArray[np.float64]:
    if isinstance(y_score, (str, bytes)) or y_score is None:
        raise TypeError(
            f"`y_score` should be a 2-D array of scores, but got {describe_value(y_score)}."
        )
    if hasattr(y_score, "detach"):
        y_score = y_score.detach().cpu().numpy()
    arr = np.asarray(y_score)
    if arr.dtype == np.bool_ or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise TypeError(f"`y_score` should hold numbers, but got dtype {arr.dtype}.")
    if arr.ndim == 1 and shape[1] == 1:
        arr = arr.reshape(-1, 1)
    if arr.shape != shape:
        raise ValueError(
            f"`y_score` should have the shape of y_true {shape}, but got shape {arr.shape}."
        )
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError("`y_score` should be finite, but it contains NaN or inf.")
    return arr


def multilabel_report(
    y_true: Any,
    y_score: Any,
    *,
    threshold: float = 0.5,
    label_names: Sequence[Any] | None = None,
) -> MultilabelReport:
    """Per-label precision/recall/F1/AP with micro and macro averages.

    Predictions are ``y_score >= threshold``. P/R/F1 come from scikit-learn's
    ``precision_recall_fscore_support`` (``zero_division=0``), AP from
    ``average_precision_score`` on the raw scores, plus ``accuracy_score`` (subset accuracy) and
    ``hamming_loss``.

    Guarantees:

    * Per-label and averaged P/R/F1 equal scikit-learn's ``average=None``/``"micro"``/``"macro"``.
    * A label with no positives gets AP None (not a warning or NaN) and is left out of the macro
      AP; a label never predicted gets precision 0.

    Args:
        y_true: 0/1 indicator matrix ``(n_samples, n_labels)`` (dense, sparse or tensor); a 1-D
            0/1 vector is one binary label.
        y_score: scores of the same shape: probabilities (``torch.sigmoid(logits)``) for the
            default threshold, or logits with ``threshold=0.0``.
        threshold: decision threshold on ``y_score``.
        label_names: names of the label columns (default ``0..n_labels-1``).

    Returns:
        A :class:`MultilabelReport`.

    Raises:
        TypeError: non-numeric scores or threshold.
        ValueError: ``y_true`` not 0/1, shapes that differ, non-finite scores, ``label_names`` of
            the wrong length.

    Example:
        >>> y_true = [[1, 0], [1, 1], [0, 1], [0, 0]]
        >>> y_score = [[0.9, 0.2], [0.6, 0.4], [0.3, 0.8], [0.1, 0.1]]
        >>> report = multilabel_report(y_true, y_score)
        >>> report.recall, report.average_precision
        ([1.0, 0.5], [1.0, 1.0])
    """
    arr_true = y_true
    if hasattr(arr_true, "detach"):
        arr_true = arr_true.detach().cpu().numpy()
    if not hasattr(arr_true, "toarray") and np.ndim(arr_true) == 1:
        arr_true = np.asarray(arr_true).reshape(-1, 1)
    info = check_labels(arr_true, "y_true")
    if not info.is_multilabel:  # pragma: no cover - 2-D input is always multilabel
        raise ValueError("`y_true` should be a 0/1 indicator matrix.")
    truth = info.dense()
    score = _as_score_matrix(y_score, (int(truth.shape[0]), int(truth.shape[1])))
    thr = check_real(threshold, "threshold")
    assert thr is not None
    n_labels = truth.shape[1]
    if label_names is None:
        names: list[Any] = list(range(n_labels))
    else:
        names = list(label_names)
        if len(names) != n_labels:
            raise ValueError(
                f"`label_names` should have one name per label column ({n_labels}), but got "
                f"{len(names)}."
            )
    pred = (score >= thr).astype(np.int8)
    # scikit-learn reads a single indicator column as binary (two classes): score class 1 only
    if n_labels == 1:
        t_in, p_in, s_in = truth[:, 0], pred[:, 0], score[:, 0]
        one: dict[str, Any] = {"labels": [1]}
    else:
        t_in, p_in, s_in, one = truth, pred, score, {}
    precision, recall, f1, support = precision_recall_fscore_support(
        t_in, p_in, average=None, zero_division=0, **one
    )
    has_pos = truth.sum(axis=0) > 0
    ap: list[float | None] = [
        float(average_precision_score(truth[:, j], score[:, j])) if has_pos[j] else None
        for j in range(n_labels)
    ]
    averages: dict[str, dict[str, float | None]] = {}
    for avg in ("micro", "macro"):
        p, r, f, _ = precision_recall_fscore_support(
            t_in, p_in, average=avg, zero_division=0, **one
        )
        averages[avg] = {"precision": float(p), "recall": float(r), "f1": float(f)}
    averages["micro"]["average_precision"] = (
        float(average_precision_score(t_in, s_in, average="micro")) if has_pos.any() else None
    )
    present_ap = [v for v in ap if v is not None]
    averages["macro"]["average_precision"] = float(np.mean(present_ap)) if present_ap else None
    return MultilabelReport(
        labels=names,
        threshold=thr,
        precision=[float(v) for v in precision],
        recall=[float(v) for v in recall],
        f1=[float(v) for v in f1],
        average_precision=ap,
        support=[int(v) for v in support],
        micro=averages["micro"],
        macro=averages["macro"],
        subset_accuracy=float(accuracy_score(truth, pred)),
        hamming_loss=float(hamming_loss(truth, pred)),
        n_samples=int(truth.shape[0]),
    )


def _errors(abs_err: npt.NDArray[np.float64]) -> dict[str, float | int | None]:
    """MAE, MSE and geometric-mean absolute error (0 when any error is exactly 0)."""
    if abs_err.shape[0] == 0:
        return {"n": 0, "mae": None, "mse": None, "gmean": None}
    with np.errstate(divide="ignore"):
        gmean = float(np.exp(np.log(abs_err).mean()))
    return {
        "n": int(abs_err.shape[0]),
        "mae": float(abs_err.mean()),
        "mse": float((abs_err**2).mean()),
        "gmean": gmean,
    }


@dataclass(frozen=True)
class RegressionReport:
    """Errors of a regressor, overall and per many/medium/few-shot region (Yang et al. 2021).

    Attributes:
        n_samples: evaluated samples.
        mae: mean absolute error; ``mse``: mean squared error; ``gmean``: geometric mean of the
            absolute errors (0 when one error is exactly 0).
        regions: with ``train_targets``: ``{"many"|"medium"|"few": {"n", "mae", "mse",
            "gmean"}}``, the test samples whose target falls in a training bin with more than
            ``many``, between ``few`` and ``many``, or fewer than ``few`` training targets
            (None values for an empty region); empty without ``train_targets``.
        bins, many, few: the number of bins of the training targets and the region
            thresholds.
    """

    n_samples: int
    mae: float
    mse: float
    gmean: float
    regions: dict[str, dict[str, float | int | None]]
    bins: int = 100
    many: int = 100
    few: int = 20

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of every number in the report."""
        return {
            "n_samples": self.n_samples,
            "mae": self.mae,
            "mse": self.mse,
            "gmean": self.gmean,
            "regions": {name: dict(values) for name, values in self.regions.items()},
            "bins": self.bins,
            "many": self.many,
            "few": self.few,
        }

    def __str__(self) -> str:
        rows = [["all", str(self.n_samples), _fmt(self.mae), _fmt(self.mse), _fmt(self.gmean)]]
        for name, v in self.regions.items():
            rows.append(
                [
                    f"{name}-shot",
                    str(v["n"]),
                    *(_fmt(v[m]) for m in ("mae", "mse", "gmean")),
                ]
            )
        return "\n".join(_table(["region", "n", "MAE", "MSE", "GM"], rows))


def regression_report(
    y_true: Any,
    y_pred: Any,
    *,
    train_targets: Any = None,
    bins: int | npt.ArrayLike = 100,
    many: int = 100,
    few: int = 20,
) -> RegressionReport:
    """MAE, MSE and geometric-mean error, overall and per shot region of the training targets.

    The regions follow Yang et al. (2021): the training targets are cut into ``bins``
    equal-width bins over their range; a test sample is many-shot when its target's bin holds
    more than ``many`` training targets, few-shot when it holds fewer than ``few`` (empty bins
    included), medium-shot otherwise. Test targets outside the training range count in the
    nearest end bin.

    Args:
        y_true: true targets (1-D, finite).
        y_pred: predictions, one per target (1-D, finite).
        train_targets: the training targets that define the regions, or None for the overall
            figures only.
        bins: number of equal-width bins over the training targets' range, or increasing bin
            edges.
        many: a bin with more training targets than this is many-shot.
        few: a bin with fewer training targets than this is few-shot.

    Returns:
        A :class:`RegressionReport`; ``str(report)`` is a table.

    Raises:
        TypeError: non-numeric targets or arguments of the wrong type.
        ValueError: empty, non-1-D or non-finite targets, ``y_true`` and ``y_pred`` of different
            lengths, ``bins < 1`` or ``few > many``.

    Example:
        >>> train = [1.0] * 150 + [2.0] * 50 + [3.0] * 5
        >>> report = regression_report([1, 2, 3], [1.5, 2, 1], train_targets=train, bins=3)
        >>> report.mae, report.regions["few"]["mae"]
        (0.8333333333333334, 2.0)

    References:
        Yang, Zha, Chen, Wang & Katabi, "Delving into Deep Imbalanced Regression", ICML 2021.
    """
    true = check_targets(y_true, "y_true")
    pred = check_targets(y_pred, "y_pred")
    if true.shape != pred.shape:
        raise ValueError(
            f"`y_pred` should have one prediction per target ({true.shape[0]}), but got "
            f"{pred.shape[0]}."
        )
    bins = check_bins(bins)
    many, few = check_thresholds(many, few)
    abs_err = np.abs(pred - true)
    overall = _errors(abs_err)
    regions: dict[str, dict[str, float | int | None]] = {}
    if train_targets is not None:
        train = check_targets(train_targets, "train_targets")
        counts, edges, _ = histogram(train, bins)
        region = shot_regions(counts, many, few)[bin_index(true, edges)]
        regions = {name: _errors(abs_err[region == name]) for name in REGIONS}
    return RegressionReport(
        n_samples=int(true.shape[0]),
        mae=float(overall["mae"]),  # type: ignore[arg-type]
        mse=float(overall["mse"]),  # type: ignore[arg-type]
        gmean=float(overall["gmean"]),  # type: ignore[arg-type]
        regions=regions,
        bins=bins if isinstance(bins, int) else bins.shape[0] - 1,
        many=many,
        few=few,
    )
