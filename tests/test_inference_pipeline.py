"""``s2mask.run`` with the shipped CNNs: blocked and whole-tile runs write the same classes."""

import re

import numpy as np
import pytest
from osgeo import gdal

from s2mask import cpu
from s2mask.errors import ParameterError
from s2mask.pipeline import run


def classes_of(result):
    dataset = gdal.Open(str(result.outputs["classes"]))
    return dataset.ReadAsArray()


@pytest.mark.parametrize(("level", "precision"), [("L1C", "float32"), ("L2A", "float32"), ("L1C", "bfloat16"),
                                                ("L2A", "int8")])
def test_cnn_runs_in_blocks_equal_the_whole_tile(product_factory, tmp_path, level, precision):
    product = product_factory(level, "05.10", size=240)
    if not {"bfloat16": cpu.bfloat16_runs, "int8": cpu.int8_fast}.get(precision, lambda: True)():
        # the hardware path where it exists, its refusal (tests/test_cpu.py) where it does not
        with pytest.raises(ParameterError, match=f"precision {precision}"):
            run(product, tmp_path / "whole", model="cnn", precision=precision)
        return
    whole = run(product, tmp_path / "whole", model="cnn", resolution=10, block_size=4096, precision=precision,
                outputs=("cog", "report"))
    # The blocked run also keeps the probabilities, which the whole one skips computing.
    blocked = run(product, tmp_path / "blocked", model="cnn", resolution=10, block_size=128, precision=precision,
                  outputs=("cog", "probabilities"))
    np.testing.assert_array_equal(classes_of(blocked), classes_of(whole))
    assert re.fullmatch(f"cnn2d-{level.lower()}-v[0-9]+", whole.report["model"])
    assert whole.report["model_precision"] == precision
    classes = classes_of(whole)
    assert (classes[:, :12] == 0).all()  # the no-data strip of the test product
    assert (classes[:, 18:] > 0).mean() > 0.99  # 60 m bands interpolated near it are no data too
