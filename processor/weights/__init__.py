"""The registry of shipped weights: one JSON file describing every committed ``.pt`` file.

Each entry records what a network needs to be used correctly and what it was trained on:
``name``, ``kind`` ("mask" or "superres"), ``file``, ``sha256``, ``architecture`` and its keyword
arguments, ``bands`` (input order), ``resolution``, ``normalisation``, ``classes`` or output bands,
``training`` (command, data, seed, epochs) and ``metrics``. Tests check that every entry matches its
file and its network; ``python bench/mask.py report`` writes the README's table from it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..errors import ModelError

WEIGHTS_DIR = Path(__file__).resolve().parent
REGISTRY_FILE = WEIGHTS_DIR / "registry.json"


def load_registry() -> list[dict[str, Any]]:
    """Every registered weight, in file order (an empty list before any is registered)."""
    if not REGISTRY_FILE.exists():
        return []
    return json.loads(REGISTRY_FILE.read_text(encoding="utf-8"))


def entry(name: str) -> dict[str, Any]:
    """The registry entry called ``name``."""
    for item in load_registry():
        if item["name"] == name:
            return item
    known = ", ".join(item["name"] for item in load_registry()) or "none"
    raise ModelError(f"no shipped weights named {name!r} (known: {known})")


def entries(kind: str) -> list[dict[str, Any]]:
    return [item for item in load_registry() if item["kind"] == kind]


def family(item: dict[str, Any]) -> str:
    """The network family of a mask entry, the name users choose it by: its architecture in lower case
    (``CNN2D`` -> ``cnn2d``)."""
    return item["architecture"].lower()


def mask_families() -> tuple[str, ...]:
    """The families of the shipped mask networks, in registry order: a family without weights is no choice."""
    return tuple(dict.fromkeys(family(item) for item in entries("mask")))


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def weight_file(item: dict[str, Any], verify: bool = True) -> Path:
    """The path of an entry's ``.pt`` file, checked against its recorded sha256."""
    path = WEIGHTS_DIR / item["file"]
    if not path.exists():
        raise ModelError(f"weights file of {item['name']!r} is missing", path)
    if verify and sha256(path) != item["sha256"]:
        raise ModelError(f"weights file of {item['name']!r} does not match its recorded sha256", path)
    return path


def load_into(network: Any, path: Path, name: str) -> Any:
    """``network`` (a torch module) holding the weights stored in ``path``, those of entry ``name``; a
    :class:`ModelError` naming them when the file cannot be read or does not fit the network."""
    import torch

    try:
        network.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    except (RuntimeError, OSError, ValueError) as err:
        raise ModelError(f"cannot load weights {name!r}: {str(err).splitlines()[0]}", path) from err
    return network


def register(item: dict[str, Any]) -> None:
    """Add or replace an entry (by name), filling in the file's sha256. Used by the trainers."""
    item = dict(item)
    item["sha256"] = sha256(WEIGHTS_DIR / item["file"])
    items = [existing for existing in load_registry() if existing["name"] != item["name"]]
    items.append(item)
    items.sort(key=lambda e: (e["kind"], e["name"]))
    REGISTRY_FILE.write_text(json.dumps(items, indent=2, sort_keys=True) + "\n", encoding="utf-8")
