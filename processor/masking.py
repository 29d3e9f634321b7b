"""What the pipeline asks of a masking model: the masking vocabulary below every masker.

A masker turns one block of bands (plus illumination) into class probabilities. Most work is local;
a masker may also keep compact whole-tile layers and finish with a whole-tile step (the physics model
projects cloud shadows there). The maskers themselves live in :mod:`s2mask.physics.masker` and
:mod:`s2mask.models.masker`; :func:`s2mask.choice.select_masker` picks one for a product and its bands.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from .angles import mean_angle
from .classes import N_CLASSES
from .errors import MissingBandError, ModelError, ParameterError

#: The per-pixel angles (degrees) a block can come with.
BLOCK_ANGLES: tuple[str, ...] = ("sun_zenith", "sun_azimuth", "view_zenith", "view_azimuth")


@dataclass
class BlockInput:
    """One block on the mask grid: reflectance bands (NaN invalid) and per-pixel illumination (the
    angles of :attr:`Masker.angles`; the others may be None). ``probabilities`` says whether the caller
    keeps the class probabilities: when False, a masker may skip them and give only classes."""

    bands: Mapping[str, np.ndarray]
    valid: np.ndarray
    level: str
    resolution: int
    sun_zenith: np.ndarray | None = None
    sun_azimuth: np.ndarray | None = None
    view_zenith: np.ndarray | None = None
    view_azimuth: np.ndarray | None = None
    elevation: np.ndarray | None = None
    probabilities: bool = True


@dataclass
class BlockPrediction:
    """Class probabilities (float32, (7, h, w); None only when the block asked for none, and then
    ``classes`` are given); ``classes`` when the model decides otherwise than by argmax; ``layers``:
    compact per-pixel layers the masker wants back in :meth:`Masker.finish`."""

    probabilities: np.ndarray | None
    classes: np.ndarray | None = None
    layers: dict[str, np.ndarray] = field(default_factory=dict)


#: The largest zenith angle s2mask takes (degrees): with the sun lower, cloud shadows would stretch over
#: hundreds of kilometres (the shadow search at 89.99 degrees asked for terabytes).
MAX_ZENITH = 89.0


@dataclass(frozen=True)
class TileGeometry:
    """Mean sun and view angles of the tile (degrees) and the mask grid's pixel size (metres)."""

    sun_zenith: float
    sun_azimuth: float
    view_zenith: float
    view_azimuth: float
    resolution: float

    @classmethod
    def from_means(cls, sun: tuple[float, float], views: Sequence[tuple[float, float]],
                   resolution: float) -> TileGeometry:
        """The geometry from the tile's mean sun angle and the mean viewing angle of every band (zenith,
        azimuth; MTD_TL's ``Mean_Sun_Angle`` and ``Mean_Viewing_Incidence_Angle``): the view is their
        mean (NaN without any)."""
        zeniths = [zenith for zenith, _ in views]
        azimuths = [azimuth for _, azimuth in views]
        return cls(float(sun[0]), float(sun[1]), mean_angle(zeniths), mean_angle(azimuths, circular=True),
                   float(resolution))


class Masker(Protocol):
    model_id: str
    bands: tuple[str, ...]
    #: pixels of context a block needs on every side (receptive field) at the mask resolution
    halo: int
    #: names of the per-pixel layers of ``BlockPrediction.layers`` that :meth:`finish` needs whole
    tile_layers: tuple[str, ...]
    #: the per-pixel angles of :data:`BLOCK_ANGLES` that :meth:`predict` reads (a masker without this
    #: attribute gets all four; see :func:`block_angles`)
    angles: tuple[str, ...]

    def predict(self, block: BlockInput) -> BlockPrediction: ...

    def finish(self, classes: np.ndarray, layers: Mapping[str, np.ndarray], geometry: TileGeometry) -> np.ndarray:
        ...


def block_angles(masker: Masker, terrain: bool = False) -> tuple[str, ...]:
    """The per-pixel angles ``masker`` reads: interpolating the ones it ignores cost a CNN run 2 CPU-s
    on a full tile at 20 m. With ``terrain`` (blocks come with an elevation) the sun azimuth too: the
    incidence of the sun on slopes needs it."""
    names = tuple(getattr(masker, "angles", BLOCK_ANGLES))
    return names + ("sun_azimuth",) if terrain and "sun_azimuth" not in names else names


def predict_block(masker: Masker, bands: Mapping[str, np.ndarray], *, level: str, resolution: int,
                  probabilities: bool = True, elevation: np.ndarray | None = None,
                  **angles: np.ndarray) -> tuple[np.ndarray, BlockPrediction]:
    """Classes (uint8) and the raw prediction of one block of ``masker.bands`` (float32 reflectance,
    NaN invalid) with the per-pixel ``angles`` it reads (:func:`block_angles`) and the ``elevation``
    when known: the core step of every block. A pixel where any band is invalid is NO_DATA. Without
    ``probabilities`` the masker may leave them out of the prediction."""
    selected = {band: bands[band] for band in masker.bands}
    valid = np.logical_and.reduce([np.isfinite(values) for values in selected.values()])
    inputs = BlockInput(bands=selected, valid=valid, level=level, resolution=resolution,
                        probabilities=probabilities, elevation=elevation, **angles)
    prediction = masker.predict(inputs)
    return decode(prediction, valid), prediction


def decode(prediction: BlockPrediction, valid: np.ndarray) -> np.ndarray:
    """The uint8 classes of a block: the model's own, or the most probable; NO_DATA where invalid."""
    classes = prediction.classes
    if prediction.probabilities is None:
        if classes is None:
            raise ModelError("a masker returned neither class probabilities nor classes")
    elif prediction.probabilities.shape[0] != N_CLASSES:
        raise ModelError(f"a masker returned {prediction.probabilities.shape[0]} class channels, expected {N_CLASSES}")
    elif classes is None:
        classes = np.argmax(prediction.probabilities, axis=0).astype(np.uint8)
    classes = np.where(valid, classes, 0).astype(np.uint8)
    return classes


def checked_masker(masker: object) -> Masker:
    """``masker`` when it has what :class:`Masker` asks for, else a :class:`ParameterError` naming what lacks."""
    missing = [name for name in ("model_id", "bands", "halo", "tile_layers", "predict") if not hasattr(masker, name)]
    if missing:
        raise ParameterError(f"masker must follow s2mask.masking.Masker; a {type(masker).__name__} lacks "
                             f"{', '.join(missing)}", parameters=("masker",))
    return masker


def require_bands(needed: tuple[str, ...], available: Collection[str], who: str) -> None:
    """A :class:`MissingBandError` naming the bands ``who`` (a model, a network) needs and the input lacks."""
    missing = [band for band in needed if band not in available]
    if missing:
        raise MissingBandError(f"{who} needs band(s) {', '.join(missing)}, which the input lacks")
