"""Cloud shadows by geometry: project each cloud object along the sun and keep the best-matching height.

The shadow of a cloud at height ``h`` lies, relative to where the image shows the cloud,
``h * (tan(sun_zenith) * u(sun_azimuth + 180) + tan(view_zenith) * u(view_azimuth))`` away, with
``u(a) = (east, north) = (sin a, cos a)`` and both azimuths pointing from the ground towards the sun and
the sensor, clockwise from north (ESA's convention in MTD_TL.xml). The first term casts the shadow away
from the sun; the second undoes the parallax that moved the cloud away from the sensor in the
orthorectified image. Image rows grow southward, so north is -row.

As in Fmask ([ZW12] section 2.2.3, [Q19]), every cloud object is shifted for heights from
:data:`MIN_CLOUD_HEIGHT` to :data:`MAX_CLOUD_HEIGHT`; the similarity of a projection is the fraction of
its pixels that fall on the potential-shadow layer (water counts half: it is dark anyway), leaving
out pixels that land on clouds (a shadow there cannot be seen) or outside the image. Each object keeps the height of
highest similarity if that reaches :data:`MIN_SIMILARITY`; its projected footprint becomes
CLOUD_SHADOW where the pixel is dark enough. The search runs on a grid of about
:data:`MATCH_RESOLUTION` metres; the footprint is painted at full resolution.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..classes import MaskClass

#: Cloud-base heights searched, metres: [ZW12] 200 m to 12 km.
MIN_CLOUD_HEIGHT = 200.0
MAX_CLOUD_HEIGHT = 12000.0
#: Least matched fraction for a projection to count as the object's shadow: [ZW12] (0.3).
MIN_SIMILARITY = 0.3
#: Least fraction of a projection that must land on visible (cloud-free, in-image) pixels for its
#: similarity to mean something (s2mask).
MIN_VISIBLE = 0.25
#: Pixels per object that the matching looks at (a regular sample of larger objects): similarity is a
#: fraction, which a few thousand pixels measure to about 1 % (s2mask).
MAX_SAMPLES = 3000
#: Thin cloud within this distance (metres) of an opaque cloud is taken as its edge, at its height.
RIM_WIDTH = 150.0
#: Pixel size of the matching grid, metres (s2mask: 60 m keeps a 5490 x 5490 tile under a few seconds).
MATCH_RESOLUTION = 60.0
#: Potential-shadow membership that counts as dark when matching, and the membership a pixel of the
#: matched footprint needs to become CLOUD_SHADOW (s2mask; the second is lower, as a hysteresis).
MATCH_DARKNESS = 0.4
SHADOW_DARKNESS = 0.25
#: What a pixel of the WATER class counts for in the matching (s2mask): water is as dark as a shadow
#: and shadowed soil passes the water tests, so it is neither evidence for nor against.
WATER_MATCH = 0.5

_CLOUDS = (MaskClass.CLOUD, MaskClass.THIN_CLOUD)
_EIGHT = np.ones((3, 3), dtype=bool)


def shadow_direction(sun_zenith: np.ndarray | float, sun_azimuth: np.ndarray | float,
                     view_zenith: np.ndarray | float, view_azimuth: np.ndarray | float,
                     resolution: float) -> tuple[np.ndarray, np.ndarray]:
    """Shadow displacement (rows, columns) in pixels per metre of cloud height (angles in degrees)."""
    sun_z, sun_a, view_z, view_a = (np.deg2rad(np.asarray(a, dtype=np.float64))
                                    for a in (sun_zenith, sun_azimuth, view_zenith, view_azimuth))
    east = -np.tan(sun_z) * np.sin(sun_a) + np.tan(view_z) * np.sin(view_a)
    north = -np.tan(sun_z) * np.cos(sun_a) + np.tan(view_z) * np.cos(view_a)
    return -north / resolution, east / resolution


def _block_reduce(array: np.ndarray, factor: int, reducer: str) -> np.ndarray:
    """Mean or max over ``factor`` x ``factor`` blocks; edge blocks are padded by repetition."""
    if factor == 1:
        return array
    height, width = array.shape
    padded = np.pad(array, ((0, -height % factor), (0, -width % factor)), mode="edge")
    blocks = padded.reshape(padded.shape[0] // factor, factor, padded.shape[1] // factor, factor)
    return blocks.max(axis=(1, 3)) if reducer == "max" else blocks.mean(axis=(1, 3), dtype=np.float32)


def _per_object_direction(angles: tuple, labels: np.ndarray, count: int, factor: int,
                          resolution: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-object mean shadow direction (pixels of the matching grid per metre); index 0 unused."""
    drow, dcol = shadow_direction(*angles, resolution=resolution * factor)
    if np.ndim(drow) == 0:
        return np.full(count + 1, float(drow)), np.full(count + 1, float(dcol))
    index = np.arange(1, count + 1)
    means = [np.concatenate(([0.0], ndimage.mean(_block_reduce(np.asarray(d, np.float32), factor, "mean"),
                                                 labels, index))) for d in (drow, dcol)]
    return means[0], means[1]


def cloud_objects(opaque: np.ndarray, cloudy: np.ndarray, rim: int) -> tuple[np.ndarray, int]:
    """Label cloud objects: each opaque cloud with the thin cloud within ``rim`` pixels of it (its
    semi-transparent edge), then every remaining patch of thin cloud on its own.

    Thin cloud is not allowed to join opaque clouds into one object: cirrus and haze often span many
    cumulus at other heights, and one object can only have one height.
    """
    labels, count = ndimage.label(opaque, structure=_EIGHT)
    if count:
        distance, (rows, cols) = ndimage.distance_transform_edt(labels == 0, return_indices=True)
        edge = cloudy & (labels == 0) & (distance <= rim)
        labels[edge] = labels[rows[edge], cols[edge]]
    rest, extra = ndimage.label(cloudy & (labels == 0), structure=_EIGHT)
    labels[rest > 0] = rest[rest > 0] + count
    return labels, count + extra


def search_heights(drow: np.ndarray, dcol: np.ndarray) -> np.ndarray:
    """Heights (metres) from :data:`MIN_CLOUD_HEIGHT` to :data:`MAX_CLOUD_HEIGHT`, stepping about one pixel
    of shift for the object that moves fastest, so that no position is skipped."""
    step = 1.0 / max(float(np.max(np.hypot(drow[1:], dcol[1:]))), 1e-9)
    return np.arange(MIN_CLOUD_HEIGHT, MAX_CLOUD_HEIGHT + step, step)


def _sample_pixels(labels: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, columns and labels of the labelled pixels, thinned to about :data:`MAX_SAMPLES` per object
    (every k-th pixel in row order, so the sample spreads over the whole object)."""
    rows, cols = np.nonzero(labels)
    objects = labels[rows, cols]
    sizes = np.bincount(objects, minlength=count + 1)
    stride = np.maximum(sizes // MAX_SAMPLES, 1)
    if stride.max() == 1:
        return rows, cols, objects
    order = np.argsort(objects, kind="stable")
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    rank = np.empty(objects.size, dtype=np.int64)
    rank[order] = np.arange(objects.size) - starts[objects[order]]
    keep = rank % stride[objects] == 0
    return rows[keep], cols[keep], objects[keep]


def match_heights(hidden: np.ndarray, evidence: np.ndarray, labels: np.ndarray, drow: np.ndarray, dcol: np.ndarray,
                  candidates: np.ndarray, min_similarity: float = MIN_SIMILARITY) -> np.ndarray:
    """The best of the ``candidates`` heights (n, objects + 1; NaN = skip) for each object of ``labels``.

    ``hidden`` marks pixels where a shadow cannot be seen (clouds), ``evidence`` (0..1) how much a pixel
    looks like a shadow; ``drow``/``dcol`` are per-object shifts in pixels per metre of height. Returns
    heights per object (index 0 unused), NaN where no candidate reaches ``min_similarity``.
    """
    rows, cols, objects = _sample_pixels(labels, candidates.shape[1] - 1)
    count = candidates.shape[1] - 1
    sizes = np.bincount(objects, minlength=count + 1)
    best = np.full(count + 1, np.nan)
    best_similarity = np.full(count + 1, min_similarity)
    shift_row, shift_col = drow[objects], dcol[objects]
    for heights in candidates:
        tried = np.isfinite(heights)
        height = np.where(tried, heights, 0.0)[objects]
        target_row = np.rint(rows + height * shift_row).astype(np.int64)
        target_col = np.rint(cols + height * shift_col).astype(np.int64)
        inside = ((target_row >= 0) & (target_row < labels.shape[0]) & (target_col >= 0)
                  & (target_col < labels.shape[1]))
        target_row, target_col, owner = target_row[inside], target_col[inside], objects[inside]
        visible = ~hidden[target_row, target_col]
        owner = owner[visible]
        seen = np.bincount(owner, minlength=count + 1)
        matched = np.bincount(owner, weights=evidence[target_row[visible], target_col[visible]], minlength=count + 1)
        similarity = matched / np.maximum(seen, 1)
        better = tried & (similarity > best_similarity) & (seen >= MIN_VISIBLE * sizes)
        best[better] = heights[better]
        best_similarity[better] = similarity[better]
    best[0] = np.nan
    return best


def shadow_pass(classes: np.ndarray, potential_shadow: np.ndarray, *, sun_zenith: np.ndarray | float,
                sun_azimuth: np.ndarray | float, view_zenith: np.ndarray | float = 0.0,
                view_azimuth: np.ndarray | float = 0.0, resolution: float) -> np.ndarray:
    """The classes with CLOUD_SHADOW set where a matched cloud projection falls on dark pixels.

    ``classes`` uint8 (H, W) from the spectral pass, ``potential_shadow`` (H, W) bool or float 0..1
    (dark-pixel membership), angles in degrees as scalars or (H, W) arrays, ``resolution`` the pixel
    size in metres. Works on the whole image (a shadow can fall far from its cloud).
    """
    classes = np.asarray(classes, dtype=np.uint8)
    potential = np.asarray(potential_shadow, dtype=np.float32)
    if potential.shape != classes.shape:
        raise ValueError(f"potential_shadow {potential.shape} does not match classes {classes.shape}")
    cloud = np.isin(classes, _CLOUDS)
    result = classes.copy()
    if not cloud.any():
        return result
    # Water is dark with or without a shadow (and shadowed soil passes the water tests): it counts as
    # half a match, so that a lake cannot outbid a shadow on land.
    water = classes == MaskClass.WATER
    evidence = np.where(water, np.float32(WATER_MATCH), (potential >= MATCH_DARKNESS).astype(np.float32))
    angles = (sun_zenith, sun_azimuth, view_zenith, view_azimuth)
    labels, heights, drow, dcol = _match_objects(classes, cloud, evidence, angles, resolution)
    shadow = _footprint(labels, heights, drow, dcol) & ~cloud & (potential >= SHADOW_DARKNESS)
    result[shadow & (classes != MaskClass.NO_DATA)] = MaskClass.CLOUD_SHADOW
    return result


def _match_objects(classes: np.ndarray, cloud: np.ndarray, evidence: np.ndarray, angles: tuple,
                   resolution: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Full-grid object labels, their heights (NaN: no match) and shifts per metre (full-grid pixels).

    All heights are tried on the matching grid; each match is then refined on the full grid within a
    step of the coarse height either side.
    """
    factor = max(1, int(round(MATCH_RESOLUTION / resolution)))
    cloud_coarse = _block_reduce(cloud, factor, "max")
    labels, count = cloud_objects(_block_reduce(classes == MaskClass.CLOUD, factor, "max"), cloud_coarse,
                                  max(1, int(round(RIM_WIDTH / (resolution * factor)))))
    drow, dcol = _per_object_direction(angles, labels, count, factor, resolution)
    heights = search_heights(drow, dcol)
    coarse = match_heights(cloud_coarse, _block_reduce(evidence, factor, "mean"), labels, drow, dcol,
                           np.broadcast_to(heights[:, None], (heights.size, count + 1)))
    full_labels = np.where(cloud, _upsample_nearest(labels, factor, classes.shape), 0)
    step = (heights[1] - heights[0]) / factor if heights.size > 1 else 0.0
    candidates = coarse[None, :] + np.arange(-factor, factor + 1)[:, None] * step
    drow, dcol = drow * factor, dcol * factor
    return full_labels, match_heights(cloud, evidence, full_labels, drow, dcol, candidates, 0.0), drow, dcol


def _footprint(labels: np.ndarray, heights: np.ndarray, drow: np.ndarray, dcol: np.ndarray) -> np.ndarray:
    """Where the labelled pixels of matched objects land when moved by their height's shift."""
    rows, cols = np.nonzero(labels)
    owner = labels[rows, cols]
    keep = np.isfinite(heights)[owner]
    rows, cols, owner = rows[keep], cols[keep], owner[keep]
    target_row = rows + np.rint(heights[owner] * drow[owner]).astype(np.int64)
    target_col = cols + np.rint(heights[owner] * dcol[owner]).astype(np.int64)
    inside = (target_row >= 0) & (target_row < labels.shape[0]) & (target_col >= 0) & (target_col < labels.shape[1])
    footprint = np.zeros(labels.shape, dtype=bool)
    footprint[target_row[inside], target_col[inside]] = True
    return footprint


def _upsample_nearest(coarse: np.ndarray, factor: int, shape: tuple[int, int]) -> np.ndarray:
    """Each coarse cell repeated over its ``factor`` x ``factor`` block, cut to ``shape``."""
    return np.repeat(np.repeat(coarse, factor, axis=0), factor, axis=1)[: shape[0], : shape[1]]
