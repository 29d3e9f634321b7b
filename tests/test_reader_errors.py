"""Bad input gets one clear error naming the file and the problem, in the API and the CLI."""

import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from s2mask.errors import MissingBandError, ProductFormatError, ProductIOError
from s2mask.io.safe import open_product
from s2mask.sim.safe import write_jp2


@pytest.fixture
def product_copy(product_factory, tmp_path):
    source = product_factory("L1C", "05.10")
    copy = tmp_path / source.name
    shutil.copytree(source, copy)
    return copy


def band_file(root, band_id):
    return next(root.glob(f"GRANULE/*/IMG_DATA/*_{band_id}.jp2"))


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "s2mask.cli", *map(str, args)], capture_output=True, text=True)


def assert_one_line_error(result, *fragments):
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("s2mask: error: "), result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_a_path_that_does_not_exist(tmp_path):
    with pytest.raises(ProductIOError, match="no such file or folder"):
        open_product(tmp_path / "nothing.SAFE")
    assert_one_line_error(run_cli("info", tmp_path / "nothing.SAFE"), "nothing.SAFE", "no such file")


def test_a_folder_or_file_that_is_not_a_product(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ProductFormatError, match="not a Sentinel-2 SAFE product"):
        open_product(tmp_path)
    with pytest.raises(ProductFormatError, match="not a Sentinel-2 product"):
        open_product(tmp_path / "notes.txt")
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as handle:
        handle.writestr("readme.txt", "no product here")
    with pytest.raises(ProductFormatError, match="zip archive holds no SAFE product"):
        open_product(tmp_path / "other.zip")
    assert_one_line_error(run_cli("info", tmp_path / "notes.txt"), "notes.txt", "not a Sentinel-2 product")


def test_a_missing_band_file(product_copy):
    missing = band_file(product_copy, "B03")
    missing.unlink()
    with pytest.raises(MissingBandError, match=r"_B03\.jp2: band B3 is listed in the product metadata but its file"):
        open_product(product_copy)
    assert_one_line_error(run_cli("info", product_copy), missing.name, "file is missing")


def test_a_truncated_jp2(product_copy):
    truncated = band_file(product_copy, "B08")
    data = truncated.read_bytes()
    truncated.write_bytes(data[: len(data) // 3])
    product = open_product(product_copy)
    with pytest.raises(ProductIOError, match=r"_B08\.jp2: .*(truncated or corrupt|cannot open raster)"):
        product.read("B8", 10)


def test_metadata_without_a_quantification_value(product_copy):
    metadata = product_copy / "MTD_MSIL1C.xml"
    text = metadata.read_text()
    start = text.index("<QUANTIFICATION_VALUE")
    end = text.index("</QUANTIFICATION_VALUE>") + len("</QUANTIFICATION_VALUE>")
    metadata.write_text(text[:start] + text[end:])
    with pytest.raises(ProductFormatError, match="MTD_MSIL1C.xml: the product metadata has no valid "
                                                 "QUANTIFICATION_VALUE"):
        open_product(product_copy)
    assert_one_line_error(run_cli("info", product_copy), "MTD_MSIL1C.xml", "QUANTIFICATION_VALUE")


def test_malformed_metadata(product_copy):
    (product_copy / "MTD_MSIL1C.xml").write_text("<not-closed>")
    with pytest.raises(ProductFormatError, match="MTD_MSIL1C.xml: malformed XML"):
        open_product(product_copy)


def test_band_sizes_that_contradict_the_metadata(product_copy):
    product = open_product(product_copy)
    wrong = band_file(product_copy, "B05")
    georeference = type("G", (), {"ulx": 300000.0, "uly": 4900020.0, "epsg": 32631})
    write_jp2(wrong, np.ones((30, 30), dtype=np.uint16), georeference, 20)
    with pytest.raises(ProductFormatError, match=r"_B05\.jp2: band B5 \(20 m\) is 30x30 pixels but the tile "
                                                 r"metadata declares 60x60"):
        product.read("B5", 20)


def test_an_unsupported_processing_level(product_copy):
    metadata = product_copy / "MTD_MSIL1C.xml"
    metadata.write_text(metadata.read_text().replace("<PROCESSING_LEVEL>Level-1C", "<PROCESSING_LEVEL>Level-1B"))
    with pytest.raises(ProductFormatError, match="unsupported processing level 'Level-1B'"):
        open_product(product_copy)
