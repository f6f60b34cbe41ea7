"""Shared pieces of the example trainers: models, device set-up, in-memory batches, reports.

The example scripts keep whole datasets in memory as ``uint8`` tensors (on the GPU when they fit)
and gather each batch by index, so a sampler's epoch sequence (``sampler.rank_indices(epoch)``)
drives training without a ``DataLoader`` in the way. A ``DataLoader`` with workers is used only
where per-item work is unavoidable (albumentations on the clones of augmentation oversampling).

Models:

* :class:`LeNet`: LeNet-5 (LeCun et al. 1998) with ReLU or sigmoid activations, for 28x28 and
  32x32 inputs;
* :class:`ResNet32`: the CIFAR ResNet-32 of He et al. (2016) with identity (option A)
  shortcuts, as used by the long-tailed CIFAR literature (Cui et al. 2019, Cao et al. 2019);
* :class:`GridNet`: a small CNN with global max pooling for the 56x56 multilabel digit grids.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F
from torch import nn

# ---------------------------------------------------------------------------------------------
# runtime: device, AMP, channels-last, threads
# ---------------------------------------------------------------------------------------------


@dataclass
class Runtime:
    """Where and how a model runs."""

    device: torch.device
    amp: bool
    channels_last: bool
    amp_dtype: torch.dtype = torch.float16
    scaler: Any = None

    def autocast(self) -> Any:
        """An autocast context (a no-op when AMP is off)."""
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype, enabled=self.amp)

    def sync(self) -> None:
        """Wait for the device (for honest timings)."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def prepare_model(self, model: nn.Module) -> nn.Module:
        model = model.to(self.device)
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        return model

    def describe(self) -> dict[str, Any]:
        return {
            "device": str(self.device),
            "amp": self.amp,
            "amp_dtype": str(self.amp_dtype).replace("torch.", "") if self.amp else None,
            "channels_last": self.channels_last,
        }


def setup_runtime(
    device: str = "auto", *, amp: bool = True, channels_last: bool = True, threads: int = 2
) -> Runtime:
    """Pick the device; AMP and channels-last are used only on CUDA (and only when asked).

    On CUDA, AMP runs in bfloat16 where the GPU supports it (no loss scaling needed), else in
    float16 with a ``GradScaler``.
    """
    torch.set_num_threads(threads)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    on_cuda = dev.type == "cuda"
    use_amp = amp and on_cuda
    dtype = torch.float16
    scaler = None
    if use_amp:
        if torch.cuda.is_bf16_supported():
            dtype = torch.bfloat16
        else:
            scaler = torch.amp.GradScaler("cuda")
    if on_cuda:
        torch.backends.cudnn.benchmark = True
    return Runtime(dev, use_amp, channels_last and on_cuda, dtype, scaler)


def hardware() -> dict[str, Any]:
    """A short description of the machine, for the results files."""
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            names = [line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")]
        if names:
            info["cpu"] = names[0]
    except OSError:
        pass
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    return info


def git_revision() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() or None


def command_line() -> str:
    """The command that is running, relative to the repository root where possible."""
    args = list(sys.argv)
    script = Path(args[0]).resolve() if args else None
    root = Path(__file__).resolve().parent.parent
    if script is not None and script.is_relative_to(root):
        args[0] = str(script.relative_to(root))
    return "python " + " ".join(args)


# ---------------------------------------------------------------------------------------------
# models
# ---------------------------------------------------------------------------------------------


def _activation(name: str) -> nn.Module:
    if name == "relu":
        return nn.ReLU(inplace=True)
    if name == "sigmoid":
        return nn.Sigmoid()
    raise ValueError(f"`activation` should be 'relu' or 'sigmoid', but got {name!r}.")


class LeNet(nn.Module):
    """LeNet-5 (LeCun et al. 1998): two 5x5 convolutions with max pooling, three linear layers.

    28x28 inputs are padded by 2 so both sizes reach the classic 16x5x5 feature map.
    """

    def __init__(
        self, num_classes: int, in_channels: int = 1, size: int = 28, activation: str = "relu"
    ) -> None:
        super().__init__()
        pad = (32 - size) // 2
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5, padding=pad),
            _activation(activation),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5),
            _activation(activation),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120),
            _activation(activation),
            nn.Linear(120, 84),
            _activation(activation),
            nn.Linear(84, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class _Block(nn.Module):
    """A basic residual block; the shortcut subsamples and zero-pads channels (option A)."""

    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.stride = stride
        self.extra = planes - in_planes

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride != 1:
            x = x[:, :, :: self.stride, :: self.stride]
        if self.extra:
            half = self.extra // 2
            x = F.pad(x, (0, 0, 0, 0, half, self.extra - half))
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet32(nn.Module):
    """ResNet-32 for 32x32 images (He et al. 2016, section 4.2): 3 stages of 5 blocks."""

    def __init__(self, num_classes: int, in_channels: int = 3, blocks: int = 5) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, 16, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        layers: list[nn.Module] = []
        in_planes = 16
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            for b in range(blocks):
                layers.append(_Block(in_planes, planes, stride if b == 0 else 1))
                in_planes = planes
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(64, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d | nn.Linear):
                nn.init.kaiming_normal_(m.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.layers(F.relu(self.bn(self.conv(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(out, 1), 1))


class GridNet(nn.Module):
    """A small CNN for multilabel presence detection: 3 conv stages, then global max pooling.

    Max pooling over positions suits "is this digit anywhere in the image" labels.
    """

    def __init__(self, num_labels: int, in_channels: int = 1, width: int = 16) -> None:
        super().__init__()
        w = width
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, w, 5, stride=2, padding=2, bias=False),
            nn.BatchNorm2d(w),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, padding=1, bias=False),
            nn.BatchNorm2d(2 * w),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(2 * w, 4 * w, 3, padding=1, bias=False),
            nn.BatchNorm2d(4 * w),
            nn.ReLU(inplace=True),
        )
        self.fc = nn.Linear(4 * w, num_labels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.amax(self.features(x), dim=(2, 3)))


# ---------------------------------------------------------------------------------------------
# in-memory images
# ---------------------------------------------------------------------------------------------


class ImageTensors(torch.utils.data.Dataset[tuple[torch.Tensor, Any]]):
    """``uint8`` CHW images and their targets as a map-style dataset with ``.targets``.

    ``balancers.get_labels`` reads ``.targets`` directly, and ``AugmentedDataset`` gets CHW
    tensors it can hand to albumentations and back.
    """

    def __init__(self, data: torch.Tensor, targets: torch.Tensor) -> None:
        self.data = data
        self.targets = targets

    def __len__(self) -> int:
        return int(self.data.shape[0])

    def __getitem__(self, i: int) -> tuple[torch.Tensor, Any]:
        return self.data[i], self.targets[i]


def to_nchw(data: Any) -> torch.Tensor:
    """torchvision image data (``(N, H, W)`` tensor or ``(N, H, W, C)`` array) as uint8 NCHW."""
    tensor = torch.as_tensor(np.asarray(data)) if not isinstance(data, torch.Tensor) else data
    if tensor.dim() == 3:
        tensor = tensor.unsqueeze(1)
    elif tensor.dim() == 4 and tensor.shape[-1] in (1, 3):
        tensor = tensor.permute(0, 3, 1, 2)
    return tensor.contiguous().to(torch.uint8)


def place_data(tensors: Sequence[torch.Tensor], runtime: Runtime, where: str) -> list[torch.Tensor]:
    """Move the dataset tensors to the GPU when asked, or when they fit (``where="auto"``).

    "Fit" means at most a quarter of the free GPU memory, leaving the rest for the model.
    """
    if runtime.device.type != "cuda" or where == "host":
        return list(tensors)
    size = sum(t.numel() * t.element_size() for t in tensors)
    if where == "auto":
        free, _ = torch.cuda.mem_get_info(runtime.device)
        if size > free // 4:
            return [t.pin_memory() for t in tensors]
    return [t.to(runtime.device) for t in tensors]


def normalize(x: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """uint8 NCHW images to normalized float32."""
    m = torch.tensor(mean, device=x.device, dtype=torch.float32).view(1, -1, 1, 1)
    s = torch.tensor(std, device=x.device, dtype=torch.float32).view(1, -1, 1, 1)
    return (x.float().div_(255.0) - m) / s


def random_crop_flip(
    x: torch.Tensor, generator: torch.Generator, *, pad: int = 4, flip: bool = True
) -> torch.Tensor:
    """The standard CIFAR augmentation on a batch: random crop with zero padding, then h-flip.

    Vectorized (one gather for the whole batch), on whatever device ``x`` is.
    """
    n, _, h, w = x.shape
    dev = x.device
    padded = F.pad(x, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator, device=dev)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator, device=dev)
    rows = (dy.view(n, 1) + torch.arange(h, device=dev).view(1, h)).view(n, 1, h, 1)
    cols = dx.view(n, 1) + torch.arange(w, device=dev).view(1, w)
    if flip:
        mirrored = torch.rand(n, generator=generator, device=dev) < 0.5
        cols = torch.where(mirrored.view(n, 1), cols.flip(1), cols)
    cols = cols.view(n, 1, 1, w)
    batch = torch.arange(n, device=dev).view(n, 1, 1, 1)
    channels = torch.arange(x.shape[1], device=dev).view(1, -1, 1, 1)
    return padded[batch, channels, rows, cols]


def random_affine(
    x: torch.Tensor,
    generator: torch.Generator,
    *,
    rotate: float = 15.0,
    scale: tuple[float, float] = (0.9, 1.1),
    translate: float = 0.0625,
    brightness: float = 0.2,
    contrast: float = 0.2,
    p: float = 0.5,
) -> torch.Tensor:
    """A batched, on-device augmentation in the spirit of ``balancers.augment.default_pipeline()``
    (no flip): an affine jitter (p) and a brightness/contrast jitter (p), on images in [0, 1]."""
    n = x.shape[0]
    dev = x.device

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, generator=generator, device=dev)

    angle = uniform(-rotate, rotate) * (math.pi / 180.0)
    factor = uniform(*scale)
    tx, ty = uniform(-translate, translate) * 2.0, uniform(-translate, translate) * 2.0
    use_affine = torch.rand(n, generator=generator, device=dev) < p
    cos, sin = torch.cos(angle) / factor, torch.sin(angle) / factor
    theta = torch.stack(
        [torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1
    )  # (n, 2, 3): output -> input coordinates
    identity = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], device=dev).expand(n, 2, 3)
    theta = torch.where(use_affine.view(n, 1, 1), theta, identity)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    use_color = (torch.rand(n, generator=generator, device=dev) < p).view(n, 1, 1, 1)
    alpha = uniform(1 - contrast, 1 + contrast).view(n, 1, 1, 1)
    beta = uniform(-brightness, brightness).view(n, 1, 1, 1)
    jittered = (out * alpha + beta).clamp_(0.0, 1.0)
    return torch.where(use_color, jittered, out)


def device_generator(device: torch.device, *keys: int) -> torch.Generator:
    """A torch generator on ``device`` seeded from ``keys`` (e.g. seed and epoch)."""
    seed = int(np.random.SeedSequence(list(keys)).generate_state(1, dtype=np.uint64)[0] >> 1)
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    return gen


def index_batches(order: npt.NDArray[np.int64], batch_size: int) -> Iterator[npt.NDArray[np.int64]]:
    """Consecutive slices of an epoch's index sequence (the last one may be short)."""
    for start in range(0, int(order.shape[0]), batch_size):
        yield order[start : start + batch_size]


# ---------------------------------------------------------------------------------------------
# training loop
# ---------------------------------------------------------------------------------------------


@dataclass
class EpochStats:
    """Loss and timings of one training epoch."""

    loss: float
    images: int
    seconds: float
    input_seconds: float

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else float("nan")


@dataclass
class Timer:
    """Accumulates the time spent producing batches (the input pipeline)."""

    input_seconds: float = 0.0
    _runtime: Runtime | None = field(default=None, repr=False)

    def timed(self, batches: Iterator[Any]) -> Iterator[Any]:
        while True:
            start = time.perf_counter()
            try:
                batch = next(batches)
            except StopIteration:
                return
            if self._runtime is not None:
                self._runtime.sync()
            self.input_seconds += time.perf_counter() - start
            yield batch


def train_epoch(
    model: nn.Module,
    batches: Iterator[tuple[torch.Tensor, torch.Tensor]],
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    runtime: Runtime,
    *,
    before_step: Callable[[], None] | None = None,
) -> EpochStats:
    """One pass over ``batches`` (already on the device, already augmented and normalized).

    ``batches`` is consumed through a timer so the input pipeline's share of the epoch is known
    (``input_seconds``): a trainer whose input share is large is input-bound.
    """
    model.train()
    timer = Timer(_runtime=runtime)
    total, count = torch.zeros((), device=runtime.device), 0
    runtime.sync()
    start = time.perf_counter()
    for x, y in timer.timed(batches):
        if runtime.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        if before_step is not None:
            before_step()
        with runtime.autocast():
            logits = model(x)
        loss = loss_fn(logits.float(), y)
        optimizer.zero_grad(set_to_none=True)
        if runtime.scaler is not None:
            runtime.scaler.scale(loss).backward()
            runtime.scaler.step(optimizer)
            runtime.scaler.update()
        else:
            loss.backward()
            optimizer.step()
        total += loss.detach() * x.shape[0]
        count += int(x.shape[0])
    runtime.sync()
    seconds = time.perf_counter() - start
    return EpochStats(float(total) / max(count, 1), count, seconds, timer.input_seconds)


@torch.no_grad()
def predict(
    model: nn.Module,
    images: torch.Tensor,
    prepare: Callable[[torch.Tensor], torch.Tensor],
    runtime: Runtime,
    batch_size: int = 1000,
) -> torch.Tensor:
    """Logits (float32, on the CPU) of ``images`` (uint8, any device), in batches."""
    model.eval()
    out = []
    for start in range(0, int(images.shape[0]), batch_size):
        x = prepare(images[start : start + batch_size].to(runtime.device, non_blocking=True))
        if runtime.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with runtime.autocast():
            out.append(model(x).float().cpu())
    return torch.cat(out)


# ---------------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------------


def mean_std(values: Sequence[float | None]) -> tuple[float, float] | None:
    """Mean and sample standard deviation (0 for one value); None when any value is None."""
    if not values or any(v is None for v in values):
        return None
    arr = np.asarray(values, dtype=np.float64)
    std = float(arr.std(ddof=1)) if arr.size > 1 else 0.0
    return float(arr.mean()), std


def fmt_mean_std(values: Sequence[float | None], digits: int = 3) -> str:
    """``"0.981 ± 0.002"`` (just the value for one run; ``"-"`` when undefined)."""
    ms = mean_std(values)
    if ms is None:
        return "-"
    if len(values) == 1:
        return f"{ms[0]:.{digits}f}"
    return f"{ms[0]:.{digits}f} ± {ms[1]:.{digits}f}"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def write_json(path: Path, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def save_figure(fig: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def use_agg_backend() -> None:
    """Headless plotting."""
    import matplotlib

    matplotlib.use("Agg")
