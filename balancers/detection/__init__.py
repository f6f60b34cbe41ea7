"""Detection: labels from COCO-format annotations, without opening an image.

:func:`coco_labels` reads a COCO-format annotation file (or its dict, or a pycocotools ``COCO``
object) into an image x category presence matrix and an instance-count matrix
(:class:`CocoLabels`). Every balancers function that takes labels takes a :class:`CocoLabels`
(its presence matrix), as do the annotation sources themselves (a ``.json`` path, its dict, a
pycocotools ``COCO`` object); :func:`balancers.get_labels` reads torchvision's ``CocoDetection`` the
same way, :func:`balancers.describe` reports instances and images per class, and
:class:`balancers.RepeatFactorSampler` uses the instance counts for ``basis="instance"`` or
``"mean"``.
"""

from ._coco import CocoLabels, coco_labels

__all__ = ["CocoLabels", "coco_labels"]
