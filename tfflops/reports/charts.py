"""Inline SVG charts for the HTML report: the roofline (log-log), nothing fetched.

Every label from the graph is escaped; the numbers are formatted here, never taken as text.
"""

from __future__ import annotations

import math
from html import escape
from typing import NamedTuple

from tfflops.analysis.devices import Device
from tfflops.numbers import rate_text

# Sized for a report page; the dots are capped so a 100k-node graph stays a small file.
_W, _H = 720, 420
_LEFT, _RIGHT, _TOP, _BOTTOM = 70, 20, 20, 50
MAX_DOTS = 2000
_COLORS = {"compute": "#2f6fde", "memory": "#d1242f", "overhead": "#9a6700"}


class Dot(NamedTuple):
    """One node (or layer) on the roofline: FLOPs per byte, FLOP/s attained."""

    label: str
    intensity: float
    flops_per_s: float
    bound: str


def roofline_svg(dots: list[Dot], device: Device, what: str, dtypes=("float32",)) -> str:
    """A log-log roofline: the device's bandwidth slope and its compute roofs for
    ``dtypes`` (vector and matrix units), one dot per node (the first ``MAX_DOTS``);
    ``what`` says how the dots' FLOP/s were obtained."""
    dots = [d for d in dots if d.intensity > 0 and d.flops_per_s > 0][:MAX_DOTS]
    roofs = _roofs(device, dtypes)
    x_low = min([0.01, *(d.intensity for d in dots)])
    x_high = max([1e4, *(d.intensity for d in dots)])
    y_high = max(r for _, r in roofs) * 2
    y_low = min([y_high / 1e6, *(d.flops_per_s for d in dots)])
    xs, ys = _scale(x_low, x_high, _LEFT, _W - _RIGHT), _scale(y_low, y_high, _H - _BOTTOM, _TOP)
    out = [
        f'<svg class="roofline" viewBox="0 0 {_W} {_H}" width="{_W}" height="{_H}" role="img">',
        f"<title>Roofline of {_e(device.name)}: {_e(what)}</title>",
        f'<rect x="{_LEFT}" y="{_TOP}" width="{_W - _LEFT - _RIGHT}" '
        f'height="{_H - _TOP - _BOTTOM}" fill="none" stroke="currentColor" stroke-opacity=".3"/>',
        *_axes(x_low, x_high, y_low, y_high, xs, ys),
    ]
    for label, peak in roofs:
        ridge = peak / device.bandwidth  # where the bandwidth slope meets this roof
        x0 = max(x_low, y_low / device.bandwidth)
        out.append(
            f'<polyline fill="none" stroke="currentColor" stroke-width="1.5" points="'
            f"{xs(x0):.1f},{ys(max(y_low, device.bandwidth * x0)):.1f} "
            f'{xs(ridge):.1f},{ys(peak):.1f} {xs(x_high):.1f},{ys(peak):.1f}"/>'
        )
        out.append(
            f'<text x="{_W - _RIGHT - 4}" y="{ys(peak) - 4:.1f}" text-anchor="end" '
            f'font-size="11" fill="currentColor">{_e(label)} {_e(rate_text(peak))}</text>'
        )
    for d in dots:
        out.append(
            f'<circle cx="{xs(d.intensity):.1f}" cy="{ys(d.flops_per_s):.1f}" r="3" '
            f'fill="{_COLORS.get(d.bound, "#888")}" fill-opacity=".7">'
            f"<title>{_e(d.label)}: {d.intensity:.3g} FLOP/B, {_e(rate_text(d.flops_per_s))}, "
            f"{_e(d.bound)}-bound</title></circle>"
        )
    legend = " ".join(
        f'<tspan fill="{color}">● {bound}</tspan>' for bound, color in _COLORS.items()
    )
    out.append(f'<text x="{_LEFT + 6}" y="{_TOP + 14}" font-size="11">{legend}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _roofs(device: Device, dtypes) -> list[tuple[str, float]]:
    """Each distinct compute roof of ``dtypes``: vector units, and matrix units."""
    roofs: dict[float, str] = {}
    for dtype in dtypes:
        for kind, matrix in (("vector", False), ("matrix", True)):
            roofs.setdefault(device.peak(dtype, matrix), f"{dtype} {kind}")
    return sorted(((label, peak) for peak, label in roofs.items()), key=lambda r: r[1])


def _scale(low: float, high: float, start: float, end: float):
    span = math.log10(high) - math.log10(low)

    def at(value: float) -> float:
        return start + (math.log10(value) - math.log10(low)) / span * (end - start)

    return at


def _axes(x_low, x_high, y_low, y_high, xs, ys) -> list[str]:
    """Decade ticks on both axes and their labels."""
    out = []
    for e in range(math.ceil(math.log10(x_low)), math.floor(math.log10(x_high)) + 1):
        x = xs(10.0**e)
        out.append(
            f'<line x1="{x:.1f}" y1="{_H - _BOTTOM}" x2="{x:.1f}" y2="{_TOP}" '
            'stroke="currentColor" stroke-opacity=".1"/>'
            f'<text x="{x:.1f}" y="{_H - _BOTTOM + 16}" text-anchor="middle" font-size="11" '
            f'fill="currentColor">{10.0**e:g}</text>'
        )
    for e in range(math.ceil(math.log10(y_low)), math.floor(math.log10(y_high)) + 1):
        y = ys(10.0**e)
        out.append(
            f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{_W - _RIGHT}" y2="{y:.1f}" '
            'stroke="currentColor" stroke-opacity=".1"/>'
            f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="currentColor">{_tick(10.0**e)}</text>'
        )
    out.append(
        f'<text x="{(_LEFT + _W - _RIGHT) / 2}" y="{_H - 12}" text-anchor="middle" '
        'font-size="12" fill="currentColor">arithmetic intensity (FLOPs per byte moved)</text>'
    )
    out.append(
        f'<text x="14" y="{(_TOP + _H - _BOTTOM) / 2}" font-size="12" fill="currentColor" '
        f'transform="rotate(-90 14 {(_TOP + _H - _BOTTOM) / 2})" text-anchor="middle">'
        "FLOP/s</text>"
    )
    return out


def _tick(value: float) -> str:
    """1e12 → '1 T': an axis label, a power of ten."""
    for factor, prefix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if value >= factor:
            return f"{value / factor:g} {prefix}"
    return f"{value:g}"


def _e(text) -> str:
    return escape(str(text), quote=True)
