"""albumentations pipelines: the default one, safe for any image kind, and loading a saved one."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .._optional import import_optional
from .._validation import check_bool

__all__ = ["default_pipeline", "describe_transform", "load_pipeline"]


def default_pipeline(*, horizontal_flip: bool = False) -> Any:
    """A light augmentation pipeline that is safe for any kind of image.

    A small affine jitter (shift up to 6.25%, scale 0.9-1.1, rotation up to 15 degrees, p=0.5;
    the modern form of ``ShiftScaleRotate``) whose uncovered corners repeat the edge pixels, and
    a gamma change of up to 20% (p=0.5). Both keep the background: gamma leaves black and white
    where they are, and the edge pixels (black on MNIST, white on a scanned page) fill the
    corners. Nothing is mirrored unless asked (a flipped 5 looks like a 2). The pipeline keeps the
    image size and dtype.

    Args:
        horizontal_flip: add a horizontal flip (p=0.5), for natural images such as CIFAR
            (never for digits or text).

    Returns:
        An ``albumentations.Compose``.

    Example:
        >>> [type(t).__name__ for t in default_pipeline().transforms]
        ['Affine', 'RandomGamma']
        >>> [type(t).__name__ for t in default_pipeline(horizontal_flip=True).transforms]
        ['HorizontalFlip', 'Affine', 'RandomGamma']
    """
    A = import_optional("albumentations", extra="augment")
    import cv2

    flip = check_bool(horizontal_flip, "horizontal_flip")
    steps: list[Any] = [A.HorizontalFlip(p=0.5)] if flip else []
    steps += [
        A.Affine(
            translate_percent=(-0.0625, 0.0625),
            scale=(0.9, 1.1),
            rotate=(-15, 15),
            border_mode=cv2.BORDER_REPLICATE,
            p=0.5,
        ),
        A.RandomGamma(gamma_limit=(80, 120), p=0.5),
    ]
    return A.Compose(steps)


def load_pipeline(path: str | os.PathLike[str]) -> Any:
    """Load an albumentations pipeline saved with ``albumentations.save`` (JSON or YAML).

    The format follows the suffix (``.yaml``/``.yml`` or ``.json``); any other suffix is tried
    as JSON, then YAML.

    Args:
        path: the file.

    Returns:
        The pipeline (usually an ``albumentations.Compose``).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the file does not parse as a serialized albumentations pipeline; the message
            names the file.

    Example:
        >>> import tempfile, albumentations as A
        >>> path = tempfile.mkdtemp() + "/pipeline.yaml"
        >>> A.save(default_pipeline(), path, data_format="yaml")
        >>> type(load_pipeline(path)).__name__
        'Compose'
    """
    A = import_optional("albumentations", extra="augment")
    if not isinstance(path, str | os.PathLike):
        raise TypeError(
            f"`path` should be a path to a pipeline file, but got {path!r} of type "
            f"{type(path).__name__}."
        )
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"Augmentation pipeline file {str(file)!r} does not exist.")
    suffix = file.suffix.lower()
    formats = ["yaml"] if suffix in (".yaml", ".yml") else ["json"]
    if suffix not in (".yaml", ".yml", ".json"):
        formats.append("yaml")
    error: Exception | None = None
    for data_format in formats:
        try:
            pipeline = A.load(str(file), data_format=data_format)
        except Exception as exc:  # parse errors come from json, yaml and albumentations
            error = exc
            continue
        if not callable(pipeline):
            error = TypeError(f"it holds a {type(pipeline).__name__}, not a transform")
            continue
        return pipeline
    detail = str(error).splitlines()[0] if error is not None and str(error) else type(error)
    raise ValueError(
        f"Could not read an albumentations pipeline from {str(file)!r}: {detail}. The file "
        "should be written by albumentations.save(pipeline, path, data_format='yaml' or 'json')."
    ) from error


def describe_transform(transform: Any) -> Any:
    """A JSON-ready description of ``transform``: albumentations' ``to_dict()`` where it has one,
    else its qualified class name (used in manifests to recognise the same job)."""
    if transform is None:
        return None
    to_dict = getattr(transform, "to_dict", None)
    if to_dict is not None:
        try:
            described = to_dict()
            return json.loads(json.dumps(described, default=str))
        except Exception:  # transforms without a serialisable form (Lambda, custom)
            pass
    cls = type(transform)
    name = getattr(transform, "__qualname__", None) if callable(transform) else None
    if name is not None and cls.__name__ == "function":
        return f"{transform.__module__}.{name}"
    return f"{cls.__module__}.{cls.__qualname__}"
