"""s2mask batch on a two-worker LocalCluster: same outputs as sequential runs, failures isolated, reruns skip,
transient errors retried, bad input not."""

from __future__ import annotations

import csv
import errno
import fcntl
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal

from s2mask.errors import OutputError, ProductIOError
from s2mask.physics import PhysicsMasker
from s2mask.pipeline import run

from helpers import make_products

distributed = pytest.importorskip("distributed")

from s2mask.batch import completed_report, run_batch  # noqa: E402
from s2mask.batch.runner import LOCK_NAME  # noqa: E402

PHYSICS = {"model": "physics"}
#: Report fields that differ between two runs of the same product by nature.
VOLATILE = ("created_utc", "timings_s")


def corrupt_copy(product: Path, folder: Path) -> Path:
    """A copy of ``product`` under another name whose B11 file is cut in half (a truncated download)."""
    copy = folder / product.name.replace("20240305T", "20240401T")
    shutil.copytree(product, copy)
    mtd = copy / "MTD_MSIL1C.xml"
    mtd.write_text(mtd.read_text().replace(product.stem, copy.stem))
    band = next(copy.glob("GRANULE/*/IMG_DATA/*_B11.jp2"))
    band.write_bytes(band.read_bytes()[: band.stat().st_size // 2])
    return copy


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") \
            as cluster, distributed.Client(cluster) as connected:
        yield connected


@pytest.fixture(scope="module")
def products(tmp_path_factory):
    folder = tmp_path_factory.mktemp("batch_products")
    good = make_products(folder, 3, 240)
    return good, corrupt_copy(good[0], folder)


@pytest.fixture(scope="module")
def first_batch(products, client, tmp_path_factory):
    good, corrupt = products
    output = tmp_path_factory.mktemp("batch_out")
    return output, run_batch([*good, corrupt], output, client=client, retry_delay=0, **PHYSICS)


def read_pixels(path: Path) -> np.ndarray:
    return gdal.Open(str(path)).ReadAsArray()


def comparable(report: dict) -> dict:
    report = {key: value for key, value in report.items() if key not in VOLATILE}
    report["parameters"] = {k: v for k, v in report["parameters"].items() if k != "threads"}
    return report


def visible_files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if not p.name.startswith(".") and p.name != "logs"}


def test_outputs_equal_sequential_runs_and_a_corrupt_product_fails_alone(first_batch, products, tmp_path):
    output, result = first_batch
    good, corrupt = products
    assert [o.status for o in result.outcomes] == ["done", "done", "done", "failed"]
    for outcome, product in zip(result.outcomes, good):
        sequential = run(product, tmp_path, **PHYSICS)
        batch_report = json.loads((output / sequential.outputs["report"].name).read_text())
        assert comparable(batch_report) == comparable(sequential.report)
        assert batch_report["parameters"]["threads"] == 1  # two workers on this machine's cores: one thread each
        for kind in ("classes", "quicklook"):
            np.testing.assert_array_equal(read_pixels(output / sequential.outputs[kind].name),
                                          read_pixels(sequential.outputs[kind]))
        assert outcome.cloud_cover == sequential.report["cloud_cover_percent"]
    failed = result.outcomes[-1]
    assert failed.attempts == 1, "bad input is not retried"
    assert "_B11.jp2" in failed.error and "truncated or corrupt" in failed.error
    assert not any(name.startswith(corrupt.stem) for name in visible_files(output))
    log = (output / "logs" / f"{corrupt.stem}.log").read_text()
    assert "failed after 1 attempt(s)" in log and "_B11.jp2" in log


def test_summary_files_list_every_product(first_batch, products):
    output, result = first_batch
    good, corrupt = products
    with open(output / "batch_summary.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["product"] for row in rows] == [p.stem for p in (*good, corrupt)]
    assert [row["status"] for row in rows] == ["done", "done", "done", "failed"]
    assert rows[-1]["error"] == result.outcomes[-1].error
    summary = json.loads((output / "batch_summary.json").read_text())
    assert summary["counts"] == {"done": 3, "skipped": 0, "failed": 1, "duplicate": 0} == result.counts
    assert summary["parameters"]["model"] == "physics" and len(summary["products"]) == 4


def test_a_second_run_skips_what_is_complete_and_force_redoes_it(first_batch, products, client):
    output, _ = first_batch
    good, corrupt = products
    stamps = {name: (output / name).stat().st_mtime_ns for name in visible_files(output)
              if name.endswith((".tif", ".png"))}
    again = run_batch([*good, corrupt], output, client=client, retry_delay=0, **PHYSICS)
    assert [o.status for o in again.outcomes] == ["skipped", "skipped", "skipped", "failed"]
    assert [o.cloud_cover for o in again.outcomes[:3]] == [o.cloud_cover for o in first_batch[1].outcomes[:3]]
    assert {name: (output / name).stat().st_mtime_ns for name in stamps} == stamps
    forced = run_batch(good[:1], output, client=client, force=True, **PHYSICS)
    assert [o.status for o in forced.outcomes] == ["done"]


def test_complete_means_same_parameters_and_every_listed_output(first_batch, products):
    output, _ = first_batch
    from s2mask.io.safe import open_product
    from s2mask.params import ProcessingParameters

    product = open_product(products[0][0])
    params = ProcessingParameters(**PHYSICS)
    assert completed_report(output, product, params) is not None
    assert completed_report(output, product, ProcessingParameters(threads=2, block_size=256, **PHYSICS))
    assert completed_report(output, product, ProcessingParameters(resolution=60, **PHYSICS)) is None
    assert completed_report(output, product, ProcessingParameters(model="auto")) is None
    quicklook = output / f"{product.product_id}_s2mask_quicklook.png"
    saved = quicklook.read_bytes()
    for damage in (b"", saved[:-1] + bytes([saved[-1] ^ 1])):
        quicklook.write_bytes(damage)
        try:
            assert completed_report(output, product, params) is None
        finally:
            quicklook.write_bytes(saved)
    quicklook.unlink()
    try:
        assert completed_report(output, product, params) is None
    finally:
        quicklook.write_bytes(saved)
    assert completed_report(output, product, params) is not None


class FlakyMasker(PhysicsMasker):
    """The physics masker, with an I/O error on its first block (a network file system hiccup)."""

    def __init__(self, marker: Path):
        super().__init__("L1C", ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B10", "B11", "B12"))
        self.marker = marker

    def predict(self, block):
        if not self.marker.exists():
            self.marker.touch()
            raise OSError(errno.EIO, "simulated I/O hiccup")
        return super().predict(block)


class BuggyMasker(FlakyMasker):
    def predict(self, block):
        raise ValueError("a bug, not bad luck")


def test_a_transient_error_is_retried_and_a_bug_is_not(products, client, tmp_path):
    good, _ = products
    retried = run_batch(good[:1], tmp_path / "flaky", client=client, retry_delay=0,
                        masker=FlakyMasker(tmp_path / "hiccup-happened"), **PHYSICS)
    assert [(o.status, o.attempts) for o in retried.outcomes] == [("done", 2)]
    log = (tmp_path / "flaky" / "logs" / f"{good[0].stem}.log").read_text()
    # the run's output stage reports the OSError as an OutputError naming the folder
    assert "cannot write: simulated I/O hiccup); transient, retrying in 0 s" in log
    buggy = run_batch(good[:1], tmp_path / "buggy", client=client, retry_delay=0,
                      masker=BuggyMasker(tmp_path / "unused"), **PHYSICS)
    assert [(o.status, o.attempts, o.error) for o in buggy.outcomes] == [
        ("failed", 1, "ValueError: a bug, not bad luck")]
    log = (tmp_path / "buggy" / "logs" / f"{good[0].stem}.log").read_text()
    assert "Traceback" in log and visible_files(tmp_path / "buggy") == {"batch_summary.csv", "batch_summary.json"}


def test_one_product_named_twice_is_processed_once(products, client, tmp_path):
    product = products[0][1]
    result = run_batch([product, product / "MTD_MSIL1C.xml", tmp_path / "missing.SAFE"], tmp_path / "out",
                       client=client, **PHYSICS)
    assert [o.status for o in result.outcomes] == ["done", "duplicate", "failed"]
    assert "named twice" in result.outcomes[1].error
    assert "no such file or folder" in result.outcomes[2].error


def test_one_batch_per_output_folder(products, client, tmp_path):
    tmp_path.joinpath(LOCK_NAME).touch()
    with open(tmp_path / LOCK_NAME) as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(OutputError, match="another s2mask batch"):
            run_batch(products[0][:1], tmp_path, client=client, **PHYSICS)


def test_the_cli_uses_a_running_cluster_and_fails_when_a_product_fails(products, client, tmp_path, capsys):
    from s2mask.cli import main

    good, corrupt = products
    listing = tmp_path / "products.txt"
    listing.write_text(f"# two products\n{good[2]}\n{corrupt}  # the broken one\n")
    status = main(["batch", str(listing), "-o", str(tmp_path / "out"), "--scheduler",
                   client.scheduler.address, "--model", "physics", "--retry-delay", "0", "--quiet"])
    assert status == 1
    assert "1 product(s) failed" in capsys.readouterr().err
    summary = json.loads((tmp_path / "out" / "batch_summary.json").read_text())
    assert summary["counts"] == {"done": 1, "skipped": 0, "failed": 1, "duplicate": 0}
    assert summary["cluster"]["scheduler"] == client.scheduler.address


def test_a_product_that_cannot_be_read_is_bad_input():
    from s2mask.batch.task import is_transient

    assert is_transient(OSError(errno.EIO, "hiccup")) and is_transient(OutputError("disk full", "x.tif"))
    assert not is_transient(ProductIOError("truncated", "x.jp2")) and not is_transient(ValueError("bug"))


def worker_environment():
    import os

    return {name: os.environ.get(name) for name in ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS", "GDAL_NUM_THREADS")}


def test_local_workers_get_their_share_of_threads_and_glibc_defaults():
    from s2mask.batch.runner import _cluster
    from s2mask.batch.sizing import WorkerPlan

    with _cluster(None, None, WorkerPlan(2, 3, 2.0)) as local:
        environments = local.run(worker_environment)
        limits = [worker["memory_limit"] for worker in local.scheduler_info()["workers"].values()]
    assert list(environments.values()) == [
        {"MALLOC_TRIM_THRESHOLD_": None, "OMP_NUM_THREADS": "3", "GDAL_NUM_THREADS": "3"}] * 2
    assert limits == [2 * 2**30] * 2
