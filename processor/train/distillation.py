"""Soft targets for distillation: the mean class probabilities of several trained networks.

Every student trained on the physics labels alone ends up on its teacher, above or below it as the seed
falls (bench/mask.md, round 3); the mean of several such students is better than each, but costs their
sum at inference. Distillation gives one network of the shipped size the ensemble's probabilities as a
second target, on every valid pixel (the ones the selection drops too), next to the selected hard labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ModelError
from ..inference import predict
from ..models import network_from_entry, read_entry_file
from ..models.features import FeatureSpec
from ..models.networks import OUTPUT_CLASSES
from .datasets import scene_features
from .labels import LabelledScene


@dataclass(frozen=True)
class Member:
    name: str
    network: torch.nn.Module
    spec: FeatureSpec


def load_members(entry_files: Sequence[str | Path]) -> list[Member]:
    """The networks of scratch entries written by ``s2mask train``, on the CPU."""
    members = []
    for entry_file in entry_files:
        item, path = read_entry_file(entry_file)
        if item.get("kind") != "mask":
            raise ModelError(f"{item['name']!r} is not a mask network", entry_file)
        network = network_from_entry(item, path, torch.device("cpu"))
        members.append(Member(item["name"], network, FeatureSpec.from_registry(item)))
    return members


def ensemble_probabilities(scene: LabelledScene, members: Sequence[Member]) -> np.ndarray:
    """Mean class probabilities (classes, H, W) float16 of ``members`` on ``scene``; zero where invalid,
    so those pixels add nothing to :func:`soft_cross_entropy`."""
    total = np.zeros((len(OUTPUT_CLASSES), *scene.shape), dtype=np.float32)
    for member in members:
        missing = [band for band in member.spec.bands if band not in scene.bands]
        if missing:
            raise ModelError(f"ensemble member {member.name!r} needs {', '.join(missing)}, which scene "
                             f"{scene.name} lacks")
        probabilities, _ = predict(member.network, scene_features(scene, member.spec), device=torch.device("cpu"))
        total += probabilities
    total *= np.float32(1 / len(members))
    total[:, ~scene.valid] = 0
    return total.astype(np.float16)


def soft_cross_entropy(logits: torch.Tensor, soft: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of ``logits`` (batch, classes, H, W) against probabilities ``soft`` of the same shape,
    averaged over the pixels that have a target (a zero target vector has none)."""
    has_target = soft.sum(dim=1)
    total = -(soft * F.log_softmax(logits, dim=1)).sum()
    return total / has_target.sum().clamp_min(1.0)
