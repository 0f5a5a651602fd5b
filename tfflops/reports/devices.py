"""Device profiles → a table (``tfflops devices``) or JSON."""

from __future__ import annotations

import json

from tfflops.analysis.devices import builtin_devices
from tfflops.numbers import rate_text, seconds_text
from tfflops.reports.layout import PLAIN, Column, Screen, grid, wrap


def render_devices(fmt: str = "table", screen: Screen = PLAIN) -> str:
    """The built-in profiles: peaks (vector, and matrix units for float32 and the faster
    of float16 and bfloat16), bandwidth, overhead, and each profile's source."""
    devices = list(builtin_devices().values())
    if fmt == "json":
        return json.dumps({"devices": [d.to_dict() for d in devices]}, indent=1) + "\n"
    columns = [
        Column("device", lambda d: d.name, "l", shrink=True),
        Column("fp32", lambda d: _tera(d.peak("float32"))),
        Column("fp32 mat", lambda d: _tera(d.peak("float32", matrix=True))),
        Column("16-bit mat", lambda d: _tera(max(d.peak(t, True) for t in _SIXTEEN))),
        Column("bandwidth", lambda d: rate_text(d.bandwidth, "B/s")),
        Column("overhead", lambda d: seconds_text(d.overhead)),
    ]
    out = [
        *wrap(
            "peak TFLOP/s of the vector units, and of the matrix units (tensor cores, AMX)",
            screen.width,
        ),
        "",
        *grid(columns, devices, screen.width),
        "",
        "sources:",
    ]
    for d in devices:
        out += wrap(f"{d.name}: {d.source}", screen.width, "  ", "    ")
    return "\n".join(out) + "\n"


_SIXTEEN = ("float16", "bfloat16")


def _tera(flops: float) -> str:
    return f"{flops / 1e12:.2f}" if flops >= 1e11 else f"{flops / 1e12:.3f}"
