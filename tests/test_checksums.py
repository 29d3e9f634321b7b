"""--verify: the files s2mask reads against the checksums of manifest.safe (MD5 or SHA3-256)."""

from __future__ import annotations

import hashlib
import re
import shutil

import pytest

from s2mask.errors import ProductFormatError, ProductIOError
from s2mask.io.checksums import manifest_checksums
from s2mask.io.location import SafeLocation
from s2mask.io.safe import open_product


@pytest.fixture
def product_copy(product_factory, tmp_path):
    source = product_factory("L1C", "05.10")
    shutil.copytree(source, tmp_path / source.name)
    return tmp_path / source.name


def as_sha3(product):
    """Rewrite the product's manifest.safe with SHA3-256 checksums, as newer ESA products have them."""
    manifest = product / "manifest.safe"

    def sha3(match):
        relative = match.group(1)
        digest = hashlib.sha3_256((product / relative).read_bytes()).hexdigest()
        return f'{match.group(0).split("<checksum")[0]}<checksum checksumName="SHA3-256">{digest}</checksum>'

    text = re.sub(r'href="\./([^"]+)"[^>]*/>\s*<checksum checksumName="MD5">[0-9A-F]+</checksum>', sha3,
                  manifest.read_text())
    manifest.write_text(text)


def test_an_intact_product_verifies_with_md5_and_sha3(product_copy):
    assert {algorithm for algorithm, _ in manifest_checksums(SafeLocation.find(product_copy)).values()} == {"MD5"}
    open_product(product_copy, verify=True)
    as_sha3(product_copy)
    assert {algorithm for algorithm, _ in manifest_checksums(SafeLocation.find(product_copy)).values()} == {
        "SHA3-256"}
    open_product(product_copy, verify=True)


def test_a_changed_byte_is_found(product_copy):
    as_sha3(product_copy)
    band = next(product_copy.glob("GRANULE/*/IMG_DATA/*_B11.jp2"))
    data = bytearray(band.read_bytes())
    data[len(data) // 2] ^= 1
    band.write_bytes(bytes(data))
    open_product(product_copy)  # without --verify the damage goes unseen: JPEG 2000 has no checksum
    with pytest.raises(ProductIOError, match=r"_B11\.jp2: the file is damaged: its SHA3-256 is"):
        open_product(product_copy, verify=True)


def test_a_product_without_manifest_or_with_files_it_does_not_list(product_copy):
    manifest = product_copy / "manifest.safe"
    text = manifest.read_text()
    manifest.write_text(re.sub(r'<dataObject ID="[^"]*_B03">.*?</dataObject>', "", text, flags=re.S))
    with pytest.raises(ProductFormatError, match=r"_B03\.jp2: manifest.safe lists no checksum"):
        open_product(product_copy, verify=True)
    manifest.unlink()
    with pytest.raises(ProductFormatError, match="manifest.safe, which is missing"):
        open_product(product_copy, verify=True)


def test_real_manifests_list_their_files(real_data):
    for manifest in sorted((real_data / "metadata").glob("*.SAFE/manifest.safe")):
        listed = manifest_checksums(SafeLocation.find(manifest.parent / next(
            name for name in ("MTD_MSIL1C.xml", "MTD_MSIL2A.xml") if (manifest.parent / name).exists())))
        assert any(path.endswith("MTD_TL.xml") for path in listed), manifest
        assert {algorithm for algorithm, _ in listed.values()} <= {"MD5", "SHA3-256"}, manifest
