"""A balancers sampler under Lightning, accelerate and the transformers Trainer, really trained.

Each case runs ``tests/_framework_worker.py`` (a tiny model, 2 epochs, 32 samples, batch 4) in
2 processes under ``torchrun`` (gloo, CPU) and in a single process, and checks what every rank
fetched against the sampler's global order of each epoch:

* per epoch, the fetched indices over all ranks are that epoch's global sequence (as a multiset);
* each rank fetched exactly its shard by the framework's rule: positions ``r, r + W, ...`` when
  the sampler shards itself (Lightning), batches ``r, r + W, ...`` when the framework shards a
  global sampler's batches (accelerate, the Trainer); so ranks are disjoint by position;
* epoch 1 differs from epoch 0, and a second run with the same seed fetched the same indices.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from balancers import ClassBalancedSampler

WORKER = Path(__file__).with_name("_framework_worker.py")
N, BATCH, EPOCHS, SEED = 32, 4, 2, 7
LABELS = np.array([0] * 24 + [1] * 6 + [2] * 2)

#: case -> the rule by which the framework gives each rank its part of the global order
RULES = {
    "lightning/default": "positions",
    "lightning/batches": "positions",
    "accelerate/default": "batches",
    "accelerate/batches": "batches",
    "transformers/default": "batches",
}
#: the launches (few, as each process start imports the frameworks): processes -> case groups
LAUNCHES = {
    2: [
        ("lightning/default", "lightning/batches"),
        ("accelerate/default", "accelerate/batches", "transformers/default"),
    ],
    1: [tuple(RULES)],
}


def _run(cases: tuple[str, ...], out: Path, processes: int) -> list[dict[str, list[list[int]]]]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(WORKER.parents[1]), *sys.path])}
    env.pop("WORLD_SIZE", None)
    arguments = [str(WORKER), ",".join(cases), str(out)]
    if processes == 1:
        command = [sys.executable, *arguments]
    else:
        launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
        command = [*launcher, f"--nproc_per_node={processes}", *arguments]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    results = [json.loads((out / f"rank{r}.json").read_text()) for r in range(processes)]
    assert [r["world"] for r in results] == [processes] * processes
    return [r["runs"] for r in results]


Fetched = Callable[[str, int], list[list[list[int]]]]


@pytest.fixture(scope="module")
def fetched(tmp_path_factory: pytest.TempPathFactory) -> Fetched:
    """``fetched(case, processes)``: per rank, the two runs' fetched indices (launched lazily)."""
    done: dict[tuple[str, int], list[list[list[int]]]] = {}

    def get(case: str, processes: int) -> list[list[list[int]]]:
        framework = case.split("/")[0]
        if importlib.util.find_spec(framework) is None:
            pytest.skip(f"{framework} is not installed (pip install 'balancers[{framework}]')")
        if (case, processes) not in done:
            group = next(g for g in LAUNCHES[processes] if case in g)
            out = tmp_path_factory.mktemp(f"{framework}-{processes}")
            per_rank = _run(group, out, processes)
            for name in group:
                done[(name, processes)] = [rank_runs[name] for rank_runs in per_rank]
        return done[(case, processes)]

    return get


def _expected_shard(order: np.ndarray, rank: int, world: int, rule: str) -> list[int]:
    if rule == "positions":
        return order[rank::world].tolist()
    batches = [order[i : i + BATCH] for i in range(0, len(order), BATCH)]
    return np.concatenate(batches[rank::world]).tolist()


@pytest.mark.parametrize("processes", [2, 1], ids=["2-processes", "1-process"])
@pytest.mark.parametrize("case", list(RULES))
def test_each_rank_fetches_its_shard_of_the_global_order(
    fetched: Fetched, case: str, processes: int
) -> None:
    runs = fetched(case, processes)
    sampler = ClassBalancedSampler(LABELS, seed=SEED, num_replicas=1, rank=0)
    orders = [sampler.global_indices(e) for e in range(EPOCHS)]
    assert orders[0].tolist() != orders[1].tolist()
    per_epoch = N // processes
    for rank, (first, second) in enumerate(runs):
        assert first == second, "a second run with the same seed fetched other indices"
        assert len(first) == EPOCHS * per_epoch
        epochs = [first[e * per_epoch : (e + 1) * per_epoch] for e in range(EPOCHS)]
        assert epochs[0] != epochs[1]
        for e, got in enumerate(epochs):
            assert got == _expected_shard(orders[e], rank, processes, RULES[case]), (rank, e)
    for e in range(EPOCHS):
        union = Counter(i for first, _ in runs for i in first[e * per_epoch : (e + 1) * per_epoch])
        assert union == Counter(orders[e].tolist())
