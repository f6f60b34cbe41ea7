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
from pathlib import Path

import numpy as np
import pytest

from balancers import ClassBalancedSampler

WORKER = Path(__file__).with_name("_framework_worker.py")
N, BATCH, EPOCHS, SEED = 32, 4, 2, 7
LABELS = np.array([0] * 24 + [1] * 6 + [2] * 2)

CASES = [
    pytest.param("lightning", "default", "positions", id="lightning"),
    pytest.param("accelerate", "default,batches", "batches", id="accelerate"),
    pytest.param("transformers", "default", "batches", id="transformers"),
]


def _run(framework: str, modes: str, out: Path, processes: int) -> list[dict[str, list[list[int]]]]:
    if importlib.util.find_spec(framework) is None:
        pytest.skip(f"{framework} is not installed (pip install 'balancers[{framework}]')")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(WORKER.parents[1]), *sys.path])}
    env.pop("WORLD_SIZE", None)
    if processes == 1:
        command = [sys.executable, str(WORKER), framework, modes, str(out)]
    else:
        command = [
            *(sys.executable, "-m", "torch.distributed.run", "--standalone"),
            f"--nproc_per_node={processes}",
            *(str(WORKER), framework, modes, str(out)),
        ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    results = [json.loads((out / f"rank{r}.json").read_text()) for r in range(processes)]
    assert [r["world"] for r in results] == [processes] * processes
    return [r["runs"] for r in results]


def _expected_shard(order: np.ndarray, rank: int, world: int, rule: str) -> list[int]:
    if rule == "positions":
        return order[rank::world].tolist()
    batches = [order[i : i + BATCH] for i in range(0, len(order), BATCH)]
    return np.concatenate(batches[rank::world]).tolist()


@pytest.mark.parametrize("processes", [2, 1], ids=["2-processes", "1-process"])
@pytest.mark.parametrize(("framework", "modes", "rule"), CASES)
def test_each_rank_fetches_its_shard_of_the_global_order(
    framework: str, modes: str, rule: str, processes: int, tmp_path: Path
) -> None:
    runs = _run(framework, modes, tmp_path, processes)
    sampler = ClassBalancedSampler(LABELS, seed=SEED, num_replicas=1, rank=0)
    orders = [sampler.global_indices(e) for e in range(EPOCHS)]
    assert orders[0].tolist() != orders[1].tolist()
    per_epoch = N // processes
    for mode in modes.split(","):
        for r, rank_runs in enumerate(runs):
            first, second = rank_runs[mode]
            assert first == second, f"{mode}: a second run with the same seed fetched other indices"
            epochs = [first[e * per_epoch : (e + 1) * per_epoch] for e in range(EPOCHS)]
            assert len(first) == EPOCHS * per_epoch
            assert epochs[0] != epochs[1]
            for e, fetched in enumerate(epochs):
                assert fetched == _expected_shard(orders[e], r, processes, rule), (mode, r, e)
        for e in range(EPOCHS):
            union = Counter(
                i for rank_runs in runs for i in rank_runs[mode][0][e * per_epoch :][:per_epoch]
            )
            assert union == Counter(orders[e].tolist())
