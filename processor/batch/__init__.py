"""Many products at once on a Dask cluster: ``s2mask batch`` and :func:`run_batch`.

::

    from s2mask.batch import run_batch
    result = run_batch(["/data/*.SAFE", "more.txt"], "masks", resolution=20)
    result.counts        # {"done": 118, "skipped": 40, "failed": 2}
    result.failed        # [ProductOutcome(product=..., error=...), ...]

One task per product: a :class:`~distributed.LocalCluster` sized to the machine by default (the rule
is in :mod:`.sizing`), or an existing cluster (``scheduler="tcp://host:8786"`` or ``client=``).
Idempotent and resumable: a product whose complete outputs exist is skipped (``force=True`` redoes
it), outputs appear complete or not at all, and a rerun after a crash cleans what the crash left and
does the rest. Transient errors are retried; a failing product never stops the others. Each product
logs to ``OUTDIR/logs/<product>.log``; the batch writes ``OUTDIR/batch_summary.csv`` and ``.json``.
Needs the ``batch`` extra (``pip install s2mask[batch]``: dask and distributed). The local cluster's
workers are spawned processes: a script that calls :func:`run_batch` must do so under
``if __name__ == "__main__":``.
"""

from .inputs import expand_inputs, product_name
from .runner import BatchResult, run_batch
from .sizing import WorkerPlan, plan_workers, worker_memory_gb
from .summary import format_table
from .task import ProductOutcome, completed_report, process_product

__all__ = [
    "BatchResult", "ProductOutcome", "WorkerPlan", "completed_report", "expand_inputs", "format_table",
    "plan_workers", "process_product", "product_name", "run_batch", "worker_memory_gb",
]
