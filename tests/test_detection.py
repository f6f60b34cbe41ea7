"""COCO detection labels: presence and count matrices from genuine-format annotation files,
pycocotools, torchvision's CocoDetection (no image opened), describe, and bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from PIL import Image
from torch.utils.data import Subset

from balancers import ClassAwareSampler, describe, get_labels
from balancers._labels import check_labels
from balancers.detection import CocoLabels, coco_labels
from tests._spies import spy_on_image_open

# Images in file order (ids not sorted); categories with non-contiguous ids, 90 never used.
IMAGES = [(42, "a.jpg"), (7, "b.jpg"), (13, "c.jpg"), (99, "d.jpg"), (5, "e.jpg")]
CATEGORIES = [(18, "dog"), (1, "person"), (90, "toothbrush"), (3, "car")]
# (image_id, category_id, iscrowd)
ANNOTATIONS = [
    (42, 1, 0),
    (42, 1, 0),
    (42, 18, 0),
    (7, 3, 0),
    (13, 1, 1),  # image 13 has a crowd annotation only
    (5, 1, 0),
    (5, 3, 0),
    (5, 3, 0),
    (5, 3, 0),
    (5, 18, 1),  # crowd
    (7, 3, 0),
]
# image 99 has no annotation. Columns: category ids 1, 3, 18, 90.
COUNTS = [
    [2, 0, 1, 0],  # 42
    [0, 2, 0, 0],  # 7
    [0, 0, 0, 0],  # 13 (crowd only)
    [0, 0, 0, 0],  # 99
    [1, 3, 0, 0],  # 5
]
COUNTS_WITH_CROWD = [
    [2, 0, 1, 0],
    [0, 2, 0, 0],
    [1, 0, 0, 0],
    [0, 0, 0, 0],
    [1, 3, 1, 0],
]


def coco_dict() -> dict[str, Any]:
    """A COCO-format annotation dict as the COCO tools write it."""
    return {
        "info": {"description": "balancers test set", "version": "1.0", "year": 2026},
        "licenses": [{"id": 1, "name": "CC BY 4.0", "url": "https://example.org"}],
        "images": [
            {"id": i, "file_name": name, "height": 8, "width": 10, "license": 1}
            for i, name in IMAGES
        ],
        "annotations": [
            {
                "id": k + 1,
                "image_id": img,
                "category_id": cat,
                "bbox": [1.0, 1.0, 3.0, 2.0],
                "area": 6.0,
                "segmentation": (
                    {"counts": [0, 80], "size": [8, 10]} if crowd else [[1, 1, 4, 1, 4, 3, 1, 3]]
                ),
                "iscrowd": crowd,
            }
            for k, (img, cat, crowd) in enumerate(ANNOTATIONS)
        ],
        "categories": [{"id": c, "name": name, "supercategory": "thing"} for c, name in CATEGORIES],
    }


@pytest.fixture
def coco_file(tmp_path: Path) -> Path:
    path = tmp_path / "instances_train.json"
    path.write_text(json.dumps(coco_dict()))
    return path


@pytest.fixture
def coco_root(tmp_path: Path, coco_file: Path) -> Path:
    """The images of the annotation file, as real JPEG files."""
    root = tmp_path / "images"
    root.mkdir()
    for _, name in IMAGES:
        Image.new("RGB", (10, 8), (120, 30, 60)).save(root / name)
    return root


def test_presence_and_counts_exact(coco_file: Path) -> None:
    labels = coco_labels(coco_file)
    assert isinstance(labels, CocoLabels)
    assert labels.image_ids.tolist() == [i for i, _ in IMAGES]
    assert labels.category_ids.tolist() == [1, 3, 18, 90]
    assert labels.category_names == ["person", "car", "dog", "toothbrush"]
    assert isinstance(labels.counts, sp.csr_array) and isinstance(labels.presence, sp.csr_array)
    assert labels.counts.toarray().tolist() == COUNTS
    assert labels.presence.toarray().tolist() == (np.array(COUNTS) > 0).astype(int).tolist()
    assert labels.presence.dtype == np.int8 and labels.counts.dtype == np.int64
    assert labels.n_crowd == 2
    assert (labels.n_images, labels.n_categories, len(labels)) == (5, 4, 5)
    assert "n_instances=9" in repr(labels)


def test_crowd_included_on_request(coco_file: Path) -> None:
    labels = coco_labels(coco_file, include_crowd=True)
    assert labels.counts.toarray().tolist() == COUNTS_WITH_CROWD
    assert labels.n_crowd == 0


def test_path_dict_and_pycocotools_agree(coco_file: Path) -> None:
    from pycocotools.coco import COCO

    a = coco_labels(coco_file)
    b = coco_labels(str(coco_file))
    c = coco_labels(coco_dict())
    d = coco_labels(COCO(str(coco_file)))
    for other in (b, c, d):
        assert (a.counts != other.counts).nnz == 0
        assert (a.presence != other.presence).nnz == 0
        assert a.image_ids.tolist() == other.image_ids.tolist()
        assert a.category_ids.tolist() == other.category_ids.tolist()


def test_image_ids_choose_and_order_rows(coco_file: Path) -> None:
    labels = coco_labels(coco_file, image_ids=[5, 42])
    assert labels.counts.toarray().tolist() == [COUNTS[4], COUNTS[0]]
    assert labels.n_crowd == 1  # only image 5's crowd annotation is in the chosen rows


def test_without_categories_uses_annotated_ids() -> None:
    data = coco_dict()
    del data["categories"]
    labels = coco_labels(data)
    assert labels.category_ids.tolist() == [1, 3, 18]
    assert labels.counts.toarray().tolist() == [row[:3] for row in COUNTS]


def test_torchvision_coco_detection_without_opening_images(
    coco_file: Path, coco_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from torchvision.datasets import CocoDetection

    opened = spy_on_image_open(monkeypatch)
    ds = CocoDetection(str(coco_root), str(coco_file))
    sorted_ids = sorted(i for i, _ in IMAGES)
    assert ds.ids == sorted_ids
    expected = coco_labels(coco_file, image_ids=sorted_ids)
    got = get_labels(ds)
    assert isinstance(got, sp.csr_array)
    assert (got != expected.presence).nnz == 0
    assert got.toarray().tolist() == [
        (np.array(COUNTS[[i for i, _ in IMAGES].index(k)]) > 0).astype(int).tolist()
        for k in sorted_ids
    ]
    sub = get_labels(Subset(ds, [4, 0]))
    assert sub.toarray().tolist() == [got.toarray()[4].tolist(), got.toarray()[0].tolist()]
    report = describe(ds)
    assert report.instances == [3, 5, 1, 0]
    assert opened == []  # nothing above opened an image
    ds[0]  # the spy does see an image being read
    assert len(opened) == 1


def test_describe_reports_images_and_instances(coco_file: Path) -> None:
    report = describe(coco_labels(coco_file))
    assert report.kind == "multilabel"
    assert report.classes == [1, 3, 18, 90]
    assert report.counts == [2, 2, 1, 0]  # images per category
    assert report.instances == [3, 5, 1, 0]
    assert report.n_empty_rows == 2
    assert report.to_dict()["n_instances"] == 9
    assert report.to_dict()["n_crowd"] == 2
    text = str(report)
    assert report.names == ["person", "car", "dog", "toothbrush"]
    assert "images" in text and "instances" in text and "toothbrush" in text
    assert describe(coco_labels(coco_file).presence).counts == report.counts
    with pytest.raises(AttributeError, match="COCO detection annotations"):
        _ = describe([0, 1]).instances


def test_labels_accepted_everywhere(coco_file: Path) -> None:
    from pycocotools.coco import COCO

    labels = coco_labels(coco_file)
    info = check_labels(labels)
    assert info.is_multilabel and info.counts.tolist() == [2, 2, 1, 0]
    for source in (coco_file, str(coco_file), coco_dict(), COCO(str(coco_file))):
        assert check_labels(source).counts.tolist() == [2, 2, 1, 0]
        assert describe(source).instances == [3, 5, 1, 0]
    draws = ClassAwareSampler(labels, num_samples=30, seed=0).global_indices(0)
    assert set(draws.tolist()) <= {0, 1, 4}  # rows with a label


def test_large_file_is_parsed_without_loss() -> None:
    rng = np.random.default_rng(0)
    n_images, n_anns = 3000, 20000
    image_ids = rng.permutation(10 * n_images)[:n_images]
    cat_ids = np.array([2, 5, 11, 40, 77])
    ann_img = rng.choice(image_ids, n_anns)
    ann_cat = rng.choice(cat_ids, n_anns)
    data = {
        "images": [{"id": int(i)} for i in image_ids],
        "annotations": [
            {"id": k, "image_id": int(i), "category_id": int(c), "iscrowd": 0}
            for k, (i, c) in enumerate(zip(ann_img, ann_cat, strict=True))
        ],
        "categories": [{"id": int(c), "name": str(c)} for c in cat_ids],
    }
    labels = coco_labels(data)
    expected = np.zeros((n_images, 5), dtype=np.int64)
    row = {int(i): r for r, i in enumerate(image_ids)}
    col = {int(c): j for j, c in enumerate(cat_ids)}
    for i, c in zip(ann_img, ann_cat, strict=True):
        expected[row[int(i)], col[int(c)]] += 1
    assert np.array_equal(labels.counts.toarray(), expected)
    assert int(labels.counts.sum()) == n_anns


# ---------------------------------------------------------------------------------- bad input
def _without(key: str) -> dict[str, Any]:
    data = coco_dict()
    del data[key]
    return data


def _with_annotation(**fields: Any) -> dict[str, Any]:
    data = coco_dict()
    data["annotations"].append({"id": 100, "image_id": 42, "category_id": 1, **fields})
    return data


def _dup_image() -> dict[str, Any]:
    data = coco_dict()
    data["images"].append({"id": 7, "file_name": "again.jpg"})
    return data


BAD: list[tuple[Any, dict[str, Any], type[Exception], str]] = [
    (_without("images"), {}, ValueError, r"`annotations` should be COCO-format with an 'images'"),
    (_without("annotations"), {}, ValueError, r"with an 'annotations' list"),
    (
        _with_annotation(image_id=1234),
        {},
        ValueError,
        r"annotations\['annotations'\]\[11\]` names image_id=1234, which is not in",
    ),
    (
        _with_annotation(category_id=2),
        {},
        ValueError,
        r"names category_id=2, which is not in annotations\['categories'\]",
    ),
    (_with_annotation(category_id="1"), {}, ValueError, r"\['category_id'\]` should be an integer"),
    (
        {"images": [{"file_name": "x.jpg"}], "annotations": []},
        {},
        ValueError,
        r"\['images'\]\[0\]` should have an integer 'id'",
    ),
    (_dup_image(), {}, ValueError, r"`annotations\['images'\]` should have unique ids, but id 7"),
    ({"images": {}, "annotations": []}, {}, ValueError, r"`annotations\['images'\]` should be a"),
    (["images"], {}, TypeError, r"`annotations` should be a COCO-format annotation file path"),
    (3, {}, TypeError, r"`annotations` should be"),
    ("/no/such/file.json", {}, ValueError, r"does not exist"),
    (coco_dict(), {"image_ids": [42, 1000]}, ValueError, r"image_ids\[1\]=1000, which is unknown"),
    (coco_dict(), {"image_ids": [42, 42]}, ValueError, r"`image_ids` should name each image once"),
    (coco_dict(), {"image_ids": "42"}, TypeError, r"`image_ids` should be a 1-D sequence"),
    (coco_dict(), {"include_crowd": 1}, TypeError, r"`include_crowd` should be True or False"),
]


@pytest.mark.parametrize(("annotations", "kwargs", "error", "match"), BAD)
def test_bad_input(annotations: Any, kwargs: dict[str, Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        coco_labels(annotations, **kwargs)


def test_bad_json_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ValueError, match=r"is not valid JSON"):
        coco_labels(broken)
    listed = tmp_path / "list.json"
    listed.write_text("[]")
    with pytest.raises(ValueError, match=r"COCO-format JSON object, but .* holds a list"):
        coco_labels(listed)


def test_large_sparse_ids_take_the_search_path() -> None:
    big = 10**12
    data = {
        "images": [{"id": big + 5}, {"id": 3}, {"id": big}],
        "annotations": [
            {"id": 1, "image_id": big, "category_id": 2**40},
            {"id": 2, "image_id": big + 5, "category_id": 1},
            {"id": 3, "image_id": big, "category_id": 2**40},
        ],
        "categories": [{"id": 2**40, "name": "far"}, {"id": 1, "name": "near"}],
    }
    labels = coco_labels(data, image_ids=[big, big + 5])
    assert labels.counts.toarray().tolist() == [[0, 2], [1, 0]]
    data["annotations"].append({"id": 4, "image_id": big + 1, "category_id": 1})
    with pytest.raises(ValueError, match=rf"names image_id={big + 1}, which is not in"):
        coco_labels(data)
    data["images"].append({"id": big})
    with pytest.raises(ValueError, match=rf"unique ids, but id {big} appears more than once"):
        coco_labels(data)
