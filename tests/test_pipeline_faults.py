"""Faults during a run: a clear error, a non-zero exit, and no partial output left behind."""

import errno
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from s2mask.errors import NoValidDataError, OutputError, ProductIOError
from s2mask.io import geotiff
from s2mask.io.safe import Product
from s2mask.pipeline import run

from helpers import NeighbourhoodMasker


@pytest.fixture(scope="module")
def product(product_factory):
    return product_factory("L1C", "05.10", size=240)


@pytest.fixture
def output(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "earlier_result.tif").write_bytes(b"kept")
    return folder


def assert_untouched(folder):
    assert sorted(p.name for p in folder.iterdir()) == ["earlier_result.tif"]
    assert (folder / "earlier_result.tif").read_bytes() == b"kept"


def failing_after(calls, error):
    state = {"n": 0}

    def fail(*_args, **_kwargs):
        state["n"] += 1
        if state["n"] > calls:
            raise error
    return fail


def test_an_unwritable_output_folder(product, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(OutputError, match="a-file"):
        run(product, blocker / "out", masker=NeighbourhoodMasker())


def test_disk_full_in_the_middle_of_writing(product, output, monkeypatch):
    original = geotiff.CogWriter.write
    state = {"n": 0}

    def write(self, window, array):
        state["n"] += 1
        if state["n"] == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(self, window, array)

    monkeypatch.setattr(geotiff.CogWriter, "write", write)
    with pytest.raises(OutputError, match="no space left on device"):
        run(product, output, masker=NeighbourhoodMasker(), resolution=10, block_size=128,
            outputs=("cog", "scl", "report"))
    assert_untouched(output)


def test_a_band_that_fails_to_decode_mid_tile(product, output, monkeypatch):
    original = Product.read
    state = {"n": 0}

    def read(self, band, *args, **kwargs):
        state["n"] += 1
        if state["n"] == 7:
            raise ProductIOError("failed to decode rows 128-256; the file may be truncated or corrupt",
                                 f"T31TCJ_{band}.jp2")
        return original(self, band, *args, **kwargs)

    monkeypatch.setattr(Product, "read", read)
    with pytest.raises(ProductIOError, match="failed to decode"):
        run(product, output, masker=NeighbourhoodMasker(), resolution=10, block_size=128,
            outputs=("cog", "quicklook", "report"))
    assert_untouched(output)


def test_an_interrupt_mid_run(product, output, monkeypatch):
    masker = NeighbourhoodMasker()
    predict = masker.predict
    state = {"n": 0}

    def interrupted(block):
        state["n"] += 1
        if state["n"] == 2:
            raise KeyboardInterrupt
        return predict(block)

    masker.predict = interrupted
    with pytest.raises(KeyboardInterrupt):
        run(product, output, masker=masker, resolution=10, block_size=128)
    assert_untouched(output)


def test_an_all_nodata_tile(tmp_path, output):
    from s2mask.sim.safe import write_product

    from helpers import small_scene

    scene = small_scene(60, nodata_columns=60)
    path = write_product(scene, tmp_path / "empty", level="L2A", baseline="05.09")
    with pytest.raises(NoValidDataError, match="holds no valid pixel"):
        run(path, output, masker=NeighbourhoodMasker())
    assert_untouched(output)


@pytest.mark.slow
def test_cli_reports_a_truncated_band_in_one_line(product, tmp_path, output):
    copy = tmp_path / product.name
    shutil.copytree(product, copy)
    band = next(copy.glob("GRANULE/*/IMG_DATA/*_B11.jp2"))
    band.write_bytes(band.read_bytes()[:2000])
    result = subprocess.run([sys.executable, "-m", "s2mask.cli", "run", str(copy), "-o", str(output),
                             "--model", "physics"], capture_output=True, text=True)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("s2mask: error: ") and "_B11.jp2" in lines[0], result.stderr
    assert_untouched(output)


@pytest.mark.slow
def test_ctrl_c_on_the_command_line(product_factory, output):
    product = product_factory("L1C", "05.10", size=1200)
    process = subprocess.Popen([sys.executable, "-m", "s2mask.cli", "run", str(product), "-o", str(output),
                                "--model", "physics", "--resolution", "10", "--block-size", "128"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               # as from a terminal: a job started in the background (nohup, `make test &`)
                               # ignores SIGINT, and so would the run it starts
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not any(p.name.startswith(".") for p in output.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.01)
    # at once: the staging folder appears when streaming starts, and the blocks of this product
    # take only about a second to stream
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert_untouched(output)
    assert os.listdir(output) == ["earlier_result.tif"]
