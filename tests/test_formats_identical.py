"""The issue's target: one synthetic product written as SAFE, EOPF Zarr and STAC + COG gives identical
classes (default model, whole pipeline). The STAC item is of stactools' style, which publishes every file
of the SAFE; items that publish native resolutions only read each band as the SAFE's file of that
resolution (test_stac), but an L2A SAFE also holds ESA's reduced copies, which a 20 m grid reads."""

import numpy as np
import pytest
from osgeo import gdal

from s2mask.pipeline import run
from s2mask.sim.clouds import cloudy_scene
from s2mask.sim.eopf import write_eopf
from s2mask.sim.safe import write_product
from s2mask.sim.stac import write_stac

SIZE = 180


def _scene():
    return cloudy_scene(SIZE, SIZE, seed=3, sun_zenith=38.0, sun_azimuth=145.0, nodata_fraction=0.1)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """(level -> format -> product path) of the same cloudy scene."""
    root = tmp_path_factory.mktemp("formats")
    paths = {}
    for level, baseline in (("L1C", "05.11"), ("L2A", "05.11")):
        paths[level] = {
            "SAFE": write_product(_scene(), root / f"safe_{level}", level=level, baseline=baseline),
            "EOPF Zarr": write_eopf(_scene(), root / f"eopf_{level}", level=level, baseline=baseline),
            "STAC": write_stac(_scene(), root / f"stac_{level}", level=level, baseline=baseline, style="stactools"),
        }
    return paths


def _classes(path, output, resolution):
    # SAFE is read as --exact-downsampling reads it: Zarr chunks and COGs have no JPEG 2000 levels; float32
    # whatever the CPU offers (the formats are under test here, not the precision)
    result = run(path, output, resolution=resolution, outputs=("cog", "report"), exact_downsampling=True,
                 precision="float32")
    return gdal.Open(str(result.outputs["classes"])).ReadAsArray(), result.report


@pytest.mark.parametrize("level", ["L1C", "L2A"])
def test_safe_eopf_and_stac_give_identical_classes(written, tmp_path, level):
    classes = {kind: _classes(path, tmp_path / kind.replace(" ", "_"), 20) for kind, path in written[level].items()}
    reference, report = classes["SAFE"]
    assert len(np.unique(reference)) >= 4  # clouds, shadows, land, water, no data: a real test of equality
    for kind, (ours, their_report) in classes.items():
        np.testing.assert_array_equal(ours, reference, err_msg=kind)
        assert their_report["classes"] == report["classes"], kind
        assert their_report["product"]["format"].startswith(kind), kind
        assert their_report["product"]["id"] == report["product"]["id"], kind

