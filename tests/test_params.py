"""ProcessingParameters is the one source: choices come from their owners, every entry point parses through
from_mapping, and the README's option table is the generated one."""


import numpy as np
import pytest

from s2mask import weights
from s2mask.bands import RESOLUTIONS
from s2mask.choice import FIXED_MODELS, model_choices
from s2mask.cli import build_parser
from s2mask.cli.options import options_table, parameters_from_args
from s2mask.compute import DEVICES, PRECISIONS
from s2mask.errors import ParameterError
from s2mask.params import ProcessingParameters, parameter_fields, performance_fields

from helpers import REPO


def choices(name):
    return next(item for item in parameter_fields() if item.name == name).metadata["choices"]


def test_choices_come_from_their_owners():
    assert choices("resolution") == RESOLUTIONS
    assert choices("device") == DEVICES
    assert choices("precision") == PRECISIONS
    shipped = {item["architecture"].lower() for item in weights.entries("mask")}
    assert set(choices("model")) == set(FIXED_MODELS) | shipped
    assert choices("model") == model_choices()


def test_a_family_without_shipped_weights_is_no_choice():
    shipped = {item["architecture"].lower() for item in weights.entries("mask")}
    for family in {"cnn1d", "cnn3d"} - shipped:
        with pytest.raises(ParameterError, match="model must be one of"):
            ProcessingParameters(model=family)


def test_performance_fields_are_the_ones_batch_may_change_without_redoing_a_product():
    assert performance_fields() == ("block_size", "device", "threads")


def test_the_readme_option_table_is_the_generated_one():
    assert options_table() in (REPO / "README.md").read_text(encoding="utf-8"), (
        "regenerate the README's table with s2mask.cli.options.options_table()")


def test_every_entry_point_names_an_unknown_parameter(tmp_path):
    from s2mask.pipeline import run

    for call in (lambda: run(tmp_path / "x.SAFE", tmp_path, ProcessingParameters(), resolutoin=20),
                 lambda: run(tmp_path / "x.SAFE", tmp_path, resolutoin=20)):
        with pytest.raises(ParameterError, match="unknown parameter.*resolutoin"):
            call()


def test_from_mapping_parses_strings_over_a_base():
    base = ProcessingParameters(model="physics", threads=2)
    params = ProcessingParameters.from_mapping({"resolution": "60", "outputs": "cog, report"}, base=base)
    assert (params.resolution, params.outputs, params.model, params.threads) == (60, ("cog", "report"), "physics", 2)
    with pytest.raises(ParameterError, match="resolution must be one of 10, 20, 60"):
        ProcessingParameters.from_mapping({"resolution": "30"}, base=base)


def test_the_command_line_and_classify_validate_like_the_parameters():
    args = build_parser().parse_args(["run", "x.SAFE", "--resolution", "60", "--no-super-resolution"])
    assert parameters_from_args(args) == ProcessingParameters(resolution=60)
    with pytest.raises(ParameterError, match="precision must be one of"):
        parameters_from_args(build_parser().parse_args(["run", "x.SAFE", "--precision", "float16"]))
    from s2mask.api import classify

    bands = {band: np.full((8, 8), 0.1, np.float32) for band in ("B2", "B3", "B4", "B8", "B11", "B12")}
    with pytest.raises(ParameterError, match="device must be one of"):
        classify(bands, model="physics", device="tpu")
