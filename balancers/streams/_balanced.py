"""``BalancedStream``: online class balancing of an iterable by rejection or by oversampling."""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from .._validation import check_choice, check_int
from ._base import StreamBase, check_source, open_source, source_state, uniforms
from ._labels import LabelReader, normalize_class
from ._target import (
    Plan,
    Target,
    check_against_counts,
    check_class_counts,
    check_target,
    make_plan,
)

__all__ = ["BalancedStream"]

_METHODS = ("reject", "oversample")
_REDUCTIONS = ("max", "mean", "sum")
_NEVER = math.inf


def _refresh_interval(consumed: int) -> int:
    """Items between two updates of estimated rates: every item at first, then up to 64."""
    return max(1, min(64, consumed // 256))


def _sorted(counts: dict[Any, int]) -> dict[Any, int]:
    try:
        return {c: counts[c] for c in sorted(counts)}
    except TypeError:  # classes of several types
        return dict(counts)


class _Run:
    """The live state of one run of a :class:`BalancedStream` (one epoch on one worker)."""

    def __init__(self, epoch: int, rank: int, worker: int, classes: list[Any]) -> None:
        self.epoch, self.rank, self.worker = epoch, rank, worker
        self.consumed = 0  # source items read
        self.draws = 0  # uniform draws used (oversampling; rejection uses one per item)
        self.emitted = 0  # items yielded, repeats included
        self.seen: dict[Any, int] = dict.fromkeys(classes, 0)
        self.yielded: dict[Any, int] = dict.fromkeys(classes, 0)
        self.buffers: dict[Any, list[tuple[Any, tuple[Any, ...]]]] = {c: [] for c in classes}
        self.owed: dict[Any, int] = {}
        self.pending: deque[Any] = deque()
        self.credit = 0.0
        self.plan: Plan | None = None
        self.plan_counts: dict[Any, int] = {}  # estimated counts the plan was computed from
        self.refresh_at: float = _NEVER
        self.iterator: Iterator[Any] = iter(())


class BalancedStream(StreamBase):
    """An ``IterableDataset`` whose items follow a target class distribution, read from a
    stream that has no indices.

    ``method="reject"`` (the idea of ``tf.data``'s ``rejection_resample``) keeps each item of
    class ``c`` with probability ``a_c = (t_c / s_c) / max_k (t_k / s_k)`` from the target shares
    ``t`` and the source shares ``s``: the output is a subsequence of the input whose classes
    follow the target, and the acceptance rate is ``1 / max_k (t_k / s_k)`` (with ``"balanced"``,
    C times the rarest class's share). ``method="oversample"`` yields every item and, after it,
    repeats of items of under-represented classes drawn from a per-class reservoir of at most
    ``buffer_size`` items (a uniform sample of the class's items seen so far): the output is
    ``R = max_k (s_k / t_k)`` times as long as the input (with ``"balanced"``, C times the
    largest class's share).

    ``class_counts`` (for instance ``balancers.describe`` of the label file, or ``balancers
    describe --webdataset ...``) gives the source shares: the output follows the target from the
    first item. With ``class_counts=None`` the shares are estimated online from the classes seen
    so far in this run (the current item included; there is no prior, and a class is unknown
    until its first item): the output converges to the target as the estimate does, with an
    error in the shares of order ``1/sqrt(n)`` after ``n`` items. The rates are recomputed at
    every item for the first 256 items and then every ``min(64, n // 256)`` items.

    Args:
        source: a re-iterable of items (``IterableDataset``, webdataset ``WebDataset``, Hugging
            Face ``IterableDataset``, a list). Each iteration is one epoch; the source does the
            splitting among DDP ranks and DataLoader workers.
        label: how to read an item's class: a dict key (webdataset / Hugging Face rows), a tuple
            index, or a callable. A label may be an int, a str, a numpy or 0-d torch scalar,
            ``bytes`` (read as text, an int when it is one: undecoded webdataset ``.cls``), or a
            list/tuple/1-D array of class ids (a multilabel item; an empty list is the "no
            label" group ``None``).
        target: ``"balanced"`` (equal shares), a number ``q >= 0`` (shares proportional to
            ``n_c^q`` as in :class:`~balancers.ClassBalancedSampler`: 0 balanced, 0.5
            square-root, 1 the source) or a ``{class: share}`` dict (normalised; classes it does
            not name get share 0).
        method: ``"reject"`` or ``"oversample"``.
        class_counts: the source's count per class (a dict, a ``describe`` report, or counts of
            the classes ``0..C-1``), or None to estimate them online. Only the ratios matter.
        buffer_size: oversampling: the most items kept per class.
        seed: seed of the decisions; ``None`` draws one at construction.
        reduce: multilabel items: how the keep probabilities of an item's labels combine
            (``"max"``, ``"mean"`` or ``"sum"``, capped at 1), as in
            :func:`~balancers.sample_weights`.
        transform: applied to each yielded item after the decision (rejected items are never
            transformed; each repeat is transformed again, so a random augmentation gives a new
            view). Put decoding here to skip decoding the items rejection drops.

    Guarantees:
        * the decisions of a run are a pure function of ``(seed, epoch, rank, worker)`` and of
          the items of that worker's share, in order: the same with 0 or 1 DataLoader workers,
          and the same again after a resume;
        * ``"reject"``: the output is a subsequence of the input; ``"oversample"``: every input
          item is yielded once, in order, with repeats after it; every class keeps at most
          ``buffer_size`` items in memory (``stats()["buffered"]``);
        * with ``class_counts``, the yielded classes follow the target in expectation from the
          start (exactly for single-label items; for multilabel items co-occurring labels make it
          approximate, as for the samplers).

    Costs: rejection reads ``1 / acceptance`` source items per item yielded, and holds no
    items; oversampling reads one source item per ``R`` items yielded and holds up to
    ``buffer_size`` items per class. Repeats are the same objects as the buffered items.

    Example:
        >>> from balancers.streams import BalancedStream
        >>> items = [{"x": i, "cls": 0 if i % 10 else 1} for i in range(1000)]
        >>> stream = BalancedStream(items, label="cls", class_counts={0: 900, 1: 100})
        >>> kept = list(stream)
        >>> sorted(stream.stats()["yielded"].items())
        [(0, 116), (1, 100)]
    """

    def __init__(
        self,
        source: Any,
        *,
        label: Any,
        target: Any = "balanced",
        method: str = "reject",
        class_counts: Any = None,
        buffer_size: int = 1024,
        seed: int | None = 0,
        reduce: str = "max",
        transform: Callable[[Any], Any] | None = None,
    ) -> None:
        super().__init__(seed)
        self.source = check_source(source, "source")
        self.reader = LabelReader(label)
        self.label = label
        self.target: Target = check_target(target)
        self.method = check_choice(method, "method", _METHODS)
        self.class_counts = check_class_counts(class_counts)
        size = check_int(buffer_size, "buffer_size", minimum=1)
        assert size is not None
        self.buffer_size = size
        self.reduce = check_choice(reduce, "reduce", _REDUCTIONS)
        if transform is not None and not callable(transform):
            raise TypeError(
                f"`transform` should be a callable or None, but got {type(transform).__name__}."
            )
        self.transform = transform
        self._plan: Plan | None = None
        if self.class_counts is not None:
            check_against_counts(self.target, self.class_counts, self.method)
            self._plan = make_plan(self.target, self.class_counts, self.method)

    def __repr__(self) -> str:
        counts = "given" if self.class_counts is not None else "estimated"
        return (
            f"BalancedStream(method={self.method!r}, target={self.target.describe()}, "
            f"class_counts={counts}, buffer_size={self.buffer_size}, seed={self.seed})"
        )

    def _sources(self) -> list[Any]:
        return [self.source]

    # ---------------------------------------------------------------------------------- runs
    def _start(self, epoch: int, rank: int, worker: int, resumed: dict[str, Any] | None) -> _Run:
        given = list(self.class_counts) if self.class_counts is not None else []
        run = _Run(epoch, rank, worker, given)
        run.plan = self._plan
        if resumed is not None:
            run.consumed, run.draws, run.emitted = (
                resumed["consumed"],
                resumed["draws"],
                resumed["emitted"],
            )
            run.seen, run.yielded = dict(resumed["seen"]), dict(resumed["yielded"])
            run.buffers = {c: list(b) for c, b in resumed["buffers"]}
            run.owed = dict(resumed["owed"])
            run.pending = deque(resumed["pending"])
            run.credit = resumed["credit"]
        if self.class_counts is None:
            run.refresh_at = 1
            if resumed is not None and resumed["plan_counts"]:
                run.plan_counts = dict(resumed["plan_counts"])
                run.plan = make_plan(self.target, run.plan_counts, self.method)
                run.refresh_at = resumed["refresh_at"]
        run_source = resumed.get("source") if resumed is not None else None
        run.iterator, _ = open_source(self.source, run.consumed, run_source, "source")
        self._last = run
        return run

    def _snapshot(self, run: _Run) -> dict[str, Any]:
        return {
            "consumed": run.consumed,
            "draws": run.draws,
            "emitted": run.emitted,
            "seen": list(run.seen.items()),
            "yielded": list(run.yielded.items()),
            "buffers": [(c, list(b)) for c, b in run.buffers.items()],
            "owed": list(run.owed.items()),
            "pending": list(run.pending),
            "credit": run.credit,
            "plan_counts": list(run.plan_counts.items()),
            "refresh_at": run.refresh_at,
            "source": source_state(self.source),
        }

    def _run(self, run: _Run) -> Iterator[Any]:
        body = self._reject(run) if self.method == "reject" else self._oversample(run)
        yield from body
        if (
            self.target.kind == "shares"
            and run.consumed > 0
            and not any(c in (self.target.shares or {}) for c in run.seen)
        ):
            raise ValueError(
                f"`target` names no class of the source: it names "
                f"{sorted(map(repr, self.target.shares or {}))} but the source's classes were "
                f"{sorted(map(repr, run.seen))}."
            )
        self._finish(run)

    # ----------------------------------------------------------------------------- labels
    def _classes(self, item: Any, position: int) -> Any:
        try:
            raw = self.reader.read(item)
        except (KeyError, IndexError, TypeError) as exc:
            raise self.reader.missing(item, position, exc) from exc
        return normalize_class(raw, position)

    def _admit(self, run: _Run, labels: tuple[Any, ...], position: int) -> None:
        """Count ``labels`` as seen; new classes are added (estimated) or refused (given)."""
        new = False
        for c in labels:
            if c not in run.seen:
                if self.class_counts is not None:
                    known = ", ".join(repr(k) for k in list(self.class_counts)[:12])
                    raise ValueError(
                        f"item {position} has class {c!r}, which `class_counts` does not list "
                        f"(it lists {known}). Pass counts for every class, or class_counts=None "
                        "to estimate them."
                    )
                run.seen[c] = run.yielded[c] = 0
                run.buffers[c] = []
                new = True
            run.seen[c] += 1
        if new:
            self._refresh(run)

    def _refresh(self, run: _Run) -> None:
        run.plan_counts = dict(run.seen)
        run.plan = make_plan(self.target, run.plan_counts, self.method)
        run.refresh_at = run.consumed + _refresh_interval(run.consumed)

    def _keep_probability(self, plan: Plan, labels: tuple[Any, ...]) -> float:
        probs = [plan.keep[c] for c in labels]
        if self.reduce == "max":
            return max(probs)
        if self.reduce == "mean":
            return sum(probs) / len(probs)
        return min(1.0, sum(probs))

    # ---------------------------------------------------------------------------- rejection
    def _reject(self, run: _Run) -> Iterator[Any]:
        read, reader, transform = self.reader.read, self.reader, self.transform
        seen, yielded = run.seen, run.yielded
        draws = uniforms(self.seed, run.epoch, run.rank, run.worker, run.consumed)
        keep = run.plan.keep if run.plan is not None else {}
        consumed = run.consumed
        for item in run.iterator:
            u = next(draws)
            try:
                raw = read(item)
            except (KeyError, IndexError, TypeError) as exc:
                raise reader.missing(item, consumed, exc) from exc
            cls = raw if type(raw) is int else normalize_class(raw, consumed)
            p = keep.get(cls)
            run.consumed = consumed = consumed + 1
            if p is None:  # a multilabel item, or a class not seen before
                labels = cls if type(cls) is tuple else (cls,)
                self._admit(run, labels, consumed - 1)
                assert run.plan is not None
                keep = run.plan.keep
                p = self._keep_probability(run.plan, labels)
            else:
                seen[cls] += 1
            if consumed >= run.refresh_at:
                self._refresh(run)
                assert run.plan is not None
                keep = run.plan.keep
            if u < p:
                if type(cls) is tuple:
                    for c in cls:
                        yielded[c] += 1
                else:
                    yielded[cls] += 1
                run.emitted += 1
                yield item if transform is None else transform(item)

    # -------------------------------------------------------------------------- oversampling
    def _oversample(self, run: _Run) -> Iterator[Any]:
        read, reader, transform, size = (
            self.reader.read,
            self.reader,
            self.transform,
            self.buffer_size,
        )
        seen, yielded, buffers, owed, pending = (
            run.seen,
            run.yielded,
            run.buffers,
            run.owed,
            run.pending,
        )
        draws = uniforms(self.seed, run.epoch, run.rank, run.worker, run.draws)
        while pending:  # repeats queued when the state was saved
            run.emitted += 1
            item = pending.popleft()
            yield item if transform is None else transform(item)
        consumed, ndraws, credit = run.consumed, run.draws, run.credit
        plan = run.plan
        for item in run.iterator:
            try:
                raw = read(item)
            except (KeyError, IndexError, TypeError) as exc:
                raise reader.missing(item, consumed, exc) from exc
            cls = raw if type(raw) is int else normalize_class(raw, consumed)
            m = seen.get(cls) if type(cls) is not tuple else None
            consumed += 1
            if m is None:  # a multilabel item, or a class not seen before
                labels = cls if type(cls) is tuple else (cls,)
                run.consumed, run.draws = consumed, ndraws
                self._admit(run, labels, consumed - 1)
                ndraws = self._store(run, (item, labels), draws)
                plan = run.plan
                n_labels = len(labels)
            else:
                seen[cls] = m = m + 1
                yielded[cls] += 1
                if m <= size:
                    buffers[cls].append((item, (cls,)))
                else:  # reservoir sampling: a uniform sample of the class's items so far
                    ndraws += 1
                    j = int(next(draws) * m)
                    if j < size:
                        buffers[cls][j] = (item, (cls,))
                n_labels = 1
            if consumed >= run.refresh_at:
                run.consumed = consumed
                self._refresh(run)
                plan = run.plan
            assert plan is not None
            credit += plan.extra_rate * n_labels
            if credit >= 1.0 or owed:
                run.draws = ndraws
                credit = self._repeat(run, plan, credit, cls, draws)
                ndraws = run.draws
            run.consumed, run.draws, run.credit = consumed, ndraws, credit
            run.emitted += 1
            yield item if transform is None else transform(item)
            while pending:
                run.emitted += 1
                repeat = pending.popleft()
                yield repeat if transform is None else transform(repeat)

    def _store(self, run: _Run, pair: tuple[Any, tuple[Any, ...]], draws: Iterator[float]) -> int:
        """Put an item in the reservoir of each of its labels; returns the draw count."""
        for c in pair[1]:
            buffer = run.buffers.setdefault(c, [])
            m = run.seen[c]
            if m <= self.buffer_size:
                buffer.append(pair)
            else:
                run.draws += 1
                j = int(next(draws) * m)
                if j < self.buffer_size:
                    buffer[j] = pair
            run.yielded[c] += 1
        return run.draws

    def _repeat(
        self, run: _Run, plan: Plan, credit: float, cls: Any, draws: Iterator[float]
    ) -> float:
        """Queue the repeats due after an item of class(es) ``cls``; returns the credit left."""
        buffers, owed = run.buffers, run.owed

        def emit(buffer: list[tuple[Any, tuple[Any, ...]]]) -> None:
            run.draws += 1
            item, labels = buffer[int(next(draws) * len(buffer))]
            run.pending.append(item)
            for c in labels:
                run.yielded[c] += 1

        while credit >= 1.0:
            credit -= 1.0
            run.draws += 1
            k = plan.extra_classes[bisect.bisect_right(plan.extra_cum, next(draws))]
            if buffers.get(k):
                emit(buffers[k])
            else:  # given counts, class not seen yet: repeated once it is
                owed[k] = owed.get(k, 0) + 1
        for c in cls if type(cls) is tuple else (cls,):
            while owed.get(c):
                owed[c] -= 1
                emit(buffers[c])
        return credit

    # -------------------------------------------------------------------------------- stats
    def stats(self) -> dict[str, Any]:
        """Counts of the latest run in this process (under DataLoader workers each worker has
        its own copy; the main process's copy then has no run).

        Returns:
            ``{"seen": {class: n}, "yielded": {class: n}, "items_seen", "items_yielded",
            "acceptance_rate" (items yielded / items seen), "buffered": {class: items held},
            "unpaid": {class: repeats owed to a class never seen}}``. Classes are sorted when
            they can be; a multilabel item counts once for each of its labels.
        """
        run = self._last
        if run is None:
            return {
                "seen": {},
                "yielded": {},
                "items_seen": 0,
                "items_yielded": 0,
                "acceptance_rate": math.nan,
                "buffered": {},
                "unpaid": {},
            }
        return {
            "seen": _sorted(run.seen),
            "yielded": _sorted(run.yielded),
            "items_seen": run.consumed,
            "items_yielded": run.emitted,
            "acceptance_rate": run.emitted / run.consumed if run.consumed else math.nan,
            "buffered": _sorted({c: len(b) for c, b in run.buffers.items()}),
            "unpaid": {c: n for c, n in run.owed.items() if n},
        }
