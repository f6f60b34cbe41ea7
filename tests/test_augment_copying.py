"""rebuilt_copy: a deep copy like copy.deepcopy whose plain instances keep their compact layout."""

from __future__ import annotations

import copy
import copyreg
import gc
import random
from typing import Any

import albumentations as A
import numpy as np
import pytest

from balancers.augment import AugmentedDataset, default_pipeline
from balancers.augment._copying import rebuilt_copy


class Node:
    def __init__(self, value: Any, children: list[Node] | None = None) -> None:
        self.value = value
        self.children = children or []
        self.pair = (value, self.children)  # a tuple holding a mutable object
        self.method = self.describe  # a bound method kept as an attribute

    def describe(self) -> Any:
        return self.value


class Counted:
    """Has its own __deepcopy__, which rebuilt_copy must use."""

    copies = 0

    def __init__(self, value: int) -> None:
        self.value = value

    def __deepcopy__(self, memo: dict[int, Any]) -> Counted:
        Counted.copies += 1
        return Counted(self.value)


class Slotted:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class Registered:
    """Copied through a reducer registered with copyreg, which rebuilt_copy must use."""

    def __init__(self, value: int) -> None:
        self.value = value


def _reduce_registered(obj: Registered) -> tuple[Any, ...]:
    return (Registered, (obj.value + 1,))  # marks the copies it makes


copyreg.pickle(Registered, _reduce_registered)


def _referents(obj: Any) -> list[str]:
    """The types of what ``obj`` refers to: its attribute values one by one while they are kept
    inline, a single dict once they are not."""
    return sorted(type(r).__name__ for r in gc.get_referents(obj))


def test_copy_is_deep_and_keeps_sharing_and_cycles() -> None:
    leaf = Node(2)
    root = Node(1, [leaf, leaf])
    root.children.append(root)  # a cycle
    root.extra = {"leaf": leaf, "counted": Counted(5), "slotted": Slotted([1]), "atom": "text"}
    root.registered = Registered(1)
    clone = rebuilt_copy(root)
    assert clone is not root and type(clone) is Node
    a, b, c = clone.children
    assert a is b and a is not leaf and a.value == 2  # shared once, copied once
    assert c is clone  # the cycle points at the copy
    assert clone.pair[1] is clone.children and clone.pair is not root.pair
    assert clone.method.__self__ is clone and clone.method() == 1
    assert clone.extra["leaf"] is a
    assert clone.extra["atom"] is root.extra["atom"]
    assert type(clone.extra["counted"]) is Counted and Counted.copies == 1
    assert clone.registered.value == 2
    slotted = clone.extra["slotted"]
    assert slotted is not root.extra["slotted"] and slotted.value == [1]
    assert slotted.value is not root.extra["slotted"].value
    leaf.value = 9
    assert a.value == 2  # independent of the original
    same = copy.deepcopy(root)
    assert [x.value for x in same.children[:2]] == [9, 9]


def test_immutable_tuples_are_shared_as_deepcopy_does() -> None:
    node = Node(0)
    node.frozen = (1, "a", (2.0, None))
    assert rebuilt_copy(node).frozen is node.frozen


def test_copied_instances_keep_the_compact_layout() -> None:
    inline = _referents(Node(3))
    if inline == ["dict", "type"]:
        pytest.skip("this interpreter keeps every instance's attributes in a dict")
    assert _referents(rebuilt_copy(Node(3))) == inline
    fresh = default_pipeline().transforms
    for clone, new in zip(rebuilt_copy(default_pipeline()).transforms, fresh, strict=True):
        assert _referents(clone) == _referents(new) != ["dict", "type"]
    deep = copy.deepcopy(default_pipeline()).transforms
    assert [_referents(t) for t in deep] != [_referents(t) for t in fresh]


def test_pipeline_copy_draws_like_the_original_and_is_independent() -> None:
    pipeline = default_pipeline()
    clone = rebuilt_copy(pipeline)
    image = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    outputs = []
    for p in (pipeline, clone):
        p.set_random_state(np.random.default_rng(3), random.Random(3))
        outputs.append([p(image=image)["image"] for _ in range(5)])
    for x, y in zip(*outputs, strict=True):
        np.testing.assert_array_equal(x, y)
    generator = np.random.default_rng(0)
    clone.set_random_state(generator, random.Random(0))
    assert pipeline.random_generator is not generator
    assert all(t.random_generator is not generator for t in pipeline.transforms)


def test_augmented_dataset_seeds_a_rebuilt_copy() -> None:
    pipeline = A.Compose([A.HorizontalFlip(p=1.0)])
    images = [np.arange(12, dtype=np.uint8).reshape(2, 2, 3)]
    ds = AugmentedDataset(list(zip(images, [0], strict=True)), [0, 0], pipeline)
    assert ds.transform is not pipeline
    assert ds.transform.transforms[0] is not pipeline.transforms[0]
    fresh = A.Compose([A.HorizontalFlip(p=1.0)])
    if _referents(Node(0)) != ["dict", "type"]:  # the copy is laid out as a new pipeline
        assert _referents(ds.transform.transforms[0]) == _referents(fresh.transforms[0])
    np.testing.assert_array_equal(ds[1][0], images[0][:, ::-1])
