"""``mix_streams``: weighted interleaving of several sources, with temperature sampling."""

from __future__ import annotations

import bisect
import copy
import math
import numbers
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from .._validation import check_choice, check_real, describe_value
from ._base import StreamBase, check_source, open_source, source_state, uniforms

__all__ = ["MixedStream", "mix_streams"]

_STOPS = ("first_exhausted", "all_exhausted", "never")


def _per_source(value: Any, names: list[str], name: str) -> np.ndarray:
    """``value`` as one non-negative number per source (a mapping by name, or a sequence)."""
    if isinstance(value, Mapping):
        unknown = [k for k in value if k not in names]
        missing = [k for k in names if k not in value]
        if unknown or missing:
            raise ValueError(
                f"`{name}` should give a value for exactly the sources {names}, but "
                + (f"it names unknown sources {unknown}" if unknown else "")
                + (" and " if unknown and missing else "")
                + (f"it lacks {missing}" if missing else "")
                + "."
            )
        values = [value[k] for k in names]
    elif isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != len(names):
            raise ValueError(
                f"`{name}` should have one value per source ({len(names)}: {names}), but got "
                f"{len(value)} values."
            )
        values = list(value)
    else:
        raise TypeError(
            f"`{name}` should be a {{source: value}} dict or a sequence with one value per "
            f"source, but got {name}={describe_value(value)} of type {type(value).__name__}."
        )
    for source, v in zip(names, values, strict=True):
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(
                f"`{name}` should hold non-negative numbers, but got {name}[{source!r}]="
                f"{describe_value(v)}."
            )
        if not math.isfinite(v) or v < 0:
            raise ValueError(
                f"`{name}` should hold finite non-negative numbers, but got "
                f"{name}[{source!r}]={v!r}."
            )
    return np.asarray(values, dtype=np.float64)


def source_probabilities(
    names: list[str], sources: list[Any], weights: Any, temperature: Any, sizes: Any
) -> np.ndarray:
    """The probability of drawing each source (see :func:`mix_streams`)."""
    if weights is not None and temperature is not None:
        raise ValueError(
            "pass either `weights` or `temperature` (with `sizes`), not both; got weights="
            f"{describe_value(weights)} and temperature={temperature!r}."
        )
    if sizes is not None and temperature is None:
        raise ValueError(
            "`sizes` is only used with `temperature` (p_i proportional to n_i^(1/T)); pass "
            "`temperature` too, or `weights` instead of sizes."
        )
    if temperature is not None:
        t = check_real(temperature, "temperature", low=0.0, low_inclusive=False)
        assert t is not None
        if sizes is None:
            unsized = [n for n, s in zip(names, sources, strict=True) if not hasattr(s, "__len__")]
            if unsized:
                raise ValueError(
                    f"`temperature` needs the size of every source, but the sources {unsized} "
                    "have no len(); pass `sizes` (e.g. the item counts from their metadata)."
                )
            sizes = [len(s) for s in sources]
        n = _per_source(sizes, names, "sizes")
        w = np.power(n, 1.0 / t)
    elif weights is not None:
        w = _per_source(weights, names, "weights")
    else:
        w = np.ones(len(names))
    if not (w > 0).any():
        what = "sizes" if temperature is not None else "weights"
        raise ValueError(
            f"`{what}` should give at least one source a positive value, but all are zero."
        )
    return w / w.sum()


class _MixRun:
    """The live state of one run of a :class:`MixedStream`."""

    def __init__(self, epoch: int, rank: int, worker: int, n: int) -> None:
        self.epoch, self.rank, self.worker = epoch, rank, worker
        self.draws = 0
        self.consumed = [0] * n  # items read from each source in its current pass
        self.passes = [0] * n  # completed passes of each source
        self.counts = [0] * n  # items yielded from each source in this run
        self.iterators: list[Iterator[Any]] = []
        self.pristine: list[Any] = []  # copies of sources restored from a state, for restarts
        self.current: list[Any] = []  # the object each source is read from


class MixedStream(StreamBase):
    """The ``IterableDataset`` returned by :func:`mix_streams` (see there)."""

    def __init__(
        self,
        sources: Any,
        *,
        weights: Any = None,
        temperature: Any = None,
        sizes: Any = None,
        stop: str = "all_exhausted",
        seed: int | None = 0,
    ) -> None:
        super().__init__(seed)
        if not isinstance(sources, Mapping):
            raise TypeError(
                "`sources` should be a {name: iterable} dict, but got "
                f"sources={describe_value(sources)} of type {type(sources).__name__}."
            )
        if not sources:
            raise ValueError("`sources` should name at least one source, but got an empty dict.")
        self.names = [str(k) for k in sources]
        self.sources = [check_source(s, f"sources[{k!r}]") for k, s in sources.items()]
        probs = source_probabilities(self.names, self.sources, weights, temperature, sizes)
        self.probabilities: dict[str, float] = dict(zip(self.names, probs.tolist(), strict=True))
        self.stop = check_choice(stop, "stop", _STOPS)
        self._drawn = [i for i, p in enumerate(probs) if p > 0]
        cum = np.cumsum(probs[self._drawn]) / probs[self._drawn].sum()
        cum[-1] = 1.0
        self._cum = cum.tolist()

    def __repr__(self) -> str:
        shares = ", ".join(f"{k}: {p:.3g}" for k, p in self.probabilities.items())
        return f"MixedStream({{{shares}}}, stop={self.stop!r}, seed={self.seed})"

    def _sources(self) -> list[Any]:
        return list(self.sources)

    def _start(self, epoch: int, rank: int, worker: int, resumed: dict[str, Any] | None) -> _MixRun:
        run = _MixRun(epoch, rank, worker, len(self.sources))
        run.current = list(self.sources)
        states: list[Any] = [None] * len(self.sources)
        if resumed is not None:
            run.draws = resumed["draws"]
            run.consumed, run.passes = list(resumed["consumed"]), list(resumed["passes"])
            run.counts, states = list(resumed["counts"]), list(resumed["sources"])
        for i, src in enumerate(self.sources):
            name = f"sources[{self.names[i]!r}]"
            iterator, pristine = open_source(src, run.consumed[i], states[i], name)
            run.iterators.append(iterator)
            run.pristine.append(pristine)
        self._last = run
        return run

    def _snapshot(self, run: _MixRun) -> dict[str, Any]:
        return {
            "draws": run.draws,
            "consumed": list(run.consumed),
            "passes": list(run.passes),
            "counts": list(run.counts),
            "sources": [source_state(s) for s in run.current],
        }

    def _run(self, run: _MixRun) -> Iterator[Any]:
        draws = uniforms(self.seed, run.epoch, run.rank, run.worker, run.draws)
        drawn, cum, stop = self._drawn, self._cum, self.stop
        iterators, consumed, counts, passes = run.iterators, run.consumed, run.counts, run.passes
        while True:
            if stop != "never" and all(passes[i] > 0 for i in drawn):
                break
            run.draws += 1
            i = drawn[bisect.bisect_right(cum, next(draws))]
            try:
                item = next(iterators[i])
            except StopIteration:
                passes[i] += 1
                if stop == "first_exhausted" or (
                    all(passes[j] > 0 for j in drawn) and (stop == "all_exhausted")
                ):
                    break
                if run.pristine[i] is not None:  # a restored source would resume again
                    run.current[i] = copy.deepcopy(run.pristine[i])
                iterators[i], consumed[i] = iter(run.current[i]), 0
                try:
                    item = next(iterators[i])
                except StopIteration:
                    raise ValueError(
                        f"source {self.names[i]!r} yielded no item; every source drawn from "
                        "needs at least one item."
                    ) from None
            consumed[i] += 1
            counts[i] += 1
            yield item
        self._finish(run)

    def stats(self) -> dict[str, Any]:
        """Items yielded per source in the latest run in this process, their shares and the
        completed passes of each source."""
        run = self._last
        counts = run.counts if run is not None else [0] * len(self.names)
        passes = run.passes if run is not None else [0] * len(self.names)
        total = sum(counts) or 1
        return {
            "yielded": dict(zip(self.names, counts, strict=True)),
            "shares": {
                n: c / total if total else 0.0 for n, c in zip(self.names, counts, strict=True)
            },
            "passes": dict(zip(self.names, passes, strict=True)),
        }


def mix_streams(
    sources: Mapping[str, Any],
    *,
    weights: Any = None,
    temperature: float | None = None,
    sizes: Any = None,
    stop: str = "all_exhausted",
    seed: int | None = 0,
) -> MixedStream:
    """Interleave several sources, drawing the source of each item at random.

    Each item comes from source ``i`` with probability ``p_i``: the normalised ``weights``, or
    with ``temperature=T`` temperature sampling over the source sizes, ``p_i`` proportional to
    ``n_i^(1/T)`` (T=1 proportional to size, larger T flatter; as in multilingual and
    multi-dataset training). Without either, sources are equally likely.

    Args:
        sources: ``{name: iterable}``; each a re-iterable source (``IterableDataset``,
            webdataset, Hugging Face streaming dataset, list).
        weights: ``{name: weight}`` or one weight per source, non-negative, not all zero.
        temperature: ``T > 0``, used with ``sizes``.
        sizes: ``{name: n}`` or one size per source; default ``len(source)``.
        stop: ``"first_exhausted"`` stops when a drawn source runs out; ``"all_exhausted"``
            restarts sources that run out until every source with a positive weight has run out
            once (an epoch that sees every item at least once); ``"never"`` restarts forever.
        seed: seed of the draws.

    Returns:
        A :class:`MixedStream` (an ``IterableDataset``) with ``probabilities``, ``stats()``,
        ``set_epoch`` and ``state_dict`` / ``load_state_dict``. The draws of a run are a pure
        function of ``(seed, epoch, rank, worker)``; each source's share of ranks and workers
        is the source's own split.

    Example:
        >>> from balancers.streams import mix_streams
        >>> mixed = mix_streams({"a": range(300), "b": range(1000, 1100)}, temperature=2.0)
        >>> {k: round(p, 3) for k, p in mixed.probabilities.items()}
        {'a': 0.634, 'b': 0.366}
        >>> len(list(mixed)) >= 400
        True
    """
    return MixedStream(
        sources, weights=weights, temperature=temperature, sizes=sizes, stop=stop, seed=seed
    )
