"""How many workers a batch runs, and how many threads each product gets.

The sizing rule (also in bench/README.md)::

    workers            = min(cores, memory_GB // per_worker_GB)      at least 1, at most one per product
    threads per worker = cores // workers                            GDAL decoding and torch per product
    memory per worker  = memory_GB / workers                         Dask's memory_limit of each worker

Each worker runs one product at a time (one Dask thread) and that product decodes and predicts with
``threads per worker`` threads, so the workers together use every core once and never oversubscribe
it. ``per_worker_GB`` is the peak memory of one run on a full 10980 x 10980 tile: it depends on the
mask resolution (whole-tile layers grow with the pixel count), on probabilities (six more uint8
layers) and on DSen2 super-resolution; block size only moves the small streaming part, so it stays as
set. Cores and memory are what this process may use (CPU affinity, cgroup limits), as Dask sees them.

Workers of an existing cluster (``--scheduler``) were sized by whoever started them; each product then
gets the cores of its host divided by the Dask threads on that host (start workers with
``--nthreads 1 --nworkers N`` to give each product ``cores // N`` threads). Start them without Dask's
default ``MALLOC_TRIM_THRESHOLD_`` (set ``distributed.nanny.pre-spawn-environ`` to ``{}`` in the
Dask configuration): it made a full tile 37 % slower. The local cluster leaves it out.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..params import ProcessingParameters

#: Peak memory of one run on a full tile by mask resolution, in GB, default outputs: the highest peak
#: (VmHWM) measured with the default model (the CNN in int8, bfloat16 or float32; physics needs less),
#: GDAL's block cache and the next block read ahead, plus about half again for more threads per product
#: than the 2 measured with and the Dask worker around it: 2.7 GB at 10 m, 2.0 GB at 20 m, 1.4 GB at
#: 60 m (issue 22, bench/pipeline.py; bench/batch.py prints it for its resolution). The 5.8 GB once
#: measured at 10 m was the benchmark's own high-water mark, carried into its child by fork and exec.
TILE_MEMORY_GB = {10: 4.0, 20: 3.0, 60: 2.0}
#: Added for the six uint8 probability layers of a full tile (10 m: 0.7 GB of layers, plus encoding).
PROBABILITIES_GB = {10: 1.5, 20: 0.5, 60: 0.1}
#: Added for DSen2 super-resolution (the 10 m stacks of a block and the networks).
SUPER_RESOLUTION_GB = 2.0
#: Environment variables that size the thread pools of numpy's BLAS, torch (OpenMP) and GDAL.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "GDAL_NUM_THREADS")


@dataclass(frozen=True)
class WorkerPlan:
    """Workers of a local cluster: how many, threads per product, memory each (GB)."""

    workers: int
    threads_per_worker: int
    memory_per_worker_gb: float


def worker_memory_gb(params: ProcessingParameters) -> float:
    """The memory one product needs at its peak (GB), for the sizing rule."""
    need = TILE_MEMORY_GB[params.resolution]
    if "probabilities" in params.outputs:
        need += PROBABILITIES_GB[params.resolution]
    if params.super_resolution:
        need += SUPER_RESOLUTION_GB
    return need


def plan_workers(cores: int, memory_gb: float, per_worker_gb: float, *, products: int | None = None,
                 workers: int | None = None) -> WorkerPlan:
    """The sizing rule (module docstring); ``workers`` overrides the count, ``products`` caps it."""
    if workers is None:
        workers = max(1, min(cores, int(memory_gb // per_worker_gb)))
    if products:
        workers = min(workers, products)
    workers = max(1, workers)
    return WorkerPlan(workers, max(1, cores // workers), round(memory_gb / workers, 2))


def machine_resources() -> tuple[int, float]:
    """The cores and memory (GB) this process may use."""
    from dask.system import CPU_COUNT
    from distributed.system import MEMORY_LIMIT

    return CPU_COUNT, MEMORY_LIMIT / 2**30


def thread_environment(threads: int) -> dict[str, str]:
    """Environment for a worker process whose products use ``threads`` threads."""
    return dict.fromkeys(THREAD_VARIABLES, str(threads))


def threads_per_product(cores: int, slots_on_host: int) -> int:
    """Threads for one product on a host with ``cores`` cores running ``slots_on_host`` products at once."""
    return max(1, cores // max(1, slots_on_host))
