"""Random over- and under-sampling to a fixed index multiset (imbalanced-learn semantics)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import numpy.typing as npt

from .._cycling import cycle_pool
from .._labels import Labels, check_labels
from .._rng import make_rng
from .._validation import check_bool, check_seed
from ._strategy import resolve_sampling_strategy

__all__ = ["random_oversample", "random_undersample"]


def _multiclass(labels: Any, func: str, alternative: str) -> Labels:
    lab = check_labels(labels)
    if lab.is_multilabel:
        raise ValueError(
            f"`labels` should be multiclass (a 1-D array of class ids) for {func}, but got "
            f"multilabel labels of shape {(lab.n_samples, lab.n_classes)}. For multilabel data "
            f"use {alternative}."
        )
    return lab


def _warn_unchanged(func: str, verb: str, lab: Labels, strategy: Any) -> None:
    """Warn that ``func`` returns the dataset unchanged under ``strategy``."""
    counts = dict(zip(lab.classes.tolist(), lab.counts.tolist(), strict=True))
    shown = repr(counts) if len(counts) <= 10 else f"{len(counts)} classes"
    warnings.warn(
        f"{func} {verb} no sample: with sampling_strategy={strategy!r} every targeted class "
        f"already has its target count (class counts {shown}). Pass a `sampling_strategy` "
        "that targets other counts (e.g. a dict {class: count}) to change the dataset.",
        UserWarning,
        stacklevel=3,
    )


_LOOP_CLASSES = 64  # up to this many classes, draw class by class (fewer passes over the picks)


def _uniform_picks(
    rng: np.random.Generator,
    indptr: npt.NDArray[np.int64],
    positions: npt.NDArray[np.int64],
    draws: npt.NDArray[np.int64],
) -> npt.NDArray[np.int64]:
    """For each class position ``positions[j]``, ``draws[j]`` uniform picks with replacement
    from its block of the inverted index, class after class (positions into ``rows``).

    Pick ``i`` is ``first + floor(u_i * size)`` with ``u`` one ``rng.random`` stream over all
    picks in order (clipped to ``size - 1`` against rounding up), whichever path computes it.
    """
    total = int(draws.sum())
    u = rng.random(total)
    first = indptr[positions]
    sizes = indptr[positions + 1] - first
    if positions.shape[0] <= _LOOP_CLASSES:
        pick = np.empty(total, dtype=np.int64)
        at = 0
        for f, size, d in zip(first.tolist(), sizes.tolist(), draws.tolist(), strict=True):
            block = u[at : at + d]
            block *= size
            out = pick[at : at + d]
            np.floor(block, out=block)
            out[:] = block
            np.minimum(out, size - 1, out=out)
            out += f
            at += d
        return pick
    u *= np.repeat(sizes.astype(np.float64), draws)
    pick = u.astype(np.int64)
    np.minimum(pick, np.repeat(sizes - 1, draws), out=pick)
    pick += np.repeat(first, draws)
    return pick


def random_oversample(
    labels: Any, sampling_strategy: Any = "auto", *, seed: int | None = 0
) -> npt.NDArray[np.int64]:
    """Random over-sampling at the index level: the dataset indices plus random repeats.

    The index-level equivalent of imbalanced-learn's ``RandomOverSampler`` (without
    shrinkage): for every class targeted by ``sampling_strategy`` (see
    :func:`~balancers.resample._strategy.resolve_sampling_strategy` for the forms), members
    are drawn uniformly with replacement until the class reaches its target. Nothing is copied:
    serve the result with ``torch.utils.data.Subset(dataset, indices)`` or
    :class:`balancers.ResampledSampler`.

    Args:
        labels: multiclass labels in any accepted form, or a Dataset.
        sampling_strategy: ``"auto"`` (= ``"not majority"``), ``"minority"``,
            ``"not minority"``, ``"not majority"``, ``"all"``, a float in ``(0, 1]`` (binary
            labels: the minority/majority ratio after resampling), a dict
            ``{class: target count}`` or a callable ``labels -> dict``.
        seed: seed of the draws (None: fresh entropy).

    Returns:
        ``int64`` indices: ``0..n-1`` in order (every original index, once), followed by the
        added repeats class by class in ascending class order, like imbalanced-learn's
        ``sample_indices_``.

    Raises:
        TypeError: an unsupported ``sampling_strategy`` type or target.
        ValueError: multilabel labels (use ``ml_ros``), a class absent from the labels, a
            target below a class's count, ``"majority"``, a float with non-binary labels.

    Warns:
        UserWarning: nothing is added (every targeted class already has its target count).

    References:
        Lemaitre, G., Nogueira, F., Aridas, C. K. "Imbalanced-learn: A Python Toolbox to Tackle
        the Curse of Imbalanced Datasets in Machine Learning", JMLR 18(17), 2017.

    Example:
        >>> idx = random_oversample(["a", "a", "a", "b"], seed=0)
        >>> idx.tolist()
        [0, 1, 2, 3, 3, 3]
    """
    lab = _multiclass(labels, "random_oversample", "balancers.ml_ros or balancers.lp_ros")
    checked_seed = check_seed(seed)
    targets = resolve_sampling_strategy(lab, sampling_strategy, "over")
    positions = np.array([lab.class_index(c) for c in targets], dtype=np.int64)
    extra = np.array(list(targets.values()), dtype=np.int64) - lab.counts[positions]
    indptr, rows = lab.class_members
    rng = make_rng(checked_seed)
    picks = _uniform_picks(rng, indptr, positions, extra)
    if picks.shape[0] == 0:
        _warn_unchanged("random_oversample", "added", lab, sampling_strategy)
    out = np.empty(lab.n_samples + picks.shape[0], dtype=np.int64)
    out[: lab.n_samples] = np.arange(lab.n_samples, dtype=np.int64)
    np.take(rows, picks, out=out[lab.n_samples :])
    return out


def random_undersample(
    labels: Any,
    sampling_strategy: Any = "auto",
    *,
    seed: int | None = 0,
    replacement: bool = False,
) -> npt.NDArray[np.int64]:
    """Random under-sampling at the index level: a random subset of each targeted class.

    The index-level equivalent of imbalanced-learn's ``RandomUnderSampler``: every class
    targeted by ``sampling_strategy`` keeps a uniform random subset of its target size (drawn
    with replacement if ``replacement=True``); other classes are kept whole.

    Args:
        labels: multiclass labels in any accepted form, or a Dataset.
        sampling_strategy: ``"auto"`` (= ``"not minority"``), ``"majority"``,
            ``"not minority"``, ``"not majority"``, ``"all"``, a float in ``(0, 1]`` (binary
            labels: the minority/majority ratio after resampling), a dict
            ``{class: target count}`` or a callable ``labels -> dict``.
        seed: seed of the draws (None: fresh entropy).
        replacement: draw the kept samples with replacement.

    Returns:
        ``int64`` dataset indices, class by class in ascending class order and ascending
        within each class (imbalanced-learn orders the kept samples of a class randomly; the
        multiset is the same kind of draw).

    Raises:
        TypeError: an unsupported ``sampling_strategy`` type or target, non-bool
            ``replacement``.
        ValueError: multilabel labels (use ``ml_rus``), a class absent from the labels, a
            target above a class's count, ``"minority"``, a float with non-binary labels.

    Warns:
        UserWarning: nothing is removed (every targeted class already has its target count).

    References:
        Lemaitre, G., Nogueira, F., Aridas, C. K. "Imbalanced-learn", JMLR 18(17), 2017.

    Example:
        >>> idx = random_undersample([0, 0, 0, 1, 1, 2], seed=0)
        >>> [int(c) for c in np.bincount(np.array([0, 0, 0, 1, 1, 2])[idx])]
        [1, 1, 1]
    """
    lab = _multiclass(labels, "random_undersample", "balancers.ml_rus or balancers.lp_rus")
    checked_seed = check_seed(seed)
    replace = check_bool(replacement, "replacement")
    targets = resolve_sampling_strategy(lab, sampling_strategy, "under")
    positions = np.array([lab.class_index(c) for c in targets], dtype=np.int64)
    wanted = np.array(list(targets.values()), dtype=np.int64)
    indptr, rows = lab.class_members
    rng = make_rng(checked_seed)
    if not replace and (wanted == lab.counts[positions]).all():
        _warn_unchanged("random_undersample", "removed", lab, sampling_strategy)
    targeted = np.zeros(lab.n_classes, dtype=bool)
    targeted[positions] = True
    # Whole blocks of the classes that are not resampled, as positions into ``rows``.
    block_class = np.repeat(np.arange(lab.n_classes), lab.counts)
    kept = [np.flatnonzero(~targeted[block_class])]
    if replace:
        kept.append(_uniform_picks(rng, indptr, positions, wanted))
    else:
        # Uniform random subsets without replacement: one partial shuffled cycle per class.
        counts = np.zeros(lab.n_classes, dtype=np.int64)
        counts[positions] = wanted
        slots = np.arange(rows.shape[0], dtype=np.int64)
        kept.append(cycle_pool(indptr, slots, counts, rng)[0])
    return rows[np.sort(np.concatenate(kept))]
