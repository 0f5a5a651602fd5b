"""Image resizing: bilinear, bicubic and area interpolation count their arithmetic per
output element (the interpolation weights, computed once per output row and column, are
not counted); nearest neighbour only copies. tf.profiler has no formula for any of them."""

from __future__ import annotations

import math

import numpy as np

from tfflops.analysis.ops.base import ZERO, Cost, OpView, ShapeCtx, TensorInfo, register
from tfflops.graph.tensors import DT


def resize_shape(c: ShapeCtx) -> list[TensorInfo]:
    shape = c.shape(0) or (None,) * 4
    h, w = c.ints(1)
    dtype = c.dtype(0) if c.op == "ResizeNearestNeighbor" else DT["DT_FLOAT"]
    return [TensorInfo((shape[0], h, w, shape[3]), dtype)]


@register("ResizeBilinear", shape=resize_shape)
def resize_bilinear(v: OpView) -> Cost:
    """9 arithmetic ops per output element: three lerps a + (b − a)·t (top row, bottom
    row, between them) of a subtract, a multiply and an add."""
    return Cost(arith=9 * v.n_out())


@register("ResizeBicubic", shape=resize_shape)
def resize_bicubic(v: OpView) -> Cost:
    """35 arithmetic ops per output element: 4 rows of 4 taps (4 multiplies + 3 adds each),
    then the 4 row results the same way: 5 × 7."""
    return Cost(arith=35 * v.n_out())


def _area_taps(size_in: int, size_out: int, align_corners: bool) -> int:
    """Σ over output positions of the input cells each covers, by TensorFlow's rule (float32
    scale, floor of the start, ceil of the end)."""
    if size_out == 0:
        return 0
    if align_corners and size_out > 1:
        scale = np.float32(size_in - 1) / np.float32(size_out - 1)
    else:
        scale = np.float32(size_in) / np.float32(size_out)
    taps = 0
    for y in range(size_out):
        start = math.floor(np.float32(y) * scale)
        end = math.ceil(np.float32(y + 1) * scale)
        taps += end - start
    return taps


@register("ResizeArea", shape=resize_shape)
def resize_area(v: OpView) -> Cost:
    """Per output element, a weighted sum of the input cells its area covers (a multiply
    and an add each) and a scale: Σ taps_y · Σ taps_x · N · C · 2 + N(out)."""
    n, h_in, w_in, ch = v.in_shape(0)
    _, h_out, w_out, _ = v.out_shape(0)
    if max(h_out, w_out) > 1 << 20:
        raise ValueError(f"output size {h_out}x{w_out} is implausible")
    align = bool(v.attr("align_corners", False))
    taps = _area_taps(h_in, h_out, align) * _area_taps(w_in, w_out, align)
    return Cost(arith=2 * taps * n * ch + v.n_out())


register("ResizeNearestNeighbor", shape=resize_shape, cost=ZERO)
