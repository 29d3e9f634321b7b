"""Reflectance spectra of the synthetic scenes, for the 13 MSI bands in ESA order (B1 ... B12).

Surface spectra are bottom-of-atmosphere (BOA) reflectance, typical of the USGS/ECOSTRESS libraries
resampled to the MSI bands. Top-of-atmosphere (L1C) reflectance adds :data:`PATH_REFLECTANCE`, the
Rayleigh/aerosol path term (strong in the blue, vanishing in the SWIR) and removes the water-vapour
absorption of B9 and the near-total absorption of B10 (1375 nm), where only high clouds are visible.
"""

from __future__ import annotations

import numpy as np

from ..bands import ALL_BANDS, CENTRAL_WAVELENGTH_NM


def _spectrum(*values: float) -> np.ndarray:
    if len(values) != len(ALL_BANDS):
        raise ValueError("a spectrum has one value per MSI band")
    return np.array(values, dtype=np.float32)


#: Surface types of the synthetic landscapes and their BOA spectra.
SURFACE_SPECTRA: dict[str, np.ndarray] = {
    #                      B1    B2    B3    B4    B5    B6    B7    B8    B8A   B9    B10   B11   B12
    "vegetation": _spectrum(0.03, 0.04, 0.08, 0.04, 0.11, 0.30, 0.38, 0.41, 0.42, 0.42, 0.03, 0.20, 0.09),
    "cropland": _spectrum(0.05, 0.06, 0.10, 0.09, 0.15, 0.24, 0.28, 0.30, 0.31, 0.31, 0.04, 0.26, 0.15),
    "bare_soil": _spectrum(0.09, 0.11, 0.15, 0.20, 0.23, 0.25, 0.27, 0.28, 0.30, 0.30, 0.05, 0.36, 0.29),
    "bright_sand": _spectrum(0.20, 0.24, 0.32, 0.40, 0.44, 0.46, 0.48, 0.49, 0.51, 0.51, 0.08, 0.58, 0.50),
    "urban": _spectrum(0.10, 0.11, 0.12, 0.13, 0.14, 0.15, 0.16, 0.17, 0.17, 0.17, 0.04, 0.20, 0.17),
    "water": _spectrum(0.06, 0.06, 0.05, 0.03, 0.02, 0.012, 0.010, 0.008, 0.007, 0.006, 0.002, 0.004, 0.003),
    "turbid_water": _spectrum(0.07, 0.08, 0.10, 0.09, 0.07, 0.04, 0.03, 0.025, 0.02, 0.015, 0.003, 0.008, 0.005),
    "snow": _spectrum(0.90, 0.92, 0.91, 0.89, 0.87, 0.85, 0.82, 0.78, 0.74, 0.60, 0.10, 0.08, 0.06),
}

#: Surfaces whose spectra :func:`varied_surface_spectra` leaves alone: their shapes are what the
#: physics of water and snow classes rests on.
FIXED_SURFACES: tuple[str, ...] = ("water", "turbid_water", "snow")
#: Wavelengths (nm) where :func:`varied_surface_spectra` draws its independent factors: visible, NIR,
#: SWIR1, SWIR2 (clay, carbonate and gypsum absorptions near 2.2 um lower B12 against B11).
VARIETY_ANCHORS_NM = (490.0, 840.0, 1610.0, 2200.0)


def varied_surface_spectra(rng: np.random.Generator, sigma: float) -> dict[str, np.ndarray]:
    """:data:`SURFACE_SPECTRA` with every land spectrum multiplied by its own smooth random factor of
    wavelength: ``exp(N(0, sigma))`` at each of :data:`VARIETY_ANCHORS_NM`, interpolated in log space
    between them (held beyond them). Five fixed land spectra cover little of the world's soils, rocks
    and crops; a network taught on them alone extrapolates on the others (bench/mask.md)."""
    wavelengths = np.array([CENTRAL_WAVELENGTH_NM[band] for band in ALL_BANDS])
    varied = {}
    for name, spectrum in SURFACE_SPECTRA.items():
        if name in FIXED_SURFACES:
            varied[name] = spectrum
            continue
        log_factor = np.interp(wavelengths, VARIETY_ANCHORS_NM, rng.normal(0.0, sigma, len(VARIETY_ANCHORS_NM)))
        varied[name] = np.minimum(spectrum * np.exp(log_factor), 0.95).astype(np.float32)
    return varied


#: Top-of-atmosphere minus surface reflectance for a clear, dry mid-latitude atmosphere.
PATH_REFLECTANCE = _spectrum(0.10, 0.07, 0.04, 0.02, 0.015, 0.01, 0.008, 0.006, 0.005, 0.0, 0.0, 0.002, 0.001)
#: Two-way atmospheric transmittance of the surface signal (water vapour at B9, saturated absorption at B10).
TRANSMITTANCE = _spectrum(0.75, 0.80, 0.86, 0.90, 0.92, 0.93, 0.94, 0.95, 0.95, 0.35, 0.02, 0.92, 0.88)

#: Fraction of a band's surface illumination that is diffuse sky light: what remains inside a shadow.
DIFFUSE_FRACTION = _spectrum(0.45, 0.40, 0.30, 0.22, 0.18, 0.15, 0.13, 0.12, 0.11, 0.10, 0.10, 0.06, 0.05)


def band_position(band: str) -> int:
    return ALL_BANDS.index(band)


def to_toa(surface: np.ndarray, band: str) -> np.ndarray:
    """TOA reflectance of a surface (BOA) reflectance array in ``band``."""
    index = band_position(band)
    toa = surface * TRANSMITTANCE[index]
    toa += PATH_REFLECTANCE[index]
    return toa


def from_toa(toa: np.ndarray, band: str) -> np.ndarray:
    """The inverse of :func:`to_toa`, in place: what an atmospheric correction makes of TOA reflectance."""
    index = band_position(band)
    toa -= PATH_REFLECTANCE[index]
    toa *= np.float32(1 / TRANSMITTANCE[index])
    return toa


#: Reflectance at 1375 nm (B10) of an opaque cloud top: water vapour absorbs B10 below about 1-2 km, so
#: low clouds are invisible there and only high ones shine through ([Z15] Zhu et al. 2015; Gao et al.
#: 1993). Linear in height from :data:`B10_VISIBLE_FROM` to :data:`B10_FULL_AT`, where it reaches
#: :data:`B10_CLOUD_TOP_MAX` (bright deep-convective tops).
B10_VISIBLE_FROM = 1500.0
B10_FULL_AT = 10000.0
B10_CLOUD_TOP_MAX = 0.40


def cloud_top_b10(height: np.ndarray | float) -> np.ndarray:
    """B10 reflectance of an optically thick cloud whose top is at ``height`` metres."""
    fraction = (np.asarray(height, dtype=np.float32) - B10_VISIBLE_FROM) / (B10_FULL_AT - B10_VISIBLE_FROM)
    return (np.clip(fraction, 0, 1) * B10_CLOUD_TOP_MAX).astype(np.float32)
