"""``s2mask train-superres``: train one DSen2 network on the real crops, save and register its weights."""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

NAME = "train-superres"
HELP = ("Train a DSen2 super-resolution network self-supervised (Wald protocol) on the real Sentinel-2 crops, "
        "evaluate it on the held-out crop, save its weights and register them.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from .. import weights
    from ..superres.network import SPECS, VARIANTS
    from ..train import superres as training

    parser.add_argument("--network", choices=tuple(SPECS), required=True, help="20m: B5 B6 B7 B8A B11 B12; 60m: B1 B9")
    parser.add_argument("--variant", choices=tuple(VARIANTS), default="light", help="network size. Default: light.")
    parser.add_argument("--epochs", type=int, required=True,
                        help="passes over the training area (one epoch = the scenes' area in random patches)")
    defaults = training.TrainingConfig("20m", "light", 1)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--patch", type=int, default=defaults.patch, help="patch side on the reduced-scale grid")
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--scene-shares", type=_shares, default=None, metavar="A,B",
                        help="share of patches from each training scene (T33UUB, 29RKH). Default: by area.")
    parser.add_argument("--gain-jitter", type=float, default=defaults.gain_jitter,
                        help="per-band random gains up to this relative amount (0.25: x0.8 to x1.25). Default: 0.")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads. Default: 2.")
    parser.add_argument("--data", type=Path, default=None, help="the shared data folder. Default: ../shared/data.")
    parser.add_argument("--output", type=Path, default=weights.WEIGHTS_DIR,
                        help="folder for the .pt file; weights are registered only in the package's weights folder")


def _shares(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def main(args: argparse.Namespace) -> int:
    import torch

    from .. import weights
    from ..superres.network import weights_name
    from ..train import superres as training
    from ..train.realdata import data_root

    torch.set_num_threads(args.threads)
    root = args.data or data_root()
    config = training.TrainingConfig(args.network, args.variant, args.epochs, args.batch_size, args.patch,
                                     args.learning_rate, args.seed, args.scene_shares, args.gain_jitter)
    start = time.perf_counter()
    model = training.train(config, [training.load_scene(root / path) for path in training.TRAINING_SCENES],
                  log=lambda line: print(line, flush=True))
    seconds = time.perf_counter() - start
    name = weights_name(args.network, args.variant)
    args.output.mkdir(parents=True, exist_ok=True)
    path = args.output / f"{name}.pt"
    torch.save({key: value.contiguous() for key, value in model.state_dict().items()}, path)
    evaluation = training.evaluate(model, args.network, training.load_scene(root / training.HELD_OUT_SCENE))
    print(f"held-out {training.HELD_OUT_SCENE}: {evaluation[0]}")
    print(f"per band: {evaluation[1]['bands']}")
    if args.output.resolve() == weights.WEIGHTS_DIR.resolve():
        command = "s2mask " + shlex.join(sys.argv[1:]) if sys.argv[1:] else f"s2mask {NAME}"
        weights.register(training.registry_entry(model, config, evaluation, command, seconds, path.name))
        print(f"registered {name} ({path})")
    return 0
