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

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..classes import MaskClass
from ..cores import available_cores

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

#: A bounding box (rows, columns) of an object, as ``scipy.ndimage.find_objects`` gives it.
Box = tuple[slice, slice]
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
    """Sum (int32 for integers) or max over ``factor`` x ``factor`` blocks; edge blocks are padded by
    repetition. Accumulating strided slices is twenty times faster than reducing a 4-D reshape."""
    if factor == 1:
        return array
    height, width = array.shape
    if height % factor or width % factor:
        array = np.pad(array, ((0, -height % factor), (0, -width % factor)), mode="edge")
    combine = np.maximum if reducer == "max" else np.add
    dtype = np.int32 if reducer == "sum" and array.dtype.kind in "biu" else array.dtype
    rows = array[0::factor].astype(dtype)
    for offset in range(1, factor):
        combine(rows, array[offset::factor], out=rows)
    blocks = rows[:, 0::factor].copy()
    for offset in range(1, factor):
        combine(blocks, rows[:, offset::factor], out=blocks)
    return blocks


def _per_object_direction(angles: tuple, labels: np.ndarray, count: int, factor: int,
                          resolution: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-object mean shadow direction (pixels of the matching grid per metre); index 0 unused."""
    drow, dcol = shadow_direction(*angles, resolution=resolution * factor)
    if np.ndim(drow) == 0:
        return np.full(count + 1, float(drow)), np.full(count + 1, float(dcol))
    index = np.arange(1, count + 1)
    means = [np.concatenate(([0.0], ndimage.mean(_block_reduce(np.asarray(d, np.float32), factor, "sum"),
                                                 labels, index) / factor**2)) for d in (drow, dcol)]
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


def object_boxes(labels: np.ndarray) -> list[Box | None]:
    """The bounding box of each object of ``labels`` (index ``k - 1`` for object ``k``; None if absent)."""
    return ndimage.find_objects(labels)


@dataclass(frozen=True)
class ObjectPixels:
    """Where the labelled objects lie on an image of ``shape``: each object's bounding box (``boxes``,
    index ``k - 1`` for object ``k``, None to leave it out) and its pixels in it (:meth:`inside`).

    ``labels`` may be on a grid ``factor`` times coarser than the image, and then an object's image pixels
    are those of its coarse cells that are also in ``within``: the full-grid pixels of coarse objects,
    found box by box without a full-grid label image (two 120 MB arrays on a 20 m tile).
    """

    labels: np.ndarray
    boxes: Sequence[Box | None]
    shape: tuple[int, int]
    factor: int = 1
    within: np.ndarray | None = None

    def inside(self, label: int, box: Box) -> np.ndarray:
        """The object's pixels in ``box`` (a bool array of the box's shape)."""
        if self.factor == 1:
            return self.labels[box] == label
        factor = self.factor
        coarse = self.labels[tuple(slice(edge.start // factor, -(-edge.stop // factor)) for edge in box)] == label
        rows, cols = coarse.shape
        cells = np.broadcast_to(coarse[:, None, :, None], (rows, factor, cols, factor)).reshape(rows * factor, -1)
        first_row, first_col = (edge.start % factor for edge in box)
        height, width = (edge.stop - edge.start for edge in box)
        cells = cells[first_row:first_row + height, first_col:first_col + width]
        return cells & self.within[box] if self.within is not None else cells


def _sample_pixels(objects: ObjectPixels) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, columns and labels of the objects' pixels, thinned to about :data:`MAX_SAMPLES` (at most four
    times as many) per object: a larger object keeps the nodes of a square lattice over the image whose
    spacing suits its size, so the sample spreads evenly over the whole object."""
    rows, cols, labels = [], [], []
    for label, box in enumerate(objects.boxes, start=1):
        if box is None:
            continue
        inside = objects.inside(label, box)
        step = max(int(np.sqrt(np.count_nonzero(inside) / MAX_SAMPLES)), 1)
        # The lattice is the image's (rows and columns that are multiples of the step), not the box's.
        first_row, first_col = (-(-edge.start // step) * step for edge in box)
        node_rows, node_cols = np.nonzero(inside[first_row - box[0].start::step, first_col - box[1].start::step])
        rows.append(node_rows * step + first_row)
        cols.append(node_cols * step + first_col)
        labels.append(np.full(node_rows.size, label, dtype=np.int64))
    if not rows:
        return (np.empty(0, np.int64),) * 3
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(labels)


def match_heights(hidden: np.ndarray, evidence: np.ndarray, levels: int, objects: ObjectPixels, drow: np.ndarray,
                  dcol: np.ndarray, candidates: np.ndarray, min_similarity: float = MIN_SIMILARITY,
                  threads: int = 0) -> np.ndarray:
    """The best of the ``candidates`` heights (n, objects + 1; NaN = skip) for each of the ``objects``.

    ``hidden`` marks pixels where a shadow cannot be seen (clouds), ``evidence`` (integers 0..``levels``)
    how much a pixel looks like a shadow; ``drow``/``dcol`` are per-object shifts in pixels per metre of
    height. Returns heights per object (index 0 unused), NaN where no candidate reaches ``min_similarity``.
    ``threads`` share the candidates (0: :func:`_threads`); the result does not depend on their number.

    Every pixel of an object moves by the same whole number of pixels, so a projection is a gather at a
    per-object offset from a padded image of codes (evidence level, or ``levels + 1`` for hidden and
    outside), and one count of (object, code) pairs gives both the visible pixels and the evidence.
    """
    count = candidates.shape[1] - 1
    rows, cols, labels = _sample_pixels(objects)
    sizes = np.bincount(labels, minlength=count + 1)
    tried = np.isfinite(candidates)
    shift_rows, shift_cols, pad_rows, pad_cols = _whole_pixel_shifts(candidates, drow, dcol)
    unseen = levels + 1
    height, width = objects.shape
    codes = np.full((height + 2 * pad_rows, width + 2 * pad_cols), unseen, dtype=np.uint8)
    codes[pad_rows:pad_rows + height, pad_cols:pad_cols + width] = np.where(hidden, unseen, evidence)
    padded_width = codes.shape[1]
    codes = codes.ravel()
    origin = (rows + pad_rows) * padded_width + cols + pad_cols
    pair = labels * (unseen + 1)
    seen_weight = np.append(np.ones(unseen), 0.0)
    evidence_weight = np.append(np.arange(unseen) / levels, 0.0)

    def best_of(part: slice) -> tuple[np.ndarray, np.ndarray]:
        best = np.full(count + 1, np.nan)
        best_similarity = np.full(count + 1, min_similarity)
        for height, tried_now, shift_row, shift_col in zip(candidates[part], tried[part], shift_rows[part],
                                                           shift_cols[part]):
            offset = shift_row * padded_width + shift_col
            landed = codes[origin + offset[labels]]
            pairs = np.bincount(pair + landed, minlength=(count + 1) * (unseen + 1)).reshape(count + 1, unseen + 1)
            seen = pairs @ seen_weight
            similarity = (pairs @ evidence_weight) / np.maximum(seen, 1)
            better = tried_now & (similarity > best_similarity) & (seen >= MIN_VISIBLE * sizes)
            best[better] = height[better]
            best_similarity[better] = similarity[better]
        return best, best_similarity

    # The heights are split among threads (numpy's gathers and counts release the GIL); a later part
    # replaces an earlier one only where it is strictly better, so the first best height still wins.
    parts = [slice(part[0], part[-1] + 1) for part in np.array_split(np.arange(len(candidates)), threads or _threads())
             if part.size]
    best = np.full(count + 1, np.nan)
    best_similarity = np.full(count + 1, min_similarity)
    with ThreadPoolExecutor(max(len(parts), 1)) as pool:
        for part_best, part_similarity in pool.map(best_of, parts):
            better = part_similarity > best_similarity
            best[better], best_similarity[better] = part_best[better], part_similarity[better]
    best[0] = np.nan
    return best


def _whole_pixel_shifts(heights: np.ndarray, drow: np.ndarray,
                        dcol: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Row and column shifts in whole pixels of objects at ``heights`` (0 where NaN), and the largest of
    each: the padding that keeps every shifted pixel inside a padded image."""
    heights = np.nan_to_num(heights)
    shift_rows = np.rint(heights * drow).astype(np.int64)
    shift_cols = np.rint(heights * dcol).astype(np.int64)
    return shift_rows, shift_cols, int(np.abs(shift_rows).max(initial=0)), int(np.abs(shift_cols).max(initial=0))


def _threads() -> int:
    """The cores this process may use, at most ``OMP_NUM_THREADS`` (which ``s2mask batch`` sets per worker):
    the threads of a shadow pass not told how many it may use."""
    available = available_cores()
    limit = os.environ.get("OMP_NUM_THREADS", "")
    return min(available, int(limit)) if limit.isdigit() and int(limit) > 0 else available


def shadow_pass(classes: np.ndarray, potential_shadow: np.ndarray, *, sun_zenith: np.ndarray | float,
                sun_azimuth: np.ndarray | float, view_zenith: np.ndarray | float = 0.0,
                view_azimuth: np.ndarray | float = 0.0, resolution: float, threads: int = 0) -> np.ndarray:
    """The classes with CLOUD_SHADOW set where a matched cloud projection falls on dark pixels.

    ``classes`` uint8 (H, W) from the spectral pass, ``potential_shadow`` (H, W) bool or float 0..1
    (dark-pixel membership), angles in degrees as scalars or (H, W) arrays, ``resolution`` the pixel
    size in metres. Works on the whole image (a shadow can fall far from its cloud). ``threads`` (0: every
    core, at most ``OMP_NUM_THREADS``) match the cloud heights; the result does not depend on them.
    """
    classes = np.asarray(classes, dtype=np.uint8)
    potential = np.asarray(potential_shadow)
    if potential.dtype not in (np.float16, np.float32):
        potential = potential.astype(np.float32)
    if potential.shape != classes.shape:
        raise ValueError(f"potential_shadow {potential.shape} does not match classes {classes.shape}")
    # Few full-grid temporaries, filled in place: each is 30 M fresh pixels on a 20 m tile, and first
    # touches of fresh memory cost a finished run about 0.3 s in all. Membership is compared as float32
    # (the thresholds are float32 scalars), without a float32 copy of a float16 layer.
    opaque = classes == MaskClass.CLOUD
    cloud = opaque | (classes == MaskClass.THIN_CLOUD)  # np.isin took 40 times longer
    result = classes.copy()
    if not cloud.any():
        return result
    # Water is dark with or without a shadow (and shadowed soil passes the water tests): it counts as
    # half a match, so that a lake cannot outbid a shadow on land. Counted in halves (2 dark, 1 water,
    # 0 neither) so that block sums stay exact integers.
    evidence = np.greater_equal(potential, np.float32(MATCH_DARKNESS)).view(np.uint8)
    evidence *= np.uint8(2)
    evidence[classes == MaskClass.WATER] = round(2 * WATER_MATCH)
    angles = (sun_zenith, sun_azimuth, view_zenith, view_azimuth)
    objects, heights, drow, dcol = _match_objects(opaque, cloud, evidence, angles, resolution, threads)
    shadow = _footprint(objects, heights, drow, dcol)
    np.greater(shadow, cloud, out=shadow)  # and not cloud
    shadow &= np.greater_equal(potential, np.float32(SHADOW_DARKNESS))
    shadow &= classes != MaskClass.NO_DATA
    result[shadow] = MaskClass.CLOUD_SHADOW
    return result


def _match_objects(opaque: np.ndarray, cloud: np.ndarray, evidence: np.ndarray, angles: tuple,
                   resolution: float, threads: int) -> tuple[ObjectPixels, np.ndarray, np.ndarray, np.ndarray]:
    """The matched cloud objects (``cloud``, of which ``opaque`` is CLOUD) on the full grid, their heights
    (NaN: no match) and shifts per metre (full-grid pixels).

    All heights are tried on the matching grid; each match is then refined on the full grid within a
    step of the coarse height either side.
    """
    factor = max(1, int(round(MATCH_RESOLUTION / resolution)))
    cloud_coarse = _block_reduce(cloud, factor, "max")
    labels, count = cloud_objects(_block_reduce(opaque, factor, "max"), cloud_coarse,
                                  max(1, int(round(RIM_WIDTH / (resolution * factor)))))
    drow, dcol = _per_object_direction(angles, labels, count, factor, resolution)
    heights = search_heights(drow, dcol)
    boxes = object_boxes(labels)
    coarse = match_heights(cloud_coarse, _block_reduce(evidence, factor, "sum"), 2 * factor**2,
                           ObjectPixels(labels, boxes, labels.shape), drow, dcol,
                           np.broadcast_to(heights[:, None], (heights.size, count + 1)), threads=threads)
    step = (heights[1] - heights[0]) / factor if heights.size > 1 else 0.0
    candidates = coarse[None, :] + np.arange(-factor, factor + 1)[:, None] * step
    # On the full grid an object is the cloud in its coarse cells; objects without a match need no
    # refinement and cast no shadow.
    full_boxes = [tuple(slice(edge.start * factor, min(edge.stop * factor, size))
                        for edge, size in zip(box, cloud.shape))
                  if box is not None and np.isfinite(coarse[label]) else None
                  for label, box in enumerate(boxes, start=1)]
    objects = ObjectPixels(labels, full_boxes, cloud.shape, factor, within=cloud)
    drow, dcol = drow * factor, dcol * factor
    return objects, match_heights(cloud, evidence, 2, objects, drow, dcol, candidates, 0.0, threads), drow, dcol


def _footprint(objects: ObjectPixels, heights: np.ndarray, drow: np.ndarray, dcol: np.ndarray) -> np.ndarray:
    """Where the pixels of matched objects land when moved by their height's shift."""
    shift_rows, shift_cols, pad_rows, pad_cols = _whole_pixel_shifts(heights, drow, dcol)
    height, width = objects.shape
    padded = np.zeros((height + 2 * pad_rows, width + 2 * pad_cols), dtype=bool)
    for label in np.flatnonzero(np.isfinite(heights)):
        box = objects.boxes[label - 1]
        if box is None:
            continue
        inside = objects.inside(label, box)
        row = box[0].start + pad_rows + shift_rows[label]
        col = box[1].start + pad_cols + shift_cols[label]
        landed = padded[row:row + inside.shape[0], col:col + inside.shape[1]]
        landed |= inside
    return padded[pad_rows:pad_rows + height, pad_cols:pad_cols + width]
