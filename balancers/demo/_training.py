"""Running the demo: train the same network once per strategy and evaluate each on the test set."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn
from torch.utils.data import DataLoader, RandomSampler

from .._validation import check_choice, check_int, check_real, check_seed
from ..metrics import classification_report
from ._data import (
    DATASETS,
    PROFILES,
    DemoData,
    ImageTensors,
    Normalize,
    digits_split,
    torchvision_split,
)
from ._model import build_model
from ._report import DemoResult, StrategyResult
from ._strategies import STRATEGIES, Setup, Strategy, resolve_strategies

__all__ = ["DemoConfig", "run_demo", "shot_thresholds"]


@dataclass(frozen=True)
class DemoConfig:
    """Parameters of a demo run (``None`` picks the dataset's default, see :func:`run_demo`)."""

    dataset: str = "digits"
    root: Path | None = None
    download: bool = False
    ratio: float = 20.0
    profile: str = "exp"
    strategies: str | Sequence[str] | None = None
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    n_max: int | None = None
    test_per_class: int | None = None
    seed: int = 0
    device: str = "cpu"
    threads: int = 1
    quick: bool = False
    progress: bool = True


#: defaults per dataset: (epochs, batch size, learning rate, n_max); --quick overrides.
_DEFAULTS: dict[str, tuple[int, int, float, int | None]] = {
    "digits": (30, 32, 0.05, None),
    "mnist": (8, 64, 0.05, 1000),
    "fashionmnist": (8, 64, 0.05, 1000),
}
_QUICK: dict[str, tuple[int, int | None, int | None]] = {
    # epochs, n_max, test_per_class
    "digits": (4, None, None),
    "mnist": (2, 200, 100),
    "fashionmnist": (2, 200, 100),
}


def _check_device(device: Any) -> torch.device:
    if not isinstance(device, str):
        raise TypeError(f"`device` should be a string such as 'cpu' or 'cuda', but got {device!r}.")
    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(
            f"`device` should be a torch device such as 'cpu', 'cuda' or 'cuda:1', but got "
            f"device={device!r}."
        ) from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"`device` is {device!r}, but CUDA is not available here; use --device cpu."
        )
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(
            f"`device` is {device!r}, but MPS is not available here; use --device cpu."
        )
    return dev


def _train_one(
    strategy: Strategy,
    setup: Setup,
    data: DemoData,
    *,
    batch_size: int,
    lr: float,
    device: torch.device,
    progress: bool,
    few: float,
    many: float,
) -> StrategyResult:
    from tqdm.auto import tqdm

    start = time.perf_counter()
    plan = strategy.plan(setup)
    model = build_model(data.image_size, len(data.classes), setup.seed).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=setup.epochs)
    generator = torch.Generator().manual_seed(setup.seed)
    shuffle = RandomSampler(plan.dataset, generator=generator)  # type: ignore[arg-type]
    # the loader draws a worker base seed per epoch: from its own generator, not the global one
    loader_generator = torch.Generator().manual_seed(setup.seed)
    last = float("nan")
    with tqdm(
        total=setup.epochs,
        desc=f"{strategy.title:<32}",
        disable=not progress,
        leave=True,
        unit="epoch",
    ) as bar:
        for epoch in range(setup.epochs):
            for hook in plan.on_epoch:
                hook(epoch)
            sampler = plan.sampler(epoch)
            loader = DataLoader(
                plan.dataset,
                batch_size=batch_size,
                sampler=sampler or shuffle,
                generator=loader_generator,
            )
            criterion = plan.loss(epoch).to(device)
            model.train()
            total, seen = 0.0, 0
            for x, y in loader:
                x, y = x.to(device), y.to(device)
                loss = criterion(model(x), y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * int(y.shape[0])
                seen += int(y.shape[0])
            last = total / max(seen, 1)
            bar.set_postfix(loss=f"{last:.3f}")
            schedule.step()
            bar.update(1)
    predictions = _predict(model, data, device)
    report = classification_report(
        data.test_labels,
        predictions,
        labels=data.classes,
        train_counts=data.train_counts,
        many=many,
        few=few,
    )
    return StrategyResult(strategy.key, strategy.title, report, time.perf_counter() - start, last)


@torch.no_grad()
def _predict(model: nn.Module, data: DemoData, device: torch.device) -> npt.NDArray[np.int64]:
    model.eval()
    mean, std = data.normalization()
    normalize = Normalize(mean, std)
    out = []
    for chunk in torch.split(data.test_images, 2048):
        x = ((chunk.to(torch.float32) / 255.0 - normalize.mean) / normalize.std).unsqueeze(1)
        out.append(model(x.to(device)).argmax(dim=1).cpu())
    return torch.cat(out).numpy().astype(np.int64)


def shot_thresholds(train_counts: Sequence[int], ratio: float) -> tuple[float, float]:
    """``(many, few)``: the log-count range of the long tail cut in thirds.

    Many-shot classes have more than ``n_max * ratio**(-1/3)`` training images, few-shot classes
    fewer than ``n_max * ratio**(-2/3)`` (for an exponential profile with ratio 20 and 10
    classes: the three largest and the three smallest classes).
    """
    n_max = max(train_counts)
    return round(n_max * ratio ** (-1 / 3), 1), round(n_max * ratio ** (-2 / 3), 1)


def run_demo(config: DemoConfig, *, log: Callable[[str], None] | None = None) -> DemoResult:
    """Run the comparison described by ``config`` and return every number.

    Raises:
        ValueError: unknown dataset, strategy or profile; a bad ratio, epochs or device.
        FileNotFoundError: MNIST/Fashion-MNIST files are not under ``root`` (the message says
            where they go).
        ImportError: an explicitly requested strategy needs a missing extra.
    """
    dataset = check_choice(config.dataset, "dataset", DATASETS)
    profile = check_choice(config.profile, "profile", PROFILES)
    ratio = check_real(config.ratio, "ratio", low=1.0, hint="It is n_max / n_min, e.g. 20.")
    seed = check_seed(config.seed)
    assert ratio is not None and seed is not None
    keys, notes = resolve_strategies(config.strategies)
    device = _check_device(config.device)
    epochs0, batch0, lr0, n_max0 = _DEFAULTS[dataset]
    q_epochs, q_n_max, q_test = _QUICK[dataset]
    if config.quick:
        epochs0, n_max0 = q_epochs, q_n_max if q_n_max is not None else n_max0
    epochs = check_int(config.epochs if config.epochs is not None else epochs0, "epochs", minimum=1)
    batch_size = check_int(
        config.batch_size if config.batch_size is not None else batch0, "batch_size", minimum=1
    )
    lr = check_real(config.lr if config.lr is not None else lr0, "lr", low=0.0, low_inclusive=False)
    n_max = check_int(
        config.n_max if config.n_max is not None else n_max0, "n_max", minimum=1, allow_none=True
    )
    test_per_class = check_int(
        config.test_per_class
        if config.test_per_class is not None
        else (q_test if config.quick else None),
        "test_per_class",
        minimum=1,
        allow_none=True,
    )
    threads = check_int(
        config.threads,
        "threads",
        minimum=1,
        hint="Small networks train fastest on 1 thread; more threads help LeNet on MNIST a bit.",
    )
    assert epochs is not None and batch_size is not None and lr is not None and threads is not None
    if dataset == "digits":
        data = digits_split(ratio, profile, seed, n_max, test_per_class)
    else:
        root = Path(config.root) if config.root is not None else Path("datasets")
        data = torchvision_split(
            dataset, root, bool(config.download), ratio, profile, seed, n_max, test_per_class
        )
    mean, std = data.normalization()
    train = ImageTensors(data.train_images, torch.from_numpy(data.train_labels), mean, std)
    setup = Setup(train=train, labels=data.train_labels, epochs=epochs, seed=seed)
    many, few = shot_thresholds(data.train_counts, ratio)
    settings = {
        "dataset": dataset,
        "ratio": ratio,
        "profile": profile,
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "seed": seed,
        "device": str(device),
        "threads": threads,
        "quick": bool(config.quick),
        "strategies": keys,
        "many": many,
        "few": few,
        "optimizer": "SGD(momentum=0.9, weight_decay=5e-4), cosine learning-rate decay",
        "model": "small CNN (2 conv + 2 linear)" if data.image_size <= 8 else "LeNet-5",
    }
    result = DemoResult(data=data, settings=settings, notes=list(notes))
    if log is not None:
        log(result.header())
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for key in keys:
            result.results.append(
                _train_one(
                    STRATEGIES[key],
                    setup,
                    data,
                    batch_size=batch_size,
                    lr=lr,
                    device=device,
                    progress=config.progress,
                    few=few,
                    many=many,
                )
            )
    finally:
        torch.set_num_threads(previous_threads)
    return result
