"""The one resolver of imbalanced-learn's polymorphic ``sampling_strategy``.

It returns a ``{class: target count}`` dict sorted by class, so that the random stream is always
consumed class by class in the same order.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from typing import Any, Literal

import numpy as np

from .._labels import Labels
from .._validation import check_real, describe_value

__all__ = ["STRATEGY_NAMES", "resolve_sampling_strategy"]

Kind = Literal["over", "under"]

#: the string forms of ``sampling_strategy``
STRATEGY_NAMES = ("auto", "minority", "majority", "not minority", "not majority", "all")

_FORMS = (
    "one of 'auto', 'minority', 'majority', 'not minority', 'not majority', 'all', a float in "
    "(0, 1] (binary labels only), a dict {class: target count} or a callable(labels) -> dict"
)


def _from_name(labels: Labels, name: str, kind: Kind) -> dict[int, int]:
    counts = labels.counts
    major, minor = int(np.argmax(counts)), int(np.argmin(counts))
    n_max, n_min = int(counts[major]), int(counts[minor])
    positions = range(labels.n_classes)
    if name == "auto":
        name = "not majority" if kind == "over" else "not minority"
    if kind == "over" and name == "majority":
        raise ValueError(
            "`sampling_strategy` should not be 'majority' for over-sampling (the majority class "
            "cannot grow to its own size), but got sampling_strategy='majority'. Use 'auto', "
            "'not majority' or 'all', or random_undersample."
        )
    if kind == "under" and name == "minority":
        raise ValueError(
            "`sampling_strategy` should not be 'minority' for under-sampling (the minority "
            "class cannot shrink to its own size), but got sampling_strategy='minority'. Use "
            "'auto', 'not minority', 'majority' or 'all', or random_oversample."
        )
    chosen = {
        "minority": [minor],
        "majority": [major],
        "not minority": [c for c in positions if c != minor],
        "not majority": [c for c in positions if c != major],
        "all": list(positions),
    }[name]
    target = n_max if kind == "over" else n_min
    return {c: target for c in chosen}


def _from_float(labels: Labels, ratio: Any, kind: Kind) -> dict[int, int]:
    value = check_real(
        ratio,
        "sampling_strategy",
        low=0.0,
        high=1.0,
        low_inclusive=False,
        hint="A float is the desired minority/majority ratio after resampling.",
    )
    if labels.n_classes != 2:
        raise ValueError(
            f"`sampling_strategy` should be a float only for binary labels, but got "
            f"sampling_strategy={ratio!r} with {labels.n_classes} classes. For multiclass "
            "labels pass a dict {class: target count}."
        )
    counts = labels.counts
    major, minor = int(np.argmax(counts)), int(np.argmin(counts))
    if major == minor:  # two classes of equal size
        minor = 1 - major
    n_max, n_min = int(counts[major]), int(counts[minor])
    if kind == "over":
        target = n_min + int(n_max * value - n_min)
        if target <= n_min:
            raise ValueError(
                f"`sampling_strategy` should be above the current minority/majority ratio "
                f"{n_min}/{n_max} = {n_min / n_max:.4g} for over-sampling, but got "
                f"sampling_strategy={ratio!r}, which would remove samples from the minority "
                "class. Increase the ratio."
            )
        return {minor: target}
    target = int(n_min / value)
    if target > n_max:
        raise ValueError(
            f"`sampling_strategy` should be at least the current minority/majority ratio "
            f"{n_min}/{n_max} = {n_min / n_max:.4g} for under-sampling, but got "
            f"sampling_strategy={ratio!r}, which would add samples to the majority class. "
            "Increase the ratio."
        )
    return {major: target}


def _from_dict(labels: Labels, mapping: Mapping[Any, Any], kind: Kind) -> dict[int, int]:
    out: dict[int, int] = {}
    for cls, target in mapping.items():
        try:
            pos = labels.class_index(cls, "sampling_strategy")
        except TypeError:
            shown = labels.classes.tolist()[:20]
            raise ValueError(
                f"`sampling_strategy` names class {cls!r}, which is absent from the labels; "
                f"the classes present are {shown!r}."
            ) from None
        if isinstance(target, bool | np.bool_) or not isinstance(target, numbers.Integral):
            raise TypeError(
                f"`sampling_strategy` should map classes to integer target counts, but got "
                f"sampling_strategy[{cls!r}]={describe_value(target)} of type "
                f"{type(target).__name__}."
            )
        n_target, n_now = int(target), int(labels.counts[pos])
        if n_target < 0:
            raise ValueError(
                f"`sampling_strategy` should map classes to non-negative counts, but got "
                f"sampling_strategy[{cls!r}]={n_target}."
            )
        if kind == "over" and n_target < n_now:
            raise ValueError(
                f"`sampling_strategy` should ask for at least the current count of each class "
                f"when over-sampling, but got sampling_strategy[{cls!r}]={n_target} for a class "
                f"of {n_now} samples. Use random_undersample to remove samples."
            )
        if kind == "under" and n_target > n_now:
            raise ValueError(
                f"`sampling_strategy` should ask for at most the current count of each class "
                f"when under-sampling, but got sampling_strategy[{cls!r}]={n_target} for a "
                f"class of {n_now} samples. Use random_oversample to add samples."
            )
        out[pos] = n_target
    return out


def resolve_sampling_strategy(labels: Labels, sampling_strategy: Any, kind: Kind) -> dict[Any, int]:
    """Resolve ``sampling_strategy`` into ``{class: target count}`` sorted by class.

    The semantics are imbalanced-learn's (``imblearn.utils.check_sampling_strategy``), except
    that the values are the class sizes *after* resampling for both kinds:

    * ``"minority"`` / ``"majority"``: that class only (``"majority"`` is invalid for
      over-sampling, ``"minority"`` for under-sampling); ties go to the smallest class id;
    * ``"not minority"``, ``"not majority"``, ``"all"``: those classes;
      ``"auto"`` is ``"not majority"`` when over-sampling and ``"not minority"`` when
      under-sampling; targets are the majority size (over) or the minority size (under);
    * a float ``r`` in ``(0, 1]``, binary labels only: over-sampling grows the minority class to
      ``int(r * n_majority)`` samples, under-sampling shrinks the majority class to
      ``int(n_minority / r)``;
    * a dict ``{class: target}``: each target at least (over) or at most (under) the class's
      current count;
    * a callable: called with the 1-D array of class ids, it returns such a dict.

    Args:
        labels: validated multiclass labels.
        sampling_strategy: one of the forms above.
        kind: ``"over"`` or ``"under"``.

    Returns:
        ``{class id: target count}`` for the classes to resample, in ascending class order.

    Raises:
        TypeError: an unsupported type, or a non-integer target.
        ValueError: an unknown name, a class absent from the labels, a target on the wrong
            side of a class's count, a float with non-binary labels or out of ``(0, 1]``, or
            fewer than 2 classes.

    Example:
        >>> from balancers._labels import check_labels
        >>> labels = check_labels([0] * 6 + [1] * 3 + [2])
        >>> resolve_sampling_strategy(labels, "auto", "over")
        {1: 6, 2: 6}
        >>> resolve_sampling_strategy(labels, {0: 2}, "under")
        {0: 2}
    """
    if labels.n_classes < 2:
        raise ValueError(
            f"`labels` should hold at least 2 classes to resample, but got 1 class "
            f"({labels.classes[0].item()!r})."
        )
    strategy = sampling_strategy
    if callable(strategy) and not isinstance(strategy, str | Mapping):
        assert labels.codes is not None
        strategy = strategy(labels.classes[labels.codes])
        if not isinstance(strategy, Mapping):
            raise TypeError(
                "`sampling_strategy` should return a dict {class: target count} when it is a "
                f"callable, but it returned {describe_value(strategy)} of type "
                f"{type(strategy).__name__}."
            )
    if isinstance(strategy, str):
        if strategy not in STRATEGY_NAMES:
            raise ValueError(
                f"`sampling_strategy` should be {_FORMS}, but got sampling_strategy={strategy!r}."
            )
        by_position = _from_name(labels, strategy, kind)
    elif isinstance(strategy, Mapping):
        by_position = _from_dict(labels, strategy, kind)
    elif isinstance(strategy, numbers.Real) and not isinstance(strategy, bool | np.bool_):
        by_position = _from_float(labels, strategy, kind)
    else:
        raise TypeError(
            f"`sampling_strategy` should be {_FORMS}, but got "
            f"sampling_strategy={describe_value(strategy)} of type {type(strategy).__name__}."
        )
    return {labels.classes[pos].item(): by_position[pos] for pos in sorted(by_position)}


SamplingStrategy = str | float | Mapping[Any, int] | Callable[[Any], Mapping[Any, int]]
