"""``s2mask.classify``: the masking models on in-memory band arrays, for notebooks and scripts.

    >>> import s2mask
    >>> classes = s2mask.classify({"B2": b2, "B3": b3, "B4": b4, "B8": b8, "B11": b11, "B12": b12}, level="L2A")

Bands are reflectance (L1C: TOA, DN / 10000 with the PB 04.00 offset applied; L2A: BOA) on one grid;
the shipped network that fits the bands given is picked (the level's full model, else its 6-band
model). The arrays stream through the engine of ``s2mask run`` (:mod:`s2mask.stream`) as an in-memory
band source, in blocks with the network's halo, so the result equals a whole-image pass. (The module
is ``api``, not ``classify``: a submodule of that name would shadow the function on the package once
imported.)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from .bands import LEVELS, band_index
from .choice import select_masker
from .errors import MissingBandError, ParameterError
from .grid import Grid
from .masking import BLOCK_ANGLES, MAX_ZENITH, Masker, TileGeometry, checked_masker
from .params import ProcessingParameters
from .stream import ArraySource, Reading, TileLayers, stream_blocks

#: Reflectance above this cannot be reflectance: such input is probably digital numbers.
MAX_REFLECTANCE = 20.0
#: Nor below this: BOA reflectance of dark water can be slightly negative and the PB 04.00 offset reaches
#: -0.1, but -5 is digital numbers with an offset, or a wrong scale.
MIN_REFLECTANCE = -1.0


def _real_array(value: Any, name: str) -> np.ndarray:
    """``value`` as a float32 array, refusing what is no number (strings, objects, complex, booleans)."""
    array = np.asarray(value)
    if array.dtype.kind not in "iuf":
        what = "true/false values (a mask is no reflectance)" if array.dtype.kind == "b" else f"{array.dtype} values"
        raise ParameterError(f"{name} holds {what}: expected real numbers", parameters=(name,))
    return array.astype(np.float32)


def _checked_bands(bands: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    if not isinstance(bands, Mapping):
        raise ParameterError(f"bands must map band names to arrays, like {{'B2': array, ...}}; got "
                             f"{type(bands).__name__}", parameters=("bands",))
    if not bands:
        raise MissingBandError("classify() got no bands; pass a mapping like {'B2': array, ...}")
    checked = {}
    for name, array in bands.items():
        band_index(name)
        values = _real_array(array, f"band {name}")
        if values.ndim != 2:
            raise ParameterError(f"band {name} must be a 2-D array (rows, cols), got shape {values.shape}")
        checked[name] = values
    shapes = {values.shape for values in checked.values()}
    if len(shapes) != 1:
        raise ParameterError(f"bands must share one grid, got shapes {sorted(shapes)}; resample them first")
    for name, values in checked.items():
        finite = values[np.isfinite(values)]
        if finite.size and float(finite.max()) > MAX_REFLECTANCE:
            raise ParameterError(f"band {name} reaches {float(finite.max()):g}: classify() expects reflectance "
                                 "(DN / 10000), not digital numbers")
        if finite.size and float(finite.min()) < MIN_REFLECTANCE:
            raise ParameterError(f"band {name} reaches {float(finite.min()):g}: classify() expects reflectance "
                                 f"(DN / 10000, {MIN_REFLECTANCE:g} at the lowest), not digital numbers")
    return checked


def _per_pixel(value: np.ndarray | float | None, shape: tuple[int, int], default: float, name: str,
               zenith: bool = False) -> np.ndarray:
    """An angle (degrees) for every pixel: a number, or an array of the bands' ``shape``."""
    values = _real_array(default if value is None else value, name)
    if values.ndim and values.shape != shape:
        raise ParameterError(f"{name} must be a number or an array of the bands' shape {shape}, got shape "
                             f"{values.shape}", parameters=(name,))
    if not np.isfinite(values).all():
        raise ParameterError(f"{name} must be finite degrees, got NaN or infinity", parameters=(name,))
    if zenith and (values.min() < 0 or values.max() > MAX_ZENITH):
        raise ParameterError(f"{name} must lie in 0..{MAX_ZENITH:g} degrees, got {float(values.min()):g}.."
                             f"{float(values.max()):g}", parameters=(name,))
    return np.broadcast_to(values, shape)


def _resolution(value: Any) -> float:
    try:
        resolution = float(value)
    except (TypeError, ValueError):
        resolution = math.nan
    if not math.isfinite(resolution) or resolution <= 0:
        raise ParameterError(f"resolution must be the pixel size in metres, above 0; got {value!r}",
                             parameters=("resolution",))
    return resolution


def classify(bands: Mapping[str, np.ndarray], level: str = "L1C", model: str | None = None, *,
             probabilities: bool = False, resolution: float = 20.0, sun_zenith: np.ndarray | float | None = None,
             sun_azimuth: np.ndarray | float | None = None, view_zenith: np.ndarray | float = 0.0,
             view_azimuth: np.ndarray | float = 0.0, elevation: np.ndarray | None = None,
             device: str = ProcessingParameters.device, threads: int = ProcessingParameters.threads,
             precision: str = ProcessingParameters.precision, block_size: int = ProcessingParameters.block_size,
             masker: Masker | None = None) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Classes (uint8, H x W, the values of :mod:`s2mask.classes`) of reflectance ``bands``.

    ``bands`` maps band names ("B1" ... "B12", "B8A") to 2-D float arrays on one grid of ``resolution``
    metres; NaN marks no data (class 0). ``level`` is "L1C" or "L2A". ``model``: None picks the shipped
    CNN (CNN2D) that fits the bands and raises :class:`~s2mask.errors.MissingBandError` when none does;
    a family name that family, "physics" the rule-based classifier, "auto" the CNN or else physics.
    Sun and view angles (degrees, scalars or arrays) improve the illumination features; with
    ``sun_azimuth`` the geometric cloud-shadow step runs too (models that use it), otherwise it is
    skipped. ``elevation`` (metres) feeds the terrain features. With ``probabilities=True`` returns
    ``(classes, probabilities)``, the latter float32 (7, H, W) summing to 1 per pixel. ``device``,
    ``threads``, ``precision`` and ``block_size`` are those of :class:`~s2mask.params.ProcessingParameters`
    (the arrays stream through the masker in blocks of that many pixels plus its halo). ``masker``
    replaces the model by your own :class:`~s2mask.masking.Masker`.
    """
    checked = _checked_bands(bands)
    level = str(level).upper()
    if level not in LEVELS:
        raise ParameterError(f"level must be {' or '.join(repr(name) for name in LEVELS)}, got {level!r}")
    ProcessingParameters.from_mapping({"device": device, "threads": threads, "precision": precision,
                                       "block_size": block_size})
    resolution = _resolution(resolution)
    shape = next(iter(checked.values())).shape
    angles = {"sun_zenith": _per_pixel(sun_zenith, shape, 40.0, "sun_zenith", zenith=True),
              "sun_azimuth": _per_pixel(sun_azimuth, shape, 150.0, "sun_azimuth"),
              "view_zenith": _per_pixel(view_zenith, shape, 0.0, "view_zenith", zenith=True),
              "view_azimuth": _per_pixel(view_azimuth, shape, 0.0, "view_azimuth")}
    if elevation is not None:
        elevation = _real_array(elevation, "elevation")
        if elevation.shape != shape:
            raise ParameterError(f"elevation must be an array of the bands' shape {shape}, got shape "
                                 f"{elevation.shape}", parameters=("elevation",))
    masker = checked_masker(masker) if masker is not None else select_masker(
        model or "cnn", level=level, bands=tuple(checked), device=device, threads=threads, precision=precision)
    grid = Grid("", 0.0, 0.0, resolution, shape[1], shape[0])
    layers = TileLayers(grid, masker, probabilities, ndvi=False, percent=False)

    def geometry() -> TileGeometry | None:
        # Without the sun's azimuth the shadows' direction is unknown: no whole-tile step.
        if sun_azimuth is None:
            return None
        return TileGeometry(*(float(np.mean(angles[name])) for name in BLOCK_ANGLES), float(resolution))

    classes = stream_blocks(ArraySource(checked, level, angles, elevation), masker, grid, layers, geometry,
                            reading=Reading(), block_size=block_size)
    return (classes, layers.probabilities) if probabilities else classes
