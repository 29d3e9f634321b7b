"""``s2mask snap-package`` builds an NBM of the layout of shared/snap.md 2.4 whose jar SNAP can load, and
``s2mask snap-install`` puts the module where PyOperatorSpi looks (a temporary HOME stands in for ~)."""

import io
import sys
import zipfile

import pytest
from lxml import etree
from snapstub import fake_esa_snappy

from s2mask.cli import main
from s2mask.snap.descriptor import descriptor_bytes

from helpers import REPO

PLUGIN = REPO / "snap_plugin"
SERVICE = "META-INF/services/eu.esa.snap.snappy.gpf.PyOperatorSpi"
JAR = "netbeans/modules/eu-s2mask-snap.jar"


def manifest(data: bytes) -> dict[str, str]:
    """Headers of a JAR manifest, continuation lines joined."""
    lines = data.split(b"\r\n")
    assert all(len(line) <= 72 for line in lines)
    joined: list[bytes] = []
    for line in lines:
        if line.startswith(b" "):
            joined[-1] += line[1:]
        elif line:
            joined.append(line)
    return dict(line.decode().split(": ", 1) for line in joined)


@pytest.fixture(scope="module")
def nbm(tmp_path_factory):
    path = tmp_path_factory.mktemp("nbm") / "s2mask.nbm"
    assert main(["snap-package", "--output", str(path)]) == 0
    return path


def test_nbm_layout(nbm):
    with zipfile.ZipFile(nbm) as archive:
        assert sorted(archive.namelist()) == ["Info/info.xml", "netbeans/config/Modules/eu-s2mask-snap.xml", JAR]
        info = etree.fromstring(archive.read("Info/info.xml"))
        config = etree.fromstring(archive.read("netbeans/config/Modules/eu-s2mask-snap.xml"))
        jar = archive.read(JAR)
    assert info.tag == "module" and info.get("codenamebase") == "eu.s2mask.snap"
    assert info.get("downloadsize") == str(len(jar))
    assert info.find("manifest").get("OpenIDE-Module") == "eu.s2mask.snap"
    assert config.get("name") == "eu.s2mask.snap"
    params = {p.get("name"): p.text for p in config.iterfind("param")}
    assert params["jar"] == "modules/eu-s2mask-snap.jar" and params["enabled"] == "true"


def test_module_jar_holds_manifest_layer_and_python_module(nbm):
    with zipfile.ZipFile(nbm) as archive, zipfile.ZipFile(io.BytesIO(archive.read(JAR))) as jar:
        names = jar.namelist()
        headers = manifest(jar.read("META-INF/MANIFEST.MF"))
        assert names[0] == "META-INF/MANIFEST.MF"
        assert set(names) == {"META-INF/MANIFEST.MF", "layer.xml", "s2mask_op.py", "s2mask_op-info.xml", SERVICE}
        assert jar.read("s2mask_op.py") == (PLUGIN / "s2mask_op.py").read_bytes()
        assert jar.read("layer.xml") == (PLUGIN / "layer.xml").read_bytes()
        assert jar.read("s2mask_op-info.xml") == descriptor_bytes()
        assert jar.read(SERVICE).decode().split() == ["s2mask_op.S2MaskOp"]
    assert headers["OpenIDE-Module-Layer"] == "layer.xml"
    assert headers["OpenIDE-Module"] == "eu.s2mask.snap" and headers["Manifest-Version"] == "1.0"
    assert headers["OpenIDE-Module-Specification-Version"].replace(".", "").isdigit()
    assert headers["OpenIDE-Module-Short-Description"].endswith("operator S2Mask.")  # a header longer than 72 bytes


def test_python_imports_the_operator_from_the_jar(nbm, tmp_path, monkeypatch):
    """PyOperatorSpi puts a jar root on sys.path; Python then imports the module through zipimport."""
    jar = tmp_path / "module.jar"
    with zipfile.ZipFile(nbm) as archive:
        jar.write_bytes(archive.read(JAR))
    monkeypatch.setitem(sys.modules, "esa_snappy", fake_esa_snappy())
    monkeypatch.delitem(sys.modules, "s2mask_op", raising=False)
    monkeypatch.syspath_prepend(str(jar))
    import s2mask_op

    assert s2mask_op.__file__.startswith(str(jar)) and callable(s2mask_op.S2MaskOp().dispose)
    monkeypatch.delitem(sys.modules, "s2mask_op")


def test_builds_are_reproducible(nbm, tmp_path):
    again = tmp_path / "again.nbm"
    assert main(["snap-package", "-o", str(again)]) == 0
    assert again.read_bytes() == nbm.read_bytes()


def test_descriptor_option_writes_the_generated_descriptor(tmp_path, capsys):
    assert main(["snap-package", "--descriptor", str(tmp_path / "op-info.xml")]) == 0
    assert (tmp_path / "op-info.xml").read_bytes() == descriptor_bytes()


def test_snap_install_into_the_snap_python_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert main(["snap-install"]) == 0
    module = tmp_path / ".snap" / "snap-python" / "s2mask"
    assert sorted(str(p.relative_to(module)) for p in module.rglob("*") if p.is_file()) == [
        SERVICE, "s2mask_op-info.xml", "s2mask_op.py"]
    assert (module / "s2mask_op.py").read_bytes() == (PLUGIN / "s2mask_op.py").read_bytes()
    assert (module / SERVICE).read_text().split() == ["s2mask_op.S2MaskOp"]
    out = capsys.readouterr().out
    assert f"esa_snappy_conf\" {sys.executable}" in out and str(module) in out
    assert "pythonExtraPaths" not in out


def test_snap_install_never_replaces_silently(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert main(["snap-install"]) == 0
    marker = tmp_path / ".snap" / "snap-python" / "s2mask" / "s2mask_op.py"
    marker.write_text("# edited by hand\n")
    assert main(["snap-install"]) == 1
    assert "--force" in capsys.readouterr().err and marker.read_text() == "# edited by hand\n"
    assert main(["snap-install", "--force"]) == 0
    assert marker.read_bytes() == (PLUGIN / "s2mask_op.py").read_bytes()
    assert [p.name for p in marker.parent.parent.iterdir()] == ["s2mask"]  # no staging folder left behind


def test_snap_install_into_an_extra_paths_folder(tmp_path, capsys):
    assert main(["snap-install", "--target", str(tmp_path / "extra")]) == 0
    assert (tmp_path / "extra" / "s2mask" / SERVICE).is_file()
    assert f"snap.pythonExtraPaths={tmp_path / 'extra'}" in capsys.readouterr().out
