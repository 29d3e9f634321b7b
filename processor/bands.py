"""Sentinel-2 MSI bands: names, native resolutions and central wavelengths.

Band names follow the spectral band numbering of the MSI ("B1" ... "B12", "B8A"). ESA file names pad
them to two digits ("B01", "B8A"); :func:`file_band_id` and :func:`band_from_file_id` translate.
``bandId`` in the product metadata is the position in :data:`ALL_BANDS` (0 for B1 ... 12 for B12).
"""

from __future__ import annotations

from collections.abc import Iterable

from .errors import ParameterError

#: The 13 MSI bands in ESA's bandId order (the order of the L1C ``Spectral_Information_List``).
ALL_BANDS: tuple[str, ...] = (
    "B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B10", "B11", "B12",
)
#: Bands of an L2A product: Sen2Cor drops the cirrus band B10.
L2A_BANDS: tuple[str, ...] = tuple(b for b in ALL_BANDS if b != "B10")

#: The bands every level offers at 10 m, 20 m and 60 m natively.
BANDS_10M: tuple[str, ...] = ("B2", "B3", "B4", "B8")
BANDS_20M: tuple[str, ...] = ("B5", "B6", "B7", "B8A", "B11", "B12")
BANDS_60M: tuple[str, ...] = ("B1", "B9", "B10")

#: The reduced set of the 6-band model (inputs that lack the red-edge, aerosol and cirrus bands).
REDUCED_BANDS: tuple[str, ...] = ("B2", "B3", "B4", "B8", "B11", "B12")

NATIVE_RESOLUTION: dict[str, int] = {
    **{b: 10 for b in BANDS_10M},
    **{b: 20 for b in BANDS_20M},
    **{b: 60 for b in BANDS_60M},
}

#: Central wavelengths in nm (Sentinel-2A spectral response, as in the product metadata).
CENTRAL_WAVELENGTH_NM: dict[str, float] = {
    "B1": 442.7, "B2": 492.4, "B3": 559.8, "B4": 664.6, "B5": 704.1, "B6": 740.5, "B7": 782.8,
    "B8": 832.8, "B8A": 864.7, "B9": 945.1, "B10": 1373.5, "B11": 1613.7, "B12": 2202.4,
}
#: Band widths in nm (FWHM, Sentinel-2A).
BANDWIDTH_NM: dict[str, float] = {
    "B1": 21.0, "B2": 66.0, "B3": 36.0, "B4": 31.0, "B5": 15.0, "B6": 15.0, "B7": 20.0,
    "B8": 106.0, "B8A": 21.0, "B9": 20.0, "B10": 31.0, "B11": 91.0, "B12": 175.0,
}

#: The pixel sizes (metres) of a tile's grids, and so of the mask.
RESOLUTIONS: tuple[int, ...] = (10, 20, 60)
#: The processing levels s2mask reads: top-of-atmosphere L1C and bottom-of-atmosphere L2A (:data:`L2A_BANDS`).
LEVELS: tuple[str, ...] = ("L1C", "L2A")


def band_index(name: str) -> int:
    """ESA's ``bandId`` of a band (0 for B1, 8 for B8A, 12 for B12)."""
    try:
        return ALL_BANDS.index(name)
    except ValueError:
        raise ParameterError(f"unknown Sentinel-2 band {name!r}; expected one of {', '.join(ALL_BANDS)}") from None


def file_band_id(name: str) -> str:
    """The band id used in ESA file names: "B2" -> "B02", "B8A" -> "B8A"."""
    band_index(name)
    return name if name == "B8A" else f"B{int(name[1:]):02d}"


def band_from_file_id(file_id: str) -> str:
    """Inverse of :func:`file_band_id`: "B02" -> "B2"; also accepts the short form."""
    text = file_id.upper()
    name = text if text == "B8A" else f"B{int(text[1:])}" if text[1:].isdigit() else text
    band_index(name)
    return name


def sort_bands(names: Iterable[str]) -> tuple[str, ...]:
    """The given band names in ESA's bandId order, without duplicates."""
    unique = set(names)
    for name in unique:
        band_index(name)
    return tuple(b for b in ALL_BANDS if b in unique)
