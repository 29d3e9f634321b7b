"""s2mask: Sentinel-2 cloud and cloud-shadow masking, as a library, a CLI and an ESA SNAP plugin."""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
_version = {}
exec((HERE / "processor" / "__init__.py").read_text().split("_PUBLIC")[0], _version)

setup(
    name="s2mask",
    version=_version["__version__"],
    description="Sentinel-2 cloud and cloud-shadow masking with CNNs trained on physics-supervised labels",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.11",
    # The SNAP module's files travel inside the package (s2mask/snap_plugin/) so that snap-install and
    # snap-package work from an ordinary install; they are data for SNAP, not modules of s2mask.
    package_dir={"s2mask": "processor", "s2mask.snap_plugin": "snap_plugin"},
    packages=["s2mask", *(f"s2mask.{name}" for name in find_packages("processor")), "s2mask.snap_plugin"],
    package_data={"s2mask.weights": ["*.pt", "*.json", "README.md"], "s2mask.io": ["*.json"],
                  "s2mask.snap_plugin": ["*.py", "*.xml", "META-INF/services/*", "README.md"]},
    install_requires=[
        "numpy>=1.24",
        "torch>=2.1",
        "gdal",
        "lxml>=4.9",
        "scipy>=1.10",
        # The Python half of SNAP's bridge; its wheel is built for CPython 3.11 only. s2mask never imports
        # it outside the SNAP operator, so the core runs without it.
        'esa-snappy>=1.1; python_version == "3.11"',
    ],
    extras_require={
        # The GIS clients the outputs are checked with: rasterio (wheels bundle their own GDAL), pystac
        # (STAC items, with the core schemas offline), jsonschema (the report's published schema).
        "test": ["pytest>=7", "ruff>=0.4", "h5py>=3.8", "rasterio>=1.3", "pystac>=1.10", "jsonschema>=4.18"],
        "batch": ["dask[distributed]>=2024.1"],
        # ukis-csmask's [cpu] extra brings ONNX Runtime, without which it does not import.
        "peers": ["s2cloudless>=1.7", "ukis-csmask[cpu]>=1.0"],
    },
    entry_points={"console_scripts": ["s2mask = s2mask.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: GIS",
        "Intended Audience :: Science/Research",
    ],
)
