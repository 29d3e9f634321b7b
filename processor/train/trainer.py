"""Training loop of the mask networks on physics-supervised labels, and saving shipped weights.

Deterministic for a seed and thread count: seeded scenes, seeded patch draws, seeded initialisation.
Class-weighted cross-entropy (inverse square root of the selected pixels per class, on top of the
class-balanced patch draws) over selected pixels only, optionally with label smoothing; AdamW with a
cosine-decayed learning rate. Two options let the student do better than a noisy teacher: per-band gain
jitter of the inputs (labels are kept: a few per cent of calibration must not change a class), and a
consistency term that asks for the same class probabilities on a second view of each patch (other
gains, mirrored) on every pixel, the unselected ones too, so the ambiguous pixels the selection drops
still shape the decision boundaries. With ``distill_from``, the mean probabilities of an ensemble of
trained networks are a second, soft target on every valid pixel (:mod:`s2mask.train.distillation`).
After every epoch the network is applied to the whole validation scenes and compared with their
physics labels (agreement) and, for synthetic scenes, with the exact truth.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .. import weights
from ..evaluation.metrics import confusion_matrix, normalized_mcc
from ..inference import predict
from ..models.features import FeatureSpec
from ..models.networks import OUTPUT_CLASSES, build_network, count_parameters
from .datasets import IGNORE, PatchSampler, jitter_gains, normalisation, scene_features
from .distillation import ensemble_probabilities, load_members, soft_cross_entropy
from .labels import LabelledScene
from .selection import SelectionOptions, select_pixels

Log = Callable[[str], None]
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class TrainingConfig:
    architecture: str = "CNN2D"
    architecture_kwargs: dict[str, Any] = field(default_factory=dict)
    bands: tuple[str, ...] = ()
    aux: tuple[str, ...] = ("cos_sun_zenith", "cos_incidence", "elevation", "has_elevation")
    selection: SelectionOptions = field(default_factory=SelectionOptions)
    epochs: int = 10
    steps_per_epoch: int = 150
    batch_size: int = 16
    patch: int = 40
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    #: weight the loss by the inverse square root of each class's selected pixels (on top of the
    #: class-balanced patch draws), or not
    class_weighting: bool = True
    label_smoothing: float = 0.0
    #: standard deviation of the log of the per-band gain applied to every patch (0: none)
    gain_jitter: float = 0.0
    #: weight of the consistency term (0: none)
    consistency: float = 0.0
    #: entry files (``s2mask train`` output) of the networks whose mean probabilities are soft targets
    distill_from: tuple[str, ...] = ()
    #: weight of the soft-target cross-entropy when ``distill_from`` is given
    distillation: float = 1.0
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["selection"] = asdict(self.selection)
        return values


@dataclass
class TrainingResult:
    network: torch.nn.Module
    spec: FeatureSpec
    config: TrainingConfig
    history: list[dict[str, float]]
    class_counts: list[int]
    seconds: float

    def final_metrics(self) -> dict[str, float]:
        """The last epoch's validation figures and training loss, named for the registry."""
        last = self.history[-1]
        return {("training_loss" if key == "loss" else f"validation_{key}"): value
                for key, value in last.items() if key != "epoch"}


def scene_classes(network: torch.nn.Module, spec: FeatureSpec, scene: LabelledScene) -> np.ndarray:
    """The network's classes (uint8, NO_DATA where invalid) on a whole labelled scene."""
    _, index = predict(network, scene_features(scene, spec), device=torch.device("cpu"))
    return np.where(scene.valid, index + 1, 0).astype(np.uint8)


def validate(network: torch.nn.Module, spec: FeatureSpec, scenes: Sequence[LabelledScene]) -> dict[str, float]:
    """Agreement with the physics labels (all validation scenes) and nMCC against the synthetic truth,
    with the physics classifier's own nMCC on the same truth for comparison."""
    network.eval()
    agreement = np.zeros((7, 7), dtype=np.int64)
    truth_cnn = np.zeros((7, 7), dtype=np.int64)
    truth_physics = np.zeros((7, 7), dtype=np.int64)
    for scene in scenes:
        classes = scene_classes(network, spec, scene)
        agreement += confusion_matrix(scene.labels, classes, valid=scene.valid)
        if scene.truth is not None:
            valid = scene.valid & (scene.truth != 0)
            truth_cnn += confusion_matrix(scene.truth, classes, valid=valid)
            truth_physics += confusion_matrix(scene.truth, scene.labels, valid=valid)
    result = {"physics_agreement": float(np.trace(agreement) / max(agreement.sum(), 1)),
              "physics_agreement_nmcc": normalized_mcc(agreement)}
    if truth_cnn.sum():
        result["truth_nmcc"] = normalized_mcc(truth_cnn)
        result["truth_nmcc_physics"] = normalized_mcc(truth_physics)
    return result


def class_weights(counts: np.ndarray) -> torch.Tensor:
    """Inverse square root of the class frequencies, mean 1 over the classes present."""
    present = counts > 0
    values = np.zeros(counts.size)
    values[present] = 1 / np.sqrt(counts[present] / counts[present].sum())
    values[present] /= values[present].mean()
    return torch.tensor(values, dtype=torch.float32)


def consistency_loss(network: torch.nn.Module, logits: torch.Tensor, inputs: np.ndarray, spec: FeatureSpec,
                     sigma: float, rng: np.random.Generator) -> torch.Tensor:
    """Mean per-pixel KL divergence of the network's probabilities on a second view of ``inputs`` (new
    band gains, mirrored left-right) from its (fixed) probabilities on the first, ``logits``."""
    view = jitter_gains(inputs, spec, sigma, rng) if sigma else inputs
    other = network(torch.from_numpy(np.ascontiguousarray(view[..., ::-1]))).flip(-1)
    target = torch.softmax(logits.detach(), dim=1)
    return F.kl_div(F.log_softmax(other, dim=1), target, reduction="none").sum(dim=1).mean()


def train(config: TrainingConfig, training: Sequence[LabelledScene], validation: Sequence[LabelledScene],
          *, log: Log = print, progress: Progress | None = None) -> TrainingResult:
    """Train one network on the selected physics labels of ``training``; validate every epoch."""
    started = time.perf_counter()
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    spec = normalisation(training, config.bands, config.aux, seed=config.seed)
    network = build_network(config.architecture, len(spec.bands), len(spec.aux), **config.architecture_kwargs)
    selections = [select_pixels(scene, config.selection) for scene in training]
    soft = None
    if config.distill_from:
        members = load_members(config.distill_from)
        soft = [ensemble_probabilities(scene, members) for scene in training]
        log(f"soft targets: mean of {len(members)} networks ({', '.join(m.name for m in members)}), "
            f"weight {config.distillation:g}")
    sampler = PatchSampler(training, selections, spec, network.radius, config.patch, soft)
    counts = sampler.class_counts()
    kept = sum(int(s.sum()) for s in selections) / max(1, sum(int(scene.valid.sum()) for scene in training))
    log(f"{config.architecture} {count_parameters(network)} parameters, radius {network.radius}; "
        f"{config.selection.describe()} keeps {100 * kept:.1f} % of the valid pixels; per class "
        + ", ".join(f"{name} {n}" for name, n in zip(OUTPUT_CLASSES, counts)))
    loss_weights = class_weights(counts) if config.class_weighting else None
    optimiser = torch.optim.AdamW(network.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    total = config.epochs * config.steps_per_epoch
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=config.learning_rate, total_steps=total,
                                                   pct_start=0.1)
    history = []
    for epoch in range(1, config.epochs + 1):
        network.train()
        losses = []
        for step in range(config.steps_per_epoch):
            inputs, labels, soft_targets = sampler.batch(config.batch_size, rng)
            if config.gain_jitter:
                inputs = jitter_gains(inputs, spec, config.gain_jitter, rng)
            logits = network(torch.from_numpy(inputs))
            loss = F.cross_entropy(logits, torch.from_numpy(labels), weight=loss_weights, ignore_index=IGNORE,
                                   label_smoothing=config.label_smoothing)
            if soft_targets is not None:
                loss = loss + config.distillation * soft_cross_entropy(logits, torch.from_numpy(soft_targets))
            if config.consistency:
                loss = loss + config.consistency * consistency_loss(network, logits, inputs, spec,
                                                                    config.gain_jitter, rng)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            losses.append(float(loss.detach()))
            if progress:
                progress((epoch - 1) * config.steps_per_epoch + step + 1, total)
        metrics = {"epoch": epoch, "loss": float(np.mean(losses)), **validate(network, spec, validation)}
        history.append(metrics)
        log(f"epoch {epoch}/{config.epochs}: " + ", ".join(
            f"{k} {v:.4f}" for k, v in metrics.items() if k != "epoch"))
    network.eval()
    return TrainingResult(network, spec, config, history, counts.tolist(), time.perf_counter() - started)


def save(result: TrainingResult, name: str, *, levels: tuple[str, ...], resolution: int, shadows: str,
         command: str, data: str, metrics: dict[str, Any], folder: Path | None = None) -> Path:
    """Write the network's weights as ``cnn_<name>.pt`` and register them (shipped weights when
    ``folder`` is None, else a scratch folder with its own ``entry.json``)."""
    file = "cnn_" + name.replace("-", "_") + ".pt"
    target = (folder or weights.WEIGHTS_DIR) / file
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.detach().clone() for k, v in result.network.state_dict().items()}, target)
    config = result.config
    item = {"name": name, "kind": "mask", "file": file, "architecture": config.architecture,
            "architecture_kwargs": dict(config.architecture_kwargs), "bands": list(result.spec.bands),
            "aux": list(result.spec.aux), "levels": list(levels), "resolution": resolution,
            "normalisation": result.spec.to_dict(), "classes": list(OUTPUT_CLASSES), "shadows": shadows,
            "halo": int(result.network.radius) + result.spec.halo,
            "parameters": count_parameters(result.network),
            "training": {"command": command, "data": data, "seed": config.seed, "epochs": config.epochs,
                         "strategy": config.selection.describe(), "config": config.to_dict(),
                         "selected_pixels_per_class": dict(zip(OUTPUT_CLASSES, result.class_counts)),
                         "seconds": round(result.seconds, 1), "history": result.history},
            "metrics": metrics}
    if folder is None:
        weights.register(item)
    else:
        item["sha256"] = weights.sha256(target)
        (target.with_suffix(".json")).write_text(json.dumps(item, indent=2) + "\n")
    return target
