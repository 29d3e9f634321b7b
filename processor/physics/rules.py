"""The spectral tests of the physics classifier and the class evidence they add up to.

Each test is a fuzzy membership (0..1) from a :class:`~s2mask.physics.thresholds.Ramp`. A test whose
bands are missing does not run: it is left out of the product it belongs to and named in
``skipped`` with the bands it needed. The evidence of a class is the product of its tests, as in
Sen2Cor's cloud probability; classes compete in :mod:`s2mask.physics.spectral`.

- opaque cloud: bright in the visible, flat (whiteness), blue excess (HOT), not vegetation (NDVI),
  not soil (NDSI), not rock or sand (NIR/SWIR1), not water (SWIR2);
- thin cloud: cirrus at 1375 nm, or haze (HOT) with some cloud brightness, where not opaque;
- snow: NDSI, NIR, green and blue brightness, blue/red ratio, dark SWIR2, and no cirrus signal;
- water: the two clauses of Fmask's water test or dark SWIR1 (turbid water), and MNDWI (or NDWI);
- potential shadow: dark NIR and SWIR1 (the geometric matching happens in :mod:`.shadow`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .features import (
    NIR_BANDS,
    VISIBLE_BANDS,
    Spectra,
    haze_optimized_transform,
    normalized_difference,
    ratio,
    visible_mean,
    whiteness,
)
from .thresholds import Thresholds


@dataclass
class Evidence:
    """Class evidence (float32 0..1 per pixel) and the names of the tests that could not run."""

    cloud: np.ndarray
    thin_cloud: np.ndarray
    snow: np.ndarray
    water: np.ndarray
    shadow: np.ndarray
    skipped: tuple[str, ...]


class _TestRunner:
    """Runs tests whose bands are present; remembers why the others were skipped."""

    def __init__(self, spectra: Spectra):
        self.spectra = spectra
        self.skipped: list[str] = []

    def run(self, name: str, needs: tuple[str | tuple[str, ...], ...],
            test: Callable[..., np.ndarray]) -> np.ndarray | None:
        """``test(*bands)`` with one array per entry of ``needs`` (a tuple entry means "any of")."""
        arrays, missing = [], []
        for need in needs:
            band = self.spectra.pick(need) if isinstance(need, tuple) else need if self.spectra.has(need) else None
            if band is None:
                missing.append(" or ".join(need) if isinstance(need, tuple) else need)
            else:
                arrays.append(self.spectra[band])
        if missing:
            self.skipped.append(f"{name} (needs {', '.join(missing)})")
            return None
        return test(*arrays)


def _product(shape: tuple[int, int], *memberships: np.ndarray | None) -> np.ndarray:
    """Product of the tests that ran (1 where none ran)."""
    result = np.ones(shape, dtype=np.float32)
    for membership in memberships:
        if membership is not None:
            result *= membership
    return result


def evaluate(spectra: Spectra, t: Thresholds) -> Evidence:
    """Run every test the bands allow and combine them into class evidence."""
    runner = _TestRunner(spectra)
    ndvi = runner.run("ndvi", (NIR_BANDS, "B4"), normalized_difference)
    ndsi = runner.run("ndsi", ("B3", "B11"), normalized_difference)
    cirrus = runner.run("cirrus", ("B10",), t.cirrus)
    snow = _snow(runner, t, ndsi)
    cloud, thin = _clouds(runner, t, ndvi, ndsi, cirrus, snow)
    # A snow-like spectrum with a 1375 nm signal is cirrus over snow: thin cloud, not snow.
    if cirrus is not None:
        snow *= 1 - cirrus
    return Evidence(cloud=cloud, thin_cloud=thin, snow=snow, water=_water(runner, t, ndvi, ndsi),
                    shadow=_potential_shadow(runner, t), skipped=tuple(runner.skipped))


def _clouds(runner: _TestRunner, t: Thresholds, ndvi: np.ndarray | None, ndsi: np.ndarray | None,
            cirrus: np.ndarray | None, snow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Opaque-cloud and thin-cloud evidence. Snow and water clouds share brightness and flatness; the
    snow tests (NDSI above all) tell them apart: a snow-like spectrum is no cloud, unless B10 sees cirrus."""
    spectra, run = runner.spectra, runner.run
    brightness = run("cloud_red", ("B4",), t.cloud_red)
    if brightness is None:
        brightness = t.cloud_red(visible_mean(spectra))
    opaque = run("opaque_blue", ("B2",), t.opaque_blue)
    if opaque is None:
        opaque = t.opaque_blue(visible_mean(spectra))
    hot = run("hot", ("B2", "B4"), lambda blue, red: t.hot(haze_optimized_transform(blue, red)))
    swir2 = run("cloud_swir2", ("B12",), t.cloud_swir2)
    cloud = _product(
        spectra.shape, brightness, opaque, hot, swir2,
        run("whiteness", VISIBLE_BANDS, lambda *_: t.whiteness(whiteness(spectra))),
        None if ndvi is None else t.cloud_ndvi(ndvi), None if ndsi is None else t.cloud_ndsi(ndsi),
        run("nir_swir", (NIR_BANDS, "B11"), lambda nir, swir: t.nir_swir(ratio(nir, swir))))
    not_snow = 1 - snow
    cloud *= not_snow
    thin = _product(spectra.shape, hot, swir2, run("haze_red", ("B4",), t.haze_red), not_snow)
    if cirrus is not None:
        np.maximum(thin, cirrus, out=thin)
    thin *= 1 - cloud
    return cloud, thin


def _snow(runner: _TestRunner, t: Thresholds, ndsi: np.ndarray | None) -> np.ndarray:
    """Evidence of a snow-like surface (0 without NDSI: nothing else tells snow from cloud)."""
    if ndsi is None:
        return np.zeros(runner.spectra.shape, dtype=np.float32)
    run = runner.run
    return _product(runner.spectra.shape, t.snow_ndsi(ndsi), run("snow_nir", (NIR_BANDS,), t.snow_nir),
                    run("snow_green", ("B3",), t.snow_green), run("snow_swir2", ("B12",), t.snow_swir2),
                    run("snow_blue", ("B2",), t.snow_blue),
                    run("snow_blue_red", ("B2", "B4"), lambda blue, red: t.snow_blue_red(ratio(blue, red))))


def _water(runner: _TestRunner, t: Thresholds, ndvi: np.ndarray | None, ndsi: np.ndarray | None) -> np.ndarray:
    """Water evidence: [ZW12]'s two clauses or the turbid-water clause, times MNDWI (or NDWI)."""
    spectra = runner.spectra
    if ndvi is None:
        return np.zeros(spectra.shape, dtype=np.float32)
    nir = spectra[spectra.pick(NIR_BANDS)]
    water = np.maximum(np.minimum(t.water_ndvi(ndvi), t.water_nir(nir)),
                       np.minimum(t.water_ndvi_dark(ndvi), t.water_nir_dark(nir)))
    turbid = runner.run("water_swir1", ("B11",), t.water_swir1)
    if turbid is not None:
        np.maximum(water, np.minimum(t.water_ndvi_turbid(ndvi), turbid), out=water)
    index = ndsi if ndsi is not None else runner.run("ndwi", ("B3", NIR_BANDS), normalized_difference)
    if index is not None:
        water *= t.water_index(index)
    return water


def _potential_shadow(runner: _TestRunner, t: Thresholds) -> np.ndarray:
    """Dark-pixel membership for the geometric shadow matching (NIR + SWIR1, or NIR alone)."""
    spectra = runner.spectra
    nir = spectra[spectra.pick(NIR_BANDS)]
    if spectra.has("B11"):
        return t.shadow_nir_swir1(nir + spectra["B11"])
    runner.skipped.append("shadow_nir_swir1 (needs B11; NIR alone used)")
    return t.shadow_nir(nir)
