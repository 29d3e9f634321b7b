"""Confusion matrices and scores against hand-computed values."""

import numpy as np
import pytest

from s2mask.evaluation import metrics


def test_confusion_matrix_counts_reference_rows_and_prediction_columns():
    reference = np.array([[0, 1, 1], [2, 2, 2]])
    predicted = np.array([[0, 1, 2], [2, 2, 1]])
    cm = metrics.confusion_matrix(reference, predicted, n_classes=3)
    assert cm.tolist() == [[1, 0, 0], [0, 1, 1], [0, 1, 2]]
    valid = np.array([[True, True, False], [True, True, True]])
    assert metrics.confusion_matrix(reference, predicted, 3, valid).tolist() == [[1, 0, 0], [0, 1, 0], [0, 1, 2]]
    with pytest.raises(ValueError, match="shape"):
        metrics.confusion_matrix(reference, predicted[:1], 3)


def test_scores_of_a_small_matrix():
    cm = np.array([[1, 0, 0], [0, 1, 1], [0, 1, 2]])
    np.testing.assert_allclose(metrics.iou(cm), [1.0, 1 / 3, 0.5])
    np.testing.assert_allclose(metrics.f1(cm), [1.0, 0.5, 2 / 3])
    np.testing.assert_allclose(metrics.recall(cm), [1.0, 0.5, 2 / 3])
    np.testing.assert_allclose(metrics.precision(cm), [1.0, 0.5, 2 / 3])
    assert metrics.overall_accuracy(cm) == pytest.approx(4 / 6)
    assert metrics.balanced_accuracy(cm) == pytest.approx((1 + 0.5 + 2 / 3) / 3)


def test_absent_classes_are_nan_not_perfect():
    cm = np.array([[5, 0, 0], [0, 0, 0], [1, 0, 4]])
    iou = metrics.iou(cm)
    assert np.isnan(iou[1]) and iou[0] == pytest.approx(5 / 6)
    assert metrics.balanced_accuracy(cm) == pytest.approx((1 + 0.8) / 2)


def test_mcc_matches_the_binary_formula_and_its_extremes():
    tp, fn, fp, tn = 40, 10, 5, 45
    cm = np.array([[tn, fp], [fn, tp]])
    expected = (tp * tn - fp * fn) / np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    assert metrics.mcc(cm) == pytest.approx(expected)
    assert metrics.normalized_mcc(cm) == pytest.approx((expected + 1) / 2)
    assert metrics.mcc(np.diag([3, 4, 5])) == pytest.approx(1.0)
    assert metrics.mcc(np.array([[0, 7], [9, 0]])) == pytest.approx(-1.0)
    assert np.isnan(metrics.mcc(np.array([[10, 0], [0, 0]])))


def test_regroup_and_majority():
    classes = np.array([[4, 5], [1, 6]], dtype=np.uint8)
    assert metrics.regroup(classes, {4: 1, 5: 1}).tolist() == [[1, 1], [0, 0]]
    block = np.array([[4, 4, 1, 2], [5, 4, 2, 1], [0, 0, 3, 3], [0, 6, 3, 6]], dtype=np.uint8)
    assert metrics.majority(block, 2).tolist() == [[4, 1], [0, 3]]


def test_tables_list_only_classes_that_occur():
    cm = np.zeros((7, 7), dtype=np.int64)
    cm[1, 1], cm[4, 4], cm[4, 5] = 8, 3, 1
    table = metrics.class_table(cm)
    assert "CLEAR_LAND" in table and "CLOUD " in table and "THIN_CLOUD" in table and "WATER" not in table
    agreement = metrics.agreement_table(cm, ["a", "b", "c", "d", "e", "f", "g"], ["x"] * 7)
    assert "| e | 0.0 | 0.0 | 0.0 | 0.0 | 75.0 | 25.0 | 0.0 | 4 |" in agreement
