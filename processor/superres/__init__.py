"""DSen2 super-resolution of the 20 m and 60 m Sentinel-2 bands to the 10 m grid.

``superresolve(bands10, bands20, bands60)`` is the entry point; ``HALO_10M`` is the context a block
needs for blocked results to equal whole-image ones. The networks live in :mod:`.network`, the tiled
inference in :mod:`.inference` and the reduced-scale (Wald) protocol used by training and the
benchmark in :mod:`.wald`.
"""

from .inference import HALO_10M, load_network, superresolve, superresolve_with
from .network import INPUT_SCALE, SPECS, VARIANTS, DSen2, build_network, weights_name

__all__ = [
    "HALO_10M", "INPUT_SCALE", "SPECS", "VARIANTS", "DSen2", "build_network", "load_network",
    "superresolve", "superresolve_with", "weights_name",
]
