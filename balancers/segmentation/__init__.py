"""Semantic segmentation: pixel counts of label masks, rare-class sampling, pixel class weights.

:func:`pixel_class_counts` counts the pixels of every class in every mask (PNG folders, numpy
arrays or datasets; cached by checksum); :class:`RareClassSampler` draws rare classes more often
(DAFormer) on the balancers sampler engine; :func:`balancers.class_weights` takes the counts
with ``scheme="median_frequency"`` or ``scheme="enet"``.
"""

from ._counts import pixel_class_counts
from ._rare_class import RareClassSampler

__all__ = ["RareClassSampler", "pixel_class_counts"]
