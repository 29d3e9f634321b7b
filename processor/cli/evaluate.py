"""``s2mask evaluate INPUT --reference REF``: score s2mask (and its teacher and peers) against a reference mask."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import S2MaskError

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
    from ..bands import band_from_file_id
    from ..errors import ParameterError

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


def _from_product(path: Path, resolution: int) -> tuple[dict[str, np.ndarray], dict[str, Any], str]:
    from ..io.safe import open_product

    product = open_product(path)
    window = product.grid(resolution).full_window
    bands = {band: product.read(band, resolution, window) for band in product.bands}
    return bands, product.angles(resolution, window), product.level


def main(args: argparse.Namespace) -> int:
    from ..api import classify
    from ..evaluation.compare import compare, confusion_table, match_grid, read_reference, results_table
    from ..evaluation.peers import run_peers

    reference = read_reference(args.reference, args.mapping, args.reference_key)
    predictions: dict[str, np.ndarray] = {}
    suffix = args.input.suffix.lower()
    if suffix in (".tif", ".tiff"):
        from ..io.raster import open_raster

        dataset = open_raster(str(args.input), args.input)  # the band needs its dataset alive
        predictions["input"] = dataset.GetRasterBand(1).ReadAsArray()
    else:
        if suffix == ".npz":
            bands, angles = _from_npz(args.input)
            level = args.level
        else:
            bands, angles, level = _from_product(args.input, args.resolution)
        common = {"level": level, "resolution": args.resolution, "threads": args.threads, **angles}
        predictions[f"s2mask {args.model}"] = classify(bands, model=args.model, **common)
        if args.model != "physics":
            predictions["s2mask physics"] = classify(bands, model="physics", **common)
        if not args.no_peers:
            predictions.update(run_peers(bands, level, args.threads))
    results = {name: compare(match_grid(reference, classes.shape), classes, args.grouping)
               for name, classes in predictions.items()}
    print(f"{args.input.name} against {args.reference.name} ({args.mapping}, grouping {args.grouping}, "
          f"{next(iter(results.values()))['pixels']} pixels)")
    print(results_table(results))
    first = next(iter(results))
    print(f"\nconfusion matrix of {first} (rows: reference)")
    print(confusion_table(results[first]))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        print(f"results written to {args.json}", file=sys.stderr)
    return 0
