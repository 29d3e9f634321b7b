"""The completion record and --verify for products that are not SAFE: a batch may skip an EOPF Zarr or STAC
product only while its source is unchanged, and --verify (manifest.safe checksums) refuses them in one line."""

from pathlib import Path

import pytest

from s2mask.batch.task import completed_report
from s2mask.errors import ParameterError
from s2mask.io.formats import open_product
from s2mask.params import ProcessingParameters
from s2mask.pipeline import run
from s2mask.sim.eopf import write_eopf
from s2mask.sim.stac import write_stac

from helpers import small_scene

PARAMS = ProcessingParameters(model="physics", outputs=("cog", "report"))


def _written(kind: str, folder: Path) -> Path:
    if kind == "EOPF Zarr":
        return write_eopf(small_scene(), folder, level="L1C", baseline="05.11")
    return write_stac(small_scene(), folder, level="L2A", baseline="05.11", style="earth-search-c1")


def _first_band_file(kind: str, product_path: Path) -> Path:
    product = open_product(product_path)
    relative = product.files_read()[0]
    if kind == "EOPF Zarr":
        return next(path for path in sorted((product_path / relative).rglob("*")) if path.is_file()
                    and not path.name.startswith("."))
    return Path(product.location.href(relative))


@pytest.mark.parametrize("kind", ["EOPF Zarr", "STAC"])
def test_a_completed_product_is_skipped_until_its_source_changes(tmp_path, kind):
    path = _written(kind, tmp_path / "in")
    run(path, tmp_path / "out", PARAMS)
    assert completed_report(tmp_path / "out", open_product(path), PARAMS) is not None
    with open(_first_band_file(kind, path), "ab") as band:
        band.write(b"\0" * 16)
    assert completed_report(tmp_path / "out", open_product(path), PARAMS) is None


@pytest.mark.parametrize("kind", ["EOPF Zarr", "STAC"])
def test_verify_is_refused_for_products_without_manifest(tmp_path, kind):
    path = _written(kind, tmp_path / "in")
    with pytest.raises(ParameterError, match="manifest.safe"):
        open_product(path, verify=True)
    with pytest.raises(ParameterError, match="manifest.safe"):
        run(path, tmp_path / "out", PARAMS, verify=True)
    assert not (tmp_path / "out").exists()
