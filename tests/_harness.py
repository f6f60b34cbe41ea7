"""Test harnesses shared by the sampler tests: real gloo DDP and StatefulDataLoader resume.

Targets run in spawned processes, so everything passed to :func:`run_ddp` must be picklable
(module-level functions, ``functools.partial`` of balancers classes, arrays).
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.utils.data import DataLoader, Dataset


class IndexDataset(Dataset[int]):
    """A dataset whose item ``i`` is ``i``: what a loader yields is the sampler's order."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> int:
        return i


def _worker(
    rank: int,
    world_size: int,
    init_file: str,
    out_dir: str,
    target: Callable[..., Any],
    args: tuple,
) -> None:
    dist.init_process_group(
        "gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size
    )
    try:
        result = target(*args)
        with open(Path(out_dir) / f"rank{rank}.pkl", "wb") as fh:
            pickle.dump(result, fh)
    finally:
        dist.destroy_process_group()


def run_ddp(world_size: int, target: Callable[..., Any], *args: Any) -> list[Any]:
    """Run ``target(*args)`` on ``world_size`` gloo ranks; return the results by rank."""
    with tempfile.TemporaryDirectory() as tmp:
        init_file = str(Path(tmp) / "init")
        mp.spawn(
            _worker,
            args=(world_size, init_file, tmp, target, args),
            nprocs=world_size,
            join=True,
        )
        results = []
        for rank in range(world_size):
            with open(Path(tmp) / f"rank{rank}.pkl", "rb") as fh:
                results.append(pickle.load(fh))
    return results


def loader_epochs(
    factories: dict[str, Callable[[], Any]], n: int, epochs: int, batch_size: int = 4
) -> dict[str, Any]:
    """DDP target: build each sampler on this rank (num_replicas/rank from the process group),
    iterate ``epochs`` epochs through a DataLoader with ``set_epoch``, gather all ranks' shards.

    Returns, per sampler: ``{"len", "shards": [epoch][rank] -> list, "global": [epoch] -> array}``.
    """
    out: dict[str, Any] = {}
    for name, factory in factories.items():
        sampler = factory()
        is_batch = getattr(sampler, "_yields_batches", False)
        if is_batch:
            loader = DataLoader(IndexDataset(n), batch_sampler=sampler)
        else:
            loader = DataLoader(IndexDataset(n), sampler=sampler, batch_size=batch_size)
        shards, global_seqs = [], []
        for epoch in range(epochs):
            sampler.set_epoch(epoch)
            mine: list[Any] = []
            for batch in loader:
                mine.append(batch.tolist()) if is_batch else mine.extend(batch.tolist())
            gathered: list[Any] = [None] * dist.get_world_size()
            dist.all_gather_object(gathered, mine)
            shards.append(gathered)
            global_seqs.append(sampler.global_indices(epoch))
        out[name] = {"len": len(sampler), "shards": shards, "global": global_seqs}
    return out


def expected_shards(sequence: np.ndarray, world_size: int, drop_last: bool) -> list[list[Any]]:
    """What each rank should yield for a global sequence (DistributedSampler's rule)."""
    seq = list(sequence.tolist())
    n = len(seq)
    if drop_last:
        total = (n // world_size) * world_size
        seq = seq[:total]
    else:
        total = -(-n // world_size) * world_size
        while len(seq) < total:
            seq += seq[: total - len(seq)]
    return [seq[r:total:world_size] for r in range(world_size)]


def interrupted_and_resumed(
    make_sampler: Callable[[], Any],
    n: int,
    *,
    batch_size: int,
    num_workers: int,
    stop_after: int,
    batch_sampler: bool = False,
) -> tuple[list[Any], list[Any], list[Any]]:
    """Iterate a StatefulDataLoader for ``stop_after`` batches, save its state, restore into a
    fresh loader with a fresh sampler and finish the epoch.

    Returns ``(uninterrupted, before, after)`` lists of yielded items (batches flattened unless
    ``batch_sampler``).
    """
    from torchdata.stateful_dataloader import StatefulDataLoader

    def make_loader(sampler: Any) -> Any:
        if batch_sampler:
            return StatefulDataLoader(
                IndexDataset(n), batch_sampler=sampler, num_workers=num_workers
            )
        return StatefulDataLoader(
            IndexDataset(n), sampler=sampler, batch_size=batch_size, num_workers=num_workers
        )

    def items(batch: torch.Tensor) -> list[Any]:
        return [batch.tolist()] if batch_sampler else batch.tolist()

    full: list[Any] = []
    for batch in make_loader(make_sampler()):
        full += items(batch)

    loader = make_loader(make_sampler())
    before: list[Any] = []
    iterator = iter(loader)
    for _ in range(stop_after):
        before += items(next(iterator))
    state = loader.state_dict()
    del iterator, loader

    resumed = make_loader(make_sampler())
    resumed.load_state_dict(state)
    after: list[Any] = []
    for batch in resumed:
        after += items(batch)
    return full, before, after


def check_shards(result: dict[str, Any], world_size: int, drop_last: bool) -> None:
    """Assert that gathered shards match the global sequence under the DDP rule."""
    for shards, global_seq in zip(result["shards"], result["global"], strict=True):
        expected = expected_shards(np.asarray(global_seq), world_size, drop_last)
        assert [list(s) for s in shards] == expected
        assert len({len(s) for s in shards}) == 1


def as_factories(**kwargs: Callable[[], Any]) -> dict[str, Callable[[], Any]]:
    return dict(kwargs)


__all__: Sequence[str] = [
    "IndexDataset",
    "as_factories",
    "check_shards",
    "expected_shards",
    "interrupted_and_resumed",
    "loader_epochs",
    "run_ddp",
]
