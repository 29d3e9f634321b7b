"""Self-supervised DSen2 training on real Sentinel-2 scenes (Wald protocol) and its evaluation.

The network learns to restore each real band from versions of all bands degraded by its factor (see
:mod:`s2mask.superres.wald`): the real bands are the targets, so no high-resolution ground truth is
needed. Training draws random patches from every scene of :mod:`.superres_scenes` that is not held out,
with eight flips/rotations and per-band gain jitter; :func:`leave_one_out` trains one network per fold
and scores each scene with the network that never saw it. Deterministic for a given seed and thread
count.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import S2MaskError
from ..superres.inference import network_stack, run_network
from ..superres.network import INPUT_SCALE, DSen2, architecture_kwargs, build_network, spec_for, weights_name
from ..superres.wald import interpolate_targets, reduced_scale, rmse, sam, sre
from .superres_scenes import FOLDS, SCENES, Scene, load_scenes, training_scenes

#: The classical answers every network is compared with.
INTERPOLATIONS = ("nearest", "bilinear", "bicubic")


@dataclass(frozen=True)
class TrainingConfig:
    network: str
    variant: str
    #: Optimiser steps (batches); the same for every fold of a leave-one-out run.
    steps: int
    batch_size: int = 16
    #: Patch side on the reduced-scale grid (the network's own 10 m role); smaller scenes are zero-padded
    #: and their padding is left out of the loss.
    patch: int = 48
    learning_rate: float = 3e-3
    seed: int = 0
    #: Per-band random gains between 1 / (1 + gain_jitter) and 1 + gain_jitter (0: none).
    gain_jitter: float = 0.0
    #: Weight of the mean spectral angle (radians) added to the L1 loss (0: L1 only).
    sam_weight: float = 0.0
    #: Scenes of :data:`SCENES` left out of training.
    excluded: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Pair:
    stack: torch.Tensor
    target: torch.Tensor
    share: float


def _pairs(scenes: list[Scene], network: str) -> list[_Pair]:
    """Reduced-scale (input stack, scaled target) of each scene part, with its share of the patches.

    A scene's share grows with the square root of its area (large scenes give more, without drowning the
    small ones from other climates) times its source's quality; its parts split it by area.
    """
    prepared = []
    for scene in scenes:
        degraded, target = reduced_scale(network, scene.bands10, scene.bands20, scene.bands60)
        if any(np.isnan(a).any() for a in (*[d for d in degraded if d is not None], target)):
            raise S2MaskError(f"training scene {scene.name} has no-data pixels; use complete scenes")
        prepared.append((scene.name, network_stack(network, *degraded, device="cpu"),
                         torch.from_numpy(target * np.float32(INPUT_SCALE))))
    areas: dict[str, float] = {}
    for name, _, target in prepared:
        areas[name] = areas.get(name, 0.0) + target.shape[1] * target.shape[2]
    pairs = []
    for name, stack, target in prepared:
        quality = SCENES[name].quality if name in SCENES else 1.0
        share = math.sqrt(areas[name]) * quality * target.shape[1] * target.shape[2] / areas[name]
        pairs.append(_Pair(stack, target, share))
    return pairs


def _dihedral(x: torch.Tensor, k: int) -> torch.Tensor:
    """One of the eight flips/rotations of the last two axes (k in 0..7)."""
    x = torch.rot90(x, k % 4, dims=(-2, -1))
    return torch.flip(x, dims=(-1,)) if k >= 4 else x


def _batch(pairs: list[_Pair], config: TrainingConfig, rng: np.random.Generator
           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(inputs, targets, mask of the pixels that count) of one batch of random patches."""
    shares = np.array([pair.share for pair in pairs])
    size, channels, outputs = config.patch, pairs[0].stack.shape[0], pairs[0].target.shape[0]
    inputs = torch.zeros(config.batch_size, channels, size, size)
    targets = torch.zeros(config.batch_size, outputs, size, size)
    mask = torch.zeros(config.batch_size, 1, size, size)
    for i in range(config.batch_size):
        pair = pairs[rng.choice(len(pairs), p=shares / shares.sum())]
        height, width = min(size, pair.stack.shape[1]), min(size, pair.stack.shape[2])
        row = rng.integers(0, pair.stack.shape[1] - height + 1)
        col = rng.integers(0, pair.stack.shape[2] - width + 1)
        k = int(rng.integers(0, 8))
        window = (slice(None), slice(row, row + height), slice(col, col + width))
        # One random gain per band, applied to a band wherever it appears (input and target): scenes differ
        # by band-wise illumination and atmosphere, so the network must transfer detail, not levels.
        gains = torch.ones(channels, 1, 1)
        if config.gain_jitter:
            spread = rng.uniform(-1, 1, channels) * math.log1p(config.gain_jitter)
            gains = torch.from_numpy(np.exp(spread)).float()[:, None, None]
        inputs[i, :, :height, :width] = pair.stack[window] * gains
        targets[i, :, :height, :width] = pair.target[window] * gains[-outputs:]
        mask[i, :, :height, :width] = 1.0
        inputs[i], targets[i], mask[i] = _dihedral(inputs[i], k), _dihedral(targets[i], k), _dihedral(mask[i], k)
    return (inputs.contiguous(memory_format=torch.channels_last),
            targets.contiguous(memory_format=torch.channels_last), mask)


def spectral_angle(estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-pixel angle (radians) between (N, band, H, W) spectra; clamped so its gradient stays finite."""
    dot = (estimate * target).sum(1)
    norms = estimate.norm(dim=1) * target.norm(dim=1)
    return torch.acos(torch.clamp(dot / norms.clamp_min(1e-6), -1 + 1e-6, 1 - 1e-6))


def loss_function(estimate: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                  sam_weight: float) -> torch.Tensor:
    """Masked L1 (scaled reflectance), plus ``sam_weight`` x the masked mean spectral angle."""
    counted = mask.sum()
    loss = ((estimate - target).abs() * mask).sum() / (counted * estimate.shape[1])
    if sam_weight:
        loss = loss + sam_weight * (spectral_angle(estimate, target) * mask[:, 0]).sum() / counted
    return loss


def train(config: TrainingConfig, scenes: list[Scene], log: Callable[[str], None] = print) -> DSen2:
    """Train one network from scratch on ``scenes`` and return it (eval mode, CPU)."""
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model = build_network(config.network, config.variant).to(memory_format=torch.channels_last)
    pairs = _pairs(scenes, config.network)
    optimiser = torch.optim.NAdam(model.parameters(), lr=config.learning_rate)
    # Linear warm-up: Adam's first updates move every weight by about the full learning rate, which
    # from the zero-initialised last layer throws the output far off the bilinear baseline.
    total, warmup = config.steps, max(1, config.steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min(1.0, (step + 1) / warmup) * (0.1 + 0.45 * (1 + math.cos(math.pi * step / total))))
    scenes_used = f"without {', '.join(config.excluded)}" if config.excluded else "on every scene"
    log(f"training dsen2 {config.network} {config.variant} {scenes_used}: "
        f"{total} steps, {sum(p.numel() for p in model.parameters())} parameters")
    model.train()
    start, running, every = time.perf_counter(), 0.0, max(1, total // 10)
    for step in range(total):
        inputs, targets, mask = _batch(pairs, config, rng)
        loss = loss_function(model(inputs), targets, mask, config.sam_weight)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        running += loss.item()
        if (step + 1) % every == 0:
            log(f"step {step + 1}/{total}  loss {running / every:.5f}  {time.perf_counter() - start:.0f} s")
            running = 0.0
    return model.eval()


def _pooled(arrays: list[np.ndarray]) -> np.ndarray:
    """(band, 1, pixels): the parts of a scene side by side, so metrics pool their pixels."""
    return np.concatenate([a.reshape(a.shape[0], 1, -1) for a in arrays], axis=2)


def _scores(estimate: np.ndarray, truth: np.ndarray) -> dict[str, object]:
    return {"rmse": [round(float(v), 2) for v in rmse(estimate, truth) * 1e4],
            "sre_db": [round(float(v), 2) for v in sre(estimate, truth)], "sam_deg": round(sam(estimate, truth), 3)}


def evaluate(model: DSen2, network: str, parts: list[Scene]) -> dict[str, object]:
    """Reduced-scale scores of ``model`` and of the interpolations on one scene (its parts pooled):
    per band RMSE (reflectance x 1e4) and SRE (dB), SAM (degrees) over the network's bands."""
    estimates: dict[str, list[np.ndarray]] = {method: [] for method in (*INTERPOLATIONS, "dsen2")}
    truths = []
    device = next(model.parameters()).device
    for part in parts:
        degraded, truth = reduced_scale(network, part.bands10, part.bands20, part.bands60)
        with torch.inference_mode():
            ours = run_network(network, model, *degraded, device=device).cpu().numpy()
        estimates["dsen2"].append(ours / np.float32(INPUT_SCALE))
        for method in INTERPOLATIONS:
            estimates[method].append(interpolate_targets(network, degraded, method))
        truths.append(truth)
    truth = _pooled(truths)
    methods = {method: _scores(_pooled(arrays), truth) for method, arrays in estimates.items()}
    ratio = np.mean(methods["dsen2"]["rmse"]) / np.mean(methods["bicubic"]["rmse"])
    return {"scene": parts[0].name, "pixels": int(truth.shape[2]), "bands": list(spec_for(network).outputs),
            "ratio_to_bicubic": round(float(ratio), 4), "methods": methods}


def summary(per_scene: list[dict[str, object]]) -> dict[str, float]:
    """Means over scenes: the ratio of DSen2's mean RMSE to bicubic's, and both SAMs."""
    def mean(values: list[float]) -> float:
        return float(np.mean(values))
    return {"scenes": len(per_scene),
            "ratio_to_bicubic": round(mean([s["ratio_to_bicubic"] for s in per_scene]), 4),
            "rmse": round(mean([np.mean(s["methods"]["dsen2"]["rmse"]) for s in per_scene]), 2),
            "rmse_bicubic": round(mean([np.mean(s["methods"]["bicubic"]["rmse"]) for s in per_scene]), 2),
            "sre_db": round(mean([np.mean(s["methods"]["dsen2"]["sre_db"]) for s in per_scene]), 2),
            "sam_deg": round(mean([s["methods"]["dsen2"]["sam_deg"] for s in per_scene]), 3),
            "sam_bicubic_deg": round(mean([s["methods"]["bicubic"]["sam_deg"] for s in per_scene]), 3)}


def leave_one_out(config: TrainingConfig, root: Path, folds: dict[str, tuple[str, ...]] | None = None,
                  log: Callable[[str], None] = print,
                  trained: Callable[[str, TrainingConfig], DSen2 | None] | None = None,
                  keep: Callable[[str, DSen2], None] | None = None) -> list[dict[str, object]]:
    """Train one network per fold of ``folds`` (default :data:`FOLDS`) without the fold's scenes and score
    each of those scenes with it. ``trained(fold, config)`` may return the fold's network trained before
    (it is then not trained again); ``keep(fold, model)`` may store it."""
    results = []
    for fold, held_out in (folds or FOLDS).items():
        fold_config = TrainingConfig(**{**asdict(config), "excluded": held_out})
        model = trained(fold, fold_config) if trained is not None else None
        if model is None:
            model = train(fold_config, load_scenes(root, training_scenes(held_out)), log)
            if keep is not None:
                keep(fold, model)
        for name in held_out:
            result = {"fold": fold, **evaluate(model, config.network, load_scenes(root, (name,)))}
            sams = result["methods"]["dsen2"]["sam_deg"], result["methods"]["bicubic"]["sam_deg"]
            log(f"  {name}: {result['ratio_to_bicubic']:.3f} x bicubic, SAM {sams[0]:.3f} (bicubic {sams[1]:.3f})")
            results.append(result)
    return results


def registry_entry(model: DSen2, config: TrainingConfig, per_scene: list[dict[str, object]], command: str,
                   seconds: float, file: str) -> dict[str, object]:
    """The weights-registry entry of a trained network (``s2mask.weights.register`` adds the sha256)."""
    spec = spec_for(config.network)
    return {
        "name": weights_name(config.network, config.variant), "kind": "superres", "file": file,
        "architecture": "DSen2", "architecture_kwargs": architecture_kwargs(model), "variant": config.variant,
        "bands": list(spec.inputs), "outputs": list(spec.outputs), "resolution": 10,
        "normalisation": f"reflectance x {INPUT_SCALE:g} (DN / 2000); lower-resolution bands bilinear-upsampled",
        "spectral_blend": spec.spectral_blend,
        "training": {**asdict(config), "command": command, "data": list(training_scenes(config.excluded)),
                     "degradation": "Gaussian PSF sigma 1/factor px, then factor x factor area mean (Wald protocol)",
                     "loss": "L1" + (f" + {config.sam_weight:g} x SAM (radians)" if config.sam_weight else ""),
                     "optimiser": "NAdam, 5 % linear warm-up, cosine decay to 0.1 x lr",
                     "augmentation": "8 flips/rotations, per-band gains (gain_jitter)",
                     "wall_seconds": round(seconds), "threads": torch.get_num_threads()},
        "evaluation": "leave-one-scene-out: each scene scored at reduced scale by a network of this recipe "
                      "trained without it (folds: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in FOLDS.items()) + ")",
        "metrics": summary(per_scene) if per_scene else {}, "metrics_detail": per_scene,
    }
