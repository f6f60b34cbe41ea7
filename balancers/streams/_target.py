"""Targets of a balanced stream and the per-class rates that reach them.

A target is resolved to shares ``t_c`` over the classes of the source (summing to 1). With source
shares ``s_c``:

* rejection keeps an item of class ``c`` with probability ``a_c = (t_c / s_c) / max_k (t_k / s_k)``,
  so the kept classes follow ``s_c a_c``, proportional to ``t_c``; the acceptance rate is
  ``1 / max_k (t_k / s_k)``;
* oversampling yields every item and, per source item, ``lambda_c = R t_c - s_c`` repeats of class
  ``c`` on average, with ``R = max_k (s_k / t_k)``: class ``c`` is then yielded ``R t_c`` times per
  source item, proportional to ``t_c``; the output is ``R`` times as long as the input.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import check_real, describe_value

__all__ = ["Plan", "Target", "check_class_counts", "check_target", "make_plan"]


@dataclass(frozen=True)
class Target:
    """A resolved ``target`` argument: ``kind`` is "balanced", "power" or "shares"."""

    kind: str
    q: float = 0.0
    shares: Mapping[Any, float] | None = None

    def shares_for(self, counts: Mapping[Any, float]) -> dict[Any, float]:
        """Target shares of the classes with a positive count in ``counts``, summing to 1 (all
        zero when the target gives none of them a share)."""
        present = [c for c, n in counts.items() if n > 0]
        if self.kind == "shares":
            assert self.shares is not None
            raw = {c: self.shares.get(c, 0.0) for c in present}
        elif self.kind == "power":
            raw = {c: float(counts[c]) ** self.q for c in present}
        else:
            raw = dict.fromkeys(present, 1.0)
        total = sum(raw.values())
        return {c: v / total for c, v in raw.items()} if total > 0 else raw

    def describe(self) -> str:
        if self.kind == "power":
            return f"q={self.q:g}"
        if self.kind == "shares":
            return "shares"
        return "'balanced'"


def check_target(target: Any) -> Target:
    """Resolve ``target``: "balanced", a power ``q >= 0``, or a ``{class: share}`` dict."""
    if isinstance(target, str):
        if target != "balanced":
            raise ValueError(
                "`target` should be 'balanced', a number q >= 0 (shares proportional to n_c^q) "
                f"or a {{class: share}} dict, but got target={target!r}."
            )
        return Target("balanced")
    if isinstance(target, Mapping):
        if not target:
            raise ValueError(
                "`target` should name at least one class with a positive share, but got an "
                "empty dict."
            )
        shares: dict[Any, float] = {}
        for cls, share in target.items():
            if not isinstance(cls, Hashable):
                raise TypeError(f"`target` keys should be class ids, but got {cls!r}.")
            if isinstance(share, bool) or not isinstance(share, numbers.Real):
                raise TypeError(
                    f"`target` shares should be non-negative numbers, but got "
                    f"target[{cls!r}]={describe_value(share)}."
                )
            value = float(share)
            if not math.isfinite(value) or value < 0:
                raise ValueError(
                    f"`target` shares should be finite and non-negative, but got "
                    f"target[{cls!r}]={share!r}."
                )
            shares[cls] = value
        if not any(v > 0 for v in shares.values()):
            raise ValueError(
                f"`target` should give at least one class a positive share, but all "
                f"{len(shares)} shares are zero."
            )
        return Target("shares", shares=shares)
    if isinstance(target, numbers.Real) and not isinstance(target, bool):
        q = check_real(target, "target", low=0.0)
        assert q is not None
        return Target("power", q=q)
    raise TypeError(
        "`target` should be 'balanced', a number q >= 0 or a {class: share} dict, but got "
        f"target={describe_value(target)} of type {type(target).__name__}."
    )


def check_class_counts(class_counts: Any) -> dict[Any, float] | None:
    """``class_counts`` as ``{class: count}``: a mapping, an ``ImbalanceReport`` (from
    ``describe``) or a sequence of counts of the classes ``0..C-1``; None stays None."""
    if class_counts is None:
        return None
    if hasattr(class_counts, "classes") and hasattr(class_counts, "counts"):
        pairs = list(zip(class_counts.classes, class_counts.counts, strict=True))
    elif isinstance(class_counts, Mapping):
        pairs = list(class_counts.items())
    elif isinstance(class_counts, (str, bytes)) or not hasattr(class_counts, "__len__"):
        raise TypeError(
            "`class_counts` should be a {class: count} dict, a describe() report or a sequence "
            f"of counts of the classes 0..C-1, but got class_counts={describe_value(class_counts)}"
            f" of type {type(class_counts).__name__}."
        )
    else:
        pairs = list(enumerate(np.asarray(class_counts).tolist()))
    if not pairs:
        raise ValueError("`class_counts` should list at least one class, but it is empty.")
    counts: dict[Any, float] = {}
    for cls, count in pairs:
        if isinstance(cls, np.generic):
            cls = cls.item()
        if isinstance(count, bool) or not isinstance(count, numbers.Real):
            raise TypeError(
                f"`class_counts` should map classes to non-negative numbers, but got "
                f"class_counts[{cls!r}]={describe_value(count)}."
            )
        value = float(count)
        if not math.isfinite(value) or value < 0:
            raise ValueError(
                f"`class_counts` should hold finite non-negative counts, but got "
                f"class_counts[{cls!r}]={count!r}."
            )
        counts[cls] = value
    if not any(v > 0 for v in counts.values()):
        raise ValueError(
            f"`class_counts` should have at least one positive count, but all {len(counts)} "
            "counts are zero."
        )
    return counts


def check_against_counts(target: Target, counts: Mapping[Any, float], method: str) -> None:
    """Errors a target can only show against given counts (raised at construction)."""
    if target.kind != "shares":
        return
    assert target.shares is not None
    listed = [c for c in target.shares if c in counts]
    if not listed:
        raise ValueError(
            f"`target` names no class of `class_counts`: it names {_show(target.shares)} but "
            f"the classes are {_show(counts)}."
        )
    for cls, share in target.shares.items():
        if share > 0 and counts.get(cls, 0.0) == 0:
            raise ValueError(
                f"`target` gives class {cls!r} the share {share:g}, but class_counts[{cls!r}] is "
                f"{'0' if cls in counts else 'missing'}: no item of it can be yielded. Give it "
                "share 0 or fix `class_counts`."
            )
    if method == "oversample":
        for cls, count in counts.items():
            if count > 0 and target.shares.get(cls, 0.0) == 0:
                raise ValueError(
                    f"method='oversample' yields every item, so every class in the source needs a "
                    f"positive `target` share, but class {cls!r} (count {count:g}) has none. Give "
                    "it a share or use method='reject'."
                )


def _show(classes: Any) -> str:
    names = [repr(c) for c in list(classes)[:12]]
    return ", ".join(names) + (", ..." if len(classes) > 12 else "")


@dataclass
class Plan:
    """Per-class rates for the current source shares (see the module docstring)."""

    keep: dict[Any, float]  # rejection: keep probability per class
    extra_rate: float  # oversampling: repeats per source item, sum of lambda_c
    extra_classes: list[Any]  # oversampling: classes with lambda_c > 0 ...
    extra_cum: list[float]  # ... and the cumulative lambda_c / extra_rate
    acceptance: float  # rejection: expected acceptance rate


def make_plan(target: Target, counts: Mapping[Any, float], method: str) -> Plan:
    """The rates reaching ``target`` from source counts ``counts`` (classes with count 0 are
    ignored). Plain Python: it runs often on a handful of classes.

    Raises:
        ValueError: oversampling towards a target that gives a present class no share.
    """
    t = target.shares_for(counts)
    total = float(sum(counts[c] for c in t))
    s = {c: counts[c] / total for c in t}
    if not any(v > 0 for v in t.values()):
        return Plan(dict.fromkeys(counts, 0.0), 0.0, [], [], 0.0)
    if method == "reject":
        ratio = {c: t[c] / s[c] for c in t}
        top = max(ratio.values())
        keep = dict.fromkeys(counts, 0.0)
        keep.update((c, r / top) for c, r in ratio.items())
        return Plan(keep, 0.0, [], [], 1.0 / top)
    for c, share in t.items():
        if share <= 0:
            raise ValueError(
                "method='oversample' yields every item, so every class in the source needs a "
                f"positive `target` share, but class {c!r} has none. Give it a share or use "
                "method='reject'."
            )
    r = max(s[c] / t[c] for c in t)
    lam = {c: r * t[c] - s[c] for c in t}
    chosen = [c for c, v in lam.items() if v > 1e-12]
    rate = sum(lam[c] for c in chosen)
    cum: list[float] = []
    acc = 0.0
    for c in chosen:
        acc += lam[c] / rate
        cum.append(acc)
    if cum:
        cum[-1] = 1.0
    return Plan(dict.fromkeys(counts, 1.0), rate, chosen, cum, 1.0)
