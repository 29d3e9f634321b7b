"""The outputs as GIS clients see them: GDAL, rasterio, pystac, a JSON Schema validator and QGIS itself.

One run writes every output; each test opens them with a real client, often after copying the
``.tif`` alone (as an upload or a plain copy does), and checks what the user would see: class names,
colours, no-data, statistics, styles, the STAC item and the report's schema. The QGIS test runs
PyQGIS in a child process (Debian's ``python3-qgis``) and skips where no Python has it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from lxml import etree
from osgeo import gdal
from test_writers import utm31_grid

from s2mask.classes import CLASS_TABLE, SCL_TABLE, MaskClass, to_scl
from s2mask.grid import iter_blocks
from s2mask.io.coding import CLASS_CODING, SCL_CODING
from s2mask.io.report import report_schema
from s2mask.io.writers import DEFAULT_PROBABILITY_CLASSES, OutputOptions, RunInfo, RunOutputs, encode_probabilities

gdal.UseExceptions()
HEIGHT, WIDTH = 260, 300
PRODUCT = "S2X_GIS"
# What SNAP's Sentinel-2 reader gives the SCL band (optical-toolbox L2aUtils, "the same colors as in the L2A-PDD").
ESA_SCL_RGB = {0: (0, 0, 0), 1: (255, 0, 0), 2: (46, 46, 46), 3: (100, 50, 0), 4: (0, 128, 0), 5: (255, 230, 90),
               6: (0, 0, 255), 7: (129, 129, 129), 8: (193, 193, 193), 9: (255, 255, 255), 10: (100, 200, 255),
               11: (255, 150, 255)}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    rng = np.random.default_rng(24)
    coarse = rng.integers(1, 7, (HEIGHT // 20 + 1, WIDTH // 20 + 1))
    classes = np.kron(coarse, np.ones((20, 20), dtype=np.int64))[:HEIGHT, :WIDTH].astype(np.uint8)
    classes[:, :30] = MaskClass.NO_DATA
    probabilities = rng.random((len(DEFAULT_PROBABILITY_CLASSES), HEIGHT, WIDTH)).astype(np.float32)
    ndvi = rng.uniform(-0.2, 0.9, (HEIGHT, WIDTH)).astype(np.float32)
    rgb = rng.random((3, HEIGHT, WIDTH)).astype(np.float32) * 0.3
    folder = tmp_path_factory.mktemp("gis")
    info = RunInfo(PRODUCT, "L2A", "cnn2d-test", {"resolution": 20}, sensing_start=datetime(2024, 3, 5, 10, 48, 19,
                                                                                            tzinfo=UTC))
    options = OutputOptions(dimap=True, scl=True, probability_classes=DEFAULT_PROBABILITY_CLASSES, quicklook_size=150)
    grid = utm31_grid(HEIGHT, WIDTH)
    with RunOutputs(folder, grid, info, options) as outputs:
        for block in iter_blocks(grid, 128):
            rows, cols = block.core.slices
            outputs.write(block.core, classes[rows, cols], probabilities=probabilities[:, rows, cols],
                          ndvi=ndvi[rows, cols], rgb=rgb[:, rows, cols])
        report = outputs.finish({"predict": 0.5})
    layers = {"classes": classes, "scl": to_scl(classes, ndvi),
              "probabilities": encode_probabilities(probabilities, classes)}
    return outputs.paths, report, layers


def hex6(rgba) -> str:
    return "".join(f"{channel:02x}" for channel in rgba[:3])


def bare_copy(path: Path, folder: Path) -> Path:
    """The ``.tif`` alone, as a plain copy or an upload to object storage leaves it."""
    folder.mkdir(exist_ok=True)
    return Path(shutil.copy(path, folder / path.name))


def test_class_names_and_colours_travel_inside_the_tif(written, tmp_path):
    paths, _, _ = written
    for kind, coding in (("classes", CLASS_CODING), ("scl", SCL_CODING)):
        copy = bare_copy(paths[kind], tmp_path)
        warped = tmp_path / f"{kind}_4326.tif"
        gdal.Warp(str(warped), str(copy), dstSRS="EPSG:4326", resampleAlg="near")
        for path in (copy, warped):
            dataset = gdal.Open(str(path))
            band = dataset.GetRasterBand(1)
            assert band.GetMetadataItem("flag_meanings").split() == [c.name for c in coding.classes], path
            assert band.GetMetadataItem("flag_values") == "{" + ",".join(str(c.value) for c in coding.classes) + "}"
            colours = band.GetMetadataItem("flag_colors").split()
            assert colours == ["#" + hex6(c.rgba) for c in coding.classes]
            assert band.GetNoDataValue() == coding.nodata
            dataset = None
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".aux.xml")) == []


def test_rasterio_reads_the_class_names_and_colours(written, tmp_path):
    rasterio = pytest.importorskip("rasterio")
    paths, _, layers = written
    with rasterio.open(bare_copy(paths["classes"], tmp_path)) as dataset:
        tags = dataset.tags(1)
        names = dict(zip(tags["flag_values"].strip("{}").split(","), tags["flag_meanings"].split()))
        assert {int(value): name for value, name in names.items()} == {c.value: c.name for c in CLASS_TABLE}
        colormap = dataset.colormap(1)
        assert all(colormap[c.value][:3] == c.rgba[:3] for c in CLASS_TABLE)
        assert dataset.nodata == 0 and dataset.descriptions == ("s2mask_class",)
        np.testing.assert_array_equal(dataset.read(1), layers["classes"])
    with rasterio.open(paths["probabilities"]) as dataset:
        assert dataset.descriptions == tuple(CLASS_TABLE[v].name for v in DEFAULT_PROBABILITY_CLASSES)
        assert dataset.units == ("%",) * len(DEFAULT_PROBABILITY_CLASSES) and dataset.nodata == 255


def test_exact_statistics_are_inside_every_tif(written, tmp_path):
    paths, _, layers = written
    for kind, nodata in (("classes", 0), ("scl", 0), ("probabilities", 255)):
        dataset = gdal.Open(str(bare_copy(paths[kind], tmp_path)))
        for index in range(dataset.RasterCount):
            layer = layers[kind] if layers[kind].ndim == 2 else layers[kind][index]
            valid = layer[layer != nodata].astype(np.float64)
            band = dataset.GetRasterBand(index + 1)
            # approx_ok=False, force=False: only statistics that are already there, none computed now
            stats = band.GetStatistics(False, False)
            np.testing.assert_allclose(stats, [valid.min(), valid.max(), valid.mean(), valid.std()], rtol=1e-8)
            assert float(band.GetMetadataItem("STATISTICS_VALID_PERCENT")) == pytest.approx(
                100 * valid.size / layer.size)
        dataset = None
    assert not list(tmp_path.glob("*.aux.xml"))


def test_every_tif_passes_gdals_cog_validator_with_the_metadata_inside(written):
    validate = pytest.importorskip("osgeo_utils.samples.validate_cloud_optimized_geotiff").validate
    paths, _, _ = written
    for kind in ("classes", "scl", "probabilities"):
        warnings, errors, _ = validate(str(paths[kind]), full_check=True)
        assert (warnings, errors) == ([], []), kind


def test_colour_table_and_attribute_table_agree_and_scl_has_esa_colours(written):
    paths, _, _ = written
    for kind, coding in (("classes", CLASS_CODING), ("scl", SCL_CODING)):
        dataset = gdal.Open(str(paths[kind]))
        band = dataset.GetRasterBand(1)
        table, rat = band.GetColorTable(), band.GetDefaultRAT()
        rows = {rat.GetValueAsInt(row, 0): (rat.GetValueAsString(row, 1),
                                            tuple(rat.GetValueAsInt(row, column) for column in range(2, 6)))
                for row in range(rat.GetRowCount())}
        assert sorted(rows) == [c.value for c in coding.classes]
        for info in coding.classes:
            name, rgba = rows[info.value]
            assert name == info.name and rgba == table.GetColorEntry(info.value), (kind, info.name)
            # Only the no-data value is transparent, in both tables.
            assert (rgba[3] == 0) == (info.value == coding.nodata)
        assert band.GetCategoryNames()[:len(coding.classes)] == [c.name for c in coding.classes]
        dataset = None
    assert {info.value: info.rgba[:3] for info in SCL_TABLE} == ESA_SCL_RGB


def test_qgis_styles_list_exactly_the_classes(written):
    paths, _, _ = written
    for kind, coding in (("classes", CLASS_CODING), ("scl", SCL_CODING)):
        assert paths[f"{kind}_style"].name == paths[kind].stem + ".qml"  # the name QGIS looks for
        renderer = etree.parse(str(paths[f"{kind}_style"])).find("pipe/rasterrenderer")
        assert renderer.get("type") == "paletted" and renderer.get("band") == "1"
        entries = [(int(e.get("value")), e.get("label"), e.get("color"), int(e.get("alpha")))
                   for e in renderer.iterfind("colorPalette/paletteEntry")]
        assert entries == [(c.value, c.name, "#" + hex6(c.rgba), 0 if c.value == coding.nodata else 255)
                           for c in coding.classes]
    renderer = etree.parse(str(paths["probabilities_style"])).find("pipe/rasterrenderer")
    cloud_band = DEFAULT_PROBABILITY_CLASSES.index(MaskClass.CLOUD) + 1
    assert (renderer.get("type"), renderer.get("band")) == ("singlebandpseudocolor", str(cloud_band))
    assert (renderer.get("classificationMin"), renderer.get("classificationMax")) == ("0", "100")


def test_report_validates_against_its_published_schema(written):
    jsonschema = pytest.importorskip("jsonschema")
    paths, report, _ = written
    validator = jsonschema.Draft202012Validator(report_schema(), format_checker=jsonschema.FormatChecker())
    on_disk = json.loads(paths["report"].read_text())
    validator.validate(on_disk)
    assert on_disk["outputs"] == {kind: path.name for kind, path in paths.items()}
    assert not validator.is_valid({**on_disk, "cloud_cover": 3.0})  # an undocumented field is refused


def test_stac_item_describes_every_data_output(written):
    pystac = pytest.importorskip("pystac")
    from pystac.extensions.classification import ClassificationExtension
    from pystac.extensions.raster import RasterExtension
    from pystac.validation import validate_dict

    paths, report, layers = written
    document = json.loads(paths["stac"].read_text())
    # The core item schema ships with pystac; the extension schemas would need the network.
    validate_dict(document, extensions=[])
    item = pystac.Item.from_dict(document)
    assert item.bbox == report["grid"]["bbox_lonlat_deg"]
    assert item.datetime == datetime(2024, 3, 5, 10, 48, 19, tzinfo=UTC)
    assert item.properties["eo:cloud_cover"] == report["cloud_cover_percent"]
    assert item.properties["proj:code"] == "EPSG:32631" and item.properties["proj:shape"] == [HEIGHT, WIDTH]
    for kind, asset in item.assets.items():
        assert (paths[kind].parent / asset.href).resolve() == paths[kind].resolve()
    for kind, coding in (("classes", CLASS_CODING), ("scl", SCL_CODING)):
        classes = ClassificationExtension.ext(item.assets[kind]).classes
        assert [(c.value, c.name, c.color_hint) for c in classes] == \
            [(c.value, c.name, hex6(c.rgba).upper()) for c in coding.classes]
        assert [c.nodata for c in classes] == [True if c.value == coding.nodata else None for c in coding.classes]
        counts = np.bincount(layers[kind].ravel(), minlength=256)
        assert [c.count for c in classes] == [int(counts[c.value]) for c in coding.classes]
        assert RasterExtension.ext(item.assets[kind]).bands[0].nodata == coding.nodata
    bands = RasterExtension.ext(item.assets["probabilities"]).bands
    assert [(b.nodata, b.unit) for b in bands] == [(255, "%")] * len(DEFAULT_PROBABILITY_CLASSES)
    assert bands[3].statistics.maximum <= 100
    assert item.assets["quicklook"].roles == ["overview"] and item.assets["report"].media_type == "application/json"


@cache
def qgis_python() -> str | None:
    """A Python that imports PyQGIS: $S2MASK_QGIS_PYTHON, this one, or Debian's (python3-qgis)."""
    for candidate in (os.environ.get("S2MASK_QGIS_PYTHON"), sys.executable, "/usr/bin/python3"):
        if candidate and Path(candidate).exists():
            done = subprocess.run([candidate, "-c", "import qgis.core"], capture_output=True, timeout=120)
            if done.returncode == 0:
                return candidate
    return None


def qgis_view(*rasters: Path) -> dict:
    python = qgis_python()
    if python is None:
        pytest.skip("no Python with PyQGIS here (Debian: apt-get install python3-qgis)")
    probe = Path(__file__).with_name("qgis_probe.py")
    done = subprocess.run([python, str(probe), *map(str, rasters)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def fingerprint(folder: Path) -> dict[str, str]:
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def test_qgis_shows_exactly_the_classes_and_writes_nothing(written):
    paths, _, _ = written
    folder = paths["classes"].parent
    before = fingerprint(folder)
    data = paths["dimap"].with_suffix(".data")
    view = qgis_view(paths["classes"], paths["scl"], paths["probabilities"], data / "s2mask_class.img",
                     data / "prob_cloud.img")
    for path, coding in ((paths["classes"], CLASS_CODING), (paths["scl"], SCL_CODING),
                         (data / "s2mask_class.img", CLASS_CODING)):
        layer = view[str(path)]
        assert layer["renderer"] == "paletted" and layer["nodata"] == coding.nodata, path
        # a title row, then one row per class
        assert layer["legend"][1:] == [c.name for c in coding.classes], path
        assert [c[2][3:] for c in layer["classes"]] == [hex6(c.rgba) for c in coding.classes]
    probability = view[str(paths["probabilities"])]
    assert probability["renderer"] == "singlebandpseudocolor"
    assert (probability["band"], probability["min"], probability["max"]) == (4, 0.0, 100.0)
    assert probability["legend"][0].endswith("CLOUD")
    dimap_probability = view[str(data / "prob_cloud.img")]
    assert (dimap_probability["min"], dimap_probability["max"], dimap_probability["nodata"]) == (0.0, 100.0, 255.0)
    # QGIS (through GDAL) found every statistic it needed: no file was added or changed.
    assert fingerprint(folder) == before


def test_qgis_colours_a_bare_copy_of_the_tif(written, tmp_path):
    """Without its sidecars QGIS still draws the classes in their colours, no data transparent (its legend
    then lists the TIFF colour map's 256 entries, unnamed: what the .qml and .aux.xml are for)."""
    paths, _, _ = written
    copy = bare_copy(paths["classes"], tmp_path)
    layer = qgis_view(copy)[str(copy)]
    assert layer["renderer"] == "paletted" and layer["nodata"] == 0
    colours = {value: colour for value, _, colour in layer["classes"]}
    assert [colours[c.value][3:] for c in CLASS_TABLE] == [hex6(c.rgba) for c in CLASS_TABLE]
    assert sorted(p.name for p in tmp_path.iterdir()) == [copy.name]
