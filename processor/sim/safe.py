"""Write a synthetic :class:`~s2mask.sim.scene.Scene` as a real Sentinel-2 SAFE product.

The product has the SAFE_COMPACT layout of ESA's L1C and L2A products: ``manifest.safe``, the product
metadata, ``GRANULE/<granule>/MTD_TL.xml`` with 5 km angle grids, band JPEG 2000 files on the exact
native grids (L1C: one file per band; L2A: ``R10m``/``R20m``/``R60m`` with the reduced copies and SCL),
and the quality masks of its processing baseline: ``MSK_DETFOO``/``MSK_QUALIT`` JPEG 2000 rasters and
``MSK_CLASSI_B00`` from 04.00, GML vector masks before. DN = reflectance x 10000 - offset, with the
offset -1000 from baseline 04.00; DN 0 marks no data and 65535 saturation. The exact truth is written
beside the product as ``<product id>_truth.tif`` (uint8 classes on the 10 m grid).
"""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from lxml import etree
from osgeo import gdal, ogr, osr

from ..bands import ALL_BANDS, L2A_BANDS, LEVELS, NATIVE_RESOLUTION, file_band_id
from ..classes import MaskClass, to_scl
from ..resample import downsample_mean
from .metadata import ProductDescription, manifest, product_mtd, tile_mtd
from .scene import Scene

gdal.UseExceptions()

L2A_FILE_BANDS = {
    10: ("B2", "B3", "B4", "B8"),
    20: ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8A", "B11", "B12"),
    60: ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8A", "B9", "B11", "B12"),
}
JP2_BLOCK = 1024
GML_NS = "http://www.opengis.net/gml/3.2"
EOP_NS = "http://www.opengis.net/eop/2.0"


def _srs(epsg: int) -> osr.SpatialReference:
    reference = osr.SpatialReference()
    reference.ImportFromEPSG(epsg)
    return reference


def write_jp2(path: Path, array: np.ndarray, desc: ProductDescription, resolution: int) -> None:
    """Encode a (bands, rows, cols) or (rows, cols) array losslessly, georeferenced like ESA's files."""
    data = array if array.ndim == 3 else array[None]
    kind = gdal.GDT_UInt16 if data.dtype == np.uint16 else gdal.GDT_Byte
    memory = gdal.GetDriverByName("MEM").Create("", data.shape[2], data.shape[1], data.shape[0], kind)
    memory.SetGeoTransform((desc.ulx, resolution, 0, desc.uly, 0, -resolution))
    memory.SetProjection(_srs(desc.epsg).ExportToWkt())
    for index, layer in enumerate(data, start=1):
        memory.GetRasterBand(index).WriteArray(layer)
    options = ["QUALITY=100", "REVERSIBLE=YES", "YCC=NO"]
    if min(data.shape[1:]) >= JP2_BLOCK:
        options += [f"BLOCKXSIZE={JP2_BLOCK}", f"BLOCKYSIZE={JP2_BLOCK}"]
    path.parent.mkdir(parents=True, exist_ok=True)
    gdal.GetDriverByName("JP2OpenJPEG").CreateCopy(str(path), memory, options=options)
    for sidecar in path.parent.glob(path.name + ".aux.xml"):
        sidecar.unlink()


def to_dn(reflectance: np.ndarray, offset: float) -> np.ndarray:
    """ESA's digital numbers: NaN -> 0 (no data), +inf -> 65535 (saturated), others in 1..65534."""
    dn = np.rint(np.nan_to_num(reflectance, nan=0.0, posinf=0.0) * 10000 - offset)
    dn = np.clip(dn, 1, 65534).astype(np.uint16)
    dn[np.isnan(reflectance)] = 0
    dn[np.isposinf(reflectance)] = 65535
    return dn


def detector_index(scene: Scene, resolution: int, detectors: tuple[int, ...]) -> np.ndarray:
    """Detector numbers in slanted stripes across the tile (as the push-broom swath crosses it), 0 where
    no detector saw the ground."""
    factor = resolution // 10
    rows, cols = scene.shape[0] // factor, scene.shape[1] // factor
    position = (np.arange(cols)[None, :] + 0.12 * np.arange(rows)[:, None]) / (cols * 1.12)
    index = np.minimum((position * len(detectors)).astype(np.int64), len(detectors) - 1)
    numbers = np.asarray(detectors, dtype=np.uint8)[index]
    if scene.invalid is not None:
        outside = downsample_mean(scene.invalid.astype(np.float32), factor) > 0
        numbers[outside] = 0
    return numbers


def _polygons(raster: np.ndarray, desc: ProductDescription, resolution: int) -> list[tuple[int, list]]:
    """Polygons of equal non-zero values of a raster, as (value, rings of (x, y))."""
    memory = gdal.GetDriverByName("MEM").Create("", raster.shape[1], raster.shape[0], 1, gdal.GDT_Byte)
    memory.SetGeoTransform((desc.ulx, resolution, 0, desc.uly, 0, -resolution))
    memory.GetRasterBand(1).WriteArray(raster.astype(np.uint8))
    # The data source must outlive its layer: GDAL frees the layer with it (a segfault otherwise).
    source = ogr.GetDriverByName("Memory").CreateDataSource("")
    layer = source.CreateLayer("p", srs=_srs(desc.epsg))
    layer.CreateField(ogr.FieldDefn("value", ogr.OFTInteger))
    band = memory.GetRasterBand(1)
    gdal.Polygonize(band, band, layer, 0)
    shapes = []
    for feature in layer:
        geometry = feature.GetGeometryRef()
        rings = [geometry.GetGeometryRef(i).GetPoints() for i in range(geometry.GetGeometryCount())]
        shapes.append((feature.GetField("value"), rings))
    return shapes


def write_gml_mask(path: Path, shapes: list[tuple[str, str, list]], desc: ProductDescription) -> None:
    """An ESA GML quality mask (pre-04.00): ``shapes`` are (mask type, feature id, rings)."""
    srs_name = f"urn:ogc:def:crs:EPSG::{desc.epsg}"
    root = etree.Element(f"{{{EOP_NS}}}Mask", nsmap={"eop": EOP_NS, "gml": GML_NS})
    root.set(f"{{{GML_NS}}}id", path.stem)
    members = etree.SubElement(root, f"{{{EOP_NS}}}maskMembers")
    for mask_type, feature_id, rings in shapes:
        feature = etree.SubElement(members, f"{{{EOP_NS}}}MaskFeature")
        feature.set(f"{{{GML_NS}}}id", feature_id)
        kind = etree.SubElement(feature, f"{{{EOP_NS}}}maskType", codeSpace="urn:gs2:S2PDGS:maskType")
        kind.text = mask_type
        polygon = etree.SubElement(etree.SubElement(feature, f"{{{EOP_NS}}}extentOf"), f"{{{GML_NS}}}Polygon",
                                   srsName=srs_name)
        polygon.set(f"{{{GML_NS}}}id", feature_id + ".1")
        for position, ring in enumerate(rings):
            tag = "exterior" if position == 0 else "interior"
            linear = etree.SubElement(etree.SubElement(polygon, f"{{{GML_NS}}}{tag}"), f"{{{GML_NS}}}LinearRing")
            pos_list = etree.SubElement(linear, f"{{{GML_NS}}}posList", srsDimension="3")
            pos_list.text = " ".join(f"{x:.1f} {y:.1f} 0" for x, y, *_ in ring)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _classi(scene: Scene) -> np.ndarray:
    """MSK_CLASSI_B00: opaque clouds, cirrus and snow layers at 60 m (majority of the 10 m truth)."""
    layers = [scene.truth == MaskClass.CLOUD, scene.truth == MaskClass.THIN_CLOUD,
              scene.truth == MaskClass.SNOW_ICE]
    return np.stack([(downsample_mean(layer.astype(np.float32), 6) > 0.5).astype(np.uint8) for layer in layers])


def _write_images(scene: Scene, desc: ProductDescription, folder: Path, granule: Path) -> None:
    stem = f"T{desc.tile}_{desc.sensing_time:%Y%m%dT%H%M%S}"
    offset = -1000.0 if desc.has_offsets else 0.0
    if desc.level == "L1C":
        for band in ALL_BANDS:
            relative = f"{granule}/IMG_DATA/{stem}_{file_band_id(band)}"
            write_jp2(folder / f"{relative}.jp2", to_dn(scene.band(band, "L1C"), offset), desc,
                      NATIVE_RESOLUTION[band])
            desc.image_files.append(relative)
        return
    for resolution, bands in L2A_FILE_BANDS.items():
        for band in bands:
            relative = f"{granule}/IMG_DATA/R{resolution}m/{stem}_{file_band_id(band)}_{resolution}m"
            reflectance = downsample_mean(scene.render(band, "L2A"), resolution // 10)
            write_jp2(folder / f"{relative}.jp2", to_dn(reflectance, offset), desc, resolution)
            desc.image_files.append(relative)
    red = downsample_mean(scene.render("B4", "L2A"), 2)
    nir = downsample_mean(scene.render("B8", "L2A"), 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        ndvi = (nir - red) / (nir + red)
    truth_20m = scene.truth[::2, ::2]
    for resolution, step in ((20, 1), (60, 3)):
        relative = f"{granule}/IMG_DATA/R{resolution}m/{stem}_SCL_{resolution}m"
        write_jp2(folder / f"{relative}.jp2", to_scl(truth_20m, ndvi)[::step, ::step], desc, resolution)
        desc.image_files.append(relative)


def _write_masks(scene: Scene, desc: ProductDescription, folder: Path, granule: Path, quality_masks: bool) -> None:
    bands = ALL_BANDS if desc.level == "L1C" else L2A_BANDS
    qi = f"{granule}/QI_DATA"
    for band in bands:
        resolution = NATIVE_RESOLUTION[band]
        detectors = detector_index(scene, resolution, desc.detectors)
        name = file_band_id(band)
        if desc.has_offsets:
            write_jp2(folder / f"{qi}/MSK_DETFOO_{name}.jp2", detectors, desc, resolution)
            desc.mask_files.append(("MSK_DETFOO", band, f"{qi}/MSK_DETFOO_{name}.jp2"))
            if quality_masks:
                # 8 layers: ANC_LOST, ANC_DEG, MSI_LOST, MSI_DEG, DEFECTIVE, NODATA, PARTIALLY_CORRECTED, SATURATED_L1A
                quality = np.zeros((8,) + detectors.shape, dtype=np.uint8)
                quality[5] = detectors == 0
                if scene.saturated is not None:
                    quality[7] = downsample_mean(scene.saturated.astype(np.float32), resolution // 10) > 0
                write_jp2(folder / f"{qi}/MSK_QUALIT_{name}.jp2", quality, desc, resolution)
                desc.mask_files.append(("MSK_QUALIT", band, f"{qi}/MSK_QUALIT_{name}.jp2"))
        else:
            shapes = [("DETECTOR_FOOTPRINT", f"detector_footprint-{name}-{value:02d}-{i}", rings)
                      for i, (value, rings) in enumerate(_polygons(detectors, desc, resolution))]
            write_gml_mask(folder / f"{qi}/MSK_DETFOO_{name}.gml", shapes, desc)
            desc.mask_files.append(("MSK_DETFOO", band, f"{qi}/MSK_DETFOO_{name}.gml"))
    classi = _classi(scene)
    if desc.has_offsets:
        write_jp2(folder / f"{qi}/MSK_CLASSI_B00.jp2", classi, desc, 60)
        desc.mask_files.append(("MSK_CLASSI", "", f"{qi}/MSK_CLASSI_B00.jp2"))
    else:
        shapes = [(kind, f"{kind}.{i}", rings) for layer, kind in ((classi[0], "OPAQUE"), (classi[1], "CIRRUS"))
                  for i, (_, rings) in enumerate(_polygons(layer, desc, 60))]
        write_gml_mask(folder / f"{qi}/MSK_CLOUDS_B00.gml", shapes, desc)
        desc.mask_files.append(("MSK_CLOUDS", "", f"{qi}/MSK_CLOUDS_B00.gml"))


def write_truth(path: Path, scene: Scene, desc: ProductDescription) -> None:
    driver = gdal.GetDriverByName("GTiff")
    dataset = driver.Create(str(path), scene.shape[1], scene.shape[0], 1, gdal.GDT_Byte,
                            options=["COMPRESS=DEFLATE", "TILED=YES"])
    dataset.SetGeoTransform((desc.ulx, 10, 0, desc.uly, 0, -10))
    dataset.SetProjection(_srs(desc.epsg).ExportToWkt())
    dataset.GetRasterBand(1).WriteArray(scene.truth)
    dataset.GetRasterBand(1).SetDescription("truth classes (s2mask class scheme)")
    dataset = None


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest().upper()


def write_product(scene: Scene, folder: str | Path, *, level: str = "L1C", baseline: str = "05.10",
                  tile: str = "31TCJ", epsg: int = 32631, ulx: float = 300000.0, uly: float = 4900020.0,
                  sensing_time: datetime | None = None, spacecraft: str = "Sentinel-2B", relative_orbit: int = 51,
                  detectors: tuple[int, ...] = (4, 5, 6), quality_masks: bool = True,
                  zipped: bool = False) -> Path:
    """Write ``scene`` as a SAFE product in ``folder``; returns the ``.SAFE`` folder (or the ``.zip``).

    ``baseline`` decides the radiometric offset and the mask formats (GML before 04.00, JPEG 2000 from).
    """
    if level not in LEVELS:
        raise ValueError(f"level must be L1C or L2A, got {level!r}")
    sensing = sensing_time or datetime(2024, 3, 5, 10, 48, 19, 24000, tzinfo=UTC)
    generation = sensing + timedelta(hours=2, minutes=5, seconds=28)
    mission = "S2A" if spacecraft.endswith("A") else "S2B" if spacecraft.endswith("B") else "S2C"
    absolute = 36542 + (sensing - datetime(2024, 3, 5, tzinfo=UTC)).days * 14
    tag = f"N{baseline.replace('.', '')}"
    product_uri = (f"{mission}_MSI{level}_{sensing:%Y%m%dT%H%M%S}_{tag}_R{relative_orbit:03d}_T{tile}_"
                   f"{generation:%Y%m%dT%H%M%S}.SAFE")
    granule = Path("GRANULE") / f"{level}_T{tile}_A{absolute:06d}_{sensing + timedelta(minutes=10):%Y%m%dT%H%M%S}"
    centre = f"{mission[1:]}PS"
    truth = scene.truth
    valid = truth != MaskClass.NO_DATA
    cloudy = np.isin(truth, (MaskClass.CLOUD, MaskClass.THIN_CLOUD)) & valid
    desc = ProductDescription(
        level=level, baseline=baseline, product_uri=product_uri, spacecraft=spacecraft, sensing_time=sensing,
        generation_time=generation, relative_orbit=relative_orbit, absolute_orbit=absolute, tile=tile, epsg=epsg,
        ulx=ulx, uly=uly, shape_10m=scene.shape, granule=granule.name,
        tile_id=f"{mission}_OPER_MSI_{level}_TL_{centre}_{generation:%Y%m%dT%H%M%S}_A{absolute:06d}_T{tile}_{tag}",
        datastrip_id=f"{mission}_OPER_MSI_{level}_DS_{centre}_{generation:%Y%m%dT%H%M%S}_S{sensing:%Y%m%dT%H%M%S}_{tag}",
        cloud_cover=100.0 * cloudy.sum() / max(int(valid.sum()), 1), sun_zenith=scene.sun_zenith,
        sun_azimuth=scene.sun_azimuth, view_zenith=scene.view_zenith, view_azimuth=scene.view_azimuth,
        detectors=detectors)
    folder = Path(folder)
    root = folder / product_uri
    if root.exists():
        shutil.rmtree(root)
    _write_images(scene, desc, root, granule)
    _write_masks(scene, desc, root, granule, quality_masks)
    mtd_name = "MTD_MSIL1C.xml" if level == "L1C" else "MTD_MSIL2A.xml"
    (root / mtd_name).write_bytes(product_mtd(desc))
    (root / granule / "MTD_TL.xml").write_bytes(tile_mtd(desc))
    listing = sorted(p for p in root.rglob("*") if p.is_file())
    (root / "manifest.safe").write_bytes(manifest(desc, [
        (p.stem, p.relative_to(root).as_posix(), _md5(p)) for p in listing]))
    write_truth(folder / f"{desc.product_uri.removesuffix('.SAFE')}_truth.tif", scene, desc)
    if not zipped:
        return root
    archive = folder / f"{desc.product_uri.removesuffix('.SAFE')}.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as handle:
        for path in sorted(root.rglob("*")):
            handle.write(path, path.relative_to(folder).as_posix())
    shutil.rmtree(root)
    return archive
