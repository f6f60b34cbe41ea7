"""Round trips between the image kinds a dataset returns and the HWC numpy arrays albumentations
works on.

Supported kinds (each comes back as the kind, dtype and layout it was given):

* PIL images in modes ``L``, ``LA``, ``RGB``, ``RGBA`` and ``F`` (other modes such as ``P``,
  ``1`` or ``CMYK`` are converted to ``RGB``/``RGBA``/``L`` first and come back in that mode);
* numpy arrays ``(H, W)`` or ``(H, W, C)`` of ``uint8`` or floating point (``float16`` and
  ``float64`` go through ``float32``, albumentations' float type);
* torch tensors ``(C, H, W)`` or ``(H, W)`` of ``uint8`` or floating point (on the CPU).
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt
import torch
from PIL import Image

__all__ = ["ImageSpec", "array_spec", "from_hwc", "to_hwc", "to_pil"]

_PIL_NATIVE = frozenset({"L", "LA", "RGB", "RGBA", "F"})
_SUPPORTED = "a PIL image, an (H, W[, C]) numpy array or a (C, H, W) torch tensor of uint8 or float"


class ImageSpec(NamedTuple):
    """What :func:`from_hwc` needs to give an array back the original kind, dtype and layout."""

    kind: Literal["pil", "numpy", "tensor"]
    dtype: Any = None
    mode: str | None = None
    ndim: int = 3


_U8 = np.dtype(np.uint8)
_F32 = np.dtype(np.float32)
# Specs of the common case, contiguous uint8/float32 arrays of 2 or 3 dimensions (indexed by
# ndim), built once: such arrays go through without a copy or a check.
_U8_SPECS = (None, None, ImageSpec("numpy", _U8, None, 2), ImageSpec("numpy", _U8, None, 3))
_F32_SPECS = (None, None, ImageSpec("numpy", _F32, None, 2), ImageSpec("numpy", _F32, None, 3))


def _check_dtype(dtype: Any, what: str) -> None:
    kind = np.dtype(dtype).kind
    if not (np.dtype(dtype) == np.uint8 or kind == "f"):
        raise TypeError(
            f"Cannot augment {what} of dtype {dtype}: albumentations works on uint8 or float "
            "images. Convert the image to uint8 (0..255) or float32 (0..1) first."
        )


def array_spec(image: Any) -> ImageSpec | None:
    """The spec of ``image`` when it is a C-contiguous uint8 or float32 numpy array of 2 or 3
    dimensions (which :func:`to_hwc` returns as is), else None.

    Example:
        >>> import numpy as np
        >>> array_spec(np.zeros((4, 5, 3), dtype=np.uint8)).kind
        'numpy'
        >>> array_spec(np.zeros((4, 5, 3), dtype=np.int64)) is None
        True
    """
    if type(image) is not np.ndarray:
        return None
    dtype = image.dtype
    specs = _U8_SPECS if dtype is _U8 else _F32_SPECS if dtype is _F32 else None
    if specs is None or not 2 <= image.ndim <= 3 or not image.flags.c_contiguous:
        return None
    return specs[image.ndim]


def to_hwc(image: Any) -> tuple[npt.NDArray[Any], ImageSpec]:
    """Convert ``image`` to a contiguous HWC (or HW) numpy array of uint8 or float32.

    Returns:
        The array and the :class:`ImageSpec` that :func:`from_hwc` uses to convert it back.

    Raises:
        TypeError: an unsupported type, dtype or PIL mode.

    Example:
        >>> import numpy as np
        >>> arr, spec = to_hwc(np.zeros((4, 5, 3), dtype=np.uint8))
        >>> arr.shape, spec.kind
        ((4, 5, 3), 'numpy')
    """
    spec = array_spec(image)
    if spec is not None:
        return image, spec
    if isinstance(image, Image.Image):
        mode = image.mode
        if mode not in _PIL_NATIVE:
            if mode in ("1", "I;16", "I"):
                raise TypeError(
                    f"Cannot augment a PIL image in mode {mode!r}; convert it first, e.g. "
                    "image.convert('L')."
                )
            has_alpha = mode in ("P", "PA") and ("transparency" in image.info or mode == "PA")
            image = image.convert("RGBA" if has_alpha else "RGB")
            mode = image.mode
        return np.array(image), ImageSpec("pil", mode=mode)
    if isinstance(image, np.ndarray):
        if image.ndim not in (2, 3):
            raise TypeError(
                f"Cannot augment a numpy array of shape {image.shape}: expected (H, W) or "
                "(H, W, C)."
            )
        _check_dtype(image.dtype, "a numpy array")
        arr = image if image.dtype in (np.uint8, np.float32) else image.astype(np.float32)
        return np.ascontiguousarray(arr), ImageSpec("numpy", dtype=image.dtype, ndim=image.ndim)
    if isinstance(image, torch.Tensor):
        if image.ndim not in (2, 3):
            raise TypeError(
                f"Cannot augment a tensor of shape {tuple(image.shape)}: expected (C, H, W) or "
                "(H, W)."
            )
        if image.dtype != torch.uint8 and not image.is_floating_point():
            raise TypeError(
                f"Cannot augment a tensor of dtype {image.dtype}: albumentations works on uint8 "
                "or float images. Convert it to uint8 or float32 first."
            )
        t = image.detach().cpu()
        if t.dtype not in (torch.uint8, torch.float32):
            t = t.to(torch.float32)
        arr = t.numpy()
        if arr.ndim == 3:
            arr = arr.transpose(1, 2, 0)
        return np.ascontiguousarray(arr), ImageSpec("tensor", dtype=image.dtype, ndim=image.ndim)
    raise TypeError(
        f"Cannot augment an image of type {type(image).__name__}: expected {_SUPPORTED}."
    )


def from_hwc(array: npt.NDArray[Any], spec: ImageSpec) -> Any:
    """Convert an HWC array back to the kind, dtype and layout described by ``spec``.

    Example:
        >>> import torch
        >>> arr, spec = to_hwc(torch.zeros(3, 4, 5))
        >>> from_hwc(arr, spec).shape
        torch.Size([3, 4, 5])
    """
    if spec.kind == "numpy" and array.ndim == spec.ndim and array.dtype == spec.dtype:
        return array
    if spec.ndim == 2 and array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if spec.kind == "pil":
        if spec.mode in ("L", "F") and array.ndim == 3 and array.shape[2] == 1:
            array = array[:, :, 0]
        out = Image.fromarray(np.ascontiguousarray(array))
        return out if out.mode == spec.mode else out.convert(spec.mode)
    if spec.kind == "numpy":
        return array if array.dtype == spec.dtype else array.astype(spec.dtype)
    if array.ndim == 3:
        array = array.transpose(2, 0, 1)
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    return tensor if tensor.dtype == spec.dtype else tensor.to(spec.dtype)


def to_pil(image: Any) -> Image.Image:
    """Convert an image of any supported kind to a PIL image for saving (floats are in 0..1).

    Example:
        >>> import numpy as np
        >>> to_pil(np.zeros((2, 3), dtype=np.uint8)).size
        (3, 2)
    """
    if isinstance(image, Image.Image):
        if image.mode in ("L", "LA", "RGB", "RGBA", "1", "P", "I", "I;16"):
            return image
        return image.convert("RGB")
    arr, _ = to_hwc(image)
    if arr.dtype != np.uint8:
        arr = np.clip(np.rint(arr * 255.0), 0, 255).astype(np.uint8)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim == 3 and arr.shape[2] not in (3, 4):
        raise TypeError(
            f"Cannot save an image with {arr.shape[2]} channels as PNG: expected 1, 3 or 4."
        )
    return Image.fromarray(np.ascontiguousarray(arr))
