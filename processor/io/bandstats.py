"""Exact statistics of uint8 bands, gathered while the blocks are written.

GDAL keeps a band's statistics as the metadata items ``STATISTICS_MINIMUM`` ... ``STATISTICS_VALID_PERCENT``.
Written into a GeoTIFF they live in the file itself, so GDAL (and QGIS through it) reads them instead
of computing them on first open and saving them in a new ``.aux.xml`` beside the file, which fails on
read-only storage. For raw ENVI bands, which have no such place, :func:`pam_statistics` gives the
sidecar GDAL would have written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from lxml import etree


class BandHistograms:
    """Counts of every uint8 value of each of ``bands`` bands, added block by block."""

    def __init__(self, bands: int):
        self.counts = np.zeros((bands, 256), dtype=np.int64)

    def add(self, data: np.ndarray | Sequence[np.ndarray]) -> None:
        """Add a block: one uint8 (h, w) layer per band, as an array (bands, h, w) or a sequence."""
        for band, layer in enumerate(data):
            self.counts[band] += np.bincount(layer.ravel(), minlength=256)

    def statistics(self, band: int, nodata: int | None) -> dict[str, str]:
        """GDAL's ``STATISTICS_*`` items of band ``band`` (0-based) over the pixels that are not ``nodata``
        (population standard deviation, as GDAL computes it); empty when every pixel is no data."""
        counts = self.counts[band].copy()
        total = int(counts.sum())
        if nodata is not None:
            counts[nodata] = 0
        valid = int(counts.sum())
        if valid == 0:
            return {}
        values = np.flatnonzero(counts)
        mean = float(np.dot(values, counts[values])) / valid
        variance = float(np.dot((values - mean) ** 2, counts[values])) / valid
        return {"STATISTICS_MINIMUM": str(int(values[0])), "STATISTICS_MAXIMUM": str(int(values[-1])),
                "STATISTICS_MEAN": f"{mean:.10g}", "STATISTICS_STDDEV": f"{variance ** 0.5:.10g}",
                "STATISTICS_VALID_PERCENT": f"{100.0 * valid / total:.10g}"}


def pam_statistics(statistics: Mapping[str, str], description: str) -> bytes:
    """A one-band GDAL PAM document (``NAME.aux.xml``) holding ``statistics`` as band metadata.

    GDAL gives the band the PAM's description, an empty one when it has none: ``description`` repeats
    the band's name (an ENVI header's ``band names``) so that it is not lost."""
    root = etree.Element("PAMDataset")
    band = etree.SubElement(root, "PAMRasterBand", band="1")
    etree.SubElement(band, "Description").text = description
    metadata = etree.SubElement(band, "Metadata")
    for key, value in statistics.items():
        etree.SubElement(metadata, "MDI", key=key).text = value
    return etree.tostring(root, pretty_print=True)
