"""The run report (``NAME_s2mask_report.json``): what was made, from what, how cloudy, how long it took.

Every field is defined in the JSON Schema shipped beside this module (``report.schema.json``,
:func:`report_schema`), whose ``schema_version`` the report names. Shares are percentages with the base
in their name: ``cloud_cover_percent`` and ``classes.*.percent_of_valid`` are of *valid* pixels
(NO_DATA excluded), ``valid_percent`` of all pixels of the grid. Cloud cover counts the classes
listed in ``cloud_cover_classes`` (CLOUD and THIN_CLOUD; CLOUD_SHADOW is not cloud). With no valid
pixel the shares of valid pixels are ``null`` (JSON has no NaN).
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
from ..grid import Grid
from .atomic import output_errors
from .coding import hex_colour
from .footprint import bbox_lonlat

#: The version of ``report.schema.json`` the reports follow: the major number changes when a field is
#: renamed or removed, the minor one when a field is added.
SCHEMA_VERSION = "2.1"
SCHEMA_PATH = Path(__file__).with_name("report.schema.json")
_DECIMALS = 4


def report_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the report, for validating reports with any JSON Schema tool."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


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

    def percent_of_valid(self, value: int) -> float | None:
        """Share of the valid pixels in class ``value``, in per cent."""
        return _percent(int(self.counts[value]), self.valid)

    @property
    def valid_percent(self) -> float | None:
        """Share of all pixels that are valid, in per cent."""
        return _percent(self.valid, self.total)

    @property
    def cloud_cover_percent(self) -> float | None:
        """Share of the valid pixels in :data:`~s2mask.classes.CLOUDY_CLASSES`, in per cent."""
        return _percent(sum(int(self.counts[value]) for value in CLOUDY_CLASSES), self.valid)


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


def _percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, _DECIMALS) if whole else None


def describe_grid(grid: Grid) -> dict[str, Any]:
    """The report's ``grid``: CRS, pixel size, shape, upper-left corner and WGS 84 bounding box."""
    return {"epsg": grid.epsg, "resolution_m": float(grid.resolution), "width_px": grid.width,
            "height_px": grid.height, "upper_left_x_m": float(grid.x0), "upper_left_y_m": float(grid.y0),
            "bbox_lonlat_deg": bbox_lonlat(grid)}


def build_report(*, product_id: str, level: str, counter: ClassCounter, model_id: str,
                 parameters: Mapping[str, Any], timings: Mapping[str, float],
                 outputs: Mapping[str, str | Path], grid: Grid) -> dict[str, Any]:
    """The report as a JSON-ready dict (fields defined in ``report.schema.json``).

    ``outputs`` maps an output kind (``classes``, ``probabilities``, ``scl``, ``dimap``, ``quicklook``,
    ``report``, ...) to its file name.
    """
    classes = {info.name: {"value": info.value, "description": info.description, "colour": hex_colour(info.rgba),
                           "pixels": int(counter.counts[info.value]),
                           "percent_of_valid": None if info.value == MaskClass.NO_DATA
                           else counter.percent_of_valid(info.value)}
               for info in CLASS_TABLE}
    return {
        "schema_version": SCHEMA_VERSION,
        "product_id": product_id,
        "level": level,
        "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "outputs": {kind: Path(name).name for kind, name in outputs.items()},
        "grid": describe_grid(grid),
        "pixels": {"total": counter.total, "valid": counter.valid, "no_data": counter.total - counter.valid},
        "valid_percent": counter.valid_percent,
        "cloud_cover_percent": counter.cloud_cover_percent,
        "cloud_cover_classes": [CLASS_TABLE[value].name for value in CLOUDY_CLASSES],
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
