"""What the pipeline asks of a masking model, and the choice of model for a product.

A masker turns one block of bands (plus illumination) into class probabilities. Most work is local;
a masker may also keep compact whole-tile layers and finish with a whole-tile step (the physics model
projects cloud shadows there). ``select_masker`` picks the model for a product and its bands.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from .classes import N_CLASSES, MaskClass
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


def block_angles(masker: Masker) -> tuple[str, ...]:
    """The per-pixel angles ``masker`` reads: interpolating the ones it ignores cost a CNN run 2 CPU-s
    on a full tile at 20 m."""
    return tuple(getattr(masker, "angles", BLOCK_ANGLES))


def predict_block(masker: Masker, bands: Mapping[str, np.ndarray], *, level: str, resolution: int,
                  probabilities: bool = True, **angles: np.ndarray) -> tuple[np.ndarray, BlockPrediction]:
    """Classes (uint8) and the raw prediction of one block of ``masker.bands`` (float32 reflectance,
    NaN invalid) with the per-pixel ``angles`` it reads (:func:`block_angles`): the core step shared by
    ``s2mask run`` and the SNAP operator. A pixel where any band is invalid is NO_DATA. Without
    ``probabilities`` the masker may leave them out of the prediction."""
    selected = {band: bands[band] for band in masker.bands}
    valid = np.logical_and.reduce([np.isfinite(values) for values in selected.values()])
    inputs = BlockInput(bands=selected, valid=valid, level=level, resolution=resolution,
                        probabilities=probabilities, **angles)
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


class PhysicsMasker:
    """The rule-based classifier of :mod:`s2mask.physics` as a masker: spectral tests per block, then
    geometric cloud shadows over the whole tile."""

    model_id = "physics"
    tile_layers = ("potential_shadow",)
    angles: tuple[str, ...] = ()

    def __init__(self, level: str, available_bands: tuple[str, ...]):
        from .physics import SPECTRAL_HALO

        self.level = level
        self.bands = tuple(available_bands)
        self.halo = SPECTRAL_HALO
        self.notes: set[str] = set()

    def predict(self, block: BlockInput) -> BlockPrediction:
        from .physics import spectral_pass

        result = spectral_pass(block.bands, block.level)
        self.notes.update(result.skipped_tests)
        return BlockPrediction(result.probabilities, result.classes,
                               {"potential_shadow": np.asarray(result.potential_shadow)})

    def finish(self, classes: np.ndarray, layers: Mapping[str, np.ndarray], geometry: TileGeometry) -> np.ndarray:
        from .physics import shadow_pass

        return shadow_pass(classes, layers["potential_shadow"], sun_zenith=geometry.sun_zenith,
                           sun_azimuth=geometry.sun_azimuth, view_zenith=geometry.view_zenith,
                           view_azimuth=geometry.view_azimuth, resolution=geometry.resolution)

    def finish_probabilities(self, percent: np.ndarray, classes: np.ndarray,
                             layers: Mapping[str, np.ndarray]) -> None:
        """Give the shadows found by :meth:`finish` their confidence in the stored probabilities
        (uint8 per cent of classes 1..6, modified in place on the shadow pixels only)."""
        from .physics import add_shadow_probabilities

        shadow = classes == MaskClass.CLOUD_SHADOW
        if not shadow.any():
            return
        stored = percent[:, shadow].astype(np.float32) / 100
        full = np.concatenate([np.zeros((1, stored.shape[1]), np.float32), stored])
        add_shadow_probabilities(full, classes[shadow], layers["potential_shadow"][shadow])
        percent[:, shadow] = np.round(full[1:] * 100).astype(np.uint8)


def select_masker(model: str, level: str, available_bands: tuple[str, ...], device: str = "auto",
                  threads: int = 0, precision: str = "auto") -> Masker:
    """The masker for ``model`` ("auto", "physics" or a CNN name) on a product of ``level`` with these
    bands; a CNN computes in ``precision`` (``ProcessingParameters.precision``)."""
    if model == "physics":
        return PhysicsMasker(level, available_bands)
    try:
        from .models import load_masker
    except ImportError as err:
        if model != "auto":
            raise ModelError(f"model {model!r} needs the CNN models, which are not available ({err})") from err
        return PhysicsMasker(level, available_bands)
    return load_masker(model, level, available_bands, device=device, threads=threads, precision=precision)


def checked_masker(masker: object) -> Masker:
    """``masker`` when it has what :class:`Masker` asks for, else a :class:`ParameterError` naming what lacks."""
    missing = [name for name in ("model_id", "bands", "halo", "tile_layers", "predict") if not hasattr(masker, name)]
    if missing:
        raise ParameterError(f"masker must follow s2mask.masker.Masker; a {type(masker).__name__} lacks "
                             f"{', '.join(missing)}", parameters=("masker",))
    return masker


def require_bands(needed: tuple[str, ...], available: tuple[str, ...], model_id: str) -> None:
    missing = [band for band in needed if band not in available]
    if missing:
        raise MissingBandError(f"model {model_id} needs band(s) {', '.join(missing)}, which the input lacks")
