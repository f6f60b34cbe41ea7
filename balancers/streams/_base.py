"""What every balancers stream shares: epochs, placement, randomness, resume and sources.

* Placement: the DDP rank (from ``torch.distributed`` when initialised, else 0) and the DataLoader
  worker (from ``get_worker_info()``, else 0). A stream never splits its source: each copy reads
  whatever share of the source its process/worker receives (webdataset ``split_by_node`` /
  ``split_by_worker``, Hugging Face ``split_dataset_by_node`` and its own worker split).
* Randomness: uniform draws in chunks from ``make_rng(seed, epoch, rank, worker, chunk)``; the
  ``i``-th draw of a run is a pure function of ``(seed, epoch, rank, worker, i)``, so a run's
  decisions are a pure function of those and of the items of its share, in order.
* Resume: a run's state is its position (items consumed per source, draws made) plus whatever
  the run accumulated; the source is restored with its own ``load_state_dict`` when it has one
  (Hugging Face ``IterableDataset``) and otherwise read again from its start with the consumed
  items skipped.
"""

from __future__ import annotations

import copy
import itertools
from abc import abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import torch.distributed as dist
from torch.utils.data import IterableDataset, get_worker_info

from .._rng import make_rng, resolve_seed
from .._validation import check_int, check_seed, describe_value

__all__ = ["StreamBase", "check_source", "open_source", "placement", "source_state", "uniforms"]

_CHUNK = 4096
_STATE_VERSION = 1


def placement() -> tuple[int, int]:
    """``(rank, worker)`` of the calling process: DDP rank and DataLoader worker id (or 0)."""
    rank = dist.get_rank() if dist.is_available() and dist.is_initialized() else 0
    info = get_worker_info()
    return rank, info.id if info is not None else 0


def uniforms(seed: int, epoch: int, rank: int, worker: int, start: int = 0) -> Iterator[float]:
    """The run's uniform draws in [0, 1), from draw number ``start`` on."""

    def chunks() -> Iterator[list[float]]:
        first = start // _CHUNK
        for k in itertools.count(first):
            values = make_rng(seed, epoch, rank, worker, k).random(_CHUNK).tolist()
            yield values[start - first * _CHUNK :] if k == first else values

    return itertools.chain.from_iterable(chunks())


def check_source(source: Any, name: str) -> Any:
    """Check that ``source`` can be iterated more than once (one pass per epoch)."""
    if isinstance(source, (str, bytes, Mapping)) or not isinstance(source, Iterable):
        raise TypeError(
            f"`{name}` should be an iterable of items (an IterableDataset, a webdataset or "
            f"Hugging Face streaming dataset, a list), but got {name}={describe_value(source)} "
            f"of type {type(source).__name__}."
        )
    if isinstance(source, Iterator):
        raise TypeError(
            f"`{name}` should be re-iterable (one pass per epoch), but got a one-shot iterator "
            f"of type {type(source).__name__}. Wrap the generator function in an "
            "IterableDataset whose __iter__ calls it."
        )
    return source


def _stateful(source: Any) -> bool:
    return callable(getattr(source, "state_dict", None)) and callable(
        getattr(source, "load_state_dict", None)
    )


def source_state(source: Any) -> Any:
    """The source's own state (``source.state_dict()``), or None when it has none."""
    return source.state_dict() if _stateful(source) else None


def open_source(source: Any, consumed: int, state: Any, name: str) -> tuple[Iterator[Any], Any]:
    """An iterator over ``source`` positioned after its first ``consumed`` items, and a pristine
    copy of the source for later passes (None when ``source`` itself is pristine).

    A source with a saved state is restored with ``load_state_dict`` (after copying it: a Hugging
    Face ``IterableDataset`` keeps a loaded state for every later pass of the same epoch); any
    other source is read again from its start and its first ``consumed`` items are skipped.
    """
    if consumed == 0:
        return iter(source), None
    if state is not None and _stateful(source):
        pristine = copy.deepcopy(source)
        source.load_state_dict(state)
        return iter(source), pristine
    iterator = iter(source)
    skipped = sum(1 for _ in itertools.islice(iterator, consumed))
    if skipped < consumed:
        raise ValueError(
            f"cannot resume: `{name}` yielded {skipped} items, fewer than the {consumed} it had "
            "yielded when the state was saved. Resume requires a source that yields the same "
            "items again (or has state_dict/load_state_dict)."
        )
    return iterator, None


class StreamBase(IterableDataset[Any]):
    """Epochs, placement and resume for an iterable wrapper; subclasses implement
    :meth:`_run` (the generator of one run) and :meth:`_sources`."""

    def __init__(self, seed: int | None) -> None:
        checked = check_seed(seed)
        self.seed: int = resolve_seed(checked)
        self._epoch = 0
        self._pinned = False
        self._resume: dict[str, Any] | None = None
        self._live: Any = None  # state of the current run, kept up to date
        self._last: Any = None  # the latest run, for stats()

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (for DataLoader workers) without the current and latest runs: they hold
        live iterators; use :meth:`state_dict` to carry a position."""
        state = self.__dict__.copy()
        state["_live"] = state["_last"] = None
        return state

    @abstractmethod
    def _sources(self) -> list[Any]:
        """The wrapped sources (for ``set_epoch`` forwarding)."""

    @abstractmethod
    def _start(self, epoch: int, rank: int, worker: int, resumed: dict[str, Any] | None) -> Any:
        """The live state of a new run (restored from ``resumed`` when given)."""

    @abstractmethod
    def _run(self, run: Any) -> Iterator[Any]:
        """Yield the items of one run, keeping ``run`` up to date at every ``yield``."""

    @abstractmethod
    def _snapshot(self, run: Any) -> dict[str, Any]:
        """A picklable copy of the live state ``run`` (with the sources' own states)."""

    def _finish(self, run: Any) -> None:
        """Called by :meth:`_run` when a run ends: later states point at the next epoch."""
        if self._live is run:
            self._live = None

    @property
    def epoch(self) -> int:
        """The epoch the next fresh iteration will use."""
        return self._epoch

    def set_epoch(self, epoch: int) -> None:
        """Pin the epoch of the following iterations (call it every epoch, as for
        ``DistributedSampler``; under DataLoader workers it is the only way the workers' copies
        learn the epoch). Each iteration passes its epoch on to the sources that have
        ``set_epoch`` (a Hugging Face ``IterableDataset`` reshuffles with it)."""
        e = check_int(epoch, "epoch", minimum=0)
        assert e is not None
        self._epoch = e
        self._pinned = True
        if self._resume is not None and self._resume["epoch"] != e:
            self._resume = None

    def __iter__(self) -> Iterator[Any]:
        return self._iterate(*placement())

    def _iterate(self, rank: int, worker: int) -> Iterator[Any]:
        """One run as DDP rank ``rank``, DataLoader worker ``worker`` (``__iter__`` passes the
        caller's placement; tests replay a worker's share in-process)."""
        resumed, self._resume = self._resume, None
        epoch = resumed["epoch"] if resumed is not None else self._epoch
        if not self._pinned:
            self._epoch = epoch + 1
        if resumed is not None and (resumed["rank"], resumed["worker"]) != (rank, worker):
            raise ValueError(
                f"the loaded state was saved by rank {resumed['rank']}, worker "
                f"{resumed['worker']}, but it is resumed on rank {rank}, worker {worker}; load "
                "each rank's and worker's own state (StatefulDataLoader does this for workers)."
            )
        for source in self._sources():
            if callable(getattr(source, "set_epoch", None)):
                source.set_epoch(epoch)
        run = self._start(epoch, rank, worker, resumed)
        self._live = run
        return self._run(run)

    def state_dict(self) -> dict[str, Any]:
        """Where iteration stands, for :meth:`load_state_dict` (picklable, e.g. ``torch.save``).

        During an iteration: the run's position and accumulated state, and the source's own
        ``state_dict()`` where it has one. Between iterations: the next epoch.
        """
        header = {"version": _STATE_VERSION, "seed": self.seed, "pinned": self._pinned}
        if self._live is not None:
            live = self._live
            where = {"epoch": live.epoch, "rank": live.rank, "worker": live.worker}
            return {**header, "run": True, **where, **self._snapshot(live)}
        if self._resume is not None:
            return {**header, **self._resume}
        return {**header, "run": False, "epoch": self._epoch}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Resume from :meth:`state_dict`: the next iteration continues where it stopped.

        Raises:
            TypeError: ``state_dict`` is not a dict.
            ValueError: it lacks keys or was saved with a different seed.
        """
        if not isinstance(state_dict, dict):
            raise TypeError(
                f"`state_dict` should be a dict from state_dict(), but got "
                f"{type(state_dict).__name__}."
            )
        missing = {"seed", "epoch", "run"} - set(state_dict)
        if missing:
            raise ValueError(
                f"`state_dict` should come from {type(self).__name__}.state_dict(), but it lacks "
                f"the keys {sorted(missing)}."
            )
        if state_dict["seed"] != self.seed:
            raise ValueError(
                f"`state_dict` was saved with seed={state_dict['seed']!r}, but this stream has "
                f"seed={self.seed!r}; resuming would yield a different sequence. Build the "
                f"stream with seed={state_dict['seed']!r}."
            )
        self._pinned = bool(state_dict.get("pinned", False))
        self._epoch = int(state_dict["epoch"])
        self._resume = dict(state_dict) if state_dict["run"] else None
        self._live = None
