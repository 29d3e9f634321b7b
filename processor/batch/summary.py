"""The batch summary: ``batch_summary.csv`` and ``batch_summary.json`` in the output folder, and a table.

Both files are staged and moved into place like every other output (:mod:`s2mask.io.atomic`), so a
reader never sees half a summary; each batch replaces the summary of the previous one (the per-product
logs keep the history).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import asdict, fields
from datetime import UTC, datetime
from pathlib import Path

from ..io.atomic import OutputStage, output_errors
from ..params import ProcessingParameters
from .sizing import WorkerPlan
from .task import ProductOutcome

STATUSES = ("done", "skipped", "failed", "duplicate")
SUMMARY_NAME = "batch_summary"
#: Table columns: header, width, alignment ("<" or ">").
_COLUMNS = (("status", 7, "<"), ("tries", 5, ">"), ("seconds", 8, ">"), ("cloud %", 7, ">"))
_ERROR_WIDTH = 100


def counts(outcomes: Sequence[ProductOutcome]) -> dict[str, int]:
    return {status: sum(o.status == status for o in outcomes) for status in STATUSES}


def _cells(outcome: ProductOutcome) -> tuple[str, ...]:
    cover = "" if outcome.cloud_cover is None else f"{outcome.cloud_cover:.1f}"
    return outcome.status, str(outcome.attempts), f"{outcome.seconds:.1f}", cover


def format_table(outcomes: Sequence[ProductOutcome], seconds: float) -> str:
    """One line per product (errors cut to one line of :data:`_ERROR_WIDTH` characters) and a total."""
    width = max([len("product"), *(len(o.product) for o in outcomes)])
    header = f"{'product':<{width}}  " + "  ".join(f"{name:{align}{size}}" for name, size, align in _COLUMNS)
    lines = [header + "  error", "-" * (len(header) + 7)]
    for outcome in outcomes:
        cells = "  ".join(f"{cell:{align}{size}}" for cell, (_, size, align) in zip(_cells(outcome), _COLUMNS))
        error = outcome.error if len(outcome.error) <= _ERROR_WIDTH else outcome.error[:_ERROR_WIDTH - 3] + "..."
        lines.append(f"{outcome.product:<{width}}  {cells}  {error}".rstrip())
    tally = counts(outcomes)
    done = tally["done"]
    rate = f", {done / seconds * 3600:.1f} products/hour processed" if done and seconds > 0 else ""
    duplicates = f", {tally['duplicate']} duplicate" if tally["duplicate"] else ""
    lines.append(f"{len(outcomes)} product(s): {tally['done']} done, {tally['skipped']} skipped, "
                 f"{tally['failed']} failed{duplicates} in {seconds:.1f} s{rate}")
    return "\n".join(lines)


def write_summary(folder: str | Path, outcomes: Sequence[ProductOutcome], *, params: ProcessingParameters,
                  seconds: float, plan: WorkerPlan | None, scheduler: str) -> dict[str, Path]:
    """Write the CSV and JSON summaries atomically; returns their paths by kind (``csv``, ``json``)."""
    document = {
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "output_dir": str(Path(folder).resolve()),
        "seconds": round(seconds, 3),
        "counts": counts(outcomes),
        "cluster": {"scheduler": scheduler, **(asdict(plan) if plan else {})},
        "parameters": params.to_dict(),
        "products": [asdict(outcome) for outcome in outcomes],
    }
    names = {"csv": f"{SUMMARY_NAME}.csv", "json": f"{SUMMARY_NAME}.json"}
    with OutputStage(folder, SUMMARY_NAME) as stage:
        with output_errors(stage.final_path(names["csv"])), \
                open(stage.path(names["csv"]), "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow([item.name for item in fields(ProductOutcome)])
            writer.writerows([getattr(outcome, item.name) for item in fields(ProductOutcome)]
                             for outcome in outcomes)
        with output_errors(stage.final_path(names["json"])):
            stage.path(names["json"]).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return {kind: stage.final_path(name) for kind, name in names.items()}
