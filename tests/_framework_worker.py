"""Trains a tiny model with a balancers sampler under one framework and records what was fetched.

Run by ``tests/test_frameworks.py``, under ``torchrun`` (2 processes, gloo, CPU) or as a single
process: ``python tests/_framework_worker.py CASES OUT_DIR``, CASES a comma-separated list of
``framework/mode``. For each case each process trains twice (two fresh runs with the same seed,
2 epochs each) and writes ``OUT_DIR/rank{r}.json``:
``{"world": W, "runs": {case: [[indices fetched], ...]}}``.

Frameworks and the pattern each one needs (the one documented in docs/guide/frameworks.md):

* ``lightning``: ``Trainer(use_distributed_sampler=False)``, the sampler built in
  ``train_dataloader()`` (after the process group exists, so it shards itself); mode
  ``batches`` passes ``sampler.batches(n)`` as the batch sampler;
* ``accelerate``: a global sampler (``num_replicas=1, rank=0``); ``accelerator.prepare`` shards
  its batches; mode ``batches`` passes ``sampler.batches(n)`` as the batch sampler;
* ``transformers``: a ``Trainer`` subclass whose ``_get_train_sampler`` returns a global sampler.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

N, BATCH, EPOCHS, SEED = 32, 4, 2, 7
LABELS = np.array([0] * 24 + [1] * 6 + [2] * 2)


class Recording(Dataset[dict[str, torch.Tensor]]):
    """Features and a class per index; remembers every index fetched, in order."""

    def __init__(self) -> None:
        self.fetched: list[int] = []
        self.x = torch.linspace(-1, 1, N * 3).reshape(N, 3)

    def __len__(self) -> int:
        return N

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        self.fetched.append(int(i))
        return {"x": self.x[i], "labels": torch.tensor(int(LABELS[i]))}


def make_sampler(**kwargs: Any) -> Any:
    from balancers import ClassBalancedSampler

    return ClassBalancedSampler(LABELS, seed=SEED, **kwargs)


def run_lightning(mode: str) -> list[int]:
    import lightning as L

    data = Recording()

    class Module(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Linear(3, 3)

        def training_step(self, batch: dict[str, torch.Tensor], _: int) -> torch.Tensor:
            return nn.functional.cross_entropy(self.net(batch["x"]), batch["labels"])

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.SGD(self.parameters(), lr=0.1)

        def train_dataloader(self) -> DataLoader[Any]:
            # Built here, after the process group exists: the sampler shards itself.
            sampler = make_sampler()
            if mode == "batches":
                return DataLoader(data, batch_sampler=sampler.batches(BATCH))
            return DataLoader(data, sampler=sampler, batch_size=BATCH)

    trainer = L.Trainer(
        max_epochs=EPOCHS,
        accelerator="cpu",
        devices=int(os.environ.get("WORLD_SIZE", 1)),
        strategy="ddp" if "WORLD_SIZE" in os.environ else "auto",
        use_distributed_sampler=False,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(Module())
    return data.fetched


def run_accelerate(mode: str) -> list[int]:
    from accelerate import Accelerator

    accelerator = Accelerator(cpu=True)
    data = Recording()
    sampler = make_sampler(num_replicas=1, rank=0)  # global order: accelerate shards the batches
    if mode == "batches":
        loader = DataLoader(data, batch_sampler=sampler.batches(BATCH))
    else:
        loader = DataLoader(data, sampler=sampler, batch_size=BATCH)
    model = nn.Linear(3, 3)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
    for epoch in range(EPOCHS):
        loader.set_epoch(epoch)
        for batch in loader:
            loss = nn.functional.cross_entropy(model(batch["x"]), batch["labels"])
            accelerator.backward(loss)
            optimizer.step()
            optimizer.zero_grad()
    return data.fetched


def run_transformers(mode: str, out: Path) -> list[int]:
    from transformers import Trainer, TrainingArguments

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Linear(3, 3)

        def forward(self, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
            return {"loss": nn.functional.cross_entropy(self.net(x), labels)}

    class BalancedTrainer(Trainer):
        def _get_train_sampler(self, train_dataset: Any = None) -> Any:
            return make_sampler(num_replicas=1, rank=0)  # the Trainer shards the batches

    data = Recording()
    args = TrainingArguments(
        output_dir=str(out / "trainer"),
        per_device_train_batch_size=BATCH,
        num_train_epochs=EPOCHS,
        use_cpu=True,
        report_to="none",
        save_strategy="no",
        logging_strategy="no",
        disable_tqdm=True,
        dataloader_num_workers=0,
        seed=SEED,
    )
    BalancedTrainer(model=Model(), args=args, train_dataset=data).train()
    return data.fetched


def main() -> None:
    cases, out = sys.argv[1].split(","), Path(sys.argv[2])
    warnings.simplefilter("ignore")  # framework advice (few workers, no GPU) is not under test
    runners = {"lightning": run_lightning, "accelerate": run_accelerate}
    runs = {}
    for case in cases:
        framework, mode = case.split("/")
        if framework == "transformers":
            runs[case] = [run_transformers(mode, out) for _ in range(2)]
        else:
            runs[case] = [runners[framework](mode) for _ in range(2)]
    rank = int(os.environ.get("RANK", 0))
    world = int(os.environ.get("WORLD_SIZE", 1))
    out.mkdir(parents=True, exist_ok=True)
    (out / f"rank{rank}.json").write_text(json.dumps({"world": world, "runs": runs}))
    # Tear the gloo group down before the interpreter exits: a group left to the interpreter's
    # shutdown can abort the process ("terminate called without an active exception").
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
