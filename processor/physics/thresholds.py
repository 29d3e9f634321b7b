"""Named thresholds of the spectral rules, one set for L1C (TOA) and one for L2A (BOA) reflectance.

Every test is fuzzy: a :class:`Ramp` gives membership 0 at ``zero`` and 1 at ``one``, linear in between
(``zero > one`` for tests that want small values), as the cloud-probability ramps of Sen2Cor's scene
classification do. A published hard threshold ``t`` becomes a ramp around it, so the decision at
membership 0.5 lies at (or next to) the published value and the ramp width gives the confidence.

Sources (cited next to each constant):
- [ZW12] Zhu & Woodcock (2012), Object-based cloud and cloud shadow detection in Landsat imagery (Fmask),
  Remote Sens. Environ. 118:83-94.
- [Z15] Zhu, Wang & Woodcock (2015), Improvement and expansion of the Fmask algorithm (Fmask 3.3: cirrus
  band, Sentinel-2), Remote Sens. Environ. 159:269-277.
- [Q19] Qiu, Zhu & He (2019), Fmask 4.0, Remote Sens. Environ. 231:111205.
- [S2C] Sen2Cor L2A ATBD (S2PAD-ATBD-0001) and its scene-classification GIPP L2A_CAL_SC_GIPP.xml
  (T1_/T2_ thresholds of the 2.x releases).
- [Z02] Zhang, Guindon & Cihlar (2002), An image transform to characterize and compensate for spatial
  variations in thin cloud contamination (haze-optimized transform), Remote Sens. Environ. 82:173-187.
- [X06] Xu (2006), MNDWI, Int. J. Remote Sens. 27:3025-3033; [M96] McFeeters (1996), NDWI, IJRS 17:1425.
- [H16] Hollstein et al. (2016), Ready-to-use methods for the detection of clouds, cirrus, snow, shadow,
  water and clear sky pixels in Sentinel-2 MSI images, Remote Sens. 8:666.
Constants marked "s2mask" have no published counterpart; they were set on the synthetic scenes of
``s2mask.sim.clouds`` and checked on the real scenes of ``bench/physics.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class Ramp:
    """Membership 0 at ``zero``, 1 at ``one``, linear in between and clipped outside."""

    zero: float
    one: float

    def __call__(self, values: np.ndarray) -> np.ndarray:
        scale = np.float32(1.0 / (self.one - self.zero))
        membership = (values - np.float32(self.zero)) * scale
        return np.clip(membership, 0.0, 1.0, out=membership)


@dataclass(frozen=True)
class Thresholds:
    """The thresholds of one processing level; see the module docstring for the sources."""

    # --- cloud ----------------------------------------------------------------------------------
    #: Red (B4) brightness of any cloud: [S2C] T1_B04 = 0.06, T2_B04 = 0.25 (cloud probability ramp).
    cloud_red: Ramp
    #: Blue (B2) reflectance from which a cloud hides the surface (opaque rather than thin): s2mask.
    #: Land is darkest in the blue (vegetation 0.04, soil 0.11, sand 0.24 BOA) and clouds are not, so B2
    #: tracks cloud opacity best; membership 0.5 where an opacity of 0.6 puts vegetation and soil.
    opaque_blue: Ramp
    #: Whiteness sum|b - mean|/mean over B2, B3, B4: clouds are flat, [ZW12] whiteness < 0.7.
    whiteness: Ramp
    #: Haze-optimized transform B2 - 0.5 B4 - 0.08: [Z02], [ZW12] HOT > 0 for cloud (TOA); membership
    #: 0.5 at 0.03, where 15 % cloud opacity puts vegetation.
    hot: Ramp
    #: Red (B4) brightness that thin cloud needs besides HOT: water and shadow are blue (positive HOT)
    #: but dark; the ramp starts at [S2C] T1_B04 = 0.06.
    haze_red: Ramp
    #: NDVI of cloud: [S2C] T1_NDVI = 0.36, T2_NDVI = 0.42 (vegetation filter, decreasing ramp).
    cloud_ndvi: Ramp
    #: NDSI (B3 - B11)/(B3 + B11) of cloud: [S2C] T1_NDSI_CLD = -0.24, T2_NDSI_CLD = -0.16.
    cloud_ndsi: Ramp
    #: NIR/SWIR1 ratio (B8A/B11) excluding bright rock and sand: zero at [ZW12]'s NIR/SWIR1 > 0.75, full at
    #: 0.95, just under [S2C]'s T1_R_B8A_B11 = 0.90 / T2 = 1.10 (whose 0.9-1.1 ramp would demote the
    #: small-droplet clouds of deserts, B8A/B11 about 0.98 on 29RKH, to thin cloud).
    nir_swir: Ramp
    #: SWIR2 (B12) basic test excluding water and shadow from cloud: [ZW12] B7 (SWIR2) > 0.03.
    cloud_swir2: Ramp
    #: Cirrus reflectance at 1375 nm (B10): membership 0.5 at [S2C] T1_B10 = 0.012 (onset of thin cirrus)
    #: and 1 at 0.02, below [S2C] T2_B10 = 0.035; [Z15]/[Q19] add B10 / 0.04 to the cloud probability
    #: and decide at 20 %, i.e. B10 = 0.008 alone.
    cirrus: Ramp
    # --- snow -----------------------------------------------------------------------------------
    #: NDSI of snow: [S2C] T1_NDSI_SNW = 0.35, T2_NDSI_SNW = 0.50 ([ZW12]/[Q19] use NDSI > 0.15
    #: with a temperature test that Sentinel-2 cannot run).
    snow_ndsi: Ramp
    #: NIR (B8A) of snow: [S2C] T1_B8A = 0.15, T2_B8A = 0.35; [ZW12] NIR > 0.11.
    snow_nir: Ramp
    #: Green (B3) of snow: [ZW12] green > 0.10 (the temperature-free part of Fmask's snow test).
    snow_green: Ramp
    #: SWIR2 (B12) of snow, which ice absorbs: [S2C] T1_B12 = 0.25, T2_B12 = 0.12 (decreasing).
    snow_swir2: Ramp
    #: Blue (B2) of snow: [S2C] snow filter 3, T1_B02 = 0.18, T2_B02 = 0.22.
    snow_blue: Ramp
    #: Blue/red ratio B2/B4 of snow, whose reflectance falls with wavelength (turbid water, tidal flats and
    #: bright soils rise): [S2C] snow filter 4, T1_R_B02_B04 = 0.85, T2_R_B02_B04 = 0.95.
    snow_blue_red: Ramp
    # --- water ----------------------------------------------------------------------------------
    #: [ZW12] water test, first clause: NDVI < 0.01 and NIR < 0.11.
    water_ndvi: Ramp
    water_nir: Ramp
    #: [ZW12] water test, second clause: NDVI < 0.1 and NIR < 0.05.
    water_ndvi_dark: Ramp
    water_nir_dark: Ramp
    #: Turbid water: sediment lifts the red and NIR above [ZW12]'s limits, but water still absorbs at
    #: 1.6 um ([X06]'s reason for MNDWI): NDVI < 0 and SWIR1 (B11) < 0.05 (s2mask).
    water_ndvi_turbid: Ramp
    water_swir1: Ramp
    #: MNDWI (B3 - B11)/(B3 + B11) > 0 [X06]; NDWI (B3 - B8)/(B3 + B8) > 0 [M96] when B11 is missing.
    water_index: Ramp
    # --- cloud shadow (dark-pixel layer) --------------------------------------------------------
    #: Darkness of shadowed land in NIR + SWIR1 (B8A + B11), the bands where a shadow removes most light
    #: ([ZW12] flood-fills NIR, [Q19] NIR and SWIR1). Sunlit vegetation and soil sum to about 0.6, under
    #: half the direct sun to 0.35, in full shadow to 0.06. The absolute ramp is s2mask's block-local
    #: stand-in for Fmask's flood fill (which needs the whole image); geometry does the rest.
    shadow_nir_swir1: Ramp
    #: The same on NIR alone, when B11 is missing.
    shadow_nir: Ramp

    def with_changes(self, **changes: Ramp) -> Thresholds:
        """A copy with some ramps replaced (for experiments and for tests that break a rule on purpose)."""
        return replace(self, **changes)


L1C = Thresholds(
    cloud_red=Ramp(0.06, 0.25),
    opaque_blue=Ramp(0.30, 0.45),
    whiteness=Ramp(0.80, 0.60),
    hot=Ramp(0.0, 0.06),
    haze_red=Ramp(0.06, 0.12),
    cloud_ndvi=Ramp(0.42, 0.36),
    cloud_ndsi=Ramp(-0.24, -0.16),
    nir_swir=Ramp(0.75, 0.95),
    cloud_swir2=Ramp(0.02, 0.04),
    cirrus=Ramp(0.004, 0.020),
    snow_ndsi=Ramp(0.35, 0.50),
    snow_nir=Ramp(0.15, 0.35),
    snow_green=Ramp(0.10, 0.20),
    snow_swir2=Ramp(0.25, 0.12),
    snow_blue=Ramp(0.18, 0.22),
    snow_blue_red=Ramp(0.85, 0.95),
    water_ndvi=Ramp(0.05, -0.03),
    water_nir=Ramp(0.13, 0.09),
    water_ndvi_dark=Ramp(0.14, 0.06),
    water_nir_dark=Ramp(0.06, 0.04),
    water_ndvi_turbid=Ramp(0.04, -0.04),
    water_swir1=Ramp(0.06, 0.04),
    water_index=Ramp(-0.05, 0.10),
    shadow_nir_swir1=Ramp(0.45, 0.15),
    shadow_nir=Ramp(0.25, 0.08),
)

#: BOA reflectance has no path radiance: clear land is darker in the blue and red than at TOA (by about
#: 0.07 and 0.02, [S2C] aerosol/Rayleigh terms), so the haze transform and the brightness ramps that
#: separate haze from surface move down (HOT of clear vegetation: -0.02 TOA, -0.06 BOA). Clouds come
#: out of the atmospheric correction brighter in the blue than at TOA, so the opaque ramp moves up.
L2A = L1C.with_changes(
    cloud_red=Ramp(0.04, 0.23),
    opaque_blue=Ramp(0.32, 0.48),
    hot=Ramp(-0.035, 0.015),
    haze_red=Ramp(0.04, 0.10),
    water_ndvi=Ramp(0.08, 0.0),
    water_nir=Ramp(0.12, 0.08),
    water_nir_dark=Ramp(0.055, 0.035),
)

THRESHOLDS: dict[str, Thresholds] = {"L1C": L1C, "L2A": L2A}
