"""Which masker a run uses: the model names a user may choose and the one chooser that owns "auto".

The names are ``auto``, ``physics``, ``cnn`` (the default network family) and every family that has shipped
weights in the registry: a family without weights is no choice. :func:`select_masker` turns a name into a
masker above both kinds: :class:`~s2mask.physics.PhysicsMasker` and the networks of :mod:`s2mask.models`,
which it imports only when a masker is asked for (torch takes a second, scipy most of another). Light at
import, so that :mod:`s2mask.params` can offer the choices.
"""

from __future__ import annotations

from . import weights
from .errors import MissingBandError, ModelError
from .masking import Masker

#: Model names every installation answers; the families with shipped weights follow them.
FIXED_MODELS: tuple[str, ...] = ("auto", "physics", "cnn")


def model_choices() -> tuple[str, ...]:
    """The values of ``ProcessingParameters.model``: :data:`FIXED_MODELS`, then each shipped family."""
    return (*FIXED_MODELS, *weights.mask_families())


def select_masker(model: str, *, level: str, bands: tuple[str, ...], device: str = "auto", threads: int = 0,
                  precision: str = "auto", shadows: str | None = None) -> Masker:
    """The masker for ``model`` on input of ``level`` with ``bands``.

    ``"physics"`` is the rule-based classifier; ``"auto"`` the network that fits the level and bands, or the
    physics classifier when none fits (or the networks cannot be imported); every other name (``"cnn"``, a
    family, a registry entry) must fit, else :class:`MissingBandError` or :class:`ModelError`. ``device``,
    ``threads`` and ``precision`` are those of :class:`~s2mask.params.ProcessingParameters`; ``shadows``
    overrides a network's shadow mode.
    """
    from .physics import PhysicsMasker

    if model == "physics":
        return PhysicsMasker(level, bands, threads)
    try:
        from .models import load_masker, resolve_entry
    except ImportError as err:
        if model != "auto":
            raise ModelError(f"model {model!r} needs the CNN models, which are not available ({err})") from err
        return PhysicsMasker(level, bands, threads)
    if model == "auto":
        try:
            resolve_entry("cnn", level, bands)
        except (MissingBandError, ModelError):
            return PhysicsMasker(level, bands, threads)
        model = "cnn"
    return load_masker(model, level=level, bands=bands, device=device, threads=threads, precision=precision,
                       shadows=shadows)
