"""The run report (``NAME_s2mask_report.json``): what was made, from what, how cloudy, how long it took.

Fractions are of *valid* pixels (NO_DATA excluded); cloud cover is the percentage of valid pixels that
are CLOUD or THIN_CLOUD; the valid fraction is valid pixels over all pixels. With no valid pixel these
are ``null`` (JSON has no NaN).
"""

from __future__ import annotations

import json
import platform
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..classes import CLASS_TABLE, CLOUDY_CLASSES, N_CLASSES, MaskClass
from .atomic import output_errors


class ClassCounter:
    """Pixel counts per class, accumulated block by block."""

    def __init__(self) -> None:
        self.counts = np.zeros(N_CLASSES, dtype=np.int64)

    def add(self, classes: np.ndarray) -> None:
        counts = np.bincount(np.asarray(classes, dtype=np.uint8).ravel(), minlength=N_CLASSES)
        if counts.size > N_CLASSES:
            raise ValueError(f"class values must be below {N_CLASSES}, found {counts.size - 1}")
        self.counts += counts

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    @property
    def valid(self) -> int:
        return self.total - int(self.counts[MaskClass.NO_DATA])

    def fraction(self, value: int) -> float | None:
        """Share of the valid pixels in class ``value``."""
        return _share(int(self.counts[value]), self.valid)

    @property
    def valid_fraction(self) -> float | None:
        return _share(self.valid, self.total)

    @property
    def cloud_cover_percent(self) -> float | None:
        return _share(sum(int(self.counts[value]) for value in CLOUDY_CLASSES), self.valid, 100.0)


def _versions() -> dict[str, str | None]:
    from osgeo import gdal

    def installed(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    # Package metadata, not imports: asking torch's version must not cost a torch import.
    return {"s2mask": __version__, "python": platform.python_version(), "numpy": np.__version__,
            "gdal": gdal.__version__, "torch": installed("torch")}


def _share(part: int, whole: int, scale: float = 1.0) -> float | None:
    return round(scale * part / whole, 6) if whole else None


def build_report(*, product_id: str, level: str, counter: ClassCounter, model_id: str,
                 parameters: Mapping[str, Any], timings: Mapping[str, float],
                 outputs: Mapping[str, str | Path], grid: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The report as a JSON-ready dict.

    ``outputs`` maps an output kind (``classes``, ``probabilities``, ``scl``, ``dimap``, ``quicklook``,
    ``report``) to its file name; ``grid`` may describe the output grid (CRS, resolution, shape).
    """
    classes = {info.name: {"value": info.value, "pixels": int(counter.counts[info.value]),
                           "fraction": None if info.value == MaskClass.NO_DATA else counter.fraction(info.value)}
               for info in CLASS_TABLE}
    return {
        "product_id": product_id,
        "level": level,
        "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "outputs": {kind: Path(name).name for kind, name in outputs.items()},
        "grid": dict(grid or {}),
        "pixels": {"total": counter.total, "valid": counter.valid},
        "valid_fraction": counter.valid_fraction,
        "cloud_cover_percent": counter.cloud_cover_percent,
        "classes": classes,
        "model": model_id,
        "parameters": dict(parameters),
        "timings_s": {name: round(float(seconds), 3) for name, seconds in timings.items()},
        "versions": _versions(),
    }


def write_report(path: str | Path, report: Mapping[str, Any]) -> None:
    """Write ``report`` as indented UTF-8 JSON (strict: a NaN is refused, not written)."""
    path = Path(path)
    try:
        text = json.dumps(report, indent=2, allow_nan=False, default=str) + "\n"
    except ValueError as err:
        raise ValueError(f"{path.name}: report holds a value JSON cannot represent ({err})") from err
    with output_errors(path):
        path.write_text(text, encoding="utf-8")
