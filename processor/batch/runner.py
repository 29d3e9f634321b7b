"""``run_batch``: every product of a batch as one task on a Dask cluster, then the summary.

A local cluster sized by :mod:`.sizing` is started and stopped by the batch; ``scheduler`` (an address)
or ``client`` (a :class:`distributed.Client`) use an existing one instead. One batch at a time may
write into an output folder (a lock file held while it runs, removed at its end; the lock goes with the
process, even when it is killed). Inputs are told apart by product ID, the name of their outputs: a
second input with the ID of an earlier one is reported as a ``duplicate`` and not processed. Ctrl-C or
SIGTERM stop the local cluster and remove what its workers had staged.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import OutputError, ParameterError, S2MaskError
from ..io.atomic import check_output_folder, remove_stale_staging
from ..io.ownership import OwnerLock
from ..masking import Masker
from ..params import ProcessingParameters, whole_number
from ..pipeline import run_parameters
from .inputs import expand_inputs, identify
from .sizing import WorkerPlan, machine_resources, plan_workers, thread_environment, worker_memory_gb
from .summary import counts, write_summary
from .task import ProductLog, ProductOutcome, describe, process_product

#: ``progress(outcome, finished, total)``, called as each product finishes.
Progress = Callable[[ProductOutcome, int, int], None]
LOCK_NAME = ".s2mask-batch.lock"
MALLOC_TRIM = "MALLOC_TRIM_THRESHOLD_"


@dataclass
class BatchResult:
    """The outcome of every product in input order, the summary files, the wall time and the plan."""

    outcomes: list[ProductOutcome]
    summary: dict[str, Path]
    seconds: float
    plan: WorkerPlan | None

    @property
    def counts(self) -> dict[str, int]:
        return counts(self.outcomes)

    @property
    def failed(self) -> list[ProductOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def duplicates(self) -> list[ProductOutcome]:
        return [o for o in self.outcomes if o.status == "duplicate"]


def _require_distributed() -> None:
    try:
        import distributed  # noqa: F401
    except ImportError as err:
        raise S2MaskError("s2mask batch needs dask and distributed: pip install 's2mask[batch]'") from err


@contextmanager
def _output_lock(folder: Path) -> Iterator[None]:
    lock = OwnerLock.acquire(folder / LOCK_NAME, wait=False)
    if lock is None:
        raise OutputError("another s2mask batch is writing into this folder", folder)
    try:
        yield
    finally:
        lock.release()


@contextmanager
def _spawn_environment(values: dict[str, str]) -> Iterator[None]:
    """This process's environment as spawned workers must inherit it: ``values`` set, and no
    ``MALLOC_TRIM_THRESHOLD_``. Dask's default sets that one (and one thread for OpenMP) in the parent
    for good and lets what is already set there win; it makes glibc hand every freed block back to the
    system, which on a full tile cost 18 s of system time and 37 % of the wall time."""
    saved = {name: os.environ.get(name) for name in (*values, MALLOC_TRIM)}
    os.environ.pop(MALLOC_TRIM, None)
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def _cluster(scheduler: str | None, client: Any, plan: WorkerPlan) -> Iterator[Any]:
    if client is not None:
        yield client
        return
    import dask
    from distributed import Client, LocalCluster

    from .quiet_workers import IgnoreInterrupts

    if scheduler is not None:
        try:
            connected = Client(scheduler, timeout="30s")
        except (OSError, TimeoutError, ValueError, TypeError) as err:
            raise ParameterError(f"cannot reach the Dask scheduler at {scheduler!r}: {describe(err)}",
                                 parameters=("scheduler",)) from err
        with connected:
            try:
                connected.wait_for_workers(1, timeout=60)
            except TimeoutError as err:
                raise ParameterError(f"the Dask cluster at {scheduler} has no worker (waited 60 s)") from err
            yield connected
        return
    environment = thread_environment(plan.threads_per_worker)
    logger = logging.getLogger("distributed")
    level = logger.level
    try:
        with _spawn_environment(environment), \
                dask.config.set({"distributed.nanny.pre-spawn-environ": environment}), \
                LocalCluster(n_workers=plan.workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                             memory_limit=f"{plan.memory_per_worker_gb}GiB") as cluster, Client(cluster) as local:
            local.register_plugin(IgnoreInterrupts())
            try:
                yield local
            except KeyboardInterrupt:
                # Stopping on purpose: what the cluster says about the connections it loses is noise.
                logger.setLevel(logging.CRITICAL)
                _kill_workers(cluster)
                raise
    finally:
        logger.setLevel(level)


def _kill_workers(cluster: Any) -> None:
    """End a local cluster's workers at once, after Ctrl-C or SIGTERM: closed gracefully, they would
    finish the block at hand and log every task they drop. What they had staged is removed afterwards."""
    for nanny in list(cluster.workers.values()):
        pid = getattr(getattr(nanny, "process", None), "pid", None)
        if pid:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _slots_per_host(client: Any) -> dict[str, int]:
    slots: dict[str, int] = {}
    for worker in client.scheduler_info(n_workers=-1)["workers"].values():
        slots[worker["host"]] = slots.get(worker["host"], 0) + worker["nthreads"]
    return slots


def _distinct(paths: list[Path]) -> tuple[dict[Path, str], list[ProductOutcome]]:
    """The inputs to process with their product IDs (the names of their outputs), and a ``duplicate``
    outcome for every later input with the ID of an earlier one: two products of one ID would write
    the same files, so only the first is processed (an input named twice is one of them)."""
    first: dict[str, tuple[Path, str]] = {}
    repeats = []
    for path, (product_id, source) in zip(paths, identify(paths)):
        if product_id not in first:
            first[product_id] = path, source
            continue
        earlier, earlier_source = first[product_id]
        why = ("named twice" if source == earlier_source else
               f"the same product ID as {earlier}: outputs are named by product ID, only the first is processed")
        repeats.append(ProductOutcome(product_id, str(path), "duplicate", error=f"duplicate input ({why})"))
    return {path: product_id for product_id, (path, _) in first.items()}, repeats


def _real(name: str, value: Any, unit: str, *, zero: bool) -> float:
    """``value`` when it is a finite number of ``unit`` above 0 (or 0 with ``zero``), else a ParameterError."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or value < 0 or (value == 0 and not zero):
        raise ParameterError(f"{name} must be a number of {unit}, {'0 or more' if zero else 'more than 0'}; "
                             f"got {value!r}", parameters=(name,))
    return float(value)


def _checked_options(retries: Any, retry_delay: Any, workers: Any,
                     memory_per_worker_gb: Any) -> tuple[int, float, int | None, float | None]:
    """The batch's own options, checked (the processing parameters check themselves)."""
    retries = whole_number("retries", retries)
    if retries < 0:
        raise ParameterError(f"retries must be 0 or more, got {retries}", parameters=("retries",))
    if workers is not None:
        workers = whole_number("workers", workers)
        if workers < 1:
            raise ParameterError(f"workers must be 1 or more, got {workers}", parameters=("workers",))
    if memory_per_worker_gb is not None:
        memory_per_worker_gb = _real("memory_per_worker_gb", memory_per_worker_gb, "GB", zero=False)
    return retries, _real("retry_delay", retry_delay, "seconds", zero=True), workers, memory_per_worker_gb


def run_batch(inputs: Iterable[str | Path], output_dir: str | Path, params: ProcessingParameters | None = None, *,
              scheduler: str | None = None, client: Any = None, workers: int | None = None,
              memory_per_worker_gb: float | None = None, force: bool = False, retries: int = 2,
              retry_delay: float = 5.0, verify: bool = False, masker: Masker | None = None,
              progress: Progress | None = None, **overrides: Any) -> BatchResult:
    """Mask every product that ``inputs`` name (paths, globs, folders, list files) into ``output_dir``.

    Products whose complete outputs exist are skipped (``force`` redoes them): their completion record
    (:mod:`s2mask.io.record`) matches the input, the parameters, the version and the outputs' checksums.
    Transient errors are retried ``retries`` times; a failing product is reported and never stops the
    others; ``verify`` checks each product against its ``manifest.safe`` first. Writes
    ``OUTDIR/logs/<product>.log`` per product and ``OUTDIR/batch_summary.csv``/``.json``. Without
    ``scheduler`` or ``client`` a local cluster is sized by the rule in :mod:`s2mask.batch.sizing`
    (``workers`` and ``memory_per_worker_gb`` override it). ``params`` or keyword overrides as in
    :func:`s2mask.run`; the report is always written (it marks a product complete).
    """
    started = time.perf_counter()
    _require_distributed()
    params = run_parameters(params, overrides)
    if "report" not in params.outputs:
        params = replace(params, outputs=(*params.outputs, "report"))
    retries, retry_delay, workers, memory_per_worker_gb = _checked_options(retries, retry_delay, workers,
                                                                           memory_per_worker_gb)
    if scheduler is None and client is None and masker is None and params.model != "physics":
        # The workers of a local cluster run on this CPU: a device or an arithmetic it cannot run fails
        # here, once, instead of in every product.
        from ..inference import select_device, select_precision

        select_precision(params.precision, select_device(params.device))
    # Absolute, as workers elsewhere (or with another working folder) must find them.
    every_path = [path.absolute() for path in expand_inputs(inputs)]
    paths, outcomes = _distinct(every_path)
    if not paths:
        raise ParameterError("no products to process: the inputs name none")
    folder = check_output_folder(output_dir).absolute()
    plan = None
    if scheduler is None and client is None:
        cores, memory = machine_resources()
        plan = plan_workers(cores, memory, memory_per_worker_gb or worker_memory_gb(params), products=len(paths),
                            workers=workers)
        if params.threads:
            plan = replace(plan, threads_per_worker=params.threads)
    total = len(every_path)
    if progress:
        for finished, outcome in enumerate(outcomes, start=1):
            progress(outcome, finished, total)
    with _output_lock(folder):
        try:
            with _cluster(scheduler, client, plan) as dask_client:
                outcomes += _run_tasks(dask_client, paths, folder, progress, len(outcomes), total,
                                       params=params.to_dict(), force=force, retries=retries,
                                       retry_delay=retry_delay, verify=verify, masker=masker)
        except KeyboardInterrupt:
            # The cluster's workers have stopped with it: what they staged has no owner left.
            remove_stale_staging(folder)
            raise
        order = {str(path): index for index, path in enumerate(every_path)}
        outcomes.sort(key=lambda outcome: order[outcome.path])
        seconds = time.perf_counter() - started
        summary = write_summary(folder, outcomes, params=params, seconds=seconds, plan=plan,
                                scheduler=scheduler or ("client" if client is not None else "local"))
    return BatchResult(outcomes, summary, seconds, plan)


def _run_tasks(client: Any, paths: dict[Path, str], folder: Path, progress: Progress | None, finished: int,
               total: int, **options: Any) -> list[ProductOutcome]:
    """One task per product, first inputs first; outcomes as they finish."""
    from distributed import as_completed

    slots = _slots_per_host(client)
    batch_id = uuid.uuid4().hex[:8]
    futures = {client.submit(process_product, str(path), str(folder), name=name, slots_per_host=slots,
                             key=f"s2mask-{name}-{batch_id}", priority=-index, **options): (path, name)
               for index, (path, name) in enumerate(paths.items())}
    outcomes = []
    try:
        for future in as_completed(futures):
            path, name = futures[future]
            try:
                outcome = future.result()
            except Exception as err:  # the worker died too often, or the task could not run at all
                outcome = ProductOutcome(name, str(path), "failed", error=describe(err))
                ProductLog(folder, outcome.product).write(f"failed on the cluster: {outcome.error}")
            outcomes.append(outcome)
            if progress:
                progress(outcome, finished + len(outcomes), total)
    except BaseException:
        client.cancel(list(futures))
        raise
    return outcomes
