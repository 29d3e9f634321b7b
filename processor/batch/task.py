"""One product of a batch, as a Dask task: skip it when done, run it, retry transient failures, log it all.

The task receives plain values (the product path, the output folder, the parameters as a dict) and
opens the product on the worker. It never raises for a product that fails: it returns a
:class:`ProductOutcome` with status ``failed`` and the error, so one bad product never stops the
others. Outputs are complete when their completion record (:mod:`s2mask.io.record`) says they were made
from this input (its files' sizes, its metadata's checksums), by this s2mask version, with the same
parameters (performance settings aside), and every output file it lists still has its size and
checksum; the staging of :mod:`s2mask.io.atomic` makes sure nothing else of a run is ever visible.
"""

from __future__ import annotations

import json
import os
import socket
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import ProductIOError, S2MaskError
from ..io.atomic import remove_stale_staging
from ..io.formats import open_product
from ..io.record import outputs_intact, read_record
from ..io.safe import Product
from ..io.writers import output_names
from ..masking import Masker
from ..params import ProcessingParameters, performance_fields
from ..pipeline import run
from .inputs import product_name
from .sizing import threads_per_product

LOG_FOLDER = "logs"


@dataclass
class ProductOutcome:
    """What became of one product: status ``done``, ``skipped`` (complete outputs existed), ``failed``, or
    ``duplicate`` (an earlier input of the batch has its product ID; not processed)."""

    product: str
    path: str
    status: str
    seconds: float = 0.0
    cloud_cover: float | None = None
    attempts: int = 0
    error: str = ""
    #: CPU time of the worker process while it ran this product (all its threads): unlike ``seconds``,
    #: hardly changed by other load on the machine.
    cpu_seconds: float = 0.0


class ProductLog:
    """``OUTDIR/logs/<product>.log``: one timestamped line per step, appended across attempts and batches."""

    def __init__(self, output_dir: str | Path, name: str):
        self.path = Path(output_dir) / LOG_FOLDER / f"{name}.log"
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, message: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(f"{stamp} {message}\n")

    def traceback(self, error: BaseException) -> None:
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.writelines(traceback.format_exception(error))


def is_transient(error: BaseException) -> bool:
    """Worth another try: an ``OSError`` (network file systems, full or busy disks, :class:`OutputError`)
    but not :class:`ProductIOError`, which means the product's own files cannot be read."""
    return isinstance(error, OSError) and not isinstance(error, ProductIOError)


def describe(error: BaseException) -> str:
    """One line for the summary: s2mask's own messages as they are, others with their type."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return text if isinstance(error, S2MaskError) else f"{type(error).__name__}: {text}".rstrip(": ")


def completed_report(output_dir: str | Path, product: Product, params: ProcessingParameters) -> dict | None:
    """The report of complete outputs of ``product`` made with ``params`` (see the module docstring), else
    None."""
    folder = Path(output_dir)
    record = read_record(folder, product.product_id)
    if record is None or record.get("s2mask_version") != __version__ or record.get("product_id") != product.product_id:
        return None
    wanted = {key: value for key, value in params.to_dict().items() if key not in performance_fields()}
    made = record.get("parameters", {})
    if any(made.get(key) != value for key, value in wanted.items()):
        return None
    report_name = output_names(product.product_id)["report"]
    if report_name not in record.get("outputs", {}) or record.get("source", {}).get("files") != product.source_files():
        return None
    if not outputs_intact(folder, record):
        return None
    try:
        return json.loads((folder / report_name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _task_params(params: Mapping[str, Any], slots_per_host: Mapping[str, int]) -> ProcessingParameters:
    chosen = ProcessingParameters.from_mapping(params)
    if chosen.threads:
        return chosen
    from dask.system import CPU_COUNT
    from distributed import get_worker
    from distributed.comm import get_address_host

    try:
        host = get_address_host(get_worker().address)
    except ValueError:  # called outside a Dask worker
        host = ""
    return replace(chosen, threads=threads_per_product(CPU_COUNT, slots_per_host.get(host, 1)))


def _attempt(path: str, output_dir: str, params: ProcessingParameters, force: bool, verify: bool, log: ProductLog,
             masker: Masker | None) -> tuple[str, dict]:
    product = open_product(path, use_jp2_levels=not params.exact_downsampling, verify=verify)
    removed = remove_stale_staging(output_dir, product.product_id)
    if removed:
        log.write(f"removed {removed} staging folder(s) that a killed run of this product left")
    if not force:
        report = completed_report(output_dir, product, params)
        if report is not None:
            log.write("complete outputs of this input with the same parameters exist: skipped (use --force "
                      "to redo)")
            return "skipped", report
    log.write(f"processing {product.product_id} ({product.level}, baseline {product.baseline}) with "
              f"{params.threads} thread(s): {json.dumps(params.to_dict(), sort_keys=True)}")
    result = run(product, output_dir, params, masker=masker)
    steps = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result.report.get("timings_s", {}).items())
    log.write(f"done: cloud cover {result.report.get('cloud_cover_percent')} %; steps: {steps}")
    for kind, output in result.outputs.items():
        log.write(f"  {kind}: {output}")
    return "done", result.report


def process_product(path: str, output_dir: str, params: Mapping[str, Any], *, name: str | None = None,
                    force: bool = False, retries: int = 2, retry_delay: float = 5.0, verify: bool = False,
                    slots_per_host: Mapping[str, int] | None = None, masker: Masker | None = None) -> ProductOutcome:
    """Process one product into ``output_dir`` (see the module docstring); never raises for the product.

    ``name`` (default: from the path) names the outcome and the log: the batch gives the product ID.
    Transient errors (:func:`is_transient`) are retried ``retries`` times, waiting ``retry_delay`` seconds,
    doubled each time; any other error fails the product at once. ``params`` with ``threads`` 0 get the
    cores of the worker's host divided by ``slots_per_host[host]``, the products that host runs at once.
    """
    name = name or product_name(path)
    log = ProductLog(output_dir, name)
    started, cpu_started = time.perf_counter(), time.process_time()
    log.write(f"task started on {socket.gethostname()} (pid {os.getpid()}): {path}")
    chosen = _task_params(params, slots_per_host or {})
    attempt = 0
    while True:
        attempt += 1
        try:
            status, report = _attempt(path, output_dir, chosen, force, verify, log, masker)
            return ProductOutcome(name, path, status, round(time.perf_counter() - started, 3),
                                  report.get("cloud_cover_percent"), attempt,
                                  cpu_seconds=round(time.process_time() - cpu_started, 3))
        except Exception as err:
            if not isinstance(err, S2MaskError):
                log.traceback(err)
            if not (is_transient(err) and attempt <= retries):
                log.write(f"failed after {attempt} attempt(s): {describe(err)}")
                return ProductOutcome(name, path, "failed", round(time.perf_counter() - started, 3), None,
                                      attempt, describe(err), round(time.process_time() - cpu_started, 3))
            delay = retry_delay * 2 ** (attempt - 1)
            log.write(f"attempt {attempt} failed ({describe(err)}); transient, retrying in {delay:.0f} s")
            time.sleep(delay)
