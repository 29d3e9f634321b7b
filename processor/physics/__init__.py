"""Physics-based classifier: spectral rules per pixel and geometric cloud-shadow projection.

``spectral_pass`` is block-local (``SPECTRAL_HALO`` pixels of context), ``shadow_pass`` needs the whole
image, ``classify`` runs both on in-memory arrays, :class:`PhysicsMasker` is both as a masker of the
pipeline. Thresholds and their sources: :mod:`.thresholds`.
"""

from .classify import PhysicsResult, add_shadow_probabilities, classify
from .masker import PhysicsMasker
from .shadow import shadow_direction, shadow_pass
from .spectral import SPECTRAL_HALO, SpectralResult, spectral_pass, thresholds_for

__all__ = [
    "SPECTRAL_HALO", "PhysicsMasker", "PhysicsResult", "SpectralResult", "add_shadow_probabilities", "classify",
    "shadow_direction", "shadow_pass", "spectral_pass", "thresholds_for",
]
