"""Exceptions raised by s2mask.

Every error derives from :class:`S2MaskError`; each subclass also inherits the built-in exception it
means, so callers may catch either. Errors that concern a file carry its path in ``path`` and name it in
their message, which is always a single line: the CLI prints it as it is.
"""

from __future__ import annotations

from pathlib import Path


class S2MaskError(Exception):
    """Root of every error s2mask raises on purpose."""

    def __init__(self, message: str, path: str | Path | None = None):
        self.path = Path(path) if path is not None else None
        text = " ".join(str(message).split())
        super().__init__(f"{self.path}: {text}" if self.path is not None else text)


class ProductFormatError(S2MaskError, ValueError):
    """The input is not a Sentinel-2 product we can read, or its content contradicts its metadata."""


class ProductIOError(S2MaskError, OSError):
    """A file of the product cannot be opened or decoded."""


class MissingBandError(ProductFormatError):
    """A band the processing needs is absent from the product."""


class NoValidDataError(S2MaskError, ValueError):
    """The input holds no valid pixel at all (for instance an all-nodata tile)."""


class ParameterError(S2MaskError, ValueError):
    """A processing parameter has a value outside its allowed set.

    ``parameters`` names the Python parameters the message mentions (``block_size``), so that the command
    line can say ``--block-size`` instead.
    """

    def __init__(self, message: str, path: str | Path | None = None, *, parameters: tuple[str, ...] = ()):
        super().__init__(message, path)
        self.parameters = parameters


class OutputError(S2MaskError, OSError):
    """An output cannot be written; nothing partial is left behind."""


class ModelError(S2MaskError, RuntimeError):
    """A model or its weights cannot be loaded or do not match their metadata."""
