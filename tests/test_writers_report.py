"""Report JSON: counts, shares of valid pixels, cloud cover, versions; strict JSON; its published schema."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from osgeo import osr

from s2mask.grid import Grid
from s2mask.io.report import SCHEMA_VERSION, ClassCounter, build_report, report_schema, write_report

from helpers import REPO


def counter_of(*blocks):
    counter = ClassCounter()
    for block in blocks:
        counter.add(np.asarray(block, dtype=np.uint8))
    return counter


def grid() -> Grid:
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32631)
    return Grid(srs.ExportToWkt(), 300000.0, 4900020.0, 20.0, 5, 2, 32631)


def report_of(counter, **overrides):
    arguments = {"product_id": "S2X", "level": "L2A", "counter": counter, "model_id": "cnn2d-test",
                 "parameters": {"resolution": 20, "device": "cpu"}, "timings": {"predict": 1.23456},
                 "outputs": {"classes": "S2X_s2mask.tif"}, "grid": grid()}
    return build_report(**{**arguments, **overrides})


def test_counts_accumulate_over_blocks_golden():
    # 2 no-data, 3 clear land, 1 water, 2 cloud, 1 thin cloud, 1 shadow: 8 valid of 10.
    counter = counter_of([[0, 0, 1, 1], [1, 2, 4, 4]], [[5, 6]])
    assert counter.counts.tolist() == [2, 3, 1, 0, 2, 1, 1]
    assert (counter.total, counter.valid) == (10, 8)
    assert counter.valid_percent == 80.0
    assert counter.cloud_cover_percent == 37.5
    assert counter.percent_of_valid(1) == 37.5


def test_report_content(tmp_path):
    counter = counter_of([[0, 0, 1, 1], [1, 2, 4, 4]], [[5, 6]])
    report = report_of(counter, outputs={"classes": tmp_path / "S2X_s2mask.tif"})
    assert report["schema_version"] == SCHEMA_VERSION
    assert report["classes"]["NO_DATA"] == {"value": 0, "description": report["classes"]["NO_DATA"]["description"],
                                            "colour": "#000000", "pixels": 2, "percent_of_valid": None}
    assert report["classes"]["CLOUD"] == {"value": 4, "description": "Opaque cloud", "colour": "#ffffff",
                                          "pixels": 2, "percent_of_valid": 25.0}
    assert sum(c["percent_of_valid"] or 0 for c in report["classes"].values()) == pytest.approx(100)
    assert report["cloud_cover_percent"] == 37.5 and report["valid_percent"] == 80.0
    assert report["cloud_cover_classes"] == ["CLOUD", "THIN_CLOUD"]
    assert report["pixels"] == {"total": 10, "valid": 8, "no_data": 2}
    assert report["outputs"] == {"classes": "S2X_s2mask.tif"}
    assert report["timings_s"] == {"predict": 1.235}
    assert report["model"] == "cnn2d-test" and report["parameters"]["device"] == "cpu"
    assert report["created_utc"].endswith("Z")
    assert {"s2mask", "numpy", "gdal", "torch", "python"} <= set(report["versions"])
    assert report["grid"] == {"epsg": 32631, "resolution_m": 20.0, "width_px": 5, "height_px": 2,
                              "upper_left_x_m": 300000.0, "upper_left_y_m": 4900020.0,
                              "bbox_lonlat_deg": report["grid"]["bbox_lonlat_deg"]}
    west, south, east, north = report["grid"]["bbox_lonlat_deg"]
    assert 0.49 < west < east < 0.50 and 44.22 < south < north < 44.23  # 100 m x 40 m in UTM 31N
    path = tmp_path / "S2X_s2mask_report.json"
    write_report(path, report)
    assert json.loads(path.read_text()) == report


def test_no_valid_pixel_gives_nulls_not_nan(tmp_path):
    report = report_of(counter_of([[0, 0]]), outputs={})
    assert report["cloud_cover_percent"] is None and report["classes"]["CLOUD"]["percent_of_valid"] is None
    assert report["valid_percent"] == 0.0
    write_report(tmp_path / "r.json", report)


def test_nan_in_a_report_is_refused(tmp_path):
    with pytest.raises(ValueError, match="JSON cannot represent"):
        write_report(tmp_path / "r.json", {"timing": float("nan")})
    assert not (tmp_path / "r.json").exists()


def test_class_values_outside_the_table_are_refused():
    with pytest.raises(ValueError, match="below 7"):
        counter_of([[9]])


def test_reports_validate_against_the_schema_and_wrong_ones_do_not():
    jsonschema = pytest.importorskip("jsonschema")
    schema = report_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    for report in (report_of(counter_of([[0, 1, 4]])), report_of(counter_of([[0, 0]]))):
        validator.validate(json.loads(json.dumps(report)))
    good = report_of(counter_of([[0, 1, 4]]))
    assert not validator.is_valid({**good, "cloud_cover_percent": 120.0})
    assert not validator.is_valid({**good, "classes": {**good["classes"], "CLOUD": {"value": 4}}})
    assert not validator.is_valid({key: value for key, value in good.items() if key != "grid"})


def schema_properties(schema, path=""):
    """(dotted path, property schema) of every property the schema defines, nested ones included."""
    for name, item in schema.get("properties", {}).items():
        yield f"{path}{name}", item
        yield from schema_properties(item, f"{path}{name}.")


def test_every_field_of_the_schema_is_described_and_in_the_readme():
    schema = report_schema()
    fields = list(schema_properties(schema)) + list(schema_properties(schema["$defs"]["class"], "classes.*."))
    assert [path for path, item in fields if "$ref" not in item and len(item.get("description", "")) < 10] == []
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    first_cells = [line.split("|")[1] for line in readme.splitlines() if line.startswith("| `")]
    documented = {name for cell in first_cells for name in re.findall(r"`([a-z_.*]+)`", cell)}
    # every field but the class names under "classes" (the class table lists those)
    expected = {path for path, _ in fields if not re.fullmatch(r"classes\.[A-Z_]+", path)}
    assert sorted(expected - documented) == []
