"""Focal losses for imbalanced classification, computed from logits.

:class:`FocalLoss` is the multiclass (softmax) focal loss, :class:`BinaryFocalLoss` the sigmoid one
for binary and multilabel targets (Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017).
Both reduce exactly to the corresponding PyTorch loss when ``gamma=0``:
``FocalLoss(0.0, alpha=w)`` is ``nn.CrossEntropyLoss(weight=w)`` and
``BinaryFocalLoss(0.0, pos_weight=p)`` is ``nn.BCEWithLogitsLoss(pos_weight=p)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._validation import check_choice, check_int, check_real, describe_value

__all__ = ["BinaryFocalLoss", "FocalLoss"]

_REDUCTIONS = ("mean", "sum", "none")


def _check_gamma(gamma: Any) -> float:
    value = check_real(gamma, "gamma", low=0.0, hint="Use gamma=0 for plain cross-entropy.")
    return value


def _modulating_factor(one_minus_pt: torch.Tensor, gamma: float) -> torch.Tensor:
    """``(1 - p_t) ** gamma`` with a finite gradient everywhere.

    For ``0 < gamma < 1`` the derivative of ``x ** gamma`` is infinite at ``x = 0`` (a perfectly
    confident, correct prediction); clamping ``x`` to the smallest normal number keeps the value
    (to within ``tiny ** gamma``) and makes the gradient zero there instead of NaN.
    """
    if gamma == 1.0:
        return one_minus_pt
    tiny = torch.finfo(one_minus_pt.dtype).tiny
    return one_minus_pt.clamp_min(tiny).pow(gamma)


def _check_logits(input: Any, name: str = "input") -> torch.Tensor:
    if not isinstance(input, torch.Tensor):
        raise TypeError(
            f"`{name}` should be a tensor of logits, but got {describe_value(input)} of type "
            f"{type(input).__name__}."
        )
    if not input.is_floating_point():
        raise TypeError(
            f"`{name}` should be a floating-point tensor of logits, but got dtype {input.dtype}."
        )
    return input


def _as_float_tensor(value: Any, name: str, *, scalar: bool = False) -> torch.Tensor:
    """A 1-D tensor of finite non-negative weights (float64 kept, else float32).

    With ``scalar=True`` a single number is accepted and returned as a 1-element tensor.
    """
    expected = "a number or a 1-D sequence of numbers" if scalar else "a 1-D sequence of numbers"
    if isinstance(value, (bool, np.bool_, str, bytes)):
        raise TypeError(
            f"`{name}` should be {expected}, but got {name}={value!r} of type "
            f"{type(value).__name__}."
        )
    if isinstance(value, torch.Tensor):
        dtype = torch.float64 if value.dtype == torch.float64 else torch.float32
        value = value.detach().cpu().numpy()
    else:
        dtype = torch.float32
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"`{name}` should be {expected}, but got {describe_value(value)}.") from exc
    if arr.dtype == np.bool_ or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise TypeError(f"`{name}` should be {expected}, but got an array of dtype {arr.dtype}.")
    if arr.ndim == 0 and scalar:
        arr = arr.reshape(1)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(
            f"`{name}` should be {expected} (one per class), but got shape {arr.shape}."
        )
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all() or (arr < 0).any():
        first = int(np.flatnonzero(~np.isfinite(arr) | (arr < 0))[0])
        raise ValueError(
            f"`{name}` should hold finite non-negative numbers, but got "
            f"{name}[{first}]={arr[first]!r}."
        )
    return torch.as_tensor(arr, dtype=dtype)


class FocalLoss(nn.Module):
    r"""Multiclass focal loss from logits (Lin et al. 2017).

    For a sample with logits :math:`z` and target class :math:`y`,
    :math:`\log p_t = \mathrm{log\_softmax}(z)_y` and

    .. math:: \ell = -\alpha_y \, (1 - p_t)^\gamma \, \log p_t .

    ``1 - p_t`` is computed as ``-expm1(log p_t)`` from the log-softmax, so the loss and its
    gradient stay finite for arbitrarily confident logits.

    Guarantees:

    * ``gamma=0`` gives exactly ``nn.CrossEntropyLoss(weight=alpha, ignore_index=...,
      reduction=...)``, including the weighted mean (sum of losses over sum of the targets'
      ``alpha``).
    * No NaN or inf for finite logits, in the value or the gradient, for any ``gamma >= 0``.
    * Targets equal to ``ignore_index`` contribute 0 and are excluded from the mean; a batch whose
      targets are all ignored gives 0 (not NaN) with ``reduction="mean"``.
    * Inputs of shape ``(N, C)`` with targets ``(N,)``, or ``(N, C, d1, ...)`` with targets
      ``(N, d1, ...)`` (segmentation), as in ``nn.CrossEntropyLoss``.

    Args:
        gamma: focusing parameter, ``>= 0``; larger values down-weight easy examples more.
        alpha: per-class weights (length C: list, numpy or tensor, non-negative), or None for 1.
            ``balancers.class_weights(labels)`` is a common choice.
        reduction: ``"mean"`` (weighted by ``alpha``), ``"sum"`` or ``"none"`` (per-target
            losses, 0 at ignored positions).
        ignore_index: target value that is ignored.

    Raises:
        TypeError: an argument has the wrong type; at call time, non-float logits or non-integer
            targets.
        ValueError: negative or non-finite ``gamma``/``alpha``, an unknown ``reduction``; at call
            time, shapes that do not match, ``alpha`` of the wrong length, or a target outside
            ``[0, C)`` that is not ``ignore_index``.

    Example:
        >>> import torch
        >>> loss = FocalLoss(gamma=2.0)
        >>> logits = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
        >>> round(loss(logits, torch.tensor([0, 0])).item(), 4)
        0.8259
        >>> torch.allclose(FocalLoss(0.0)(logits, torch.tensor([0, 0])),
        ...                torch.nn.functional.cross_entropy(logits, torch.tensor([0, 0])))
        True

    References:
        T.-Y. Lin, P. Goyal, R. Girshick, K. He, P. Dollár. "Focal Loss for Dense Object
        Detection." ICCV 2017.
    """

    alpha: torch.Tensor | None

    def __init__(
        self,
        gamma: float = 2.0,
        *,
        alpha: Any = None,
        reduction: str = "mean",
        ignore_index: int = -100,
    ) -> None:
        super().__init__()
        self.gamma = _check_gamma(gamma)
        self.reduction = check_choice(reduction, "reduction", _REDUCTIONS)
        index = check_int(ignore_index, "ignore_index")
        self.ignore_index = index
        self.register_buffer("alpha", None if alpha is None else _as_float_tensor(alpha, "alpha"))

    def _check_target(self, input: torch.Tensor, target: Any) -> torch.Tensor:
        if not isinstance(target, torch.Tensor):
            raise TypeError(
                f"`target` should be a tensor of class indices, but got {describe_value(target)} "
                f"of type {type(target).__name__}."
            )
        if target.is_floating_point() or target.dtype == torch.bool or target.is_complex():
            raise TypeError(
                f"`target` should hold integer class indices (dtype torch.long), but got dtype "
                f"{target.dtype}. For one-hot or multilabel targets use BinaryFocalLoss."
            )
        if input.dim() < 2:
            raise ValueError(
                f"`input` should have shape (N, C) or (N, C, d1, ...), but got shape "
                f"{tuple(input.shape)}."
            )
        expected = (input.shape[0], *input.shape[2:])
        if tuple(target.shape) != expected:
            raise ValueError(
                f"`target` should have shape {expected} for input of shape "
                f"{tuple(input.shape)}, but got shape {tuple(target.shape)}."
            )
        n_classes = input.shape[1]
        if self.alpha is not None and self.alpha.shape[0] != n_classes:
            raise ValueError(
                f"`alpha` should have one weight per class ({n_classes}), but got "
                f"{self.alpha.shape[0]} weights."
            )
        bad = (target != self.ignore_index) & ((target < 0) | (target >= n_classes))
        if target.numel() and bool(bad.any()):
            value = int(target[bad].reshape(-1)[0])
            raise ValueError(
                f"`target` should hold class indices in [0, {n_classes - 1}] or "
                f"ignore_index={self.ignore_index}, but got target value {value}."
            )
        return target.long()

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Focal loss of ``input`` logits ``(N, C, ...)`` against class indices ``(N, ...)``."""
        input = _check_logits(input)
        target = self._check_target(input, target)
        log_p = F.log_softmax(input, dim=1)
        alpha = (
            None if self.alpha is None else self.alpha.to(device=input.device, dtype=input.dtype)
        )
        valid = target != self.ignore_index
        if self.gamma == 0.0:
            if self.reduction == "mean" and not bool(valid.any()):
                return (log_p * 0.0).sum()  # every target ignored: 0 with a zero gradient
            # exactly what cross_entropy computes (it is nll_loss of log_softmax), bit for bit
            return F.nll_loss(
                log_p,
                target,
                weight=alpha,
                ignore_index=self.ignore_index,
                reduction=self.reduction,
            )
        safe = torch.where(valid, target, torch.zeros_like(target))
        log_pt = log_p.gather(1, safe.unsqueeze(1)).squeeze(1)
        loss = -_modulating_factor(-torch.expm1(log_pt), self.gamma) * log_pt
        weight = valid.to(loss.dtype)
        if alpha is not None:
            weight = weight * alpha[safe]
        loss = loss * weight
        if self.reduction == "none":
            return loss
        if self.reduction == "sum":
            return loss.sum()
        # the weighted mean of nn.CrossEntropyLoss: divided by the targets' total alpha
        total = weight.sum()
        return loss.sum() / torch.where(total > 0, total, torch.ones_like(total))

    def extra_repr(self) -> str:
        alpha = None if self.alpha is None else [round(a, 4) for a in self.alpha.tolist()]
        return (
            f"gamma={self.gamma}, alpha={alpha}, reduction={self.reduction!r}, "
            f"ignore_index={self.ignore_index}"
        )


class BinaryFocalLoss(nn.Module):
    r"""Sigmoid focal loss for binary and multilabel targets, from logits (Lin et al. 2017).

    With :math:`p = \sigma(z)`, target :math:`y \in [0, 1]`, positive weight :math:`w` and
    :math:`1 - p_t = y(1 - p) + (1 - y)p`,

    .. math::
        \ell = \alpha_t \, (1 - p_t)^\gamma \,
        \bigl(-w\, y \log p - (1 - y) \log (1 - p)\bigr),
        \qquad \alpha_t = \alpha y + (1 - \alpha)(1 - y)

    (:math:`\alpha_t = 1` when ``alpha`` is None). The log terms are
    ``binary_cross_entropy_with_logits``, so nothing overflows for large logits. This is
    ``torchvision.ops.sigmoid_focal_loss`` plus ``pos_weight``.

    Guarantees:

    * ``gamma=0`` and ``alpha=None`` give exactly ``nn.BCEWithLogitsLoss(pos_weight=pos_weight,
      reduction=...)``.
    * No NaN or inf for finite logits, in the value or the gradient, for any ``gamma >= 0``.
    * ``reduction="mean"`` averages over every element, like ``BCEWithLogitsLoss``.

    Args:
        gamma: focusing parameter, ``>= 0``.
        alpha: weight of the positive class in ``[0, 1]`` (Lin et al. use 0.25), either one number
            or one per label (list/tensor broadcast over the last dimension); None for no
            weighting.
        pos_weight: weight of positive examples, one number or one per label (broadcast over the
            last dimension), e.g. ``balancers.pos_weight(labels)``; None for 1.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Raises:
        TypeError: an argument has the wrong type; at call time, non-float logits.
        ValueError: ``gamma`` or ``pos_weight`` negative or non-finite, ``alpha`` outside
            ``[0, 1]``, unknown ``reduction``; at call time, ``input`` and ``target`` shapes that
            differ, or per-label weights whose length is not the number of labels.

    Example:
        >>> import torch
        >>> loss = BinaryFocalLoss(gamma=2.0, alpha=0.25)
        >>> logits = torch.tensor([[3.0, -1.0], [0.5, 0.0]])
        >>> targets = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> round(loss(logits, targets).item(), 4)
        0.0859

    References:
        T.-Y. Lin, P. Goyal, R. Girshick, K. He, P. Dollár. "Focal Loss for Dense Object
        Detection." ICCV 2017.
    """

    alpha: torch.Tensor | None
    pos_weight: torch.Tensor | None

    def __init__(
        self,
        gamma: float = 2.0,
        *,
        alpha: Any = None,
        pos_weight: Any = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        self.gamma = _check_gamma(gamma)
        self.reduction = check_choice(reduction, "reduction", _REDUCTIONS)
        self.register_buffer("alpha", None if alpha is None else self._check_alpha(alpha))
        self.register_buffer(
            "pos_weight",
            None if pos_weight is None else _as_float_tensor(pos_weight, "pos_weight", scalar=True),
        )

    @staticmethod
    def _check_alpha(alpha: Any) -> torch.Tensor:
        tensor = _as_float_tensor(alpha, "alpha", scalar=True)
        if bool((tensor > 1).any()):
            raise ValueError(
                f"`alpha` should hold numbers in [0, 1] (the weight of positives), but got "
                f"max(alpha)={tensor.max().item():g}. Use pos_weight for weights above 1."
            )
        return tensor

    def _per_label(self, weight: torch.Tensor, name: str, input: torch.Tensor) -> torch.Tensor:
        n = weight.shape[0]
        if n != 1 and (input.dim() == 0 or input.shape[-1] != n):
            last = input.shape[-1] if input.dim() else "a scalar"
            raise ValueError(
                f"`{name}` should have one value per label ({last}, the last dimension of "
                f"input), but got {n} values."
            )
        return weight.to(device=input.device, dtype=input.dtype)

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Focal loss of ``input`` logits against 0/1 (or soft) targets of the same shape."""
        input = _check_logits(input)
        if not isinstance(target, torch.Tensor):
            raise TypeError(
                f"`target` should be a tensor of 0/1 targets, but got {describe_value(target)} of "
                f"type {type(target).__name__}."
            )
        if target.shape != input.shape:
            raise ValueError(
                f"`target` should have the shape of input {tuple(input.shape)}, but got shape "
                f"{tuple(target.shape)}."
            )
        target = target.to(input.dtype)
        pos_weight = (
            None
            if self.pos_weight is None
            else self._per_label(self.pos_weight, "pos_weight", input)
        )
        loss = F.binary_cross_entropy_with_logits(
            input, target, pos_weight=pos_weight, reduction="none"
        )
        if self.gamma != 0.0:
            p = torch.sigmoid(input)
            one_minus_pt = p + target * (1 - 2 * p)  # 1 - p where target is 1, p where it is 0
            loss = _modulating_factor(one_minus_pt, self.gamma) * loss
        if self.alpha is not None:
            alpha = self._per_label(self.alpha, "alpha", input)
            loss = (alpha * target + (1 - alpha) * (1 - target)) * loss
        if self.reduction == "none":
            return loss
        return loss.sum() if self.reduction == "sum" else loss.mean()

    def extra_repr(self) -> str:
        def show(t: torch.Tensor | None) -> Any:
            return None if t is None else [round(v, 4) for v in t.tolist()]

        return (
            f"gamma={self.gamma}, alpha={show(self.alpha)}, pos_weight={show(self.pos_weight)}, "
            f"reduction={self.reduction!r}"
        )
