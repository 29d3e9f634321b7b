"""DSen2 leave-one-scene-out: each real scene scored at reduced scale by a network that never saw it.

    .venv/bin/python bench/superres_loso.py [RESULTS.json ...]

Prints Markdown tables from the results that ``s2mask train-superres --leave-one-out RESULTS.json``
writes (default: the committed ``bench/superres_loso/*.json``, one per shipped network): per scene and
method (nearest, bilinear, bicubic interpolation of the degraded bands, DSen2) the RMSE of each band
(reflectance x 1e4), its mean and its ratio to bicubic's, SRE per band (dB) and SAM (degrees), then the
mean over scenes. The training recipe of each file is printed beside its table; the shipped weights of
the same name were trained with that recipe on every scene.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "superres_loso"
METHODS = ("nearest", "bilinear", "bicubic", "dsen2")


def _row(label: str, scores: dict[str, object], bicubic_rmse: float) -> str:
    rmse, sre = np.asarray(scores["rmse"]), np.asarray(scores["sre_db"])
    return (f"| {label} | " + " | ".join(f"{v:.1f}" for v in rmse) + f" | {rmse.mean():.1f} | "
            f"{rmse.mean() / bicubic_rmse:.3f} | " + " | ".join(f"{v:.2f}" for v in sre)
            + f" | {scores['sam_deg']:.3f} |")


def _mean_scores(scenes: list[dict[str, object]], method: str) -> dict[str, object]:
    return {key: np.mean([s["methods"][method][key] for s in scenes], axis=0).tolist()
            for key in ("rmse", "sre_db", "sam_deg")}


def table(path: Path) -> None:
    content = json.loads(path.read_text())
    recipe, scenes = content["recipe"], content["scenes"]
    bands = scenes[0]["bands"]
    print(f"\n### {recipe['network']} network, {recipe['variant']}: {' '.join(bands)} ({path.name})\n")
    print("Recipe: " + ", ".join(f"{k} {v}" for k, v in recipe.items() if k not in ("network", "variant")) + "\n")
    print("| scene (fold) | method | " + " | ".join(f"RMSE {b}" for b in bands) + " | mean RMSE | / bicubic | "
          + " | ".join(f"SRE {b}" for b in bands) + " | SAM deg |")
    print("|---" * (2 * len(bands) + 5) + "|")
    for scene in scenes:
        bicubic = float(np.mean(scene["methods"]["bicubic"]["rmse"]))
        for method in METHODS:
            label = f"{scene['scene']} ({scene['fold']}, {scene['pixels']} px)" if method == "nearest" else ""
            print(_row(f"{label} | {method}", scene["methods"][method], bicubic))
    means = {method: _mean_scores(scenes, method) for method in METHODS}
    bicubic = float(np.mean(means["bicubic"]["rmse"]))
    for method in METHODS:
        print(_row(f"**mean of {len(scenes)} scenes** | {method}" if method == "nearest" else f" | {method}",
                   means[method], bicubic))
    ratios = [s["ratio_to_bicubic"] for s in scenes]
    sam_wins = sum(s["methods"]["dsen2"]["sam_deg"] <= s["methods"]["bicubic"]["sam_deg"] for s in scenes)
    print(f"\nMean over scenes of each scene's ratio (DSen2 mean RMSE / bicubic mean RMSE): **{np.mean(ratios):.3f}** "
          f"(range {min(ratios):.3f}-{max(ratios):.3f}); SAM {means['dsen2']['sam_deg']:.3f} deg against bicubic "
          f"{means['bicubic']['sam_deg']:.3f}, no worse than bicubic on {sam_wins} of {len(scenes)} scenes.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="*", type=Path, help="leave-one-out JSON files. Default: bench/superres_loso/")
    args = parser.parse_args()
    for path in args.results or sorted(RESULTS.glob("*.json")):
        table(path)


if __name__ == "__main__":
    main()
