"""Multilabel stratified splitting behind scikit-learn's splitter API, and split quality measures.

- :class:`IterativeStratifiedKFold`: K folds by iterative stratification (Sechidis et al. 2011),
  or over label pairs (Szymański & Kajdanowicz 2017), as a ``BaseCrossValidator``;
- :class:`IterativeStratifiedGroupKFold`: the same with groups kept whole (patients, subjects);
- :func:`iterative_train_test_split`: train and test indices the same way (``groups=`` too);
- :func:`stratification_report`: LD, ED and empty (fold, label) cells, also over label pairs;
- :func:`stratification_targets` and :func:`bin_continuous`: several columns (labels,
  categories, binned continuous values) as one indicator matrix to stratify on.
"""

from ._measures import StratificationReport, stratification_report
from ._split import (
    IterativeStratifiedGroupKFold,
    IterativeStratifiedKFold,
    iterative_train_test_split,
)
from ._targets import bin_continuous, stratification_targets

__all__ = [
    "IterativeStratifiedGroupKFold",
    "IterativeStratifiedKFold",
    "StratificationReport",
    "bin_continuous",
    "iterative_train_test_split",
    "stratification_report",
    "stratification_targets",
]
