"""The ``balancers demo`` comparison: what imbalance costs a classifier and what each fix buys back.

A long-tailed training split of a real dataset (scikit-learn's bundled handwritten digits by
default; MNIST or Fashion-MNIST from a torchvision data root) and a balanced test split; the same
small network, from the same initial weights, trained once per balancing strategy; one table of
accuracy, balanced accuracy, few-shot accuracy and worst-class recall, a plot of per-class recall
and a JSON file of every number. The demo is an application of the library, in modules for the
data, the model, the strategies, the training and the report.

Each strategy is one entry of :data:`STRATEGIES`: a function that, given the training setup,
returns a :class:`Plan` saying which dataset and sampler feed each epoch and which loss it uses.

Guarantees:

* the same arguments give the same numbers on the same versions of balancers, torch,
  torchvision, numpy and Python (the header and ``results.json`` name them; wall-clock times
  aside): the split, the model initialisation, the shuffling, the samplers and the augmentations
  all derive from ``seed``, and the global torch/numpy random state is left untouched (the model
  is built inside ``torch.random.fork_rng``);
* every strategy starts from the same initial weights and sees the same number of epochs.

Names are loaded on first use: listing the strategies (``strategy_help``) does not import torch.

Example:
    >>> from balancers.demo import DemoConfig, run_demo
    >>> result = run_demo(DemoConfig(quick=True, strategies="ce", progress=False))
    >>> [r.key for r in result.results]
    ['ce']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:
    from ._data import DATASETS as DATASETS
    from ._data import PROFILES as PROFILES
    from ._report import DemoResult as DemoResult
    from ._report import StrategyResult as StrategyResult
    from ._strategies import STRATEGIES as STRATEGIES
    from ._strategies import Plan as Plan
    from ._strategies import Setup as Setup
    from ._strategies import Strategy as Strategy
    from ._strategies import resolve_strategies as resolve_strategies
    from ._strategies import strategy_help as strategy_help
    from ._training import DemoConfig as DemoConfig
    from ._training import run_demo as run_demo

#: public name -> the module that defines it
_SOURCES: dict[str, str] = {
    "DATASETS": "._data",
    "DemoConfig": "._training",
    "DemoResult": "._report",
    "PROFILES": "._data",
    "Plan": "._strategies",
    "STRATEGIES": "._strategies",
    "Setup": "._strategies",
    "Strategy": "._strategies",
    "StrategyResult": "._report",
    "resolve_strategies": "._strategies",
    "run_demo": "._training",
    "strategy_help": "._strategies",
}

__all__ = [
    "DATASETS",
    "DemoConfig",
    "DemoResult",
    "PROFILES",
    "Plan",
    "STRATEGIES",
    "Setup",
    "Strategy",
    "StrategyResult",
    "resolve_strategies",
    "run_demo",
    "strategy_help",
]

if not TYPE_CHECKING:
    __getattr__, __dir__ = attach(__name__, _SOURCES)
