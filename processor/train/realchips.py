"""Real 4-band chips of the On Cloud N kind (L2A, B2 B3 B4 B8, 512 x 512 px at 10 m), with and without
human cloud labels.

- :func:`oncloudn_labelled`: two challenge chips with human-verified cloud labels at 10 m;
- :func:`course_chips`: five chips of the same kind, their cloud labels nearest-downsampled to 20 m;
- :func:`oncloudn_unlabelled`: five chips without labels (real cloudy imagery to train on);
- :func:`with_imputed_swir`: labelled chips given B11 and B12 from the nearest real spectra, so that
  the 6-band networks can be scored on human labels (no 6-band chip with human labels exists).

The labelled chips are for selection and evaluation only: they never train a network
(bench/real.py). :class:`LabelledChip` scores a class map against its labels on the labels' own grid.
Sun angles are not stored with the chips; where the acquisition date is known (the unlabelled ones)
they are computed for Sentinel-2's 10:30 local solar overpass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from osgeo import gdal, osr

from ..classes import MaskClass
from .realdata import RealScene, data_folder, dn_to_reflectance, read_raster, solar_angles

#: The chips' bands and their file ids.
CHIP_BANDS: dict[str, str] = {"B2": "B02", "B3": "B03", "B4": "B04", "B8": "B08"}
#: Acquisition dates of the unlabelled chips (their source's README).
UNLABELLED_DATES: dict[str, str] = {"adwp": "2020-04-29", "adwu": "2020-04-29", "adwz": "2020-04-29",
                                    "adxp": "2020-04-29", "akny": "2020-09-10"}
#: Local mean solar time of Sentinel-2's descending node, hours.
OVERPASS_SOLAR_HOURS = 10.5
CLOUD_CLASSES = (MaskClass.CLOUD, MaskClass.THIN_CLOUD)
#: Label value of pixels that are not scored.
NO_LABEL = 255


@dataclass
class LabelledChip:
    """A real chip with a cloud label: ``cloud`` is 1 (cloud) / 0 (clear) / :data:`NO_LABEL` (not
    scored) on a grid of ``label_resolution`` metres that shares the chip's origin. References that
    know cloud shadows too (:mod:`s2mask.train.references`) give ``shadow``, True where a clear pixel
    of ``cloud`` is shadowed."""

    scene: RealScene
    cloud: np.ndarray
    label_resolution: float
    shadow: np.ndarray | None = None

    @property
    def name(self) -> str:
        return self.scene.name

    def on_label_grid(self, classes: np.ndarray) -> np.ndarray:
        """``classes`` of the chip's grid sampled onto the label grid the way the labels were made
        (nearest neighbour, the first pixel of each block)."""
        step = int(round(self.label_resolution / self.scene.resolution))
        return classes[::step, ::step] if step > 1 else classes

    def confusion(self, classes: np.ndarray) -> np.ndarray:
        """Counts, rows the label, columns the prediction, over the labelled pixels the prediction has
        data for: 2 x 2 (clear, cloud; CLOUD + THIN_CLOUD as cloud) or, with ``shadow``, 3 x 3 (clear,
        cloud, shadow)."""
        sampled = self.on_label_grid(classes)
        valid = (sampled != MaskClass.NO_DATA) & (self.cloud != NO_LABEL)
        label = self.cloud.astype(np.int64)
        predicted = np.isin(sampled, CLOUD_CLASSES).astype(np.int64)
        size = 2
        if self.shadow is not None:
            size = 3
            label = np.where(self.shadow & (label == 0), 2, label)
            predicted[sampled == MaskClass.CLOUD_SHADOW] = 2
        return np.bincount(size * label[valid] + predicted[valid], minlength=size * size).reshape(size, size)


def _chip_bands(folder: Path) -> tuple[dict[str, np.ndarray], gdal.Dataset]:
    bands = {name: dn_to_reflectance(read_raster(folder / f"{file_id}.tif")) for name, file_id in CHIP_BANDS.items()}
    return bands, gdal.Open(str(folder / "B02.tif"))


def _centre_lat_lon(dataset: gdal.Dataset) -> tuple[float, float]:
    x0, dx, _, y0, _, dy = dataset.GetGeoTransform()
    source = osr.SpatialReference(wkt=dataset.GetProjection())
    wgs84 = osr.SpatialReference()
    wgs84.ImportFromEPSG(4326)
    wgs84.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    lon, lat, _ = osr.CoordinateTransformation(source, wgs84).TransformPoint(
        x0 + dx * dataset.RasterXSize / 2, y0 + dy * dataset.RasterYSize / 2)
    return lat, lon


def overpass_sun_angles(date: str, latitude: float, longitude: float) -> tuple[float, float]:
    """Sun zenith and azimuth (degrees) at Sentinel-2's 10:30 local solar overpass on ``date``."""
    midnight = datetime.fromisoformat(date).replace(tzinfo=UTC)
    return solar_angles(midnight + timedelta(hours=OVERPASS_SOLAR_HOURS - longitude / 15), latitude, longitude)


def oncloudn_unlabelled() -> list[RealScene]:
    """The five unlabelled On Cloud N chips (L2A, 10 m), with overpass sun angles from their dates."""
    scenes = []
    for folder in sorted(p for p in data_folder("real/oncloudn_unlabelled").iterdir() if p.is_dir()):
        bands, dataset = _chip_bands(folder)
        zenith, azimuth = overpass_sun_angles(UNLABELLED_DATES[folder.name], *_centre_lat_lon(dataset))
        scenes.append(RealScene(f"oncloudn_{folder.name}", "L2A", 10.0, bands, sun_zenith=zenith,
                                sun_azimuth=azimuth, note="On Cloud N chip without labels"))
    return scenes


def oncloudn_labelled() -> list[LabelledChip]:
    """The two On Cloud N chips with human cloud labels at 10 m (sun angles unknown)."""
    chips = []
    for folder in sorted(p for p in data_folder("real/oncloudn_labelled").iterdir() if p.is_dir()):
        bands, _ = _chip_bands(folder)
        label = read_raster(folder / "label.tif").astype(np.uint8)
        chips.append(LabelledChip(RealScene(f"oncloudn_{folder.name}", "L2A", 10.0, bands,
                                            note="On Cloud N chip, human cloud label"), label, 10.0))
    return chips


def course_chips() -> list[LabelledChip]:
    """The five course-competition chips (L2A-like, 10 m) with their cloud labels at 20 m."""
    folder = data_folder("real/course_chips")
    chips = []
    for path in sorted((folder / "images").glob("*.tif")):
        stack = read_raster(path)
        bands = {name: dn_to_reflectance(stack[index]) for index, name in enumerate(CHIP_BANDS)}
        label = read_raster(folder / "labels_20m" / f"{path.stem}_label_256.tif").astype(np.uint8)
        chips.append(LabelledChip(RealScene(f"course_{path.stem}", "L2A", 10.0, bands,
                                            note="course chip, cloud label at 20 m"), label, 20.0))
    return chips


def labelled_chips() -> list[LabelledChip]:
    """Every chip with a human cloud label: On Cloud N's two, then the course's five."""
    return oncloudn_labelled() + course_chips()


#: Pixels drawn from each library scene of :func:`swir_library` (seeded).
LIBRARY_PIXELS = 20_000
#: Neighbours whose SWIR is averaged by :func:`with_imputed_swir`.
SWIR_NEIGHBOURS = 8


def swir_library() -> tuple[np.ndarray, np.ndarray]:
    """Real L2A spectra, B2 B3 B4 B8 (n, 4) and B11 B12 (n, 2): DEA's series (30 dates, 12 under cloud,
    and its clear scene) and BigEarthNet's patches (one under snow), :data:`LIBRARY_PIXELS` from each."""
    from .realdata import bigearthnet, dea_wright

    rng = np.random.default_rng(0)
    visible, swir = [], []
    for scene in dea_wright() + bigearthnet(20):
        x = np.stack([scene.bands[band].ravel() for band in CHIP_BANDS], axis=1)
        y = np.stack([scene.bands[band].ravel() for band in ("B11", "B12")], axis=1)
        finite = np.flatnonzero(np.isfinite(x).all(axis=1) & np.isfinite(y).all(axis=1))
        drawn = rng.choice(finite, min(finite.size, LIBRARY_PIXELS), replace=False)
        visible.append(x[drawn])
        swir.append(y[drawn])
    return np.concatenate(visible), np.concatenate(swir)


def with_imputed_swir(chips: list[LabelledChip]) -> list[LabelledChip]:
    """``chips`` (L2A, B2 B3 B4 B8) with B11 and B12 added: the mean SWIR of the
    :data:`SWIR_NEIGHBOURS` real spectra of :func:`swir_library` nearest in B2 B3 B4 B8. A proxy: cloud
    edges and haze keep their visible and NIR reflectance, but a network leaning on SWIR is judged on
    what those neighbours had (their clouds, soils and snow)."""
    from dataclasses import replace

    from scipy.spatial import cKDTree

    visible, swir = swir_library()
    tree = cKDTree(visible)
    imputed = []
    for chip in chips:
        shape = chip.scene.bands["B2"].shape
        x = np.stack([np.nan_to_num(chip.scene.bands[band]).ravel() for band in CHIP_BANDS], axis=1)
        _, nearest = tree.query(x, k=SWIR_NEIGHBOURS)
        mean = swir[nearest].mean(axis=1, dtype=np.float32)
        bands = {**chip.scene.bands, "B11": mean[:, 0].reshape(shape), "B12": mean[:, 1].reshape(shape)}
        scene = replace(chip.scene, bands=bands, note=chip.scene.note + "; B11 B12 imputed from real spectra")
        imputed.append(replace(chip, scene=scene))
    return imputed
