"""``s2mask batch INPUT... -o OUTDIR``: mask many products on a Dask cluster, resumably."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .options import add_parameter_options, parameters_from_args
from .progress import ProgressBar

if TYPE_CHECKING:
    from ..batch import ProductOutcome
    from ..batch.runner import Progress

NAME = "batch"
HELP = ("Mask many products on a Dask cluster (local by default): skips finished products, retries transient "
        "failures, logs each product, writes a summary CSV/JSON.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="a product (.SAFE folder, its MTD file, a zipped "
                        "SAFE), a glob pattern, a folder of products, or a text file listing any of these")
    parser.add_argument("--output", "-o", type=Path, required=True, help="output folder (also gets logs/ and "
                        "batch_summary.csv/.json); the report output is always written: it marks a product done")
    parser.add_argument("--force", action="store_true", help="process products whose complete outputs exist again")
    parser.add_argument("--retries", type=int, default=2, help="retries of a product after a transient error "
                        "(I/O, lost worker); bad input fails at once (default 2)")
    parser.add_argument("--retry-delay", type=float, default=5.0, metavar="SECONDS",
                        help="wait before the first retry, doubled for each further one (default 5)")
    parser.add_argument("--verify", action="store_true", help="check each product's files against the checksums "
                        "of its manifest.safe first (reads every byte; a damaged product fails)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress and no table")
    cluster = parser.add_argument_group("cluster")
    cluster.add_argument("--scheduler", metavar="ADDRESS", help="use the running Dask cluster at ADDRESS "
                         "(tcp://host:8786) instead of starting a local one")
    cluster.add_argument("--workers", type=int, help="local workers (default: min(cores, memory GB // memory "
                         "per worker GB)); each gets cores // workers threads")
    cluster.add_argument("--memory-per-worker", dest="memory_per_worker_gb", type=float, metavar="GB",
                         help="peak memory of one product, for the sizing rule (default: by resolution, e.g. 2 GB "
                         "at 20 m)")
    add_parameter_options(parser)


def _reporter(quiet: bool) -> tuple[ProgressBar | None, Progress | None]:
    """A progress bar on a terminal; one line per finished product otherwise (logs of unattended runs)."""
    if quiet:
        return None, None
    bar = ProgressBar("batch", stream=sys.stderr, unit="products")

    def report(outcome: ProductOutcome, finished: int, total: int) -> None:
        if bar.interactive:
            bar.update(finished, total)
        else:
            detail = f" {outcome.error}" if outcome.error else f" {outcome.seconds:.1f} s"
            print(f"[{finished}/{total}] {outcome.status:<7} {outcome.product}{detail}", file=sys.stderr, flush=True)

    return bar, report


def main(args: argparse.Namespace) -> int:
    from ..batch import format_table, run_batch

    params = parameters_from_args(args)
    bar, report = _reporter(args.quiet)
    result = run_batch(args.inputs, args.output, params, scheduler=args.scheduler, workers=args.workers,
                       memory_per_worker_gb=args.memory_per_worker_gb, force=args.force, retries=args.retries,
                       retry_delay=args.retry_delay, verify=args.verify, progress=report)
    if bar:
        bar.close()
    if not args.quiet:
        print(format_table(result.outcomes, result.seconds))
        print(f"summary: {result.summary['csv']} and {result.summary['json']}; logs in {args.output / 'logs'}")
    if result.failed or result.duplicates:
        problems = [f"{len(result.failed)} product(s) failed"] if result.failed else []
        problems += [f"{len(result.duplicates)} input(s) duplicated another"] if result.duplicates else []
        print(f"s2mask batch: {' and '.join(problems)}; see the summary and the logs", file=sys.stderr)
        return 1
    return 0
