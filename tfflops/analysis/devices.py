"""Device profiles for the roofline: peak FLOP/s per dtype, memory bandwidth, per-kernel
overhead — the built-in ones (``devices.json`` beside this module, from public
datasheets) and a user's FILE.json, which is hostile input until it is validated.

A profile is ``{"name", "source", "peak_flops": {dtype: FLOP/s}, "matrix_flops": {dtype:
FLOP/s}, "bandwidth": B/s, "overhead": s}``: ``peak_flops`` are the vector units' (it
must name float32), ``matrix_flops`` (optional) what contractions get on matrix units
(tensor cores, AMX). A dtype a profile does not name runs at its float32 rate.
"""

from __future__ import annotations

import json
import math
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from tfflops.errors import TfflopsError

DTYPES = ("float64", "float32", "float16", "bfloat16", "int8")
_KEYS = ("name", "source", "peak_flops", "matrix_flops", "bandwidth", "overhead")
MAX_FILE_BYTES = 1 << 20  # a device profile is a few hundred bytes
# Sanity bounds that catch a unit slip (TB/s written as 2.0, µs as 5) as well as junk.
_RANGES = {
    "flops": (1e6, 1e19),  # FLOP/s
    "bandwidth": (1e6, 1e16),  # B/s
    "overhead": (0.0, 1.0),  # s
}
_MAX_TEXT = {"name": 64, "source": 1000}


@dataclass(frozen=True)
class Device:
    """A device's roofline: vector and matrix peaks per dtype, bandwidth, overhead.
    (Plain dicts, so that a Device pickles: ``check --jobs`` sends it to workers.)"""

    name: str
    source: str
    peak_flops: Mapping[str, float]
    bandwidth: float
    overhead: float
    matrix_flops: Mapping[str, float] = field(default_factory=dict)

    def peak(self, dtype: str, matrix: bool = False) -> float:
        """FLOP/s for ``dtype``: the matrix units' for a contraction where the device has
        them for that dtype, else the vector units'; a dtype not named runs as float32."""
        named = dtype in self.peak_flops or dtype in self.matrix_flops
        dtype = dtype if named else "float32"
        if matrix and dtype in self.matrix_flops:
            return self.matrix_flops[dtype]
        return self.peak_flops.get(dtype, self.peak_flops["float32"])

    def to_json(self) -> str:
        """The device file's text."""
        return json.dumps(self.to_dict(), indent=1) + "\n"

    def to_dict(self) -> dict:
        """The profile as a device file holds it (what ``calibrate`` writes)."""
        out = {
            "name": self.name,
            "source": self.source,
            "peak_flops": dict(self.peak_flops),
            "bandwidth": self.bandwidth,
            "overhead": self.overhead,
        }
        if self.matrix_flops:
            out["matrix_flops"] = dict(self.matrix_flops)
        return out


def builtin_devices() -> dict[str, Device]:
    """The built-in profiles by name, in the order ``tfflops devices`` lists them."""
    return dict(_builtin())


@cache
def _builtin() -> dict[str, Device]:
    from importlib import resources  # (here: a profile without a device never pays it)

    text = resources.files("tfflops.analysis").joinpath("devices.json").read_text("utf-8")
    entries = json.loads(text)["devices"]
    devices = {}
    for entry in entries:
        device = device_from_dict(entry, "built-in devices.json")
        devices[device.name] = device
    return devices


def load_device(spec: str | os.PathLike) -> Device:
    """A built-in profile by name (any case), else a device file (``FILE.json``)."""
    text = str(spec)
    path = device_file(spec)
    if path is None:
        return _by_name()[text.lower()]
    if not text.lower().endswith(".json") and not path.exists():
        names = ", ".join(builtin_devices())
        raise TfflopsError(
            f"`device` {text!r}: not a built-in device ({names}) nor a FILE.json "
            "(tfflops devices lists them; tfflops calibrate -o FILE.json measures this machine)"
        )
    return read_device_file(path)


def device_file(spec: str | os.PathLike) -> Path | None:
    """The file ``spec`` names as a device (a file the command reads), or None for a
    built-in profile's name."""
    return None if str(spec).lower() in _by_name() else Path(spec)


def _by_name() -> dict[str, Device]:
    return {name.lower(): d for name, d in builtin_devices().items()}


def read_device_file(path: Path) -> Device:
    """A device file, validated: one TfflopsError naming the file and the key at fault."""
    where = str(path)
    try:
        info = os.stat(path)
    except OSError as e:
        raise TfflopsError(f"{where}: cannot read the device file: {e.strerror or e}") from None
    if not stat.S_ISREG(info.st_mode):
        raise TfflopsError(f"{where}: not a regular file (a device profile is a JSON file)")
    if info.st_size > MAX_FILE_BYTES:
        raise TfflopsError(
            f"{where}: {info.st_size} bytes; a device profile is a small JSON file "
            f"(at most {MAX_FILE_BYTES})"
        )
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)  # the file may grow after the stat
    except OSError as e:
        raise TfflopsError(f"{where}: cannot read the device file: {e.strerror or e}") from None
    if len(data) > MAX_FILE_BYTES:
        raise TfflopsError(f"{where}: over {MAX_FILE_BYTES} bytes; not a device profile")
    return parse_device(data, where)


def parse_device(data: bytes | str, where: str) -> Device:
    """A device profile from JSON text; ``where`` names it in errors."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        document = json.loads(text, parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise TfflopsError(f"{where}: not UTF-8 text; a device profile is JSON") from None
    except (ValueError, RecursionError) as e:
        reason = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
        raise TfflopsError(f"{where}: not a JSON device profile: {reason}") from None
    return device_from_dict(document, where)


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number a device can have")


def device_from_dict(document, where: str) -> Device:
    """Validate a parsed profile: known keys only, finite numbers within bounds, text
    without control characters (a name is printed to terminals)."""
    if not isinstance(document, dict):
        raise TfflopsError(f"{where}: a device profile is a JSON object, not {_kind(document)}")
    unknown = [k for k in document if k not in _KEYS]
    if unknown:
        raise TfflopsError(
            f"{where}: unknown key {_short(unknown[0])} (a device profile has {', '.join(_KEYS)})"
        )
    for key in ("name", "source", "peak_flops", "bandwidth", "overhead"):
        if key not in document:
            raise TfflopsError(f"{where}: key {key!r} is missing")
    peak = _rates(document["peak_flops"], where, "peak_flops")
    if "float32" not in peak:
        raise TfflopsError(f"{where}: key 'peak_flops' must give float32")
    return Device(
        name=_text(document, "name", where),
        source=_text(document, "source", where),
        peak_flops=peak,
        bandwidth=_number(document["bandwidth"], where, "bandwidth", "bandwidth", "B/s"),
        overhead=_number(document["overhead"], where, "overhead", "overhead", "s"),
        matrix_flops=_rates(document.get("matrix_flops", {}), where, "matrix_flops"),
    )


def _rates(value, where: str, key: str) -> dict[str, float]:
    if not isinstance(value, dict):
        raise TfflopsError(f"{where}: key {key!r} must map dtypes to FLOP/s, not {_kind(value)}")
    rates = {}
    for dtype, rate in value.items():
        if dtype not in DTYPES:
            raise TfflopsError(
                f"{where}: key '{key}.{_short(dtype)[1:-1]}': not a dtype ({', '.join(DTYPES)})"
            )
        rates[dtype] = _number(rate, where, f"{key}.{dtype}", "flops", "FLOP/s")
    return rates


def _number(value, where: str, key: str, kind: str, unit: str) -> float:
    low, high = _RANGES[kind]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TfflopsError(f"{where}: key {key!r} must be a number of {unit}, not {_kind(value)}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number) or not low <= number <= high:
        raise TfflopsError(
            f"{where}: key {key!r}: {_short(value)} {unit} is out of range ({low:g} to {high:g})"
        )
    return number


def _text(document: dict, key: str, where: str) -> str:
    value = document[key]
    limit = _MAX_TEXT[key]
    if not isinstance(value, str) or not value.strip():
        raise TfflopsError(f"{where}: key {key!r} must be non-empty text, not {_kind(value)}")
    if len(value) > limit:
        raise TfflopsError(f"{where}: key {key!r} is {len(value)} characters (at most {limit})")
    if any(not c.isprintable() for c in value):
        raise TfflopsError(f"{where}: key {key!r} holds control characters")
    return value


def _kind(value) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false"}.get(
        type(value), "null" if value is None else _short(value)
    )


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
