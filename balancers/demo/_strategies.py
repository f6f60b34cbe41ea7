"""The balancing strategies the demo compares: one :class:`Strategy` per row of the table.

Each strategy's ``plan`` turns the training :class:`Setup` into a :class:`Plan` (which dataset and
sampler feed each epoch, which loss it uses). torch is imported inside the plans, so that the
command line lists the strategies in ``--help`` without importing it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from torch import nn
    from torch.utils.data import Dataset, Sampler

    from ._data import ImageTensors

__all__ = [
    "STRATEGIES",
    "Plan",
    "Setup",
    "Strategy",
    "has_extra",
    "resolve_strategies",
    "strategy_help",
]


@dataclass(frozen=True)
class Setup:
    """What a strategy needs to plan its training."""

    train: ImageTensors
    labels: npt.NDArray[np.int64]
    epochs: int
    seed: int


@dataclass(frozen=True)
class Plan:
    """How one strategy trains: per epoch, which dataset and sampler feed it and which loss.

    Attributes:
        dataset: the training dataset the loader reads.
        sampler: ``sampler(epoch)`` gives the loader's sampler, or None to shuffle ``dataset``.
        loss: ``loss(epoch)`` gives the loss module.
        on_epoch: called with the epoch number before each epoch (e.g. ``set_epoch``).
    """

    dataset: Dataset[Any]
    loss: Callable[[int], nn.Module]
    sampler: Callable[[int], Sampler[int] | None] = lambda epoch: None
    on_epoch: Sequence[Callable[[int], None]] = ()


@dataclass(frozen=True)
class Strategy:
    """One row of the comparison.

    Attributes:
        key: the name used by ``--strategies``.
        title: the row label.
        summary: one line for ``--help``.
        plan: builds the :class:`Plan` from the :class:`Setup`.
        extra: the optional dependency group it needs (``"augment"``), or None.
    """

    key: str
    title: str
    summary: str
    plan: Callable[[Setup], Plan]
    extra: str | None = None


def _cross_entropy(weight: Any = None) -> nn.Module:
    from torch import nn

    return nn.CrossEntropyLoss(weight=weight)


def _ce(epoch: int) -> nn.Module:
    return _cross_entropy()


def _plain(setup: Setup) -> Plan:
    return Plan(setup.train, loss=_ce)


def _weighted_ce(setup: Setup) -> Plan:
    from .. import class_weights

    weight = class_weights(setup.labels, "inverse")
    return Plan(setup.train, loss=lambda epoch: _cross_entropy(weight))


def _focal(setup: Setup) -> Plan:
    from ..losses import FocalLoss

    return Plan(setup.train, loss=lambda epoch: FocalLoss(gamma=2.0))


def _sampler_plan(sampler: Any, setup: Setup) -> Plan:
    return Plan(setup.train, loss=_ce, sampler=lambda epoch: sampler, on_epoch=[sampler.set_epoch])


def _weighted_sampler(setup: Setup) -> Plan:
    from .. import sample_weights
    from ..samplers import WeightedSampler

    return _sampler_plan(WeightedSampler(sample_weights(setup.labels), seed=setup.seed), setup)


def _sqrt_sampler(setup: Setup) -> Plan:
    from ..samplers import ClassBalancedSampler

    return _sampler_plan(ClassBalancedSampler(setup.labels, q=0.5, seed=setup.seed), setup)


def _augment(setup: Setup) -> Plan:
    from ..augment import AugmentedDataset, default_pipeline
    from ..resample import random_oversample

    indices = random_oversample(setup.labels, seed=setup.seed)
    data = AugmentedDataset(
        setup.train, indices, default_pipeline(horizontal_flip=False), seed=setup.seed
    )
    return Plan(data, loss=_ce, on_epoch=[data.set_epoch])


def _deferred_stage(epochs: int) -> int:
    """First epoch of the second stage: the last 20% of training (160 of 200 in Cao et al.),
    at least one epoch."""
    return min(epochs - 1, max(1, round(0.8 * epochs)))


def _drw(setup: Setup) -> Plan:
    from .. import class_weights

    start = _deferred_stage(setup.epochs)
    weight = class_weights(setup.labels, "effective", beta=0.9999)

    def loss(epoch: int) -> nn.Module:
        return _cross_entropy(weight if epoch >= start else None)

    return Plan(setup.train, loss=loss)


def _drs(setup: Setup) -> Plan:
    from ..samplers import ClassBalancedSampler

    start = _deferred_stage(setup.epochs)
    sampler = ClassBalancedSampler(setup.labels, q=0.0, seed=setup.seed)
    return Plan(
        setup.train,
        loss=_ce,
        sampler=lambda epoch: sampler if epoch >= start else None,
        on_epoch=[sampler.set_epoch],
    )


STRATEGIES: dict[str, Strategy] = {
    s.key: s
    for s in (
        Strategy(
            "ce", "shuffle + CE", "uniform shuffling, plain cross-entropy (the baseline)", _plain
        ),
        Strategy(
            "weighted-ce",
            "class-weighted CE",
            "cross-entropy weighted by inverse class frequency (balancers.class_weights)",
            _weighted_ce,
        ),
        Strategy(
            "focal", "focal loss", "FocalLoss(gamma=2) (Lin et al. 2017), shuffled data", _focal
        ),
        Strategy(
            "weighted-sampler",
            "WeightedSampler",
            "draws with probability 1/n_class (balancers.WeightedSampler + sample_weights)",
            _weighted_sampler,
        ),
        Strategy(
            "sqrt-sampler",
            "ClassBalancedSampler q=0.5",
            "square-root sampling: class drawn with probability ~ n_c^0.5 (Kang et al. 2020)",
            _sqrt_sampler,
        ),
        Strategy(
            "augment",
            "oversample + augment",
            "random_oversample to balance, each clone augmented (balancers.augment)",
            _augment,
            extra="augment",
        ),
        Strategy(
            "drw",
            "deferred re-weighting",
            "DRW (Cao et al. 2019): plain CE, then class-balanced (effective-number) weights "
            "for the last 20% of epochs",
            _drw,
        ),
        Strategy(
            "drs",
            "deferred class-balanced sampling",
            "DRS (Cao et al. 2019): shuffling, then ClassBalancedSampler(q=0) for the last 20% "
            "of epochs",
            _drs,
        ),
    )
}
"""The strategies the demo compares, by the name ``--strategies`` takes, in table order."""


def has_extra(extra: str | None) -> bool:
    if extra is None:
        return True
    import importlib.util

    module = {"augment": "albumentations", "plot": "matplotlib"}[extra]
    return importlib.util.find_spec(module) is not None


def resolve_strategies(names: str | Sequence[str] | None) -> tuple[list[str], list[str]]:
    """The strategies to run and the notes about any left out.

    ``None`` means every strategy whose optional dependencies are installed (the others are named
    in the notes); a comma-separated string or a sequence names them explicitly.

    Raises:
        ValueError: an unknown name (the message lists the known ones).
        ImportError: an explicitly named strategy needs a missing extra.
    """
    from .._optional import import_optional

    if names is None:
        chosen = [k for k, s in STRATEGIES.items() if has_extra(s.extra)]
        notes = [
            f"strategy {k!r} skipped: it needs the {s.extra!r} extra "
            f'(pip install "balancers[{s.extra}]")'
            for k, s in STRATEGIES.items()
            if not has_extra(s.extra)
        ]
        return chosen, notes
    items = names.split(",") if isinstance(names, str) else list(names)
    chosen = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        if item not in STRATEGIES:
            raise ValueError(
                f"unknown strategy {item!r}; choose from: {', '.join(STRATEGIES)} "
                "(comma-separated)."
            )
        if item not in chosen:
            chosen.append(item)
    if not chosen:
        raise ValueError(f"no strategy given; choose from: {', '.join(STRATEGIES)}.")
    for key in chosen:
        extra = STRATEGIES[key].extra
        if extra is not None and not has_extra(extra):
            import_optional({"augment": "albumentations"}[extra], extra=extra)
    return chosen, []


def strategy_help(lines: Iterable[Strategy] | None = None) -> str:
    """One line per strategy, for ``--help``."""
    items = list(STRATEGIES.values()) if lines is None else list(lines)
    width = max(len(s.key) for s in items)
    return "\n".join(f"  {s.key:<{width}}  {s.summary}" for s in items)
