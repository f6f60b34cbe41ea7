"""Helpers for training frameworks: stratified splits of Hugging Face datasets.

- :func:`stratified_train_test_split`: a ``datasets.Dataset`` split into a ``DatasetDict`` with
  ``train`` and ``test`` by iterative stratification (multilabel-aware);
- :func:`stratified_kfold`: the K folds of
  :class:`~balancers.model_selection.IterativeStratifiedKFold` as one ``DatasetDict`` per fold.

Labels are read with :func:`balancers.get_labels` (through Arrow, nothing decoded). Using a
balancers sampler with Lightning, accelerate or the transformers ``Trainer`` needs no helper: see
the guide page "Use with frameworks".
"""

from ._huggingface import stratified_kfold, stratified_train_test_split

__all__ = ["stratified_kfold", "stratified_train_test_split"]
