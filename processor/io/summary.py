"""A plain summary of an opened product: what ``s2mask info`` prints, as a JSON-ready dict or text."""

from __future__ import annotations

from typing import Any

from ..bands import CENTRAL_WAVELENGTH_NM, NATIVE_RESOLUTION
from .safe import Product


def summarize(product: Product) -> dict[str, Any]:
    sun_zenith, sun_azimuth = product.mean_sun_angles
    view_zenith, view_azimuth = product.mean_view_angles()
    return {
        "product_id": product.product_id,
        "format": product.format,
        "path": product.location.display_name,
        "level": product.level,
        "processing_baseline": product.baseline,
        "spacecraft": product.spacecraft,
        "sensing_time": product.sensing_time.isoformat(),
        "tile": product.tile_id,
        "epsg": product.epsg,
        "grids": {str(resolution): {"width": grid.width, "height": grid.height,
                                    "geotransform": list(grid.geotransform)}
                  for resolution, grid in sorted(product.tile.grids.items())},
        "quantification_value": product.quantification_value,
        "radiometric_offsets": {band: product.offset(band) for band in product.bands}
        if product.metadata.offsets else None,
        "bands": {band: {"native_resolution": NATIVE_RESOLUTION[band],
                         "file_resolutions": sorted(product.band_files(band)),
                         "central_wavelength_nm": CENTRAL_WAVELENGTH_NM[band]}
                  for band in product.bands},
        "sun_angles": {"zenith_mean": sun_zenith, "azimuth_mean": sun_azimuth},
        "view_angles": {"zenith_mean": view_zenith, "azimuth_mean": view_azimuth,
                        "per_band_zenith": product.tile.mean_view_zenith},
        "cloud_cover": product.cloud_cover,
        "quality_masks": sorted(product.tile.mask_files),
    }


def format_summary(summary: dict[str, Any]) -> str:
    offsets = summary["radiometric_offsets"]
    offset_text = ("none (baseline before 04.00)" if offsets is None
                   else ", ".join(sorted({f"{v:g}" for v in offsets.values()})) + " DN on every band")
    lines = [
        f"{summary['product_id']}",
        f"  format           {summary['format']}",
        f"  level            {summary['level']} (processing baseline {summary['processing_baseline']})",
        f"  spacecraft       {summary['spacecraft']}",
        f"  sensing time     {summary['sensing_time']}",
        f"  tile             {summary['tile']} (EPSG:{summary['epsg']})",
        f"  quantification   {summary['quantification_value']:g}; offset {offset_text}",
        f"  sun angles       zenith {summary['sun_angles']['zenith_mean']:.2f}, "
        f"azimuth {summary['sun_angles']['azimuth_mean']:.2f} deg (mean)",
        f"  view angles      zenith {summary['view_angles']['zenith_mean']:.2f}, "
        f"azimuth {summary['view_angles']['azimuth_mean']:.2f} deg (mean over bands)",
        f"  cloud cover      {summary['cloud_cover']:.2f} % (ESA)" if summary["cloud_cover"] is not None
        else "  cloud cover      not given",
        "  grids",
    ]
    for resolution, grid in summary["grids"].items():
        x0, _, _, y0, _, _ = grid["geotransform"]
        lines.append(f"    {resolution:>3} m         {grid['width']} x {grid['height']} px, "
                     f"upper-left ({x0:.0f}, {y0:.0f})")
    lines.append("  bands")
    for band, info in summary["bands"].items():
        files = "/".join(str(r) for r in info["file_resolutions"])
        lines.append(f"    {band:<4} {info['central_wavelength_nm']:7.1f} nm   native {info['native_resolution']} m, "
                     f"files at {files} m")
    lines.append(f"  quality masks    {', '.join(summary['quality_masks']) or 'none'}")
    return "\n".join(lines)
