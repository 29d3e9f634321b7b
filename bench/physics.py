"""Benchmark: the physics classifier on synthetic truth and real references, and its speed on a full tile.

Prints markdown (the figures of bench/physics.md):
1. synthetic cloudy scenes, several seeds and sun geometries, L1C and L2A at 20 m: per-class IoU, F1,
   balanced accuracy and normalised MCC against the exact truth;
2. real data: Betsiboka against s2cloudless (cloud vs clear), 29RKH against Sen2Cor's SCL, the ALCD
   crops against ESA's MSK_CLASSI, and the Hollstein/SICOR teacher against the rules on every real
   scene with all 13 bands; missing-band runs;
3. a full 10980 x 10980 synthetic tile: generation time and memory, the spectral pass at 20 m, the
   shadow pass on 5490 x 5490 (wall and CPU seconds, best of three) and its IoUs.

    .venv/bin/python bench/physics.py [--seeds 5] [--size 1200] [--no-full-tile]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from s2mask.bands import REDUCED_BANDS
from s2mask.classes import MaskClass, from_scl
from s2mask.physics import classify, shadow_pass, spectral_pass
from s2mask.sim.clouds import THIN_OPACITY, cloudy_scene
from s2mask.train import hollstein, metrics, realdata

from common import run_measured

C = MaskClass
CLOUDY = {C.CLOUD: 1, C.THIN_CLOUD: 1}
SHORT = ["no data", "land", "water", "snow", "cloud", "thin", "shadow"]


def _row(values) -> str:
    return "| " + " | ".join(values) + " |"


def _scores_row(name: str, cm: np.ndarray) -> str:
    ious = metrics.iou(cm)[1:]
    return _row([name, *(f"{v:.3f}" if np.isfinite(v) else "-" for v in ious),
                 f"{metrics.balanced_accuracy(cm[1:, 1:]):.3f}", f"{metrics.normalized_mcc(cm[1:, 1:]):.3f}"])


def _binary(reference: np.ndarray, predicted: np.ndarray, valid: np.ndarray) -> str:
    """Agreement, cloud IoU and F1, balanced accuracy and normalised MCC of two cloud/clear maps."""
    cm = metrics.confusion_matrix(reference, predicted, 2, valid)
    return (f"agreement {metrics.overall_accuracy(cm):.3f}, cloud IoU {metrics.iou(cm)[1]:.3f}, "
            f"cloud F1 {metrics.f1(cm)[1]:.3f}, balanced accuracy {metrics.balanced_accuracy(cm):.3f}, "
            f"normalised MCC {metrics.normalized_mcc(cm):.3f}")


def synthetic(seeds: int, size: int) -> None:
    print(f"## Synthetic cloudy scenes ({seeds} seeds, {size} x {size} at 10 m, classified at 20 m)\n")
    header = _row(["level / seed", *SHORT[1:], "balanced acc.", "norm. MCC"])
    for level in ("L1C", "L2A"):
        print(f"### {level}\n\n{header}\n" + "|---" * 9 + "|")
        total, thin_split, seconds = np.zeros((7, 7), np.int64), np.zeros(4, np.int64), 0.0
        for seed in range(seeds):
            scene = cloudy_scene(size, size, seed, sun_zenith=30.0 + 6 * seed, sun_azimuth=120.0 + 25 * seed)
            bands = scene.bands_at(20, level)
            started = time.process_time()
            result = classify(bands, level, sun_zenith=scene.sun_zenith, sun_azimuth=scene.sun_azimuth,
                              view_zenith=scene.view_zenith, view_azimuth=scene.view_azimuth, resolution=20.0)
            seconds += time.process_time() - started
            truth = metrics.majority(scene.truth, 2)
            cm = metrics.confusion_matrix(truth, result.classes)
            total += cm
            print(_scores_row(f"{level} seed {seed} (sun {scene.sun_zenith:.0f}/{scene.sun_azimuth:.0f})", cm))
            cirrus_only = (truth == C.THIN_CLOUD) & (scene.cloud_opacity[::2, ::2] < THIN_OPACITY)
            found = result.classes == C.THIN_CLOUD
            thin_split += [(cirrus_only & found).sum(), cirrus_only.sum(),
                           (~cirrus_only & (truth == C.THIN_CLOUD) & found).sum(),
                           (~cirrus_only & (truth == C.THIN_CLOUD)).sum()]
        print(_scores_row(f"**{level} all seeds**", total))
        pixels = total.sum()
        print(f"\nCPU time of `classify` (both passes): {seconds / pixels * 1e6:.2f} s per million pixels. "
              f"THIN_CLOUD recall: cirrus-only pixels {thin_split[0] / thin_split[1]:.3f}, semi-transparent "
              f"water cloud {thin_split[2] / thin_split[3]:.3f}.\n")
        print(metrics.agreement_table(total, [f"truth {n}" for n in SHORT], SHORT) + "\n")


def _hollstein_row(scene: realdata.RealScene, ours: np.ndarray, teacher: hollstein.HollsteinTeacher,
                   total: np.ndarray) -> str:
    labels, _ = teacher.predict(scene.bands)
    theirs = hollstein.to_classes(labels)
    valid = (theirs != C.NO_DATA) & (ours != C.NO_DATA)
    cm = metrics.confusion_matrix(theirs, ours, valid=valid)
    total += cm
    cloudy = metrics.overall_accuracy(metrics.confusion_matrix(
        metrics.regroup(theirs, CLOUDY), metrics.regroup(ours, CLOUDY), 2, valid))
    fractions = np.bincount(theirs[valid], minlength=7) / max(valid.sum(), 1)
    return _row([scene.name, f"{valid.sum()}", f"{metrics.overall_accuracy(cm):.3f}", f"{cloudy:.3f}",
                 f"{metrics.normalized_mcc(cm):.3f}",
                 " ".join(f"{SHORT[k]} {100 * fractions[k]:.0f}" for k in range(1, 7) if fractions[k] >= 0.005)])


def _classify_real(scene: realdata.RealScene) -> np.ndarray:
    shadows = scene.sun_zenith is not None
    return classify(scene.bands, scene.level, sun_zenith=scene.sun_zenith or 0.0,
                    sun_azimuth=scene.sun_azimuth or 0.0, view_zenith=scene.view_zenith,
                    view_azimuth=scene.view_azimuth, resolution=scene.resolution, shadows=shadows).classes


def real() -> None:
    print("## Real data\n")
    betsiboka = realdata.betsiboka()
    ours = spectral_pass(betsiboka.bands, "L1C").classes
    reference = betsiboka.references["s2cloudless_mask"].astype(np.uint8)
    valid = ours != C.NO_DATA
    print("### Betsiboka (L1C, 856 x 512, ~70 m) against the s2cloudless mask (cloud vs clear)\n")
    print(f"- CLOUD or THIN_CLOUD: {_binary(reference, metrics.regroup(ours, CLOUDY), valid)}")
    print(f"- CLOUD only: {_binary(reference, (ours == C.CLOUD).astype(np.uint8), valid)}")
    labels, _ = hollstein.teacher().predict(betsiboka.bands)
    teacher_cloudy = np.isin(labels, (40, 50)).astype(np.uint8)
    print(f"- Hollstein Cloud or Cirrus (for scale): {_binary(reference, teacher_cloudy, valid)}")
    for name, bands in (("6 bands (B2 B3 B4 B8 B11 B12)", REDUCED_BANDS), ("12 bands (no B10)", None)):
        subset = {k: v for k, v in betsiboka.bands.items() if (k in bands if bands else k != "B10")}
        result = spectral_pass(subset, "L1C")
        print(f"- {name}: {_binary(reference, metrics.regroup(result.classes, CLOUDY), valid)}; "
              f"skipped: {'; '.join(result.skipped_tests)}")

    tile = realdata.tile_29rkh()
    ours = _classify_real(tile)
    scl = from_scl(tile.references["scl"])
    valid = (scl != C.NO_DATA) & (ours != C.NO_DATA)
    print("\n### 29RKH (L2A, Sahara, 200 m) against Sen2Cor's SCL (rows SCL, columns ours, % of row)\n")
    cm = metrics.confusion_matrix(scl, ours, valid=valid)
    print(metrics.agreement_table(cm, [f"SCL {n}" for n in SHORT], SHORT))
    print(f"\nOverall agreement {metrics.overall_accuracy(cm):.4f}; cloud vs clear: "
          f"{_binary(metrics.regroup(scl, CLOUDY), metrics.regroup(ours, CLOUDY), valid)}; "
          f"skipped: {'; '.join(spectral_pass(tile.bands, 'L2A').skipped_tests)}\n")

    print("### ALCD crops (L1C PB 05.10, 30 x 30 at 10 m) against ESA's MSK_CLASSI\n")
    print(_row(["crop", "MSK_CLASSI", *SHORT[1:]]) + "\n" + "|---" * 8 + "|")
    scenes = realdata.alcd()
    for scene in scenes:
        ours = _classify_real(scene)
        flags = scene.references["msk_classi"]
        kinds = {"opaque": (flags & 1) > 0, "cirrus": (flags & 3) == 2, "none": (flags & 3) == 0}
        for kind, where in kinds.items():
            if where.any():
                share = np.bincount(ours[where], minlength=7) / where.sum()
                print(_row([scene.name, f"{kind} ({where.sum()} px)", *(f"{100 * v:.1f}" for v in share[1:])]))

    print("\n### Hollstein/SICOR teacher against the rules (every real scene with all 13 bands)\n")
    print(_row(["scene", "pixels", "agreement (6 classes)", "cloudy vs not", "norm. MCC", "teacher's classes (%)"]))
    print("|---" * 6 + "|")
    total = np.zeros((7, 7), np.int64)
    teacher = hollstein.teacher()
    everything = [betsiboka, *realdata.slovenia(), *scenes, realdata.tile_19udp(), *realdata.ukis()]
    for scene in everything:
        print(_hollstein_row(scene, _classify_real(scene), teacher, total))
    print(f"\nAll scenes (rows teacher, columns rules, % of row; agreement {metrics.overall_accuracy(total):.3f}):\n")
    print(metrics.agreement_table(total, [f"teacher {n}" for n in SHORT], SHORT) + "\n")
    grouped = metrics.regroup(np.arange(7), {**CLOUDY, C.CLEAR_LAND: 2, C.WATER: 3, C.SNOW_ICE: 4, C.CLOUD_SHADOW: 5})
    confirmed = np.zeros((6, 6), np.int64)
    np.add.at(confirmed, (grouped[:, None].repeat(7, 1), grouped[None, :].repeat(7, 0)), total)
    names = ("cloud or thin", "clear land", "water", "snow", "shadow")
    share = metrics.precision(confirmed)
    print("Share of the rules' labels that the teacher confirms (cloud and thin cloud together): "
          + ", ".join(f"{n} {100 * share[k + 1]:.1f} %" for k, n in enumerate(names) if np.isfinite(share[k + 1]))
          + ".\n")

    print("### Inputs with missing bands\n")
    for scene in (*realdata.dsen2_crops(), realdata.spyndex()):
        result = spectral_pass(scene.bands, scene.level)
        share = np.bincount(result.classes.ravel(), minlength=7) / result.classes.size
        print(f"- {scene.name} ({len(scene.bands)} bands, {scene.level}): "
              + ", ".join(f"{SHORT[k]} {100 * share[k]:.1f} %" for k in range(7) if share[k] > 0)
              + f"; skipped: {'; '.join(result.skipped_tests)}")
    print()


GENERATE = """
import json, time
from s2mask.sim.clouds import cloudy_scene
started = time.perf_counter()
cloudy_scene(10980, 10980, 3, sun_zenith=45.0, sun_azimuth=160.0, cloud_cover=0.3)
print(json.dumps({"seconds": time.perf_counter() - started}))
"""


def full_tile() -> None:
    print("## Full tile (10980 x 10980 at 10 m; classified at 20 m)\n")
    generated, peak = run_measured(GENERATE)
    print(f"- `cloudy_scene` alone, in a fresh process: {generated['seconds']:.1f} s, peak RSS {peak / 1024:.2f} GB")
    scene = cloudy_scene(10980, 10980, 3, sun_zenith=45.0, sun_azimuth=160.0, cloud_cover=0.3)
    bands = scene.bands_at(20, "L1C", ("B2", "B3", "B4", "B8", "B8A", "B10", "B11", "B12"))
    truth = metrics.majority(scene.truth, 2)
    angles = dict(sun_zenith=scene.sun_zenith, sun_azimuth=scene.sun_azimuth, view_zenith=scene.view_zenith,
                  view_azimuth=scene.view_azimuth, resolution=20.0)
    del scene
    started, cpu = time.perf_counter(), time.process_time()
    classes = np.empty(truth.shape, np.uint8)
    potential = np.empty(truth.shape, np.float32)
    for row in range(0, truth.shape[0], 1098):
        block = spectral_pass({k: v[row:row + 1098] for k, v in bands.items()}, "L1C")
        classes[row:row + 1098], potential[row:row + 1098] = block.classes, block.potential_shadow
    print(f"- spectral pass on 5490 x 5490 (8 bands, blocks of 1098 rows): {time.perf_counter() - started:.1f} s wall, "
          f"{time.process_time() - cpu:.1f} s CPU")
    del bands
    runs = []
    for _ in range(3):
        started, cpu = time.perf_counter(), time.process_time()
        result = shadow_pass(classes, potential, **angles)
        runs.append((time.perf_counter() - started, time.process_time() - cpu))
    wall, cpu = min(runs)
    print(f"- shadow pass on 5490 x 5490: {wall:.1f} s wall, {cpu:.1f} s CPU (best of three; goal < 60 s)")
    cm = metrics.confusion_matrix(truth, result)
    print(f"- peak RSS of this benchmark process (scene, 8 bands at 20 m, layers): "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB\n")
    print(_row(["tile", *SHORT[1:], "balanced acc.", "norm. MCC"]) + "\n" + "|---" * 9 + "|")
    print(_scores_row("full tile L1C, seed 3", cm) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--size", type=int, default=1200)
    parser.add_argument("--no-full-tile", action="store_true")
    args = parser.parse_args()
    synthetic(args.seeds, args.size)
    real()
    if not args.no_full_tile:
        full_tile()


if __name__ == "__main__":
    main()
