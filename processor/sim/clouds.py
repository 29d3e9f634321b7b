"""Cloudy synthetic scenes with exact truth: clouds at heights, their shadows, thin cloud, cirrus, snow.

:func:`cloudy_scene` builds a :func:`~s2mask.sim.scene.landscape`, adds snow and turbid water, and
three cloud decks: low opaque cumulus, semi-transparent mid-level cloud and high cirrus (visible at
1375 nm). Every connected cloud object gets its own height in its deck's range; its shadow is the
object moved by ``height * shadow_direction(...)`` (the sun and view geometry of
:mod:`s2mask.physics.shadow`) and blocks direct sunlight in proportion to the cloud's opacity. Clouds
lie where the image shows them (after parallax); shadows where they fall on the ground.

Truth, on the 10 m grid, top layer first: NO_DATA (invalid), CLOUD (opacity >= :data:`OPAQUE_OPACITY`),
THIN_CLOUD (opacity >= :data:`THIN_OPACITY` or cirrus >= :data:`THIN_CIRRUS`), CLOUD_SHADOW (at least
:data:`SHADOW_FRACTION` of the direct sun blocked, over any surface), then the surface class.

Memory: a full 10980 x 10980 tile holds eight layers (about 2.8 GB) and peaks below 4 GB while it is
built; the fields are made strip by strip (:func:`~s2mask.sim.scene.smooth_field`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..classes import MaskClass
from ..physics.shadow import shadow_direction
from .scene import SURFACES, Scene, landscape, quantile_level, smooth_field, strips
from .spectra import cloud_top_b10

#: Opacity from which a cloud hides the surface (CLOUD): the mixed spectrum is then dominated by the
#: cloud's (flat VNIR, low SWIR) whatever lies below.
OPAQUE_OPACITY = 0.6
#: Opacity from which a semi-transparent cloud is labelled THIN_CLOUD: it then changes the red
#: reflectance of vegetation by about 0.08, twice the clear-sky variability of the texture.
THIN_OPACITY = 0.15
#: Cirrus reflectance at 1375 nm labelled THIN_CLOUD: Sen2Cor's thin-cirrus threshold T1_B10.
THIN_CIRRUS = 0.012
#: Fraction of the direct sunlight a cloud must block for its shadow to be labelled CLOUD_SHADOW.
SHADOW_FRACTION = 0.5
#: Direct light blocked per unit of cirrus reflectance at 1375 nm (thin ice cloud transmits most light).
CIRRUS_SHADOW_PER_REFLECTANCE = 4.0
#: Width of the opacity ramp at cloud edges, in units of the (unit-variance) cloud field.
EDGE_SOFTNESS = 0.35

CLOUDY_SURFACES: tuple[str, ...] = ("vegetation", "cropland", "bare_soil", "bright_sand", "urban")


@dataclass(frozen=True)
class CloudDeck:
    """One deck of clouds: base heights (m), peak opacity and feature size relative to the scene's cloud size."""

    heights: tuple[float, float]
    peak_opacity: float
    relative_size: float


#: Low cumulus: opaque, 0.5-3 km. Mid-level alto-stratus: semi-transparent, 3-7 km. Cirrus: 8-12 km.
CUMULUS = CloudDeck((500.0, 3000.0), 1.0, 1.0)
ALTOSTRATUS = CloudDeck((3000.0, 7000.0), 0.45, 2.0)
CIRRUS = CloudDeck((8000.0, 12000.0), 0.05, 2.5)


def _deck_field(shape: tuple[int, int], size: int, cover: float, rng: np.random.Generator) -> np.ndarray:
    """0..1 cloud amount covering about ``cover`` of the scene, with soft edges and finer detail."""
    field = smooth_field(shape, size, rng)
    detail = smooth_field(shape, max(2, size // 4), rng)
    detail *= np.float32(0.4)
    field += detail
    del detail
    field -= np.float32(quantile_level(field, cover))
    field *= np.float32(1 / EDGE_SOFTNESS)
    return np.clip(field, 0, 1, out=field)


def _multiply_shifted(target: np.ndarray, box: tuple[slice, slice], shift: tuple[int, int],
                      factor: np.ndarray) -> None:
    """``target[box moved by shift] *= factor`` for the part that stays inside ``target``."""
    starts = [s.start + d for s, d in zip(box, shift)]
    lows = [max(0, start) for start in starts]
    highs = [min(n, start + f) for n, start, f in zip(target.shape, starts, factor.shape)]
    if any(high <= low for low, high in zip(lows, highs)):
        return
    source = tuple(slice(low - start, high - start) for low, high, start in zip(lows, highs, starts))
    target[lows[0]:highs[0], lows[1]:highs[1]] *= factor[source]


def _cast_shadows(amount: np.ndarray, deck: CloudDeck, direction: tuple[float, float], strength: float,
                  rng: np.random.Generator, transmitted: np.ndarray, b10: np.ndarray | None) -> None:
    """Give each object of ``amount`` a height, multiply ``transmitted`` by its shadow's transmission
    and add its B10 cloud-top signal (opacity-weighted) to ``b10``."""
    labels, count = ndimage.label(amount > 0, structure=np.ones((3, 3), dtype=bool))
    heights = rng.uniform(*deck.heights, size=count + 1)
    for index, box in enumerate(ndimage.find_objects(labels), start=1):
        layer = np.where(labels[box] == index, amount[box], np.float32(0))
        shift = (int(np.rint(heights[index] * direction[0])), int(np.rint(heights[index] * direction[1])))
        _multiply_shifted(transmitted, box, shift, 1 - np.clip(layer * np.float32(strength), 0, 1))
        if b10 is not None:
            b10[box] += layer * cloud_top_b10(heights[index])


def cloudy_scene(height: int, width: int, seed: int = 0, *, sun_zenith: float, sun_azimuth: float,
                 view_zenith: float = 4.0, view_azimuth: float = 105.0, cloud_cover: float = 0.25,
                 thin_cover: float = 0.10, cirrus_cover: float = 0.10, snow_fraction: float = 0.05,
                 water_fraction: float = 0.10, surfaces: tuple[str, ...] = CLOUDY_SURFACES,
                 cloud_size: int | None = None, nodata_fraction: float = 0.0,
                 surface_spectra: dict[str, np.ndarray] | None = None) -> Scene:
    """A cloudy scene of ``height`` x ``width`` 10 m pixels (multiples of 6) with exact truth.

    ``cloud_cover``, ``thin_cover`` and ``cirrus_cover`` are the shares of the scene under each deck
    (opaque cumulus with thin edges, semi-transparent alto-stratus, cirrus); ``cloud_size`` is the
    cumulus feature size in pixels (default: a sixth of the scene, 12 to 400). Angles in degrees;
    heights and shadows follow :func:`s2mask.physics.shadow.shadow_direction` at 10 m.
    ``surface_spectra`` replaces the library of surface spectra (see
    :func:`s2mask.sim.spectra.varied_surface_spectra`).
    """
    scene = landscape(height, width, seed=seed, feature_size=max(12, min(height, width) // 10),
                      surfaces=surfaces, water_fraction=water_fraction)
    scene.sun_zenith, scene.sun_azimuth = sun_zenith, sun_azimuth
    scene.surface_spectra = surface_spectra
    scene.view_zenith, scene.view_azimuth = view_zenith, view_azimuth
    rng = np.random.default_rng([seed, 1])
    shape = (height, width)
    size = cloud_size or int(np.clip(min(height, width) // 6, 12, 400))
    _add_surfaces(scene, rng, snow_fraction, size)

    direction = tuple(float(d) for d in shadow_direction(sun_zenith, sun_azimuth, view_zenith, view_azimuth, 10.0))
    transmitted = np.ones(shape, dtype=np.float32)
    b10 = np.zeros(shape, dtype=np.float32)
    opacity = np.zeros(shape, dtype=np.float32)
    for deck, cover in ((CUMULUS, cloud_cover), (ALTOSTRATUS, thin_cover)):
        if cover <= 0:
            continue
        amount = _deck_field(shape, max(4, int(size * deck.relative_size)), cover, rng)
        amount *= np.float32(deck.peak_opacity)
        _cast_shadows(amount, deck, direction, 1 / OPAQUE_OPACITY, rng, transmitted, b10)
        # Two decks on one line of sight: the light that passes the first meets the second.
        amount *= 1 - opacity
        opacity += amount
        del amount
    b10 /= np.maximum(opacity, np.float32(1e-6))
    scene.cloud_opacity, scene.cloud_b10 = opacity, b10
    if cirrus_cover > 0:
        cirrus = _deck_field(shape, max(4, int(size * CIRRUS.relative_size)), cirrus_cover, rng)
        cirrus *= np.float32(rng.uniform(0.6, 1.0) * CIRRUS.peak_opacity)
        _cast_shadows(cirrus, CIRRUS, direction, CIRRUS_SHADOW_PER_REFLECTANCE, rng, transmitted, None)
        scene.cirrus = cirrus
    transmitted *= -1
    transmitted += 1
    scene.shadow = transmitted
    if nodata_fraction > 0:
        scene.invalid = _swath_edge(shape, nodata_fraction)
    _label_truth(scene)
    return scene


def _add_surfaces(scene: Scene, rng: np.random.Generator, snow_fraction: float, size: int) -> None:
    """Snow on part of the land, and sediment in part of the water."""
    water = scene.cover == SURFACES.index("water")
    turbid = smooth_field(scene.shape, max(4, size), rng) > 0.3
    scene.cover[water & turbid] = SURFACES.index("turbid_water")
    del turbid
    if snow_fraction > 0:
        snow = smooth_field(scene.shape, max(4, size * 2), rng)
        snow = (snow > quantile_level(snow, snow_fraction)) & ~water
        scene.cover[snow] = SURFACES.index("snow")
        scene.truth[snow] = MaskClass.SNOW_ICE


def _swath_edge(shape: tuple[int, int], fraction: float) -> np.ndarray:
    """No data west of a slanted swath edge, covering about ``fraction`` of the scene."""
    rows = np.linspace(0, 0.3, shape[0], dtype=np.float32)[:, None]
    cols = np.linspace(0, 1, shape[1], dtype=np.float32)[None, :]
    edge = np.quantile((rows + cols)[:: max(1, shape[0] // 200), :: max(1, shape[1] // 200)], fraction)
    return (rows + cols) < edge


def _label_truth(scene: Scene) -> None:
    """Overlay shadows, thin clouds, clouds and no data on the surface classes (strip by strip)."""
    truth = scene.truth
    for rows in strips(truth.shape[0]):
        part = truth[rows]
        part[scene.shadow[rows] >= SHADOW_FRACTION] = MaskClass.CLOUD_SHADOW
        thin = scene.cloud_opacity[rows] >= THIN_OPACITY
        if scene.cirrus is not None:
            thin |= scene.cirrus[rows] >= THIN_CIRRUS
        part[thin] = MaskClass.THIN_CLOUD
        part[scene.cloud_opacity[rows] >= OPAQUE_OPACITY] = MaskClass.CLOUD
        if scene.invalid is not None:
            part[scene.invalid[rows]] = MaskClass.NO_DATA
