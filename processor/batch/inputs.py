"""What a batch works on: the products named by paths, glob patterns, folders and text files of paths.

Every input ends as one product path, in the order given, each once:

- a product (``.SAFE`` folder, its ``MTD_MSIL1C.xml``/``MTD_MSIL2A.xml``, a zipped SAFE; an EOPF ``.zarr``
  folder or zip; a STAC item ``.json``) stands for itself;
- a glob pattern (``*``, ``?``, ``[``; ``**`` recurses) stands for what it matches, sorted, and must match;
- a folder that is no product stands for the ``*.SAFE``, ``*.zarr`` and ``*.zip`` entries inside it (STAC items
  are named one by one or by a pattern such as ``items/*.json``: a folder's JSON files may be anything);
- any other file is a list: one input per line (``#`` starts a comment), relative to the list's folder.

A path that does not exist stays in the batch: it fails there, named in the summary, without stopping
the other products. What a product is, the batch then learns from its metadata (:func:`identify`).
"""

from __future__ import annotations

import glob
import os
import zipfile
from collections.abc import Iterable
from pathlib import Path

from ..errors import ParameterError, S2MaskError
from ..io.location import PRODUCT_METADATA_NAMES
from ..io.zarrstore import ROOT_MARKERS

_GLOB_MAGIC = frozenset("*?[")
#: Names that make a path a product of its own: SAFE folders, zips, EOPF stores, STAC items.
PRODUCT_SUFFIXES = (".SAFE", ".zip", ".zarr", ".json")


def product_name(path: str | Path) -> str:
    """The product's name from its path alone (what its log file is named after): ``X.SAFE``,
    ``X.SAFE/MTD_MSIL1C.xml``, ``X.zip``, ``X.SAFE.zip``, ``X.zarr``, ``X.zarr.zip`` and ``X.json`` all give
    ``X``."""
    path = Path(path)
    if path.name in PRODUCT_METADATA_NAMES:
        path = path.parent
    name = path.name
    for suffix in (".zip", ".SAFE", ".zarr", ".json"):
        name = name.removesuffix(suffix)
    return name


def _is_product(path: Path) -> bool:
    # A damaged product must stay a product (and fail, named), never turn into a list or a folder of them.
    if path.suffix in PRODUCT_SUFFIXES or path.name in PRODUCT_METADATA_NAMES:
        return True
    if path.is_dir():
        return any((path / name).is_file() for name in (*PRODUCT_METADATA_NAMES, *ROOT_MARKERS))
    return zipfile.is_zipfile(path)


def _products_in_folder(folder: Path) -> list[Path]:
    found = sorted(p for p in folder.iterdir() if p.suffix in (".SAFE", ".zarr", ".zip"))
    if not found:
        raise ParameterError("folder is no product and holds no .SAFE folder, .zarr store or .zip file", folder)
    return found


def _read_list(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise ParameterError(f"cannot read the list of products ({err})", path) from err
    entries = (line.split("#", 1)[0].strip() for line in lines)
    return [str(path.parent / entry) for entry in entries if entry]


def _expand(item: str, seen_lists: tuple[Path, ...]) -> Iterable[Path]:
    if not _GLOB_MAGIC & set(item):
        yield from _expand_path(Path(item).expanduser(), seen_lists)
        return
    matches = sorted(glob.glob(str(Path(item).expanduser()), recursive=True))
    if not matches:
        raise ParameterError(f"the pattern {item!r} matches no file or folder")
    for match in matches:
        yield from _expand_path(Path(match), seen_lists)


def _expand_path(path: Path, seen_lists: tuple[Path, ...]) -> Iterable[Path]:
    if not path.exists() or _is_product(path):
        yield path
    elif path.is_dir():
        yield from _products_in_folder(path)
    elif path.resolve() in seen_lists:
        raise ParameterError("the list of products includes itself", path)
    else:
        for entry in _read_list(path):
            yield from _expand(entry, (*seen_lists, path.resolve()))


def expand_inputs(inputs: str | Path | Iterable[str | Path]) -> list[Path]:
    """Every product path the inputs name, in order, each once (see the module docstring); one path may
    be given alone."""
    if isinstance(inputs, str | os.PathLike):
        inputs = [inputs]
    products: dict[Path, Path] = {}
    for item in inputs:
        for path in _expand(str(item), ()):
            products.setdefault(path.resolve(), path)
    return list(products.values())


def identify(paths: Iterable[Path]) -> list[tuple[str, str]]:
    """For each product path: its product ID (what its outputs are named after) and its source (the
    product's root, so that a folder and its MTD file are one source). A product whose metadata cannot
    be read keeps the name of its path: its task fails and says why."""
    from ..io.formats import open_product

    identities = []
    for path in paths:
        try:
            product = open_product(path, check_files=False)
            identities.append((product.product_id, product.location.display_name))
        except S2MaskError:
            identities.append((product_name(path), str(Path(path).resolve())))
    return identities
