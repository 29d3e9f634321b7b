"""The completion record of a run, ``NAME_s2mask_record.json``: written last, beside the outputs.

It says what the outputs were made from (the product ID, its source path and files: see
:meth:`~s2mask.io.safe.Product.source_files`), with what (s2mask version, model, parameters) and what they are
(every output file's size and SHA-256). ``s2mask batch`` skips a product only when its record matches all
of that (:func:`s2mask.batch.completed_report`): outputs damaged or cut short, made with other settings,
or from another input of the same product ID are made again.

A run replaces every output of its product: those of an earlier run that this one does not write (it
asked for other ``outputs``) are removed when it commits, so that the folder holds one run's outputs per
product. A run killed between its commit and its record leaves an old record (or none) that no longer
matches: the product is simply processed again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import __version__
from .atomic import output_errors
from .safe import Product
from .writers import output_names

RECORD_SUFFIX = "_s2mask_record.json"
#: GDAL's sidecar of a GeoTIFF (category names, statistics): part of its output.
SIDECAR = ".aux.xml"
_CHUNK = 1 << 20


def record_path(folder: str | Path, product_id: str) -> Path:
    return Path(folder) / f"{product_id}{RECORD_SUFFIX}"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def output_entries(product_id: str) -> list[str]:
    """The names every output of ``product_id`` may have in its folder, sidecars and record included."""
    names = list(output_names(product_id).values())
    return [*names, *(name + SIDECAR for name in names if name.endswith(".tif")), f"{product_id}{RECORD_SUFFIX}"]


def _files_of(folder: Path, names: Iterable[str]) -> dict[str, dict[str, Any]]:
    described = {}
    for name in names:
        path = folder / name
        for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if file.is_file():
                described[file.relative_to(folder).as_posix()] = {"bytes": file.stat().st_size, "sha256": sha256(file)}
    return described


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def write_record(folder: str | Path, product: Product, written: Iterable[Path], *, model: str,
                 parameters: Mapping[str, Any]) -> Path:
    """After a run committed ``written`` (its outputs' paths) into ``folder``: remove the outputs of its
    product that it did not write, then write the record (atomically); returns the record's path."""
    folder = Path(folder)
    names = {Path(path).name for path in written}
    names |= {name + SIDECAR for name in names if (folder / (name + SIDECAR)).is_file()}
    if output_names(product.product_id)["dimap"] in names:
        names.add(output_names(product.product_id)["dimap_data"])
    path = record_path(folder, product.product_id)
    with output_errors(path, "cannot complete the outputs"):
        for stale in set(output_entries(product.product_id)) - names - {path.name}:
            _remove(folder / stale)
        record = {
            "s2mask_version": __version__,
            "created_utc": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "product_id": product.product_id,
            "source": {"path": product.location.display_name, "files": product.source_files()},
            "model": model,
            "parameters": dict(parameters),
            "outputs": _files_of(folder, sorted(names)),
        }
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(json.dumps(record, indent=2) + "\n")
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    return path


def read_record(folder: str | Path, product_id: str) -> dict[str, Any] | None:
    """The record of ``product_id`` in ``folder``, or None when there is none or it cannot be read."""
    try:
        record = json.loads(record_path(folder, product_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def outputs_intact(folder: str | Path, record: Mapping[str, Any]) -> bool:
    """Whether every output file the record lists is there with its size and SHA-256."""
    folder = Path(folder)
    outputs = record.get("outputs")
    if not isinstance(outputs, dict) or not outputs:
        return False
    for name, expected in outputs.items():
        path = folder / name
        try:
            if path.stat().st_size != expected.get("bytes") or sha256(path) != expected.get("sha256"):
                return False
        except (OSError, AttributeError):
            return False
    return True
