"""Where the SNAP module's files live, and what a SNAP Python module folder holds.

The files are kept in ``snap_plugin/`` of the repository; an installed distribution carries them as
``s2mask/snap_plugin/`` (setup.py maps the folder there). A Python operator module root holds the
``.py``, its ``-info.xml`` and ``META-INF/services/eu.esa.snap.snappy.gpf.PyOperatorSpi`` naming
``module.Class`` (shared/snap.md sections 2.1 and 2.4 B).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import S2MaskError
from .descriptor import descriptor_bytes

OPERATOR_MODULE = "s2mask_op"
OPERATOR_CLASS_NAME = "S2MaskOp"
SERVICE_FILE = "META-INF/services/eu.esa.snap.snappy.gpf.PyOperatorSpi"
DESCRIPTOR_FILE = f"{OPERATOR_MODULE}-info.xml"
LAYER_FILE = "layer.xml"
#: The sub-folder of ``~/.snap/snap-python`` (or of a ``snap.pythonExtraPaths`` entry) that holds the module.
MODULE_FOLDER = "s2mask"

_PACKAGE = Path(__file__).resolve().parents[1]


def plugin_dir() -> Path:
    """The ``snap_plugin`` folder: inside the installed package, else beside ``processor/`` in a checkout."""
    for candidate in (_PACKAGE / "snap_plugin", _PACKAGE.parent / "snap_plugin"):
        if (candidate / f"{OPERATOR_MODULE}.py").is_file():
            return candidate
    raise S2MaskError(f"the SNAP plugin files (snap_plugin/{OPERATOR_MODULE}.py) are not installed with s2mask")


def module_files() -> dict[str, bytes]:
    """The files of the Python operator module by path relative to the module root; the descriptor is
    generated from ProcessingParameters so an installed module always agrees with this s2mask."""
    root = plugin_dir()
    return {
        f"{OPERATOR_MODULE}.py": (root / f"{OPERATOR_MODULE}.py").read_bytes(),
        DESCRIPTOR_FILE: descriptor_bytes(),
        SERVICE_FILE: f"{OPERATOR_MODULE}.{OPERATOR_CLASS_NAME}\n".encode(),
    }


def layer_bytes() -> bytes:
    """The NetBeans layer (menu entry) of SNAP Desktop."""
    return (plugin_dir() / LAYER_FILE).read_bytes()
