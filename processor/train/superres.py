"""Self-supervised DSen2 training on real Sentinel-2 data (Wald's protocol, no external ground truth).

Every training scene is degraded by the network's factor (:mod:`s2mask.superres.wald`); the network
learns to restore its real 20 m (or 60 m) bands from the degraded ones and the degraded 10 m bands,
and is then applied unchanged at full scale. Random patches of the reduced-scale input stacks, with
the eight flips and 90-degree rotations, an L1 loss and NAdam (as in DSen2) with a warmed-up,
cosine-decayed learning rate. The held-out crop is never read here except by :func:`evaluate`.
Deterministic for a given seed and thread count.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..bands import BANDS_10M, BANDS_20M, file_band_id
from ..errors import ParameterError, S2MaskError
from ..io.raster import open_raster
from ..superres.inference import apply_tiled, default_tile, network_stack
from ..superres.network import INPUT_SCALE, DSen2, architecture_kwargs, build_network, spec_for, weights_name
from ..superres.wald import interpolate_targets, reduced_scale, rmse, sam, sre

#: Scenes under the shared data folder: two training scenes on different continents and levels, and a
#: third, never trained on, for every reported metric.
TRAINING_SCENES = ("real/dsen2_crops/S2A_MSIL1C_20170527_T33UUB_converted.npz",
                   "real/riotiler_tiles/S2A_29RKH_20200219_0_L2A")
HELD_OUT_SCENE = "real/dsen2_crops/S2B_MSIL1C_20171022_T49JGM_converted.npz"
BANDS_60M_TRAINED = ("B1", "B9")


@dataclass(frozen=True)
class Scene:
    """Reflectance on native grids: (4, H, W) B2 B3 B4 B8, (6, H/2, W/2) 20 m bands, (2, H/6, W/6) B1 B9."""

    name: str
    bands10: np.ndarray
    bands20: np.ndarray
    bands60: np.ndarray


def _from_npz(path: Path) -> Scene:
    # The DSen2 demo crops: uint16 DN = reflectance x 1e4 with their band order stored beside the arrays.
    with np.load(path) as data:
        def stack(key: str, names: tuple[str, ...]) -> np.ndarray:
            order = [str(b) for b in data[f"band_order_{key}"]]
            return np.stack([data[key][order.index(b)] for b in names]).astype(np.float32) / np.float32(1e4)
        return Scene(path.stem.split("_")[3], stack("im10", BANDS_10M), stack("im20", BANDS_20M),
                     stack("im60", BANDS_60M_TRAINED))


def _from_folder(path: Path) -> Scene:
    # rio-tiler's per-band GeoTIFFs (Bxx.tif, DN = reflectance x 1e4, 0 = no data, no offset before PB 04.00).
    def stack(names: tuple[str, ...]) -> np.ndarray:
        arrays = []
        for name in names:
            file = path / f"{file_band_id(name)}.tif"
            dn = open_raster(str(file), file).ReadAsArray().astype(np.float32)
            arrays.append(np.where(dn == 0, np.nan, dn / np.float32(1e4)))
        return np.stack(arrays)
    return Scene(path.name.split("_")[1], stack(BANDS_10M), stack(BANDS_20M), stack(BANDS_60M_TRAINED))


def load_scene(path: str | Path) -> Scene:
    """A scene from a DSen2 ``.npz`` crop or a folder of per-band GeoTIFFs."""
    path = Path(path)
    if path.suffix == ".npz" and path.is_file():
        return _from_npz(path)
    if path.is_dir():
        return _from_folder(path)
    raise S2MaskError("not a DSen2 crop (.npz) or a folder of band GeoTIFFs", path)


@dataclass(frozen=True)
class TrainingConfig:
    network: str
    variant: str
    epochs: int
    batch_size: int = 16
    #: Patch side on the reduced-scale grid (the network's own 10 m role).
    patch: int = 48
    learning_rate: float = 3e-3
    seed: int = 0
    #: Share of the patches drawn from each training scene, in scene order; None: in proportion to area.
    scene_shares: tuple[float, ...] | None = None
    #: Per-band random gains between 1 / (1 + gain_jitter) and 1 + gain_jitter (0: none).
    gain_jitter: float = 0.0


def _pairs(scenes: list[Scene], network: str) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Reduced-scale (input stack, scaled target) of each scene, NaN-free scenes only."""
    pairs = []
    for scene in scenes:
        degraded, target = reduced_scale(network, scene.bands10, scene.bands20, scene.bands60)
        if any(np.isnan(a).any() for a in (*[d for d in degraded if d is not None], target)):
            raise S2MaskError(f"training scene {scene.name} has no-data pixels; use complete scenes")
        stack = network_stack(network, *degraded, device="cpu")
        pairs.append((stack, torch.from_numpy(target * np.float32(INPUT_SCALE))))
    return pairs


def _dihedral(x: torch.Tensor, k: int) -> torch.Tensor:
    """One of the eight flips/rotations of the last two axes (k in 0..7)."""
    x = torch.rot90(x, k % 4, dims=(-2, -1))
    return torch.flip(x, dims=(-1,)) if k >= 4 else x


def _batch(pairs: list[tuple[torch.Tensor, torch.Tensor]], probabilities: np.ndarray, config: TrainingConfig,
           rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    inputs, targets = [], []
    for _ in range(config.batch_size):
        stack, target = pairs[rng.choice(len(pairs), p=probabilities)]
        row = rng.integers(0, stack.shape[1] - config.patch + 1)
        col = rng.integers(0, stack.shape[2] - config.patch + 1)
        k = int(rng.integers(0, 8))
        window = (slice(None), slice(row, row + config.patch), slice(col, col + config.patch))
        # One random gain per band, applied to a band wherever it appears (input and target): scenes differ
        # by band-wise illumination and atmosphere, so the network must transfer detail, not levels.
        gains = torch.ones(stack.shape[0], 1, 1)
        if config.gain_jitter:
            spread = rng.uniform(-1, 1, stack.shape[0]) * math.log1p(config.gain_jitter)
            gains = torch.from_numpy(np.exp(spread)).float()[:, None, None]
        inputs.append(_dihedral(stack[window] * gains, k))
        targets.append(_dihedral(target[window] * gains[-target.shape[0]:], k))
    return (torch.stack(inputs).contiguous(memory_format=torch.channels_last),
            torch.stack(targets).contiguous(memory_format=torch.channels_last))


def train(config: TrainingConfig, scenes: list[Scene], log: Callable[[str], None] = print) -> DSen2:
    """Train one network from scratch on ``scenes`` and return it (eval mode, CPU)."""
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model = build_network(config.network, config.variant).to(memory_format=torch.channels_last)
    pairs = _pairs(scenes, config.network)
    areas = np.array([target.shape[1] * target.shape[2] for _, target in pairs], dtype=np.float64)
    shares = np.array(config.scene_shares if config.scene_shares is not None else areas, dtype=np.float64)
    if shares.shape != areas.shape:
        raise ParameterError(f"{len(shares)} scene shares given for {len(areas)} training scenes")
    steps_per_epoch = math.ceil(areas.sum() / (config.patch**2 * config.batch_size))
    total = config.epochs * steps_per_epoch
    optimiser = torch.optim.NAdam(model.parameters(), lr=config.learning_rate)
    # Linear warm-up: Adam's first updates move every weight by about the full learning rate, which
    # from the zero-initialised last layer throws the output far off the bilinear baseline.
    warmup = max(1, total // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min(1.0, (step + 1) / warmup) * (0.1 + 0.45 * (1 + math.cos(math.pi * step / total))))
    log(f"training dsen2 {config.network} {config.variant}: {total} steps ({steps_per_epoch} per epoch), "
        f"{sum(p.numel() for p in model.parameters())} parameters")
    model.train()
    start, running = time.perf_counter(), 0.0
    for step in range(total):
        inputs, targets = _batch(pairs, shares / shares.sum(), config, rng)
        loss = F.l1_loss(model(inputs), targets)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        running += loss.item()
        if (step + 1) % steps_per_epoch == 0 and ((step + 1) // steps_per_epoch) % max(1, config.epochs // 20) == 0:
            log(f"epoch {(step + 1) // steps_per_epoch}/{config.epochs}  L1 {running / steps_per_epoch:.5f}  "
                f"{time.perf_counter() - start:.0f} s")
        if (step + 1) % steps_per_epoch == 0:
            running = 0.0
    return model.eval()


def evaluate(model: DSen2, network: str, scene: Scene) -> tuple[dict[str, float], dict[str, object]]:
    """Reduced-scale scores of ``model`` on ``scene``: a summary (mean RMSE in reflectance x 1e4, its
    ratio to bicubic, mean SRE in dB, SAM in degrees) and the per-band detail with the bicubic values."""
    degraded, truth = reduced_scale(network, scene.bands10, scene.bands20, scene.bands60)
    with torch.inference_mode():
        device = next(model.parameters()).device
        stack = network_stack(network, *degraded, device=device)
        ours = apply_tiled(model, stack, default_tile(model, device), batch_size=2).cpu().numpy()
    ours /= np.float32(INPUT_SCALE)
    bicubic = interpolate_targets(network, degraded, "bicubic")
    ours_rmse, bicubic_rmse = rmse(ours, truth) * 1e4, rmse(bicubic, truth) * 1e4
    ours_sre, bicubic_sre = sre(ours, truth), sre(bicubic, truth)
    summary = {"ratio_to_bicubic": round(float(ours_rmse.mean() / bicubic_rmse.mean()), 4),
               "rmse": round(float(ours_rmse.mean()), 2), "rmse_bicubic": round(float(bicubic_rmse.mean()), 2),
               "sam_deg": round(sam(ours, truth), 3), "sre_db": round(float(ours_sre.mean()), 2)}
    bands = {band: {"rmse": round(float(a), 2), "rmse_bicubic": round(float(b), 2), "sre_db": round(float(c), 2),
                    "sre_bicubic_db": round(float(d), 2)}
             for band, a, b, c, d in zip(spec_for(network).outputs, ours_rmse, bicubic_rmse, ours_sre, bicubic_sre)}
    detail = {"scene": scene.name, "scale": f"reduced by {spec_for(network).factor} (Wald protocol)",
              "units": "rmse: reflectance x 1e4", "bands": bands, "sam_bicubic_deg": round(sam(bicubic, truth), 3)}
    return summary, detail


def registry_entry(model: DSen2, config: TrainingConfig, evaluation: tuple[dict[str, float], dict[str, object]],
                   command: str, seconds: float, file: str) -> dict[str, object]:
    """The weights-registry entry of a trained network (``s2mask.weights.register`` adds the sha256)."""
    spec = spec_for(config.network)
    summary, detail = evaluation
    return {
        "name": weights_name(config.network, config.variant), "kind": "superres", "file": file,
        "architecture": "DSen2", "architecture_kwargs": architecture_kwargs(model), "variant": config.variant,
        "bands": list(spec.inputs), "outputs": list(spec.outputs), "resolution": 10,
        "normalisation": f"reflectance x {INPUT_SCALE:g} (DN / 2000); lower-resolution bands bilinear-upsampled",
        "training": {**asdict(config), "command": command, "data": list(TRAINING_SCENES),
                     "held_out": HELD_OUT_SCENE, "degradation": "Gaussian PSF sigma 1/factor px, then "
                     "factor x factor area mean (Wald protocol)", "loss": "L1",
                     "optimiser": "NAdam, 5 % linear warm-up, cosine decay to 0.1 x lr",
                     "augmentation": "8 flips/rotations, per-band gains (gain_jitter)",
                     "wall_seconds": round(seconds), "threads": torch.get_num_threads()},
        "metrics": summary, "metrics_detail": detail,
    }
