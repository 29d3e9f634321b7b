"""Report JSON: counts, fractions of valid pixels, cloud cover, versions; strict JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest

from s2mask.io.report import ClassCounter, build_report, write_report


def counter_of(*blocks):
    counter = ClassCounter()
    for block in blocks:
        counter.add(np.asarray(block, dtype=np.uint8))
    return counter


def test_counts_accumulate_over_blocks_golden():
    # 2 no-data, 3 clear land, 1 water, 2 cloud, 1 thin cloud, 1 shadow: 8 valid of 10.
    counter = counter_of([[0, 0, 1, 1], [1, 2, 4, 4]], [[5, 6]])
    assert counter.counts.tolist() == [2, 3, 1, 0, 2, 1, 1]
    assert (counter.total, counter.valid) == (10, 8)
    assert counter.valid_fraction == 0.8
    assert counter.cloud_cover_percent == 37.5
    assert counter.fraction(1) == 0.375


def test_report_content(tmp_path):
    counter = counter_of([[0, 0, 1, 1], [1, 2, 4, 4]], [[5, 6]])
    report = build_report(product_id="S2X", level="L2A", counter=counter, model_id="cnn2d-test",
                          parameters={"resolution": 20, "device": "cpu"}, timings={"predict": 1.23456},
                          outputs={"classes": tmp_path / "S2X_s2mask.tif"}, grid={"epsg": 32631})
    assert report["classes"]["NO_DATA"] == {"value": 0, "pixels": 2, "fraction": None}
    assert report["classes"]["CLOUD"] == {"value": 4, "pixels": 2, "fraction": 0.25}
    assert sum(c["fraction"] for c in report["classes"].values() if c["fraction"] is not None) == pytest.approx(1)
    assert report["cloud_cover_percent"] == 37.5 and report["valid_fraction"] == 0.8
    assert report["outputs"] == {"classes": "S2X_s2mask.tif"}
    assert report["timings_s"] == {"predict": 1.235}
    assert report["model"] == "cnn2d-test" and report["parameters"]["device"] == "cpu"
    assert report["created_utc"].endswith("Z")
    assert {"s2mask", "numpy", "gdal", "torch", "python"} <= set(report["versions"])
    path = tmp_path / "S2X_s2mask_report.json"
    write_report(path, report)
    assert json.loads(path.read_text()) == report


def test_no_valid_pixel_gives_nulls_not_nan(tmp_path):
    report = build_report(product_id="S2X", level="L1C", counter=counter_of([[0, 0]]), model_id="m",
                          parameters={}, timings={}, outputs={})
    assert report["cloud_cover_percent"] is None and report["classes"]["CLOUD"]["fraction"] is None
    assert report["valid_fraction"] == 0.0
    write_report(tmp_path / "r.json", report)


def test_nan_in_a_report_is_refused(tmp_path):
    with pytest.raises(ValueError, match="JSON cannot represent"):
        write_report(tmp_path / "r.json", {"timing": float("nan")})
    assert not (tmp_path / "r.json").exists()


def test_class_values_outside_the_table_are_refused():
    with pytest.raises(ValueError, match="below 7"):
        counter_of([[9]])
