"""What a batch works on (paths, globs, folders, list files) and how it sizes its workers; no cluster needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from s2mask.batch import expand_inputs, plan_workers, product_name, worker_memory_gb
from s2mask.batch.sizing import WorkerPlan, threads_per_product
from s2mask.errors import ParameterError
from s2mask.params import ProcessingParameters


@pytest.fixture
def archive(tmp_path):
    """Three product-like entries (two SAFE folders, one zip) and a stray file, in ``tmp_path/data``."""
    data = tmp_path / "data"
    for name in ("A.SAFE", "B.SAFE"):
        (data / name).mkdir(parents=True)
        (data / name / "MTD_MSIL1C.xml").write_text("<xml/>")
    (data / "C.SAFE.zip").write_bytes(b"not really a zip: still a product, it fails when opened")
    (data / "notes.txt").write_text("not a product")
    return data


def names(paths: list[Path]) -> list[str]:
    return [path.name for path in paths]


def test_paths_globs_and_folders(archive):
    assert names(expand_inputs([archive / "B.SAFE", archive / "A.SAFE" / "MTD_MSIL1C.xml"])) == [
        "B.SAFE", "MTD_MSIL1C.xml"]
    assert names(expand_inputs([f"{archive}/*.SAFE"])) == ["A.SAFE", "B.SAFE"]
    assert names(expand_inputs([archive])) == ["A.SAFE", "B.SAFE", "C.SAFE.zip"]
    assert names(expand_inputs([archive / "A.SAFE", archive])) == ["A.SAFE", "B.SAFE", "C.SAFE.zip"]


def test_a_missing_product_stays_in_the_batch_to_fail_there(archive):
    assert names(expand_inputs([archive / "gone.SAFE", archive / "A.SAFE"])) == ["gone.SAFE", "A.SAFE"]


def test_list_files_with_comments_relative_paths_and_nesting(archive, tmp_path):
    inner = archive / "inner.txt"
    inner.write_text("C.SAFE.zip\n")
    listing = archive / "batch.txt"
    listing.write_text("# June\nB.SAFE   # the good one\n\n*.SAFE\ninner.txt\n")
    assert names(expand_inputs([listing])) == ["B.SAFE", "A.SAFE", "C.SAFE.zip"]
    inner.write_text("inner.txt\n")
    with pytest.raises(ParameterError, match="includes itself"):
        expand_inputs([inner])


def test_inputs_that_name_nothing_are_refused(archive, tmp_path):
    with pytest.raises(ParameterError, match="matches no file"):
        expand_inputs([f"{archive}/*.zipx"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ParameterError, match="holds no .SAFE folder"):
        expand_inputs([tmp_path / "empty"])


def test_product_names_from_paths():
    stem = "S2B_MSIL1C_20240305T104819_N0510_R051_T31TCJ_20240305T125347"
    for path in (f"/d/{stem}.SAFE", f"/d/{stem}.SAFE/MTD_MSIL1C.xml", f"/d/{stem}.zip", f"/d/{stem}.SAFE.zip"):
        assert product_name(path) == stem


@pytest.mark.parametrize(("cores", "memory", "per_worker", "products", "workers", "expected"), [
    (2, 24, 2.5, None, None, WorkerPlan(2, 1, 12.0)),     # this machine at 20 m
    (2, 24, 2.5, 1, None, WorkerPlan(1, 2, 24.0)),        # one product: one worker with both cores
    (16, 24, 4.0, None, None, WorkerPlan(6, 2, 4.0)),     # memory-bound at 10 m
    (8, 2, 2.5, None, None, WorkerPlan(1, 8, 2.0)),       # too little memory: still one worker
    (16, 64, 2.5, 3, None, WorkerPlan(3, 5, 21.33)),      # capped by the number of products
    (4, 16, 2.5, None, 1, WorkerPlan(1, 4, 16.0)),        # workers chosen by the user
])
def test_the_sizing_rule(cores, memory, per_worker, products, workers, expected):
    assert plan_workers(cores, memory, per_worker, products=products, workers=workers) == expected


def test_memory_per_worker_grows_with_pixels_and_layers():
    base = worker_memory_gb(ProcessingParameters(resolution=20))
    assert worker_memory_gb(ProcessingParameters(resolution=60)) < base < worker_memory_gb(
        ProcessingParameters(resolution=10))
    assert worker_memory_gb(ProcessingParameters(resolution=20, outputs=("cog", "probabilities"))) > base
    assert worker_memory_gb(ProcessingParameters(resolution=10, super_resolution=True)) > worker_memory_gb(
        ProcessingParameters(resolution=10))


def test_threads_of_a_product_on_a_shared_host():
    assert [threads_per_product(16, slots) for slots in (1, 4, 16, 32, 0)] == [16, 4, 1, 1, 16]


def test_eopf_stores_and_stac_items_are_products(archive):
    (archive / "D.zarr").mkdir()
    (archive / "D.zarr" / ".zmetadata").write_text("{}")
    (archive / "E.zarr.zip").write_bytes(b"a zipped store")
    items = archive / "items"
    items.mkdir()
    (items / "S2B_T31TCJ_20240305T104819_L2A.json").write_text("{}")
    (items / "unrelated.json").write_text("{}")
    assert names(expand_inputs([archive])) == ["A.SAFE", "B.SAFE", "C.SAFE.zip", "D.zarr", "E.zarr.zip"]
    assert names(expand_inputs([items / "S2B_T31TCJ_20240305T104819_L2A.json"])) == [
        "S2B_T31TCJ_20240305T104819_L2A.json"]
    assert [product_name(p) for p in ("X.zarr", "X.zarr.zip", "items/X.json")] == ["X", "X", "X"]
