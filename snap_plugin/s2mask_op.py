"""S2Mask: the s2mask cloud mask as a SNAP GPF operator, run by esa_snappy's ``PyOperator``.

A thin adapter: it turns GPF's context, products and tiles into the arrays of ``s2mask.snap`` and back.
The source may be the multi-size product of SNAP's Sentinel-2 reader (every band read on its own grid
and brought onto the mask grid exactly as ``s2mask run`` does) or a product resampled to one grid
(S2Resampling). The target holds the uint8 band ``s2mask_class`` with an IndexCoding, a palette and one
mask per class, and optionally ``prob_<class>`` bands; geocoding and time come from the source.

Python tile calls are serialised by PyOperator, so the target asks for large tiles (``blockSize``).
"""

import numpy as np
from esa_snappy import Product, ProductData, ProductUtils, jpy

from s2mask.bands import ALL_BANDS
from s2mask.classes import CLASS_TABLE
from s2mask.errors import ParameterError
from s2mask.grid import Window
from s2mask.io.dimap import CLASS_BAND, MASK_TRANSPARENCY, mask_name, probability_band
from s2mask.io.geotiff import PROBABILITY_NODATA
from s2mask.masking import TileGeometry
from s2mask.snap.descriptor import PROBABILITY_BANDS, SOURCE_NAME, processing_parameters, snap_parameters
from s2mask.snap.engine import TileComputer
from s2mask.snap.source import ANGLE_BANDS, GridSource, Raster, level_of

Color = jpy.get_type("java.awt.Color")
Rectangle = jpy.get_type("java.awt.Rectangle")
IndexCoding = jpy.get_type("org.esa.snap.core.datamodel.IndexCoding")
ColorPaletteDef = jpy.get_type("org.esa.snap.core.datamodel.ColorPaletteDef")
PALETTE_POINT = "org.esa.snap.core.datamodel.ColorPaletteDef$Point"
PalettePoint = jpy.get_type(PALETTE_POINT)
ImageInfo = jpy.get_type("org.esa.snap.core.datamodel.ImageInfo")


class S2MaskOp:
    """The operator object PyOperator creates; GPF calls initialize, computeTileStack and dispose."""

    def __init__(self):
        self.computer = None
        self.class_band = None
        self.probability_bands = []

    def initialize(self, context):
        source = context.getSourceProduct(SOURCE_NAME) or context.getSourceProduct()
        if source is None:
            raise ParameterError("S2Mask needs a source product (a Sentinel-2 L1C or L2A product)")
        params = processing_parameters({p.name: context.getParameter(p.name) for p in snap_parameters()
                                        if p.field is not None})
        bands = _source_bands(source)
        grid_source = GridSource(level_of(source.getProductType()), {n: _raster(b) for n, b in bands.items()},
                                 _fetcher(context, bands))
        self.computer = TileComputer(
            grid_source, params, lambda: _geometry(context, source, grid_source, params.resolution),
            probabilities=bool(context.getParameter(PROBABILITY_BANDS)))
        context.setTargetProduct(self._target(source, bands, params.block_size))

    def computeTileStack(self, context, target_tiles, target_rectangle):
        rect = target_rectangle
        result = self.computer.compute(Window(rect.y, rect.x, rect.height, rect.width))
        _set_samples(target_tiles.get(self.class_band), result.classes)
        if result.probabilities is not None:
            for band, layer in zip(self.probability_bands, result.probabilities):
                _set_samples(target_tiles.get(band), layer)

    def dispose(self, context):
        if self.computer is not None:
            self.computer.release()

    def _target(self, source, bands, tile_size):
        grid = self.computer.grid
        reference = next((band for name, band in bands.items() if name in ALL_BANDS
                          and (band.getRasterWidth(), band.getRasterHeight()) == (grid.width, grid.height)), None)
        if reference is None:
            raise ParameterError(f"no band of {source.getName()} lies on the {grid.resolution:g} m grid: set the "
                               "resolution parameter to the source's pixel size, or give S2Mask the product of "
                               "SNAP's Sentinel-2 reader")
        target = Product(f"{source.getName()}_s2mask", "S2MASK", grid.width, grid.height)
        target.setSceneGeoCoding(reference.getGeoCoding())
        ProductUtils.copyTimeInformation(source, target)
        target.setPreferredTileSize(tile_size, tile_size)
        self.class_band = _class_band(target)
        if self.computer.probabilities:
            self.probability_bands = [_probability_band(target, info) for info in CLASS_TABLE[1:]]
        return target


def _source_bands(source):
    """The spectral and angle bands of the source, by name."""
    return {name: source.getBand(name) for name in source.getBandNames()
            if name in ALL_BANDS or name in ANGLE_BANDS}


def _raster(band):
    transform = band.getImageToModelTransform()
    return Raster(band.getName(), abs(transform.getScaleX()), band.getRasterWidth(), band.getRasterHeight(),
                  transform.getTranslateX(), transform.getTranslateY())


def _fetcher(context, bands):
    """``fetch(name, window)``: geophysical values (reflectance, degrees; NaN invalid) of a window of the
    band's own grid, as a writable float32 array."""

    def fetch(name, window):
        rectangle = Rectangle(window.col, window.row, window.width, window.height)
        samples = context.getSourceTile(bands[name], rectangle).getSamplesFloat()
        return np.array(np.frombuffer(samples, np.float32).reshape(window.shape))

    return fetch


def _geometry(context, source, grid_source, resolution):
    """The tile's mean sun and view angles from the reader's copy of MTD_TL (``Granules/<tile>/
    Geometric_Info/Tile_Angles``), as ``s2mask run`` reads them; else the means of the angle bands."""
    granules = source.getMetadataRoot().getElement("Granules")
    for granule in granules.getElements() if granules is not None else ():
        geometric = granule.getElement("Geometric_Info")
        angles = geometric.getElement("Tile_Angles") if geometric is not None else None
        sun = angles.getElement("Mean_Sun_Angle") if angles is not None else None
        views = angles.getElement("Mean_Viewing_Incidence_Angle_List") if angles is not None else None
        if sun is not None and views is not None:
            return TileGeometry.from_means(_angle_pair(sun), [_angle_pair(view) for view in views.getElements()],
                                           resolution)
    context.getLogger().warning("S2Mask: no Tile_Angles metadata in the source; the cloud-shadow geometry uses "
                                "the mean of its angle bands")
    return TileGeometry(*grid_source.mean_angles(), float(resolution))


def _angle_pair(element):
    return float(element.getAttributeString("ZENITH_ANGLE")), float(element.getAttributeString("AZIMUTH_ANGLE"))


def _class_band(target):
    band = target.addBand(CLASS_BAND, ProductData.TYPE_UINT8)
    band.setDescription("s2mask classes")
    band.setNoDataValue(0.0)
    band.setNoDataValueUsed(True)
    coding = IndexCoding(CLASS_BAND)
    for info in CLASS_TABLE:
        coding.addIndex(info.name, info.value, info.description)
    target.getIndexCodingGroup().add(coding)
    band.setSampleCoding(coding)
    points = [PalettePoint(float(info.value), Color(*info.rgba), info.name) for info in CLASS_TABLE]
    band.setImageInfo(ImageInfo(ColorPaletteDef(jpy.array(PALETTE_POINT, points), len(points))))
    for info in CLASS_TABLE:
        target.addMask(mask_name(info.value), f"{CLASS_BAND}.raw == {info.value}", info.description,
                       Color(*info.rgba[:3]), MASK_TRANSPARENCY)
    return band


def _probability_band(target, info):
    band = target.addBand(probability_band(info.value), ProductData.TYPE_UINT8)
    band.setDescription(f"Probability of {info.description.lower()}")
    band.setUnit("%")
    band.setNoDataValue(float(PROBABILITY_NODATA))
    band.setNoDataValueUsed(True)
    band.setValidPixelExpression(f"{CLASS_BAND}.raw != 0")
    return band


def _set_samples(tile, values):
    # jpy picks the Java overload from the dtype and copies the buffer: only a C-contiguous uint8 array
    # reaches byte[] intact (int64 would land in double[] as garbage; shared/snap.md section 1.6).
    tile.setSamples(np.ascontiguousarray(values, dtype=np.uint8).ravel())
