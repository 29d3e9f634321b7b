"""Angles in degrees: their mean, with azimuths averaged as unit vectors so that 359 and 1 give 0."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def mean_angle(degrees: Sequence[float] | np.ndarray, circular: bool = False) -> float:
    """Mean of angles in degrees (NaN for none); azimuths are averaged as unit vectors (0/360 safe)."""
    values = np.asarray(degrees, dtype=np.float64)
    if values.size == 0:
        return float("nan")
    if not circular:
        return float(values.mean())
    radians = np.deg2rad(values)
    return float(np.rad2deg(np.arctan2(np.sin(radians).mean(), np.cos(radians).mean())) % 360)
