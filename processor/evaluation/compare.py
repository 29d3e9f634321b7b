"""Evaluation of class maps against reference masks, and the peers run on the same input.

A reference is a GeoTIFF or a ``.npz`` array of codes with a mapping onto our classes (:data:`MAPPINGS`:
our own codes, Sen2Cor SCL, ESA's L1C MSK_CLASSI flags, a binary cloud mask, or a JSON object
``{"code": class}``). References rarely know all seven classes, so maps are compared after grouping
(:data:`GROUPINGS`): all classes, cloud (opaque + thin) against the rest, or cloud / shadow / rest.
Only pixels valid in both maps count. Reported per group: balanced overall accuracy (one group against
the rest, as CloudSEN12 reports per class), F1 and IoU; overall: balanced accuracy (mean recall),
normalised MCC and the confusion matrix (:mod:`s2mask.evaluation.metrics`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..classes import CLASS_NAMES, SCL_TO_CLASS, MaskClass
from ..errors import ParameterError, S2MaskError
from .metrics import balanced_accuracy, confusion_matrix, f1, iou, normalized_mcc, regroup

_IDENTITY = {code: code for code in range(len(CLASS_NAMES))}
MAPPINGS: dict[str, dict[int, int]] = {
    "s2mask": _IDENTITY,
    "scl": dict(SCL_TO_CLASS),
    # ESA L1C MSK_CLASSI as read by s2mask: bit flags 1 opaque cloud, 2 cirrus, 4 snow.
    "msk_classi": {0: MaskClass.CLEAR_LAND, 1: MaskClass.CLOUD, 2: MaskClass.THIN_CLOUD, 3: MaskClass.CLOUD,
                   4: MaskClass.SNOW_ICE, 5: MaskClass.CLOUD, 6: MaskClass.THIN_CLOUD, 7: MaskClass.CLOUD},
    "binary_cloud": {0: MaskClass.CLEAR_LAND, 1: MaskClass.CLOUD},
}
#: Groupings: (names of groups 1.., class -> group); class NO_DATA is group 0 (not counted).
GROUPINGS: dict[str, tuple[tuple[str, ...], dict[int, int]]] = {
    "classes": (CLASS_NAMES[1:], {code: code for code in range(1, len(CLASS_NAMES))}),
    "cloud": (("clear", "cloud"), {MaskClass.CLEAR_LAND: 1, MaskClass.WATER: 1, MaskClass.SNOW_ICE: 1,
                                   MaskClass.CLOUD_SHADOW: 1, MaskClass.CLOUD: 2, MaskClass.THIN_CLOUD: 2}),
    "cloud_shadow": (("clear", "cloud", "shadow"), {MaskClass.CLEAR_LAND: 1, MaskClass.WATER: 1, MaskClass.SNOW_ICE: 1,
                                                    MaskClass.CLOUD: 2, MaskClass.THIN_CLOUD: 2,
                                                    MaskClass.CLOUD_SHADOW: 3}),
}


def mapping_from(spec: str | Mapping[int, int]) -> dict[int, int]:
    """A mapping by name, from a JSON object text ``{"code": class}``, or as given."""
    if isinstance(spec, Mapping):
        return {int(k): int(v) for k, v in spec.items()}
    if spec in MAPPINGS:
        return MAPPINGS[spec]
    try:
        return {int(k): int(v) for k, v in json.loads(spec).items()}
    except (ValueError, AttributeError, TypeError):
        raise ParameterError(f"unknown class mapping {spec!r}: use one of {', '.join(MAPPINGS)} or a JSON "
                             'object like {"8": 4, "9": 4}') from None


def read_codes(path: str | Path, key: str | None = None) -> np.ndarray:
    """The codes of a reference as stored: a GeoTIFF's band 1, or an ``.npz`` array (``key``, or its only one)."""
    path = Path(path)
    if path.suffix.lower() == ".npz":
        with np.load(path, allow_pickle=False) as data:
            names = list(data.keys())
            if key is None and len(names) != 1:
                raise S2MaskError(f"the reference holds arrays {', '.join(names)}: name one with --reference-key", path)
            name = key or names[0]
            if name not in names:
                raise S2MaskError(f"the reference has no array {name!r} (it holds {', '.join(names)})", path)
            codes = np.squeeze(data[name])
    else:
        from ..io.raster import open_raster

        dataset = open_raster(str(path), path)  # the band needs its dataset alive
        codes = dataset.GetRasterBand(1).ReadAsArray()
    if codes.ndim != 2:
        raise S2MaskError(f"the reference must be one 2-D layer, got shape {codes.shape}", path)
    return codes.astype(np.int64).clip(0, 255)


def read_reference(path: str | Path, mapping: str | Mapping[int, int] = "s2mask", key: str | None = None) -> np.ndarray:
    """Reference codes from a GeoTIFF (band 1) or an ``.npz`` (array ``key``, or its only array), as our classes.

    Codes the mapping does not list become NO_DATA (not counted).
    """
    return regroup(read_codes(path, key), mapping_from(mapping), default=MaskClass.NO_DATA)


def match_grid(reference: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The reference on a grid of ``shape``: as is, or repeated / sampled by an integer factor."""
    if reference.shape == shape:
        return reference
    rows, cols = reference.shape
    if shape[0] % rows == 0 and shape[1] % cols == 0 and shape[0] // rows == shape[1] // cols:
        factor = shape[0] // rows
        return reference.repeat(factor, axis=0).repeat(factor, axis=1)
    if rows % shape[0] == 0 and cols % shape[1] == 0 and rows // shape[0] == cols // shape[1]:
        factor = rows // shape[0]
        return reference[factor // 2::factor, factor // 2::factor]
    raise ParameterError(f"reference grid {reference.shape} and prediction grid {shape} differ by no integer factor")


def one_vs_rest_balanced_accuracy(cm: np.ndarray) -> np.ndarray:
    """Per group: (recall + specificity) / 2 of the group against all others (NaN when undefined)."""
    total, tp = cm.sum(), np.diag(cm).astype(np.float64)
    fn, fp = cm.sum(axis=1) - tp, cm.sum(axis=0) - tp
    tn = total - tp - fn - fp
    with np.errstate(invalid="ignore", divide="ignore"):
        return 0.5 * (tp / (tp + fn) + tn / (tn + fp))


def compare(reference: np.ndarray, predicted: np.ndarray, grouping: str = "classes") -> dict[str, Any]:
    """Scores of ``predicted`` classes against ``reference`` classes after ``grouping``."""
    try:
        names, groups = GROUPINGS[grouping]
    except KeyError:
        raise ParameterError(f"unknown grouping {grouping!r}; use one of {', '.join(GROUPINGS)}") from None
    ref, pred = regroup(reference, groups), regroup(predicted, groups)
    valid = (ref > 0) & (pred > 0)
    cm = confusion_matrix(ref, pred, n_classes=len(names) + 1, valid=valid)[1:, 1:]
    boa, f1s, ious = one_vs_rest_balanced_accuracy(cm), f1(cm), iou(cm)
    return {"grouping": grouping, "pixels": int(cm.sum()), "groups": list(names),
            "balanced_accuracy": balanced_accuracy(cm), "normalized_mcc": normalized_mcc(cm),
            "per_group": {name: {"balanced_accuracy": float(boa[k]), "f1": float(f1s[k]), "iou": float(ious[k]),
                                 "reference_pixels": int(cm[k].sum())} for k, name in enumerate(names)},
            "confusion_matrix": cm.tolist()}


def results_table(results: Mapping[str, Mapping[str, Any]]) -> str:
    """A markdown table: one row per method, overall and per-group scores (same grouping for all)."""
    first = next(iter(results.values()))
    names = first["groups"]
    header = ["method", "bal. acc.", "nMCC"] + [f"{n} {m}" for n in names for m in ("BOA", "F1", "IoU")]
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for method, result in results.items():
        cells = [method, f"{result['balanced_accuracy']:.3f}", f"{result['normalized_mcc']:.3f}"]
        for name in names:
            group = result["per_group"][name]
            cells += [f"{group[m]:.3f}" for m in ("balanced_accuracy", "f1", "iou")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines).replace("nan", "-")


def confusion_table(result: Mapping[str, Any]) -> str:
    """The confusion matrix of one result (rows: reference, columns: prediction), in pixels."""
    names = result["groups"]
    lines = ["| reference \\ predicted | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for name, row in zip(names, result["confusion_matrix"]):
        lines.append(f"| {name} | " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines)
