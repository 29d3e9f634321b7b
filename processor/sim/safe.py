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
from pathlib import Path
from typing import Any

import numpy as np
from lxml import etree
from osgeo import gdal, ogr, osr

from ..bands import NATIVE_RESOLUTION, file_band_id
from ..resample import downsample_mean
from .metadata import manifest, product_mtd, tile_mtd
from .product import (
    ProductDescription,
    band_files,
    band_image,
    cloud_layers,
    describe,
    detector_index,
    dn_offset,
    footprint_bands,
    scl_layers,
)
from .scene import Scene

gdal.UseExceptions()

JP2_BLOCK = 1024
GML_NS = "http://www.opengis.net/gml/3.2"
EOP_NS = "http://www.opengis.net/eop/2.0"


def spatial_reference(epsg: int) -> osr.SpatialReference:
    reference = osr.SpatialReference()
    reference.ImportFromEPSG(epsg)
    return reference


def write_jp2(path: Path, array: np.ndarray, desc: ProductDescription, resolution: int) -> None:
    """Encode a (bands, rows, cols) or (rows, cols) array losslessly, georeferenced like ESA's files."""
    data = array if array.ndim == 3 else array[None]
    kind = gdal.GDT_UInt16 if data.dtype == np.uint16 else gdal.GDT_Byte
    memory = gdal.GetDriverByName("MEM").Create("", data.shape[2], data.shape[1], data.shape[0], kind)
    memory.SetGeoTransform((desc.ulx, resolution, 0, desc.uly, 0, -resolution))
    memory.SetProjection(spatial_reference(desc.epsg).ExportToWkt())
    for index, layer in enumerate(data, start=1):
        memory.GetRasterBand(index).WriteArray(layer)
    options = ["QUALITY=100", "REVERSIBLE=YES", "YCC=NO"]
    if min(data.shape[1:]) >= JP2_BLOCK:
        options += [f"BLOCKXSIZE={JP2_BLOCK}", f"BLOCKYSIZE={JP2_BLOCK}"]
    path.parent.mkdir(parents=True, exist_ok=True)
    gdal.GetDriverByName("JP2OpenJPEG").CreateCopy(str(path), memory, options=options)
    for sidecar in path.parent.glob(path.name + ".aux.xml"):
        sidecar.unlink()


def _polygons(raster: np.ndarray, desc: ProductDescription, resolution: int) -> list[tuple[int, list]]:
    """Polygons of equal non-zero values of a raster, as (value, rings of (x, y))."""
    memory = gdal.GetDriverByName("MEM").Create("", raster.shape[1], raster.shape[0], 1, gdal.GDT_Byte)
    memory.SetGeoTransform((desc.ulx, resolution, 0, desc.uly, 0, -resolution))
    memory.GetRasterBand(1).WriteArray(raster.astype(np.uint8))
    # The data source must outlive its layer: GDAL frees the layer with it (a segfault otherwise).
    source = ogr.GetDriverByName("Memory").CreateDataSource("")
    layer = source.CreateLayer("p", srs=spatial_reference(desc.epsg))
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


def _write_images(scene: Scene, desc: ProductDescription, folder: Path, granule: Path) -> None:
    stem = f"T{desc.tile}_{desc.sensing_time:%Y%m%dT%H%M%S}"
    for band, resolution in band_files(desc.level):
        relative = f"{granule}/IMG_DATA/{stem}_{file_band_id(band)}"
        if desc.level == "L2A":
            relative = f"{granule}/IMG_DATA/R{resolution}m/{stem}_{file_band_id(band)}_{resolution}m"
        write_jp2(folder / f"{relative}.jp2", band_image(scene, desc.level, band, resolution, dn_offset(desc)),
                  desc, resolution)
        desc.image_files.append(relative)
    if desc.level == "L2A":
        for resolution, scl in scl_layers(scene).items():
            relative = f"{granule}/IMG_DATA/R{resolution}m/{stem}_SCL_{resolution}m"
            write_jp2(folder / f"{relative}.jp2", scl, desc, resolution)
            desc.image_files.append(relative)


def _write_masks(scene: Scene, desc: ProductDescription, folder: Path, granule: Path, quality_masks: bool) -> None:
    qi = f"{granule}/QI_DATA"
    for band in footprint_bands(desc.level):
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
    classi = cloud_layers(scene)
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
    dataset.SetProjection(spatial_reference(desc.epsg).ExportToWkt())
    dataset.GetRasterBand(1).WriteArray(scene.truth)
    dataset.GetRasterBand(1).SetDescription("truth classes (s2mask class scheme)")
    dataset = None


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest().upper()


def write_product(scene: Scene, folder: str | Path, *, quality_masks: bool = True, zipped: bool = False,
                  **identity: Any) -> Path:
    """Write ``scene`` as a SAFE product in ``folder``; returns the ``.SAFE`` folder (or the ``.zip``).

    ``identity`` (level, baseline, tile, epsg, ulx, uly, sensing_time, spacecraft, relative_orbit,
    detectors) names the product as :func:`~s2mask.sim.product.describe` says; ``baseline`` also decides
    the radiometric offset and the mask formats (GML before 04.00, JPEG 2000 from).
    """
    desc = describe(scene, **identity)
    granule = Path("GRANULE") / desc.granule
    folder = Path(folder)
    root = folder / desc.product_uri
    if root.exists():
        shutil.rmtree(root)
    _write_images(scene, desc, root, granule)
    _write_masks(scene, desc, root, granule, quality_masks)
    mtd_name = "MTD_MSIL1C.xml" if desc.level == "L1C" else "MTD_MSIL2A.xml"
    (root / mtd_name).write_bytes(product_mtd(desc))
    (root / granule / "MTD_TL.xml").write_bytes(tile_mtd(desc))
    listing = sorted(p for p in root.rglob("*") if p.is_file())
    (root / "manifest.safe").write_bytes(manifest(desc, [
        (p.stem, p.relative_to(root).as_posix(), _md5(p)) for p in listing]))
    write_truth(folder / f"{desc.product_id}_truth.tif", scene, desc)
    if not zipped:
        return root
    return zip_product(root, folder / f"{desc.product_id}.zip")


def zip_product(root: Path, archive: Path) -> Path:
    """Move the product folder ``root`` into a zip archive (stored, not compressed) that holds it by name."""
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as handle:
        for path in sorted(root.rglob("*")):
            handle.write(path, path.relative_to(root.parent).as_posix())
    shutil.rmtree(root)
    return archive
