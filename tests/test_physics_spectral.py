"""The spectral pass on canonical spectra, missing bands, invalid pixels and blocks."""

import numpy as np
import pytest

from s2mask.bands import ALL_BANDS, L2A_BANDS, REDUCED_BANDS
from s2mask.classes import MaskClass
from s2mask.errors import MissingBandError, ParameterError
from s2mask.physics import SPECTRAL_HALO, spectral_pass, thresholds_for
from s2mask.physics.thresholds import Ramp
from s2mask.sim.scene import CIRRUS_SHAPE, OPAQUE_CLOUD_TOA
from s2mask.sim.spectra import SURFACE_SPECTRA, to_toa

C = MaskClass


def _toa(surface: str, opacity: float = 0.0, cirrus: float = 0.0) -> np.ndarray:
    """TOA spectrum (13 bands) of a surface under a cloud of ``opacity`` and cirrus of B10 ``cirrus``."""
    spectrum = np.array([to_toa(np.float32(v), b) for v, b in zip(SURFACE_SPECTRA[surface], ALL_BANDS)])
    spectrum = spectrum * (1 - opacity) + opacity * np.where(np.arange(13) == 10, 0, OPAQUE_CLOUD_TOA)
    return (spectrum + cirrus * CIRRUS_SHAPE).astype(np.float32)


#: (name, TOA spectrum, expected class): one pixel each.
CANONICAL = [
    ("vegetation", _toa("vegetation"), C.CLEAR_LAND),
    ("bare soil", _toa("bare_soil"), C.CLEAR_LAND),
    ("bright sand", _toa("bright_sand"), C.CLEAR_LAND),
    ("urban", _toa("urban"), C.CLEAR_LAND),
    ("water", _toa("water"), C.WATER),
    ("turbid water", _toa("turbid_water"), C.WATER),
    ("snow", _toa("snow"), C.SNOW_ICE),
    ("opaque cloud over vegetation", _toa("vegetation", 0.9), C.CLOUD),
    ("opaque cloud over sand", _toa("bright_sand", 0.9), C.CLOUD),
    ("thin cloud over vegetation", _toa("vegetation", 0.3), C.THIN_CLOUD),
    ("thin cloud over water", _toa("water", 0.3), C.THIN_CLOUD),
    ("cirrus over vegetation", _toa("vegetation", 0.0, 0.03), C.THIN_CLOUD),
    ("cirrus over snow", _toa("snow", 0.0, 0.04), C.THIN_CLOUD),
]


def _bands(spectra: np.ndarray, names=ALL_BANDS) -> dict[str, np.ndarray]:
    """One row of pixels per spectrum, as a band dictionary."""
    return {name: spectra[None, :, ALL_BANDS.index(name)].copy() for name in names}


@pytest.mark.parametrize("index", range(len(CANONICAL)), ids=[c[0] for c in CANONICAL])
def test_canonical_l1c_spectra(index):
    name, spectrum, expected = CANONICAL[index]
    result = spectral_pass(_bands(spectrum[None]), "L1C")
    assert result.classes[0, 0] == expected, (name, result.probabilities[:, 0, 0].round(2))
    assert result.probabilities[expected, 0, 0] == result.probabilities[:, 0, 0].max()


def test_real_spectra_from_sen2cor_scl_of_29rkh():
    """Median BOA spectra of Sen2Cor's classes on the Saharan tile 29RKH (bench/physics.md)."""
    names = ("B2", "B3", "B4", "B8A", "B11", "B12")
    desert = [0.166, 0.237, 0.341, 0.383, 0.481, 0.458]
    high_cloud = [0.455, 0.497, 0.558, 0.589, 0.603, 0.555]
    bands = {n: np.array([[d, c]], dtype=np.float32) for n, d, c in zip(names, desert, high_cloud)}
    bands["B8"] = bands["B8A"].copy()
    classes = spectral_pass(bands, "L2A").classes
    assert classes.tolist() == [[C.CLEAR_LAND, C.CLOUD]]


def test_probabilities_are_a_distribution_and_classes_their_argmax():
    rng = np.random.default_rng(0)
    spectra = np.stack([s for _, s, _ in CANONICAL])
    mixed = spectra[rng.integers(0, len(spectra), 400)] * rng.uniform(0.8, 1.2, (400, 1)).astype(np.float32)
    result = spectral_pass({n: a.reshape(20, 20) for n, a in _bands(mixed).items()}, "L1C")
    assert result.probabilities.shape == (7, 20, 20) and result.probabilities.dtype == np.float32
    np.testing.assert_allclose(result.probabilities.sum(axis=0), 1, atol=1e-5)
    assert (result.classes == result.probabilities.argmax(axis=0)).all()
    assert not (result.classes == C.CLOUD_SHADOW).any()
    assert result.potential_shadow.dtype == np.float32 and result.skipped_tests == ()


def test_invalid_pixels_are_no_data_with_certainty():
    spectra = np.stack([CANONICAL[0][1]] * 3)
    bands = _bands(spectra)
    bands["B11"][0, 1] = np.nan
    bands["B4"][0, 2] = np.inf
    result = spectral_pass(bands, "L1C")
    assert result.classes.tolist() == [[C.CLEAR_LAND, C.NO_DATA, C.NO_DATA]]
    assert result.probabilities[C.NO_DATA, 0, 1:].tolist() == [1.0, 1.0]
    assert result.probabilities[:, 0, 1].sum() == 1.0 and result.potential_shadow[0, 1] == 0


def test_missing_bands_run_and_name_the_skipped_tests():
    spectra = np.stack([s for _, s, _ in CANONICAL])
    l2a = spectral_pass(_bands(spectra, L2A_BANDS), "L2A")
    assert l2a.skipped_tests == ("cirrus (needs B10)",)
    reduced = spectral_pass(_bands(spectra, REDUCED_BANDS), "L1C")
    assert reduced.skipped_tests == ("cirrus (needs B10)",)
    clear_ones = [i for i, c in enumerate(CANONICAL) if c[2] == C.CLEAR_LAND]
    assert (reduced.classes[0, clear_ones] == C.CLEAR_LAND).all()
    assert reduced.classes[0, 7] == C.CLOUD and reduced.classes[0, 6] == C.SNOW_ICE
    four = spectral_pass(_bands(spectra, ("B2", "B3", "B4", "B8")), "L1C")
    skipped = " ".join(four.skipped_tests)
    for test in ("ndsi (needs B11)", "cirrus (needs B10)", "nir_swir (needs B11)", "cloud_swir2 (needs B12)",
                 "shadow_nir_swir1"):
        assert test in skipped
    assert not (four.classes == C.SNOW_ICE).any()  # no NDSI: snow cannot be told from cloud


def test_inputs_without_visible_or_nir_bands_are_refused():
    with pytest.raises(MissingBandError, match="B8A, B8"):
        spectral_pass({"B2": np.zeros((2, 2), np.float32), "B11": np.zeros((2, 2), np.float32)}, "L1C")
    with pytest.raises(MissingBandError, match="no band"):
        spectral_pass({}, "L1C")
    with pytest.raises(ParameterError, match="L1B"):
        spectral_pass(_bands(np.stack([CANONICAL[0][1]])), "L1B")
    with pytest.raises(ValueError, match="one shape"):
        spectral_pass({"B2": np.zeros((2, 2)), "B8": np.zeros((3, 2))}, "L1C")


def test_blocks_give_what_the_whole_image_gives():
    rng = np.random.default_rng(1)
    spectra = np.stack([s for _, s, _ in CANONICAL])
    image = {n: a.reshape(30, 30) for n, a in _bands(spectra[rng.integers(0, len(spectra), 900)]).items()}
    whole = spectral_pass(image, "L1C")
    halo = SPECTRAL_HALO
    top = spectral_pass({n: a[: 12 + halo] for n, a in image.items()}, "L1C")
    bottom = spectral_pass({n: a[12 - halo:] for n, a in image.items()}, "L1C")
    stitched = np.concatenate([top.probabilities[:, :12], bottom.probabilities[:, halo:]], axis=1)
    np.testing.assert_array_equal(stitched, whole.probabilities)


def test_each_level_has_its_own_thresholds_and_a_broken_one_changes_decisions():
    assert thresholds_for("l2a").hot != thresholds_for("L1C").hot
    thin = _bands(np.stack([CANONICAL[9][1]]))
    broken = thresholds_for("L1C").with_changes(hot=Ramp(0.06, 0.0), cirrus=Ramp(0.2, 0.3))
    assert spectral_pass(thin, "L1C").classes[0, 0] == C.THIN_CLOUD
    assert spectral_pass(thin, "L1C", thresholds=broken).classes[0, 0] != C.THIN_CLOUD
