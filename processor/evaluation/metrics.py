"""Evaluation metrics over class maps: confusion matrices and the scores computed from them.

A confusion matrix ``cm[t, p]`` counts pixels of true (or reference) class ``t`` predicted as ``p``.
Scores follow the usual definitions: per-class IoU ``tp / (tp + fp + fn)`` and F1 ``2 tp / (2 tp + fp +
fn)``, balanced overall accuracy (the mean recall over the classes present in the reference, as in
CloudSEN12), and Gorodkin's multi-class MCC, reported normalised as ``(MCC + 1) / 2`` (the DLR
physics-supervised-CNN papers). Classes absent from both maps give NaN, never a made-up 0 or 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..classes import CLASS_NAMES, N_CLASSES


def confusion_matrix(reference: np.ndarray, predicted: np.ndarray, n_classes: int = N_CLASSES,
                     valid: np.ndarray | None = None) -> np.ndarray:
    """Counts ``cm[t, p]`` (int64, n x n) over the pixels where ``valid`` (default: all)."""
    reference, predicted = np.asarray(reference), np.asarray(predicted)
    if reference.shape != predicted.shape:
        raise ValueError(f"reference {reference.shape} and prediction {predicted.shape} differ in shape")
    if valid is not None:
        reference, predicted = reference[valid], predicted[valid]
    codes = reference.astype(np.int64).ravel() * n_classes + predicted.astype(np.int64).ravel()
    return np.bincount(codes, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    numerator, denominator = np.asarray(numerator, dtype=np.float64), np.asarray(denominator, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan)


def iou(cm: np.ndarray) -> np.ndarray:
    """Per-class intersection over union (NaN where the class is in neither map)."""
    tp = np.diag(cm)
    return _ratio(tp, cm.sum(axis=0) + cm.sum(axis=1) - tp)


def f1(cm: np.ndarray) -> np.ndarray:
    """Per-class F1 (Dice) score."""
    tp = np.diag(cm)
    return _ratio(2 * tp, cm.sum(axis=0) + cm.sum(axis=1))


def recall(cm: np.ndarray) -> np.ndarray:
    """Per-class recall (producer's accuracy), NaN for classes absent from the reference."""
    return _ratio(np.diag(cm), cm.sum(axis=1))


def precision(cm: np.ndarray) -> np.ndarray:
    """Per-class precision (user's accuracy), NaN for classes never predicted."""
    return _ratio(np.diag(cm), cm.sum(axis=0))


def overall_accuracy(cm: np.ndarray) -> float:
    return float(_ratio(np.trace(cm), cm.sum()))


def balanced_accuracy(cm: np.ndarray) -> float:
    """Mean recall over the classes present in the reference."""
    values = recall(cm)
    return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")


def mcc(cm: np.ndarray) -> float:
    """Gorodkin's multi-class Matthews correlation coefficient (-1 .. 1; NaN when undefined)."""
    cm = np.asarray(cm, dtype=np.float64)
    total, correct = cm.sum(), np.trace(cm)
    predicted, actual = cm.sum(axis=0), cm.sum(axis=1)
    numerator = correct * total - predicted @ actual
    denominator = np.sqrt(total**2 - predicted @ predicted) * np.sqrt(total**2 - actual @ actual)
    return float(numerator / denominator) if denominator > 0 else float("nan")


def normalized_mcc(cm: np.ndarray) -> float:
    """``(MCC + 1) / 2``, in 0 .. 1."""
    return (mcc(cm) + 1) / 2


def regroup(classes: np.ndarray, groups: Mapping[int, int], default: int = 0) -> np.ndarray:
    """Map class codes to group codes (``default`` for codes not listed), e.g. CLOUD and THIN_CLOUD to 1."""
    lookup = np.full(256, default, dtype=np.uint8)
    for code, group in groups.items():
        lookup[code] = group
    return lookup[np.asarray(classes, dtype=np.uint8)]


def majority(classes: np.ndarray, factor: int, n_classes: int = N_CLASSES) -> np.ndarray:
    """The most frequent class of each ``factor`` x ``factor`` block (ties: the lower code)."""
    if factor == 1:
        return np.asarray(classes, dtype=np.uint8)
    height, width = classes.shape
    blocks = np.asarray(classes, dtype=np.uint8).reshape(height // factor, factor, width // factor, factor)
    counts = np.stack([(blocks == k).sum(axis=(1, 3)) for k in range(n_classes)])
    return counts.argmax(axis=0).astype(np.uint8)


def scores(cm: np.ndarray) -> dict[str, float | list[float]]:
    """Every score of a confusion matrix, as plain floats (for JSON reports and tables)."""
    return {"iou": iou(cm).tolist(), "f1": f1(cm).tolist(), "overall_accuracy": overall_accuracy(cm),
            "balanced_accuracy": balanced_accuracy(cm), "normalized_mcc": normalized_mcc(cm)}


def agreement_table(cm: np.ndarray, row_names: Sequence[str], column_names: Sequence[str],
                    normalise: bool = True) -> str:
    """A markdown table of ``cm`` (rows: reference classes); as row percentages when ``normalise``."""
    rows = ["| | " + " | ".join(column_names) + " | pixels |", "|---" * (len(column_names) + 2) + "|"]
    for name, counts in zip(row_names, cm):
        total = counts.sum()
        if total == 0:
            continue
        cells = [f"{100 * c / total:.1f}" if normalise else str(int(c)) for c in counts[: len(column_names)]]
        rows.append(f"| {name} | " + " | ".join(cells) + f" | {int(total)} |")
    return "\n".join(rows)


def class_table(cm: np.ndarray, names: Sequence[str] = CLASS_NAMES) -> str:
    """A markdown table of per-class IoU, F1, precision and recall for the classes that occur."""
    columns = {"IoU": iou(cm), "F1": f1(cm), "precision": precision(cm), "recall": recall(cm)}
    rows = ["| class | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for k, name in enumerate(names):
        if cm[k].sum() == 0 and cm[:, k].sum() == 0:
            continue
        rows.append(f"| {name} | " + " | ".join(f"{values[k]:.3f}" for values in columns.values()) + " |")
    return "\n".join(rows)
