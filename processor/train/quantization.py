"""Calibrate the shipped CNN2D networks for int8 inference (:mod:`s2mask.models.quantized`).

    python -m s2mask.train.quantization [NAME ...]     # default: every CNN2D mask network of the registry

Each network runs in float32 over synthetic cloudy scenes of its level (the generator of its training
data, seeds no training, validation or benchmark uses) and the largest value of every quantised
activation is written to ``processor/weights/int8.json`` with the weights' sha256. Run it again whenever
the weights of a network change: until then that network runs in float32 where int8 would be chosen.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

import numpy as np

from .. import weights
from ..models import load_network
from ..models.features import FeatureSpec, feature_stack
from ..models.quantized import CALIBRATION_FILE, calibrate
from .scenes import synthetic_scene

#: Calibration scenes: seeds past the benchmark's test scenes (200,000 on), 960 x 960 px at 10 m.
FIRST_SEED, SCENES, SIZE = 300_000, 8, 960
RESOLUTION = 20


def calibration_stacks(item: dict, level: str) -> list[np.ndarray]:
    """The feature stacks of the calibration scenes of ``level`` for the network of ``item``."""
    spec = FeatureSpec.from_registry(item)
    stacks = []
    for seed in range(FIRST_SEED, FIRST_SEED + SCENES):
        scene = synthetic_scene(seed, level, SIZE, use_teacher=False)
        stacks.append(feature_stack(scene.bands, spec, level=level, resolution=RESOLUTION,
                                    sun_zenith=np.full(scene.shape, scene.sun_zenith, np.float32),
                                    elevation=scene.elevation))
    return stacks


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="registry names (default: every CNN2D mask network)")
    args = parser.parse_args(argv)
    items = [item for item in weights.entries("mask") if item["architecture"] == "CNN2D"
             and (not args.names or item["name"] in args.names)]
    stored = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8")) if CALIBRATION_FILE.exists() else {}
    for item in items:
        network = load_network(item["name"], device="cpu", precision="float32")
        stacks = [stack for level in item["levels"] for stack in calibration_stacks(item, level)]
        stored[item["name"]] = {
            "sha256": item["sha256"], "maxima": calibrate(network, stacks),
            "scenes": f"{len(stacks)} synthetic cloudy scenes ({', '.join(item['levels'])}; seeds {FIRST_SEED}-"
                      f"{FIRST_SEED + SCENES - 1}, {SIZE} px at 10 m on the {RESOLUTION} m grid)"}
        print(f"{item['name']}: {stored[item['name']]['maxima']}", flush=True)
    known = {item["name"] for item in weights.entries("mask")}
    stored = {name: value for name, value in sorted(stored.items()) if name in known}
    CALIBRATION_FILE.write_text(json.dumps(stored, indent=2, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
