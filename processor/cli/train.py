"""``s2mask train``: train a mask CNN on physics-supervised labels (synthetic and real scenes)."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from ..bands import ALL_BANDS, BANDS_10M, L2A_BANDS, LEVELS, REDUCED_BANDS, sort_bands
from ..errors import ParameterError

NAME = "train"
HELP = ("Train a mask CNN (CNN1D, CNN2D, CNN3D) on labels of the physics classifier, with a pixel-selection "
        "strategy; validated on held-out scenes.")

BAND_SETS = {"all": None, "reduced": REDUCED_BANDS, "rgbnir": BANDS_10M}
#: Training scenes by --level: one level, or both.
LEVEL_SETS = {**{level: (level,) for level in LEVELS}, "both": LEVELS}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..models.masker import SHADOW_MODES
    from ..models.networks import FAMILIES
    from ..train.selection import STRATEGIES

    parser.add_argument("--model", choices=tuple(FAMILIES), default="cnn2d", help="network family (default cnn2d)")
    parser.add_argument("--level", choices=tuple(LEVEL_SETS), default="L1C",
                        help="processing level of the training scenes; 'both' adds an is_l2a input (default L1C)")
    parser.add_argument("--bands", default="all",
                        help="'all' (13 bands for L1C, 12 for L2A), 'reduced' (B2 B3 B4 B8 B11 B12), "
                             "'rgbnir' (B2 B3 B4 B8) or a comma list")
    parser.add_argument("--strategy", choices=STRATEGIES, default="uniqueness",
                        help="pixel selection (default uniqueness)")
    parser.add_argument("--teacher-agreement", action="store_true",
                        help="uniqueness also needs the Hollstein teacher to agree (L1C scenes with B10)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--steps", type=int, default=150, help="batches per epoch (default 150)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--patch", type=int, default=40, help="output pixels per patch edge (default 40)")
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--network-args", type=json.loads, default={},
                        help='JSON object of architecture arguments, e.g. \'{"width": 24, "context": 12}\'')
    parser.add_argument("--no-class-weights", action="store_true",
                        help="plain cross-entropy (the patch draws still balance the classes)")
    parser.add_argument("--class-balance", type=float, default=0.0,
                        help="patch centres drawn per class in proportion to its pixels to this power: 0 (default) "
                             "uniformly over the classes, 1 as common as each class is")
    parser.add_argument("--label-smoothing", type=float, default=0.0, help="cross-entropy label smoothing (default 0)")
    parser.add_argument("--gain-jitter", type=float, default=0.0,
                        help="std of the log of a random per-band gain applied to each patch (default 0: none)")
    parser.add_argument("--consistency", type=float, default=0.0,
                        help="weight of the term asking the same probabilities on a second, jittered and "
                             "mirrored view of each patch, on every pixel (default 0: none)")
    parser.add_argument("--distill-from", nargs="+", type=Path, default=[], metavar="ENTRY",
                        help="entry files (<name>.json) of trained networks whose mean probabilities become a "
                             "second, soft target on every valid pixel (distillation of an ensemble)")
    parser.add_argument("--distillation", type=float, default=1.0,
                        help="weight of the soft-target term with --distill-from (default 1)")
    parser.add_argument("--synthetic", type=int, default=40, help="synthetic training scenes per level (default 40)")
    parser.add_argument("--validation", type=int, default=6, help="synthetic validation scenes per level (default 6)")
    parser.add_argument("--spectral-variety", type=float, default=0.0,
                        help="spread (log-normal sigma) of random smooth factors that give each synthetic "
                             "training scene its own land spectra (default 0: the fixed library)")
    parser.add_argument("--synthetic-size", type=int, default=480, help="synthetic scene edge in 10 m pixels")
    parser.add_argument("--no-real", action="store_true", help="leave out the real scenes of ../shared/data")
    parser.add_argument("--resolutions", type=_resolutions, default=(20,), metavar="10,20",
                        help="grids (m) of the 10 m scenes, synthetic and real, e.g. 10,20 so that the network "
                             "holds at both pixel sizes (default 20; more adds round 10's real chips)")
    parser.add_argument("--convert-levels", action="store_true",
                        help="also train on the real scenes of the other level, converted through the "
                             "simulator's atmosphere")
    parser.add_argument("--hold-out-references", action="store_true",
                        help="keep the scenes of bench/real.py's independent references (the Hollstein teacher's "
                             "held-out halves, the DEA dates of the multi-temporal reference) out of training")
    parser.add_argument("--no-teacher", action="store_true", help="do not run the Hollstein teacher")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--shadows", choices=SHADOW_MODES, default="network+geometry",
                        help="how the masker finds shadows: the network's own, or also the geometric projection")
    parser.add_argument("--cloud-buffer", type=float, default=0.0, metavar="METRES",
                        help="the entry's cloud buffer: clear pixels this close to the network's cloud become "
                             "THIN_CLOUD (default 0; chosen on hand-labelled chips, bench/real.md)")
    parser.add_argument("--name", help="weights name (default: <model>-<level>-<bands>)")
    parser.add_argument("--output", "-o", type=Path, default=Path("."),
                        help="folder for <name>.pt and its registry entry (default: here)")
    parser.add_argument("--ship", action="store_true",
                        help="write into s2mask/weights and register the weights (maintainers)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def _resolutions(text: str) -> tuple[int, ...]:
    values = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    if not values or any(value not in (10, 20) for value in values):
        raise argparse.ArgumentTypeError("resolutions are 10 and/or 20, e.g. 10,20")
    return values


def band_set(text: str, levels: tuple[str, ...]) -> tuple[str, ...]:
    if text == "all":
        return ALL_BANDS if levels == ("L1C",) else L2A_BANDS
    if text in BAND_SETS:
        return BAND_SETS[text]
    return sort_bands(part.strip() for part in text.split(",") if part.strip())


def main(args: argparse.Namespace) -> int:
    import torch

    from ..inference import set_threads
    from ..models.networks import FAMILIES
    from ..train.scenes import build_scenes
    from ..train.selection import SelectionOptions
    from ..train.trainer import TrainingConfig, save, train
    from .progress import ProgressBar

    if min(args.epochs, args.steps, args.batch_size, args.patch) < 1 or args.cloud_buffer < 0:
        raise ParameterError("epochs, steps, batch size and patch must be positive, the cloud buffer not negative")
    if not 0 <= args.label_smoothing < 1 or min(args.class_balance, args.gain_jitter, args.consistency,
                                                 args.distillation, args.spectral_variety) < 0:
        raise ParameterError("label smoothing must be in [0, 1), class balance, gain jitter, consistency, "
                             "distillation and spectral variety non-negative")
    set_threads(args.threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    levels = LEVEL_SETS[args.level]
    bands = band_set(args.bands, levels)
    aux = ("cos_sun_zenith", "cos_incidence", "elevation", "has_elevation") + (("is_l2a",) if len(levels) > 1 else ())
    name = args.name or f"{args.model}-{args.level.lower()}-{args.bands if args.bands in BAND_SETS else len(bands)}"
    log = (lambda text: None) if args.quiet else (lambda text: print(text, file=sys.stderr, flush=True))
    scenes = build_scenes(levels, bands, args.synthetic, args.validation, args.synthetic_size,
                          real=not args.no_real, use_teacher=not args.no_teacher,
                          spectral_variety=args.spectral_variety, resolutions=args.resolutions,
                          convert_levels=args.convert_levels, hold_out_references=args.hold_out_references,
                          log=log)
    config = TrainingConfig(architecture=FAMILIES[args.model], architecture_kwargs=args.network_args,
                            bands=bands, aux=aux,
                            selection=SelectionOptions(args.strategy, teacher_agreement=args.teacher_agreement),
                            epochs=args.epochs, steps_per_epoch=args.steps, batch_size=args.batch_size,
                            patch=args.patch, learning_rate=args.learning_rate,
                            class_weighting=not args.no_class_weights, class_balance=args.class_balance,
                            label_smoothing=args.label_smoothing,
                            gain_jitter=args.gain_jitter, consistency=args.consistency,
                            distill_from=tuple(str(path) for path in args.distill_from),
                            distillation=args.distillation, seed=args.seed)
    bar = None if args.quiet else ProgressBar("training", stream=sys.stderr)
    result = train(config, scenes.training, scenes.validation, log=log, progress=bar.update if bar else None)
    if bar:
        bar.close()
    real = sorted({s.name for s in scenes.training if s.source == "real"})
    grids = " and ".join(f"{r} m" for r in args.resolutions)
    data = (f"{args.synthetic} synthetic scenes per level ({', '.join(levels)}, {args.synthetic_size} px at 10 m, "
            f"on the {grids} grid"
            + (f", land spectra varied by sigma {args.spectral_variety:g}" if args.spectral_variety else "")
            + f"); real: {', '.join(real) or 'none'}"
            + (" (the other level's converted through the simulator's atmosphere)" if args.convert_levels else "")
            + "; labels: s2mask physics")
    path = save(result, name, levels=levels, resolution=min(args.resolutions), shadows=args.shadows,
                command="s2mask train " + shlex.join(sys.argv[2:] if sys.argv[1:2] == ["train"] else sys.argv[1:]),
                data=data, metrics=result.final_metrics(),
                folder=None if args.ship else args.output, cloud_buffer=args.cloud_buffer)
    print(json.dumps({"weights": str(path), "validation": result.history[-1]}, indent=2))
    return 0
