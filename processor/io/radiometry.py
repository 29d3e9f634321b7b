"""How each source's digital numbers become reflectance: the offset rules of every input, in one place.

Every reader turns DN into reflectance as ``(DN + offset) / quantification`` (:func:`~s2mask.io.safe.
dn_to_reflectance`); only the two numbers differ by source, and they are decided here. From processing
baseline 04.00 ESA shifts every DN by +1000 (``RADIO_ADD_OFFSET`` / ``BOA_ADD_OFFSET`` = -1000), and
the distributors of cloud-optimised copies each treat that shift their own way:

=========================================  ==========================================================
source                                     reflectance
=========================================  ==========================================================
SAFE                                       ``(DN + RADIO/BOA_ADD_OFFSET) / QUANTIFICATION_VALUE`` from
                                           the product metadata (no offset before 04.00); read by
                                           :mod:`s2mask.io.product_mtd`
EOPF Zarr                                  ``DN * scale_factor + add_offset``, the attributes of each
                                           array (``add_offset`` -0.1 from 04.00)
earth-search ``sentinel-2-l2a``            ``DN * scale``: the COGs were harmonised (the shift taken
                                           out) although ``raster:bands`` still declares ``offset``
                                           -0.1 and ``earthsearch:boa_offset_applied`` is often false
                                           (earth-search issues 66 and 71)
earth-search ``sentinel-2-c1-l2a``,        ``DN * scale + offset`` as ``raster:bands`` declares: the
other items with ``raster:bands``          pixels are ESA's (stactools-sentinel2 items too)
Planetary Computer ``sentinel-2-l2a``      ``(DN - 1000) / 10000`` when ``s2:processing_baseline`` >=
                                           04.00, ``DN / 10000`` before: the item declares nothing
                                           (PlanetaryComputer issue 134)
=========================================  ==========================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from ..errors import ProductFormatError
from .product_mtd import OFFSET_BASELINE, baseline_tuple

#: ESA's quantification of reflectance (DN per unit reflectance) and the shift of baseline 04.00.
QUANTIFICATION = 10000.0
BASELINE_SHIFT = -1000.0


class PixelSource(Enum):
    """Who produced the pixels a reader sees, which decides how they become reflectance."""

    EOPF = "EOPF Zarr"
    EARTH_SEARCH_L2A = "earth-search sentinel-2-l2a"
    EARTH_SEARCH_C1 = "earth-search sentinel-2-c1-l2a"
    DECLARED = "STAC raster:bands"
    PLANETARY_COMPUTER = "Planetary Computer sentinel-2-l2a"


@dataclass(frozen=True)
class Scaling:
    """Reflectance = (DN + ``offset``) / ``quantification``."""

    offset: float
    quantification: float


def _from_scale(scale: float | None, offset: float | None, source: PixelSource, where: str | Path) -> Scaling:
    if scale is None or scale <= 0:
        raise ProductFormatError(f"{source.value} pixels need a declared positive scale to become reflectance, "
                                 f"the metadata declares {scale}", where)
    # An absent offset is 0 (CF's add_offset, STAC raster's offset). 1 / 0.0001 and -0.1 / 0.0001 are not
    # exact in binary: round to what ESA writes (10000, -1000).
    return Scaling(round((offset or 0.0) / scale, 6), round(1.0 / scale, 6))


def scaling(source: PixelSource, where: str | Path, *, baseline: str, scale: float | None = None,
            offset: float | None = None) -> Scaling:
    """The rule of the module docstring's table for one band of one product.

    ``scale`` and ``offset`` are what the product declares for the band (EOPF's ``scale_factor`` and
    ``add_offset``, STAC's ``raster:bands``), None where it declares nothing; ``where`` names the product
    in errors.
    """
    if source is PixelSource.PLANETARY_COMPUTER:
        shifted = baseline_tuple(baseline) >= OFFSET_BASELINE
        return Scaling(BASELINE_SHIFT if shifted else 0.0, QUANTIFICATION)
    if source is PixelSource.EARTH_SEARCH_L2A:
        return Scaling(0.0, round(1.0 / scale, 6) if scale else QUANTIFICATION)
    return _from_scale(scale, offset, source, where)
