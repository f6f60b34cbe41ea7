"""Imbalance-aware reports: exact values, equality with scikit-learn, tables, plots, bad input."""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (
    average_precision_score,
    balanced_accuracy_score,
    f1_score,
    hamming_loss,
    precision_recall_fscore_support,
)

from balancers.metrics import (
    ClassificationReport,
    classification_report,
    multilabel_report,
    plot_confusion_matrix,
)

# 10 samples, classes {3, 7, 42}; class 42 is never predicted.
Y_TRUE = [3, 3, 3, 3, 3, 7, 7, 7, 42, 42]
Y_PRED = [3, 3, 3, 3, 7, 7, 7, 3, 3, 7]
TRAIN = {3: 500, 7: 40, 42: 6}


class TestClassificationReportValues:
    def test_hand_computed_fixture(self) -> None:
        r = classification_report(Y_TRUE, Y_PRED, train_counts=TRAIN)
        assert r.classes == [3, 7, 42]
        assert r.support == [5, 3, 2]
        # class 3: 4 of 5 found, 4 of 6 predictions right; class 7: 2 of 3, 2 of 4; 42: none
        assert r.recall == pytest.approx([0.8, 2 / 3, 0.0])
        assert r.precision == pytest.approx([4 / 6, 0.5, 0.0])
        assert r.f1 == pytest.approx(
            [2 * 0.8 * (4 / 6) / (0.8 + 4 / 6), 2 * (2 / 3) * 0.5 / (7 / 6), 0]
        )
        assert r.accuracy == pytest.approx(0.6)
        assert r.balanced_accuracy == pytest.approx((0.8 + 2 / 3) / 3)
        assert r.macro_f1 == pytest.approx(np.mean(r.f1))
        assert r.worst_class_recall == 0.0
        assert r.worst_class == 42
        assert r.many_shot_accuracy == pytest.approx(0.8)
        assert r.medium_shot_accuracy == pytest.approx(2 / 3)
        assert r.few_shot_accuracy == 0.0
        assert r.confusion.tolist() == [[4, 1, 0], [1, 2, 0], [1, 1, 0]]
        assert r.n_samples == 10

    def test_docstring_example(self) -> None:
        r = classification_report(
            [0, 0, 0, 0, 1, 1, 2, 2], [0, 0, 0, 0, 1, 0, 0, 0], train_counts={0: 500, 1: 50, 2: 5}
        )
        assert (r.accuracy, r.balanced_accuracy, r.worst_class) == (0.625, 0.5, 2)

    def test_shot_boundaries_are_strict(self) -> None:
        # exactly `many` and exactly `few` training samples are both medium-shot
        r = classification_report([0, 1, 2, 3], [0, 1, 2, 0], train_counts=[101, 100, 20, 19])
        assert r.shot_groups() == {"many": [0], "medium": [1, 2], "few": [3]}
        assert (r.many_shot_accuracy, r.medium_shot_accuracy, r.few_shot_accuracy) == (1, 1, 0)
        custom = classification_report([0, 1], [0, 1], train_counts=[10, 3], many=5, few=5)
        assert custom.shot_groups() == {"many": [0], "medium": [], "few": [1]}
        assert custom.medium_shot_accuracy is None

    def test_without_train_counts_no_shot_accuracies(self) -> None:
        r = classification_report(Y_TRUE, Y_PRED)
        assert r.many_shot_accuracy is None
        assert r.train_counts is None
        assert "many_shot_accuracy" not in r.to_dict()
        assert "shot" not in str(r)

    def test_class_predicted_but_absent_from_truth(self) -> None:
        r = classification_report([0, 0, 1, 1], [0, 2, 1, 1])
        assert r.classes == [0, 1, 2]
        assert r.support == [2, 2, 0]
        assert r.recall == [0.5, 1.0, 0.0]
        assert r.worst_class == 0  # class 2 has no support, so it is not the worst
        with pytest.warns(UserWarning, match="y_pred contains classes not in y_true"):
            expected = balanced_accuracy_score([0, 0, 1, 1], [0, 2, 1, 1])
        assert r.balanced_accuracy == pytest.approx(expected)

    def test_labels_adds_unseen_classes(self) -> None:
        r = classification_report([1, 1], [1, 1], labels=[5, 1], train_counts=[10, 1])
        assert r.classes == [1, 5]
        assert r.support == [2, 0]
        assert r.train_counts == [10, 1]
        assert r.balanced_accuracy == 1.0

    @pytest.mark.parametrize(
        "convert",
        [np.asarray, torch.tensor, lambda v: [str(x) for x in v]],
        ids=["numpy", "torch", "strings"],
    )
    def test_input_forms(self, convert: Any) -> None:
        r = classification_report(convert(Y_TRUE), convert(Y_PRED))
        ref = classification_report(Y_TRUE, Y_PRED)
        by_class = {str(c): v for c, v in zip(r.classes, r.recall, strict=True)}
        assert by_class == {str(c): v for c, v in zip(ref.classes, ref.recall, strict=True)}
        assert r.accuracy == ref.accuracy
        assert r.classes == sorted(r.classes)


@settings(max_examples=40, deadline=None)
@given(data=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 5)), min_size=1, max_size=60))
def test_equals_scikit_learn(data: list[tuple[int, int]]) -> None:
    y_true = np.array([t for t, _ in data])
    y_pred = np.array([p for _, p in data])
    r = classification_report(y_true, y_pred)
    labels = np.union1d(y_true, y_pred)
    p, rec, f, s = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average=None, zero_division=0
    )
    np.testing.assert_allclose(r.precision, p)
    np.testing.assert_allclose(r.recall, rec)
    np.testing.assert_allclose(r.f1, f)
    assert r.support == s.tolist()
    assert r.macro_f1 == pytest.approx(f1_score(y_true, y_pred, average="macro", zero_division=0))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "y_pred contains classes not in y_true", UserWarning)
        warnings.filterwarnings("ignore", "A single label was found", UserWarning)
        assert r.balanced_accuracy == pytest.approx(balanced_accuracy_score(y_true, y_pred))
    assert r.accuracy == pytest.approx(float(np.mean(y_true == y_pred)))
    assert r.worst_class_recall == pytest.approx(min(rec[s > 0]))
    assert r.confusion.sum() == len(data)


class TestClassificationReportOutput:
    def test_to_dict_is_json(self) -> None:
        r = classification_report(np.array(Y_TRUE), np.array(Y_PRED), train_counts=TRAIN)
        d = json.loads(json.dumps(r.to_dict()))
        assert d["per_class"]["class"] == [3, 7, 42]
        assert d["per_class"]["train_count"] == [500, 40, 6]
        assert d["few_shot_accuracy"] == 0.0
        assert d["shot_groups"] == {"many": [3], "medium": [7], "few": [42]}
        assert d["confusion_matrix"][2] == [1, 1, 0]
        assert d["worst_class"] == 42

    def test_str_table(self) -> None:
        text = str(classification_report(Y_TRUE, Y_PRED, train_counts=TRAIN))
        lines = text.splitlines()
        assert lines[0].split() == ["class", "precision", "recall", "f1-score", "support", "train"]
        assert lines[1].split() == ["3", "0.667", "0.800", "0.727", "5", "500"]
        assert lines[3].split() == ["42", "0.000", "0.000", "0.000", "2", "6"]
        assert "\naccuracy              0.600 (10 samples)\n" in text
        assert "\nworst-class recall    0.000 (class 42)\n" in text
        assert "\nmedium-shot accuracy  0.667 (1 class with 20-100 train samples)\n" in text
        assert text.endswith("\nfew-shot accuracy     0.000 (1 class with < 20 train samples)")

    @pytest.mark.parametrize(
        ("normalize", "expected_diag"),
        [("true", [0.8, 2 / 3, 0.0]), ("pred", [4 / 6, 0.5, 0.0]), (None, [4, 2, 0])],
    )
    def test_plot_confusion_matrix(self, normalize: str | None, expected_diag: list[float]) -> None:
        r = classification_report(Y_TRUE, Y_PRED)
        fig = r.plot_confusion_matrix(normalize=normalize)
        assert isinstance(fig, Figure)
        ax = fig.axes[0]
        np.testing.assert_allclose(np.diag(ax.images[0].get_array()), expected_diag)
        assert [t.get_text() for t in ax.get_xticklabels()] == ["3", "7", "42"]
        assert ax.get_ylabel() == "True label"
        fig.savefig(__import__("io").BytesIO(), format="png")

    def test_plot_function_and_existing_axes(self) -> None:
        fig = Figure()
        ax = fig.add_subplot()
        assert plot_confusion_matrix(Y_TRUE, Y_PRED, ax=ax) is fig
        assert "normalized over true labels" in ax.get_title()


class TestMultilabelReport:
    Y = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 0], [1, 0, 0]])
    S = np.array(
        [[0.9, 0.2, 0.1], [0.6, 0.4, 0.7], [0.3, 0.8, 0.0], [0.1, 0.1, 0.2], [0.4, 0.6, 0.3]]
    )

    def test_hand_computed(self) -> None:
        r = multilabel_report(self.Y, self.S)
        # label 0: predicted rows {0, 1}, true {0, 1, 4}; label 1: predicted {2, 4}, true {1, 2}
        assert r.precision == pytest.approx([1.0, 0.5, 0.0])
        assert r.recall == pytest.approx([2 / 3, 0.5, 0.0])
        assert r.support == [3, 2, 0]
        assert r.average_precision[2] is None  # label 2 has no positives
        assert r.average_precision[1] == pytest.approx(
            average_precision_score(self.Y[:, 1], self.S[:, 1])
        )
        assert r.subset_accuracy == pytest.approx(3 / 5)  # rows 0, 2 and 3
        assert r.hamming_loss == pytest.approx(4 / 15)  # two wrong decisions in rows 1 and 4
        assert r.macro["average_precision"] == pytest.approx(np.mean(r.average_precision[:2]))

    @pytest.mark.parametrize("threshold", [0.25, 0.5, 0.75])
    def test_equals_scikit_learn(self, threshold: float) -> None:
        rng = np.random.default_rng(0)
        y = (rng.random((40, 6)) < 0.3).astype(int)
        s = np.clip(y * 0.4 + rng.random((40, 6)) * 0.7, 0, 1)
        r = multilabel_report(y, s, threshold=threshold)
        pred = (s >= threshold).astype(int)
        p, rec, f, _ = precision_recall_fscore_support(y, pred, average=None, zero_division=0)
        np.testing.assert_allclose(r.precision, p)
        np.testing.assert_allclose(r.recall, rec)
        np.testing.assert_allclose(r.f1, f)
        for avg, got in (("micro", r.micro), ("macro", r.macro)):
            p_a, r_a, f_a, _ = precision_recall_fscore_support(
                y, pred, average=avg, zero_division=0
            )
            assert (got["precision"], got["recall"], got["f1"]) == pytest.approx((p_a, r_a, f_a))
        assert r.micro["average_precision"] == pytest.approx(
            average_precision_score(y, s, average="micro")
        )
        assert r.macro["average_precision"] == pytest.approx(
            average_precision_score(y, s, average="macro")
        )
        assert r.hamming_loss == pytest.approx(hamming_loss(y, pred))

    def test_input_forms_names_and_output(self) -> None:
        ref = multilabel_report(self.Y, self.S)
        sparse = multilabel_report(sp.csr_array(self.Y), torch.tensor(self.S), label_names="abc")
        assert sparse.f1 == ref.f1
        assert sparse.labels == ["a", "b", "c"]
        d = json.loads(json.dumps(sparse.to_dict()))
        assert d["per_label"]["average_precision"][2] is None
        assert d["per_label"]["label"] == ["a", "b", "c"]
        text = str(sparse)
        assert text.splitlines()[0].split() == [
            "label",
            "precision",
            "recall",
            "f1-score",
            "AP",
            "support",
        ]
        assert "macro avg" in text
        assert "subset accuracy  0.600 (5 samples, threshold 0.5)" in text

    def test_binary_vector_and_logit_threshold(self) -> None:
        r = multilabel_report(
            torch.tensor([1, 0, 1, 0]), torch.tensor([2.0, -1.0, -0.5, 0.5]), threshold=0.0
        )
        assert r.labels == [0]
        assert r.precision == [0.5]
        assert r.recall == [0.5]

    def test_no_positive_anywhere_gives_none_without_warning(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("error", UndefinedMetricWarning)
            r = multilabel_report(np.zeros((3, 2), dtype=int), np.full((3, 2), 0.7))
        assert r.micro["average_precision"] is None
        assert r.macro["average_precision"] is None
        assert r.precision == [0.0, 0.0]


CR, ML = classification_report, multilabel_report


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: CR([], []), ValueError, r"`y_true` should not be empty"),
        (lambda: CR([0, 1], [0]), ValueError, r"`y_pred` should have one prediction per sample"),
        (lambda: CR([[0, 1]], [0]), ValueError, r"Use balancers.metrics.multilabel_report"),
        (lambda: CR([0, 1], ["a", "b"]), TypeError, r"same type"),
        (lambda: CR("01", [0, 1]), TypeError, r"`y_true` should be"),
        (lambda: CR([0, 1], [0, 1], few=200), ValueError, r"`few` should be at most `many`"),
        (lambda: CR([0, 1], [0, 1], many=-1), ValueError, r"`many` should be a finite number >= 0"),
        (lambda: CR([0, 1], [0, 1], train_counts=[5]), ValueError, r"one count per class \(2"),
        (lambda: CR([0, 1], [0, 1], train_counts={0: 5}), ValueError, r"classes \[1\] are missing"),
        (lambda: CR([0, 1], [0, 1], train_counts=[5, -1]), ValueError, r"integers, but got -1 for"),
        (lambda: CR([0, 1], [0, 1], train_counts=[5, 1.5]), ValueError, r"integers, but got 1.5"),
        (
            lambda: CR([0, 1], [0, 1], train_counts=[1, np.nan]),
            ValueError,
            r"integers, but got nan",
        ),
        (lambda: CR([0, 1], [0, 1], train_counts="ab"), TypeError, r"`train_counts` should be a"),
        (lambda: CR([0, 1], [0, 2], labels=[0, 1]), ValueError, r"`y_pred` holds classes \[2\]"),
        (lambda: CR([0], [0]).plot_confusion_matrix(normalize="row"), ValueError, r"`normalize`"),
        (lambda: ML([[0, 2]], [[0.1, 0.2]]), ValueError, r"`y_true` should be a 0/1 indicator"),
        (lambda: ML([[0, 1]], [[0.1, 0.2, 0.3]]), ValueError, r"shape of y_true \(1, 2\)"),
        (lambda: ML([[0, 1]], [[0.1, np.nan]]), ValueError, r"`y_score` should be finite"),
        (lambda: ML([[0, 1]], [["a", "b"]]), TypeError, r"`y_score` should hold numbers"),
        (lambda: ML([[0, 1]], None), TypeError, r"`y_score` should be a 2-D array"),
        (lambda: ML([[0, 1]], [[0.1, 0.2]], threshold="0.5"), TypeError, r"`threshold` should be"),
        (lambda: ML([[0, 1]], [[0, 0]], label_names=["a"]), ValueError, r"one name per label col"),
    ],
)
def test_bad_input(call: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()


def test_report_is_frozen() -> None:
    r = classification_report([0, 1], [0, 1])
    assert isinstance(r, ClassificationReport)
    with pytest.raises(AttributeError):
        r.accuracy = 0.0  # type: ignore[misc]
