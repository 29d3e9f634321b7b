"""Kill ``s2mask batch`` (SIGKILL, the whole process group) after its first product, then run it again:
the rerun skips what was finished, does the rest, and leaves no partial or staging file behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from helpers import make_products

pytest.importorskip("distributed")

PRODUCTS = 5


def batch_command(inputs, output):
    return [sys.executable, "-m", "s2mask.cli", "batch", *map(str, inputs), "-o", str(output), "--model", "physics",
            "--resolution", "10", "--workers", "2", "--retry-delay", "0"]


def reports(folder):
    return sorted(folder.glob("*_s2mask_report.json"))


def records(folder):
    """The completion records: a product is finished once its record is written, the last of its files."""
    return sorted(folder.glob("*_s2mask_record.json"))


@pytest.mark.slow
def test_a_killed_batch_completes_on_the_next_run(tmp_path):
    products = make_products(tmp_path / "products", PRODUCTS, 480)
    output = tmp_path / "out"
    output.mkdir()
    process = subprocess.Popen(batch_command(products, output), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 180
    while not records(output) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    finished = {path.name.removesuffix("_s2mask_record.json") for path in records(output)}
    assert 1 <= len(finished) < PRODUCTS, "the kill must come after the first product and before the last"
    assert not (output / "batch_summary.json").exists()

    rerun = subprocess.run(batch_command(products, output), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads((output / "batch_summary.json").read_text())
    statuses = {item["product"]: item["status"] for item in summary["products"]}
    assert {name for name, status in statuses.items() if status == "skipped"} == finished
    assert {name for name, status in statuses.items() if status == "done"} == {p.stem for p in products} - finished

    hidden = [p.name for p in output.iterdir() if p.name.startswith(".")]
    assert hidden == [], "staging folders of the killed run and the lock file must be gone"
    listed = {"batch_summary.csv", "batch_summary.json", "logs"}
    for report_path in reports(output):
        listed |= set(json.loads(report_path.read_text())["outputs"].values())
        listed |= {name + ".aux.xml" for name in listed if name.endswith(".tif")}
        listed.add(report_path.name.replace("_report.json", "_record.json"))
    assert {p.name for p in output.iterdir() if not p.name.startswith(".")} == listed, "no file outside a product"
    assert len(reports(output)) == PRODUCTS
