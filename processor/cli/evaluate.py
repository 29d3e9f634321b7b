"""``s2mask evaluate INPUT --reference REF``: score s2mask (and its teacher and peers) against a reference mask."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import OutputError, ParameterError, S2MaskError
from ..io.atomic import output_errors

if TYPE_CHECKING:
    import numpy as np

NAME = "evaluate"
HELP = ("Compare s2mask's classes with a reference mask (GeoTIFF or .npz): balanced accuracy, F1, IoU, "
        "normalised MCC, confusion matrix; the physics classifier and installed peers run on the same input.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..bands import LEVELS, RESOLUTIONS
    from ..choice import model_choices
    from ..evaluation.compare import GROUPINGS, MAPPINGS

    parser.add_argument("input", type=Path,
                        help="a SAFE product, an .npz of reflectance bands named B2, B8A, ... on one grid, "
                             "or an s2mask class GeoTIFF (then only it is scored)")
    parser.add_argument("--reference", "-r", type=Path, required=True, help="reference mask: GeoTIFF or .npz")
    parser.add_argument("--reference-key", help="array name inside an .npz reference")
    parser.add_argument("--mapping", default="s2mask",
                        help=f"reference codes to our classes: {', '.join(MAPPINGS)}, or JSON like '{{\"9\": 4}}'")
    parser.add_argument("--grouping", choices=tuple(GROUPINGS), default="classes",
                        help="compare all classes, cloud vs rest, or cloud / shadow / rest (default classes)")
    parser.add_argument("--level", choices=LEVELS, default=LEVELS[0], help="level of an .npz input")
    parser.add_argument("--resolution", type=int, choices=RESOLUTIONS, default=20,
                        help="grid in metres (SAFE: read at; .npz: given)")
    parser.add_argument("--model", default="auto",
                        help=f"s2mask model ({', '.join(model_choices())}, or the name of shipped weights)")
    parser.add_argument("--no-peers", action="store_true", help="do not run s2cloudless / ukis-csmask")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: all)")
    parser.add_argument("--json", type=Path, help="write every result as JSON to this file")


def _from_npz(path: Path) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    import numpy as np

    from ..bands import band_from_file_id

    bands, angles = {}, {}
    with np.load(path, allow_pickle=False) as data:
        for key in data.keys():
            if key in ("sun_zenith", "sun_azimuth", "view_zenith", "view_azimuth"):
                angles[key] = float(data[key])
                continue
            try:
                bands[band_from_file_id(key)] = data[key].astype(np.float32)
            except (ParameterError, ValueError):
                continue
    if not bands:
        raise S2MaskError("no band arrays (B2, B8A, ...) in the file", path)
    return bands, angles


#: A place on the ground: CRS (WKT), extent (x0, y0, x1, y1) and pixel size.
Georeference = tuple[str, tuple[float, float, float, float], float]


def _from_product(path: Path, resolution: int) -> tuple[dict[str, np.ndarray], dict[str, Any], str, Georeference]:
    from ..io.formats import open_product

    product = open_product(path)
    grid = product.grid(resolution)
    window = grid.full_window
    bands = {band: product.read(band, resolution, window) for band in product.bands}
    extent = (grid.x0, grid.y0, grid.x0 + grid.width * grid.resolution, grid.y0 - grid.height * grid.resolution)
    return bands, product.angles(resolution, window), product.level, (grid.crs_wkt, extent, grid.resolution)


def _georeference(path: Path) -> Georeference | None:
    """Where a GeoTIFF lies, or None for an .npz or a raster without georeference."""
    if path.suffix.lower() == ".npz":
        return None
    from ..io.raster import open_raster

    dataset = open_raster(str(path), path)
    transform, wkt = dataset.GetGeoTransform(can_return_null=True), dataset.GetProjection()
    if transform is None or not wkt:
        return None
    x0, dx, _, y0, _, dy = transform
    return wkt, (x0, y0, x0 + dx * dataset.RasterXSize, y0 + dy * dataset.RasterYSize), abs(dx)


def _place(georeference: Georeference) -> str:
    from osgeo import osr

    wkt, (x0, y0, x1, y1), _ = georeference
    reference = osr.SpatialReference(wkt=wkt)
    code = reference.GetAuthorityCode(None)
    return f"x {x0:.0f}..{x1:.0f}, y {y1:.0f}..{y0:.0f} in {f'EPSG:{code}' if code else reference.GetName()}"


def check_aligned(reference: Path, where: Georeference | None, input_path: Path, input_at: Georeference | None) -> None:
    """A reference must lie where the input lies (the grids may differ by a whole factor): one of another
    place or CRS would be scored pixel by pixel against the wrong ground."""
    if where is None or input_at is None:
        return
    from osgeo import osr

    same_crs = osr.SpatialReference(wkt=where[0]).IsSame(osr.SpatialReference(wkt=input_at[0]))
    tolerance = max(where[2], input_at[2]) / 2
    if not same_crs or any(abs(a - b) > tolerance for a, b in zip(where[1], input_at[1])):
        raise ParameterError(f"the reference covers {_place(where)}, the input {input_path.name} {_place(input_at)}: "
                             "not the same area", reference)


def check_codes(codes: np.ndarray, mapping: str, known: Collection[int], reference: Path) -> None:
    """Codes of the reference that ``mapping`` does not know are not scored: say which (a warning), and
    refuse a reference with none it knows."""
    import numpy as np

    from ..classes import SCL_TO_CLASS

    values, counts = np.unique(codes, return_counts=True)
    unknown = {int(value): int(count) for value, count in zip(values, counts) if int(value) not in known}
    if not unknown:
        return
    name = f"the {mapping} mapping" if mapping.isidentifier() else "the mapping given"
    scl = mapping != "scl" and int(values.max()) <= max(SCL_TO_CLASS) and int(values.max()) > max(known, default=0)
    hint = "; it looks like Sen2Cor SCL: use --mapping scl" if scl else ""
    listed = ", ".join(map(str, list(unknown)[:12])) + (", ..." if len(unknown) > 12 else "")
    if len(unknown) == len(values):
        raise ParameterError(f"no pixel of the reference has a code that {name} knows ({', '.join(map(str, known))});"
                             f" it holds {listed}{hint}", reference, parameters=("mapping",))
    share = 100 * sum(unknown.values()) / codes.size
    print(f"s2mask: warning: {reference}: code(s) {listed} ({share:.1f} % of the pixels) are not in {name} and are "
          f"not scored{hint}", file=sys.stderr)


def check_writable(path: Path) -> None:
    """Fail before the work, not after it, when the results cannot be written to ``path``."""
    folder = path.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError("cannot write the results there: its folder does not exist or is not writable", path)


def main(args: argparse.Namespace) -> int:
    from ..api import classify
    from ..classes import MaskClass
    from ..evaluation.compare import compare, confusion_table, mapping_from, match_grid, read_codes, results_table
    from ..evaluation.metrics import regroup
    from ..evaluation.peers import run_peers

    if args.json:
        check_writable(args.json)
    codes = read_codes(args.reference, args.reference_key)
    mapping = mapping_from(args.mapping)
    check_codes(codes, args.mapping, mapping, args.reference)
    reference = regroup(codes, mapping, default=MaskClass.NO_DATA)
    predictions: dict[str, np.ndarray] = {}
    suffix = args.input.suffix.lower()
    if suffix in (".tif", ".tiff"):
        from ..io.raster import open_raster

        dataset = open_raster(str(args.input), args.input)  # the band needs its dataset alive
        predictions["input"] = dataset.GetRasterBand(1).ReadAsArray()
        check_aligned(args.reference, _georeference(args.reference), args.input, _georeference(args.input))
    else:
        if suffix == ".npz":
            bands, angles = _from_npz(args.input)
            level = args.level
        else:
            bands, angles, level, where = _from_product(args.input, args.resolution)
            check_aligned(args.reference, _georeference(args.reference), args.input, where)
        common = {"level": level, "resolution": args.resolution, "threads": args.threads, **angles}
        predictions[f"s2mask {args.model}"] = classify(bands, model=args.model, **common)
        if args.model != "physics":
            predictions["s2mask physics"] = classify(bands, model="physics", **common)
        if not args.no_peers:
            predictions.update(run_peers(bands, level, args.threads))
    results = {name: compare(match_grid(reference, classes.shape), classes, args.grouping)
               for name, classes in predictions.items()}
    pixels = next(iter(results.values()))["pixels"]
    if not pixels:
        raise ParameterError("no pixel is valid in both the reference and the classes: nothing to score",
                             args.reference)
    print(f"{args.input.name} against {args.reference.name} ({args.mapping}, grouping {args.grouping}, "
          f"{pixels} pixels)")
    print(results_table(results))
    first = next(iter(results))
    print(f"\nconfusion matrix of {first} (rows: reference)")
    print(confusion_table(results[first]))
    if args.json:
        with output_errors(args.json):
            args.json.write_text(json.dumps(results, indent=2) + "\n")
        print(f"results written to {args.json}", file=sys.stderr)
    return 0
