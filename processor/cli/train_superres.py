"""``s2mask train-superres``: train one DSen2 network on the real scenes; evaluate its recipe leave-one-
scene-out, or train it on every scene, save and register its weights with those leave-one-out scores."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ParameterError

if TYPE_CHECKING:  # the command imports torch only once it runs (see s2mask.cli)
    import torch

    from ..train.superres import TrainingConfig

NAME = "train-superres"
HELP = ("Train a DSen2 super-resolution network self-supervised (Wald protocol) on the real Sentinel-2 scenes: "
        "with --leave-one-out, score its recipe on each scene by a network trained without it; otherwise train "
        "on every scene, save the weights and register them with those scores.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from .. import weights
    from ..superres.network import SPECS, VARIANTS
    from ..train import superres as training
    from ..train.superres_scenes import FOLDS, SCENES

    parser.add_argument("--network", choices=tuple(SPECS), required=True, help="20m: B5 B6 B7 B8A B11 B12; 60m: B1 B9")
    parser.add_argument("--variant", choices=tuple(VARIANTS), default="light", help="network size. Default: light.")
    parser.add_argument("--steps", type=int, required=True, help="optimiser steps (batches of random patches)")
    defaults = training.TrainingConfig("20m", "light", 1)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--patch", type=int, default=defaults.patch, help="patch side on the reduced-scale grid")
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--gain-jitter", type=float, default=defaults.gain_jitter,
                        help="per-band random gains up to this relative amount (0.25: x0.8 to x1.25). Default: 0.")
    parser.add_argument("--sam-weight", type=float, default=defaults.sam_weight,
                        help="weight of the spectral angle (radians) added to the L1 loss. Default: 0.")
    parser.add_argument("--leave-one-out", type=Path, default=None, metavar="JSON",
                        help="train one network per fold without its scenes, score those scenes and write the "
                             "results to JSON (merged with the other folds already there) and each fold's network "
                             "beside it (JSON's name.FOLD.pt); the shipped weights are not touched")
    parser.add_argument("--folds", type=_names(FOLDS), default=None, metavar="A,B",
                        help=f"with --leave-one-out, only these folds ({', '.join(FOLDS)}). Default: all.")
    parser.add_argument("--rescore", action="store_true",
                        help="with --leave-one-out, score the fold networks saved beside JSON instead of training")
    parser.add_argument("--metrics", type=Path, default=None, metavar="JSON",
                        help="the --leave-one-out results of this recipe, registered as the weights' metrics")
    parser.add_argument("--exclude", type=_names(SCENES), default=(), metavar="A,B",
                        help=f"scenes left out of training ({', '.join(SCENES)})")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads. Default: 2.")
    parser.add_argument("--data", type=Path, default=None, help="the shared data folder. Default: ../shared/data.")
    parser.add_argument("--output", type=Path, default=weights.WEIGHTS_DIR,
                        help="folder for the .pt file; weights are registered only in the package's weights folder")


def _names(known: dict) -> callable:
    def parse(text: str) -> tuple[str, ...]:
        names = tuple(part for part in text.split(",") if part)
        unknown = [name for name in names if name not in known]
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown: {', '.join(unknown)}; choose from {', '.join(known)}")
        return names
    return parse


def _recipe(config: TrainingConfig) -> dict[str, object]:
    return {key: value for key, value in asdict(config).items() if key != "excluded"}


def _write_json(path: Path, content: object) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(content, indent=1) + "\n")
    os.replace(temporary, path)


def _fold_file(results: Path, fold: str) -> Path:
    return results.with_name(f"{results.stem}.{fold}.pt")


def _leave_one_out(config: TrainingConfig, root: Path, args: argparse.Namespace) -> int:
    import torch

    from ..superres.network import build_network
    from ..train import superres as training
    from ..train.superres_scenes import FOLDS, SCENES

    folds = {fold: FOLDS[fold] for fold in (args.folds or FOLDS)}
    previous = json.loads(args.leave_one_out.read_text()) if args.leave_one_out.exists() else None
    if previous is not None and previous["recipe"] != _recipe(config):
        raise ParameterError(f"{args.leave_one_out} holds results of another recipe: {previous['recipe']}")

    def keep(fold: str, model: torch.nn.Module) -> None:
        # Beside the results, so they can be scored again (--rescore) without training.
        torch.save(model.state_dict(), _fold_file(args.leave_one_out, fold))

    def trained(fold: str, fold_config: TrainingConfig) -> torch.nn.Module | None:
        path = _fold_file(args.leave_one_out, fold)
        if not args.rescore:
            return None
        if previous is None or not path.exists():
            raise ParameterError(f"--rescore: no network of fold {fold} of this recipe beside {args.leave_one_out}")
        model = build_network(fold_config.network, fold_config.variant)
        model.load_state_dict(torch.load(path, weights_only=True))
        return model.eval()

    results = training.leave_one_out(config, root, folds, log=lambda line: print(line, flush=True),
                                     trained=trained, keep=keep)
    kept = [r for r in previous["scenes"] if r["fold"] not in folds] if previous is not None else []
    scenes = sorted(kept + results, key=lambda r: list(SCENES).index(r["scene"]))
    _write_json(args.leave_one_out, {"recipe": _recipe(config), "scenes": scenes})
    print(f"wrote {args.leave_one_out}: {len(scenes)} scenes; {training.summary(scenes)}")
    return 0


def _loaded_metrics(path: Path, config: TrainingConfig) -> list[dict[str, object]]:
    from ..train.superres_scenes import SCENES

    content = json.loads(path.read_text())
    if content["recipe"] != _recipe(config):
        raise ParameterError(f"{path} holds the leave-one-out results of another recipe: {content['recipe']}")
    if not content["scenes"]:
        raise ParameterError(f"{path} holds no leave-one-out results")
    missing = set(SCENES) - {r["scene"] for r in content["scenes"]}
    if missing:
        print(f"note: {path} has no leave-one-out results of {', '.join(sorted(missing))}")
    return content["scenes"]


def main(args: argparse.Namespace) -> int:
    import torch

    from .. import weights
    from ..superres.network import weights_name
    from ..train import superres as training
    from ..train.realdata import data_root
    from ..train.superres_scenes import load_scenes, training_scenes

    torch.set_num_threads(args.threads)
    root = args.data or data_root()
    config = training.TrainingConfig(args.network, args.variant, args.steps, args.batch_size, args.patch,
                                     args.learning_rate, args.seed, args.gain_jitter, args.sam_weight, args.exclude)
    if args.leave_one_out is not None:
        return _leave_one_out(config, root, args)
    per_scene = _loaded_metrics(args.metrics, config) if args.metrics is not None else []
    start = time.perf_counter()
    model = training.train(config, load_scenes(root, training_scenes(args.exclude)),
                           log=lambda line: print(line, flush=True))
    seconds = time.perf_counter() - start
    name = weights_name(args.network, args.variant)
    args.output.mkdir(parents=True, exist_ok=True)
    path = args.output / f"{name}.pt"
    temporary = path.with_name(path.name + ".tmp")
    torch.save({key: value.contiguous() for key, value in model.state_dict().items()}, temporary)
    os.replace(temporary, path)
    print(f"saved {path}")
    if args.output.resolve() == weights.WEIGHTS_DIR.resolve() and per_scene and not args.exclude:
        command = "s2mask " + shlex.join(sys.argv[1:]) if sys.argv[1:] else f"s2mask {NAME}"
        weights.register(training.registry_entry(model, config, per_scene, command, seconds, path.name))
        print(f"registered {name}: leave-one-out {training.summary(per_scene)}")
    return 0
