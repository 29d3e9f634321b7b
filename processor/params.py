"""ProcessingParameters: the one definition of every user-facing parameter.

Each field carries its help text, allowed values or range, a label, whether it only changes how fast a
run is (``performance``) and, for a field SNAP has no parameter for, why (``not_in_snap``). The allowed
values come from their owners: resolutions and levels from :mod:`s2mask.bands`, devices and precisions
from :mod:`s2mask.compute`, models from the weights registry (:func:`s2mask.choice.model_choices`).
The CLI (``s2mask run``), the Python API (``s2mask.run(path, **params)``), the SNAP operator descriptor,
the gpt graphs and the README's option table are all generated from or checked against these fields,
and every entry point builds its parameters through :meth:`ProcessingParameters.from_mapping`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from typing import Any

from .bands import RESOLUTIONS
from .choice import model_choices
from .compute import DEVICES, PRECISIONS
from .errors import ParameterError

OUTPUT_KINDS = ("cog", "probabilities", "scl", "dimap", "quicklook", "report")


def _spec(help_text: str, label: str, *, choices: tuple | None = None, minimum: int | None = None,
          maximum: int | None = None, many: bool = False, performance: bool = False,
          not_in_snap: str | None = None) -> dict[str, Any]:
    return {"help": help_text, "label": label, "choices": choices, "minimum": minimum, "maximum": maximum,
            "many": many, "performance": performance, "not_in_snap": not_in_snap}


@dataclass(frozen=True)
class ProcessingParameters:
    """Every parameter of a run, validated on creation (a :class:`ParameterError` names the culprit)."""

    resolution: int = field(default=20, metadata=_spec(
        "Pixel size of the mask in metres: bands are resampled onto the tile's 10, 20 or 60 m grid.",
        "Resolution (m)", choices=RESOLUTIONS))
    super_resolution: bool = field(default=False, metadata=_spec(
        "Sharpen the 20 m and 60 m bands to 10 m with DSen2 before masking (needs resolution 10).",
        "DSen2 super-resolution"))
    superres_variant: str = field(default="light", metadata=_spec(
        "DSen2 network size: 'light' for CPUs, 'full' (published depth, 48 features) for GPUs.",
        "Super-resolution network", choices=("light", "full")))
    model: str = field(default="auto", metadata=_spec(
        "Masking model: 'auto' picks the shipped CNN that fits the level and the bands present; "
        "'physics' is the rule-based classifier with geometric cloud shadows; a family name (cnn2d) picks "
        "that family's network ('cnn' is cnn2d).",
        "Model", choices=model_choices()))
    outputs: tuple[str, ...] = field(default=("cog", "quicklook", "report"), metadata=_spec(
        "Outputs to write: cog (classes), probabilities (per class, 0..100), scl (Sen2Cor SCL codes), "
        "dimap (BEAM-DIMAP for SNAP), quicklook (PNG), report (JSON).",
        "Outputs", choices=OUTPUT_KINDS, many=True,
        not_in_snap="SNAP's Write node writes the product; the probability bands are switched by probabilityBands"))
    block_size: int = field(default=1024, metadata=_spec(
        "Block edge in pixels: the tile streams through memory one block (plus halo) at a time.",
        "Block size (px)", minimum=128, maximum=8192, performance=True))
    upsampling: str = field(default="bilinear", metadata=_spec(
        "Interpolation for bands coarser than the mask grid (without super-resolution).",
        "Up-sampling", choices=("bilinear", "bicubic")))
    exact_downsampling: bool = field(default=False, metadata=_spec(
        "Reduce 10 m bands by the exact area mean instead of JPEG 2000's half-resolution level "
        "(about 3x slower to decode).", "Exact down-sampling",
        not_in_snap="inside SNAP the operator averages full-resolution bands itself: always the exact area mean, "
                    "as 's2mask run --exact-downsampling'"))
    device: str = field(default="auto", metadata=_spec(
        "Where networks run: 'auto' uses a CUDA GPU when one is present.", "Device",
        choices=DEVICES, performance=True))
    precision: str = field(default="auto", metadata=_spec(
        "Arithmetic of the mask networks: 'auto' is bfloat16 on CPUs that compute it in hardware (AVX512-BF16 "
        "or AMX: about twice as fast, classes differ from float32 on about one pixel in a thousand), elsewhere "
        "int8 for the heaviest layers (a quarter less time for the network on AVX2 CPUs; four to seven pixels "
        "in a thousand differ); "
        "'float32' gives the training arithmetic on every machine; 'bfloat16' or 'int8' where the CPU cannot "
        "run it stops with an error before any output.",
        "Precision", choices=PRECISIONS))
    threads: int = field(default=0, metadata=_spec(
        "CPU threads for decoding and networks; 0 uses every core.", "Threads", minimum=0, maximum=256,
        performance=True))

    def __post_init__(self) -> None:
        for item in fields(self):
            spec = item.metadata
            value = getattr(self, item.name)
            if spec["many"] and not isinstance(value, tuple):
                raise ParameterError(f"{item.name} must be a tuple of names, got {value!r}", parameters=(item.name,))
            if _is_int_field(item):
                # A whole number stored as a float (512.0, from JSON or SNAP) is that number; 512.7 is refused.
                value = whole_number(item.name, value)
                object.__setattr__(self, item.name, value)
            for single in value if spec["many"] else (value,):
                _check_value(item, single)
        if self.super_resolution and self.resolution != 10:
            raise ParameterError("super_resolution sharpens bands to 10 m: it needs resolution=10, "
                                 f"got resolution={self.resolution}", parameters=("super_resolution", "resolution"))
        if not self.outputs:
            raise ParameterError(f"outputs names no output; give one or more of {', '.join(OUTPUT_KINDS)}",
                                 parameters=("outputs",))
        if len(set(self.outputs)) != len(self.outputs):
            raise ParameterError(f"outputs lists a kind twice: {', '.join(self.outputs)}", parameters=("outputs",))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (tuples become lists)."""
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], base: ProcessingParameters | None = None) -> ProcessingParameters:
        """Build from a mapping of typed values or of strings (as the command line, gpt graphs and SNAP pass
        them); fields not given keep ``base``'s values, or the defaults. The one way in for every entry point:
        an unknown name or a bad value is a :class:`ParameterError` that names it."""
        known = {item.name: item for item in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ParameterError(f"unknown parameter(s): {', '.join(unknown)}; known: {', '.join(known)}",
                                 parameters=tuple(unknown))
        parsed = {name: parse_value(known[name], value) for name, value in values.items()}
        return replace(base, **parsed) if base is not None else cls(**parsed)


def _is_int_field(item: Any) -> bool:
    return item.type in ("int", int)


def whole_number(name: str, value: Any) -> int:
    """``value`` as an int when it is a whole number (``512`` or ``512.0``); a :class:`ParameterError`
    naming ``name`` otherwise (``512.7``, ``"512"``, ``True``, NaN)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not float(value).is_integer():
        raise ParameterError(f"{name} must be a whole number, got {value!r}", parameters=(name,))
    return int(value)


def _check_value(item: Any, single: Any) -> None:
    spec = item.metadata
    if item.type in ("bool", bool) and not isinstance(single, bool):
        raise ParameterError(f"{item.name} must be true or false, got {single!r}", parameters=(item.name,))
    if spec["choices"] is not None and single not in spec["choices"]:
        allowed = ", ".join(str(c) for c in spec["choices"])
        raise ParameterError(f"{item.name} must be one of {allowed}; got {single!r}", parameters=(item.name,))
    if spec["minimum"] is not None and not spec["minimum"] <= single <= spec["maximum"]:
        raise ParameterError(f"{item.name} must lie in {spec['minimum']}..{spec['maximum']}; got {single!r}",
                             parameters=(item.name,))


def parse_value(item: Any, value: Any) -> Any:
    """Coerce one value (possibly a string) to the type of a ProcessingParameters field."""
    kind = item.type if isinstance(item.type, str) else item.type.__name__
    try:
        if kind == "bool":
            if isinstance(value, str):
                if value.strip().lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError(value)
                return value.strip().lower() in ("true", "1", "yes")
            return value
        if kind == "int":
            return int(value) if isinstance(value, str) else value
        if kind.startswith("tuple"):
            items = value.split(",") if isinstance(value, str) else list(value)
            return tuple(str(v).strip() for v in items if str(v).strip())
        return str(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{item.name} cannot take the value {value!r}", parameters=(item.name,)) from None


def parameter_fields() -> tuple:
    """The fields of :class:`ProcessingParameters`, with their metadata, in declaration order."""
    return fields(ProcessingParameters)


def default_of(item: Any) -> Any:
    return item.default if item.default is not MISSING else item.default_factory()


def performance_fields() -> tuple[str, ...]:
    """The fields that change how fast a run is, never what it writes."""
    return tuple(item.name for item in parameter_fields() if item.metadata["performance"])
