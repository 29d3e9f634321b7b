"""Build the ``.nbm`` that SNAP Desktop's plugin manager installs (Tools > Plugins > Downloaded > Add Plugins).

An NBM is a zip holding ``Info/info.xml`` (the module's update-centre description),
``netbeans/modules/<code-name-with-dashes>.jar`` and ``netbeans/config/Modules/<...>.xml`` (its enable
state). The jar is the Python operator module root (``PyOperatorSpi`` finds the service file on the
class path and imports the ``.py`` from the jar) plus ``layer.xml`` for the menu entry, named by the
manifest's ``OpenIDE-Module-Layer`` (shared/snap.md sections 2.1, 2.3, 2.4). Everything is written with
:mod:`zipfile` and fixed timestamps, so the same sources give the same bytes.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from lxml import etree

from .. import __version__
from ..errors import OutputError
from ..io.atomic import output_errors
from .layout import LAYER_FILE, layer_bytes, module_files

CODE_NAME = "eu.s2mask.snap"
JAR_NAME = CODE_NAME.replace(".", "-") + ".jar"
DISPLAY_NAME = "S2Mask cloud mask (s2mask)"
CATEGORY = "SNAP"
SHORT_DESCRIPTION = "Sentinel-2 cloud, cloud-shadow, snow and water mask (s2mask) as the GPF operator S2Mask."
_TIMESTAMP = (2024, 1, 1, 0, 0, 0)
_MANIFEST_WIDTH = 72


def specification_version(version: str = __version__) -> str:
    """NetBeans wants a dotted number as specification version: "0.1.0.dev2" -> "0.1.0"."""
    match = re.match(r"\d+(\.\d+)*", version)
    return match.group(0) if match else "0.0"


def manifest_headers() -> dict[str, str]:
    return {
        "Manifest-Version": "1.0",
        "OpenIDE-Module": CODE_NAME,
        "OpenIDE-Module-Specification-Version": specification_version(),
        "OpenIDE-Module-Implementation-Version": __version__,
        "OpenIDE-Module-Name": DISPLAY_NAME,
        "OpenIDE-Module-Short-Description": SHORT_DESCRIPTION,
        "OpenIDE-Module-Display-Category": CATEGORY,
        "OpenIDE-Module-Layer": LAYER_FILE,
    }


def manifest_bytes(headers: dict[str, str]) -> bytes:
    """A JAR manifest: ``Name: value`` lines of at most 72 bytes, continued on lines starting with a space
    (Java joins the bytes before decoding, so a split may fall anywhere)."""
    lines = []
    for name, value in headers.items():
        rest = f"{name}: {value}".encode()
        lines.append(rest[:_MANIFEST_WIDTH])
        rest = rest[_MANIFEST_WIDTH:]
        while rest:
            lines.append(b" " + rest[:_MANIFEST_WIDTH - 1])
            rest = rest[_MANIFEST_WIDTH - 1:]
    return b"".join(line + b"\r\n" for line in lines) + b"\r\n"


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=_TIMESTAMP), data, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def jar_bytes() -> bytes:
    """The module jar: manifest first (as the JAR format expects), then the layer and the operator module."""
    return _zip({"META-INF/MANIFEST.MF": manifest_bytes(manifest_headers()),
                 LAYER_FILE: layer_bytes(), **module_files()})


def _xml(root: etree._Element, doctype: str) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True, doctype=doctype)


def info_xml(download_size: int) -> bytes:
    """``Info/info.xml``: what the plugin manager shows before installing."""
    module = etree.Element("module", codenamebase=CODE_NAME, distribution="", downloadsize=str(download_size),
                           homepage="", license="Apache-2.0", moduleauthor="s2mask contributors",
                           needsrestart="true", releasedate="2024/01/01")
    headers = manifest_headers()
    etree.SubElement(module, "manifest", {
        "AutoUpdate-Show-In-Client": "true",
        **{key: headers[key] for key in ("OpenIDE-Module", "OpenIDE-Module-Display-Category",
                                         "OpenIDE-Module-Implementation-Version", "OpenIDE-Module-Name",
                                         "OpenIDE-Module-Short-Description", "OpenIDE-Module-Specification-Version")},
    })
    licence = etree.SubElement(module, "license", name="Apache-2.0")
    licence.text = "Apache License, Version 2.0: https://www.apache.org/licenses/LICENSE-2.0"
    return _xml(module, '<!DOCTYPE module PUBLIC "-//NetBeans//DTD Autoupdate Module Info 2.5//EN" '
                        '"http://www.netbeans.org/dtds/autoupdate-info-2_5.dtd">')


def module_config_xml() -> bytes:
    """``netbeans/config/Modules/<code-name>.xml``: install the module enabled, not autoload, not eager."""
    module = etree.Element("module", name=CODE_NAME)
    for name, value in (("autoload", "false"), ("eager", "false"), ("enabled", "true"),
                        ("jar", f"modules/{JAR_NAME}"), ("reloadable", "false")):
        etree.SubElement(module, "param", name=name).text = value
    return _xml(module, '<!DOCTYPE module PUBLIC "-//NetBeans//DTD Module Status 1.0//EN" '
                        '"http://www.netbeans.org/dtds/module-status-1_0.dtd">')


def nbm_entries() -> dict[str, bytes]:
    jar = jar_bytes()
    return {"Info/info.xml": info_xml(len(jar)),
            f"netbeans/modules/{JAR_NAME}": jar,
            f"netbeans/config/Modules/{JAR_NAME.removesuffix('.jar')}.xml": module_config_xml()}


def build_nbm(path: str | Path) -> Path:
    """Write the NBM to ``path`` (complete or not at all); returns the path."""
    path = Path(path)
    if path.is_dir():
        raise OutputError("is a folder; give the .nbm file to write", path)
    data = _zip(nbm_entries())
    partial = path.with_name(f".{path.name}.partial")
    with output_errors(path):
        try:
            partial.write_bytes(data)
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)
    return path
