"""The cloud buffer of a mask network: clear pixels near its clouds become THIN_CLOUD, its shadows stay, blocks
equal the whole."""

import numpy as np
import torch

import s2mask
from s2mask.bands import REDUCED_BANDS
from s2mask.classes import MaskClass
from s2mask.models import choose_entry, load_network
from s2mask.models.masker import CNNMasker, buffer_clouds
from s2mask.sim.clouds import cloudy_scene


def test_buffer_reaches_the_disc_around_clouds_and_spares_no_data():
    classes = np.full((9, 9), MaskClass.CLEAR_LAND, dtype=np.uint8)
    classes[4, 4] = MaskClass.CLOUD
    classes[0, :] = MaskClass.NO_DATA
    classes[4, 7] = MaskClass.WATER
    classes[5, 5] = MaskClass.CLOUD_SHADOW
    buffered = buffer_clouds(classes.copy(), 2)
    thin = np.argwhere(buffered == MaskClass.THIN_CLOUD)
    assert len(thin) == 11  # the 13 pixels within 2 px of the centre, less the cloud and the shadow
    assert buffered[5, 5] == MaskClass.CLOUD_SHADOW
    assert (np.hypot(*(thin - 4).T) <= 2).all()
    assert buffered[4, 7] == MaskClass.WATER and (buffered[0] == MaskClass.NO_DATA).all()
    assert (buffer_clouds(classes.copy(), 0) == classes).all()
    clear = np.full((5, 5), MaskClass.CLEAR_LAND, dtype=np.uint8)
    assert (buffer_clouds(clear.copy(), 3) == clear).all()


def test_a_buffered_network_gives_the_same_classes_in_blocks_as_whole():
    scene = cloudy_scene(240, 240, seed=3, sun_zenith=40.0, sun_azimuth=150.0, cloud_cover=0.2, cloud_size=20)
    bands = {band: scene.render(band, "L2A") for band in REDUCED_BANDS}
    item = dict(choose_entry("cnn2d", "L2A", REDUCED_BANDS), cloud_buffer_m=60.0)
    network = load_network(item["name"], device="cpu")
    masker = CNNMasker(item, network, torch.device("cpu"))
    assert masker.halo == item["halo"] + 6
    whole = s2mask.classify(bands, "L2A", masker=masker, resolution=10)
    plain = s2mask.classify(bands, "L2A", masker=CNNMasker(dict(item, cloud_buffer_m=0), network, torch.device("cpu")),
                            resolution=10)
    grown = (whole != plain)
    assert grown.any() and (whole[grown] == MaskClass.THIN_CLOUD).all()
    np.testing.assert_array_equal(s2mask.classify(bands, "L2A", masker=masker, resolution=10, block_size=128), whole)


def test_the_shadows_of_a_buffered_network_are_those_its_own_clouds_cast():
    sun = {"sun_zenith": 40.0, "sun_azimuth": 150.0}
    scene = cloudy_scene(240, 240, seed=4, cloud_cover=0.25, cloud_size=20, **sun)
    bands = {band: scene.render(band, "L1C") for band in REDUCED_BANDS}
    item = dict(choose_entry("cnn2d", "L1C", REDUCED_BANDS), cloud_buffer_m=140.0, shadows="network+geometry")
    network = load_network(item["name"], device="cpu")
    buffered = s2mask.classify(bands, "L1C", masker=CNNMasker(item, network, torch.device("cpu")), resolution=10, **sun)
    plain = s2mask.classify(bands, "L1C", masker=CNNMasker(dict(item, cloud_buffer_m=0), network, torch.device("cpu")),
                            resolution=10, **sun)
    shadow = plain == MaskClass.CLOUD_SHADOW
    assert shadow.sum() > 500 and (buffered[shadow] == MaskClass.CLOUD_SHADOW).all()
    grown = buffered != plain
    assert grown.sum() > 1000 and (buffered[grown] == MaskClass.THIN_CLOUD).all()
