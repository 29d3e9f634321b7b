"""Install the S2Mask operator where gpt and SNAP find Python operators, without SNAP's plugin manager.

SNAP's ``PyOperatorSpi`` scans every immediate sub-folder of ``~/.snap/snap-python/`` and of each folder
listed in the ``snap.pythonExtraPaths`` property for ``META-INF/services/eu.esa.snap.snappy.gpf.PyOperatorSpi``
(shared/snap.md section 2.1). The module goes to ``<root>/s2mask/``; an existing one is replaced only
when asked. The files are written into a fresh folder first, then moved into place.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from ..errors import OutputError
from ..io.atomic import output_errors
from .layout import MODULE_FOLDER, module_files


def snap_python_dir(home: Path | None = None) -> Path:
    """``~/.snap/snap-python``: SNAP's Python configuration folder (``PyBridge.PYTHON_CONFIG_DIR``)."""
    return (home or Path.home()) / ".snap" / "snap-python"


def install_module(root: Path | None = None, *, force: bool = False) -> Path:
    """Write the operator module into ``root/s2mask`` (default root: :func:`snap_python_dir`); returns it.

    An existing ``s2mask`` folder there raises :class:`OutputError` unless ``force`` is set.
    """
    root = Path(root) if root is not None else snap_python_dir()
    destination = root / MODULE_FOLDER
    if destination.exists() and not force:
        raise OutputError("an S2Mask module is already installed here; add --force to replace it", destination)
    files = module_files()
    with output_errors(destination, "cannot install the S2Mask module"):
        root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{MODULE_FOLDER}-", dir=root))
        try:
            for relative, data in files.items():
                path = staging / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            if destination.exists():
                shutil.rmtree(destination)
            staging.rename(destination)
        finally:
            if staging.exists():
                shutil.rmtree(staging)
    return destination


def next_steps(destination: Path, extra_path: bool, python: str = sys.executable) -> str:
    """What the user still has to do so SNAP runs the operator with this Python."""
    lines = [f"S2Mask operator module installed in {destination}", "",
             "Remaining step: point SNAP's Python bridge at the Python that has s2mask installed:",
             f'  "$SNAP_HOME/bin/esa_snappy_conf" {python}']
    if extra_path:
        lines += ["", "This folder is not scanned by default: add its parent to snap.pythonExtraPaths, either",
                  f"  in ~/.snap/etc/snap.properties:  snap.pythonExtraPaths = {destination.parent}",
                  f"  or per run:                      gpt -Dsnap.pythonExtraPaths={destination.parent} ..."]
    lines += ["", "Then check with:  gpt S2Mask -h"]
    return "\n".join(lines)
