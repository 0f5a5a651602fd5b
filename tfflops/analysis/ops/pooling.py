"""Pooling and its gradients."""

from __future__ import annotations

import math

from tfflops.analysis.ops.base import (
    Cost,
    OpView,
    ShapeCtx,
    TensorInfo,
    UnknownShape,
    register,
    same_as_input,
)
from tfflops.analysis.ops.contraction import sizes_in_input_0, spatial_dims
from tfflops.analysis.ops.dims import conv_output_size
from tfflops.graph.tensors import DT

# ---------------------------------------------------------------- shapes


def _pool(c: ShapeCtx, ksize, strides, nspatial) -> list[TensorInfo]:
    shape = c.shape(0)
    rank = nspatial + 2
    if shape is None:
        shape = (None,) * rank
    fmt = c.attr("data_format", "NHWC" if nspatial == 2 else "NDHWC")
    _, _, spatial = spatial_dims(fmt, nspatial)
    padding = c.attr("padding")  # (no default: TensorFlow requires it)
    explicit = c.attr("explicit_paddings") or [0] * (2 * rank)
    out = list(shape)
    for dim in spatial:
        out[dim] = conv_output_size(
            shape[dim],
            ksize[dim],
            strides[dim],
            1,
            padding,
            explicit[2 * dim],
            explicit[2 * dim + 1],
        )
    return [TensorInfo(tuple(out), c.dtype(0))]


def pool2d_shape(c: ShapeCtx) -> list[TensorInfo]:
    outs = _pool(c, c.attr("ksize"), c.attr("strides"), 2)
    if c.op == "MaxPoolWithArgmax":
        outs.append(TensorInfo(outs[0].shape, c.attr("Targmax", DT["DT_INT64"])))
    return outs


def pool2d_v2_shape(c: ShapeCtx) -> list[TensorInfo]:
    return _pool(c, c.ints(1), c.ints(2), 2)


def pool3d_shape(c: ShapeCtx) -> list[TensorInfo]:
    return _pool(c, c.attr("ksize"), c.attr("strides"), 3)


def fractional_pool_shape(c: ShapeCtx) -> list[TensorInfo]:
    """⌊In / ratio⌋ per dimension (NHWC); the row and column pooling sequences."""
    shape = c.rank_known(0)
    ratios = c.attr("pooling_ratio") or []
    if len(ratios) != len(shape) or any(r < 1 for r in ratios):
        raise UnknownShape(f"pooling_ratio {ratios!r} does not fit input rank {len(shape)}")
    out = tuple(None if d is None else int(d // r) for d, r in zip(shape, ratios, strict=True))
    rows = None if out[1] is None else out[1] + 1
    cols = None if out[2] is None else out[2] + 1
    return [
        TensorInfo(out, c.dtype(0)),
        TensorInfo((rows,), DT["DT_INT64"]),
        TensorInfo((cols,), DT["DT_INT64"]),
    ]


# ---------------------------------------------------------------- formulas


def _window(v: OpView) -> int:
    return math.prod(v.attr("ksize") or [1])


@register("MaxPool", "AvgPool", shape=pool2d_shape)
def pool2d(v: OpView) -> Cost:
    """Kh·Kw·N(out): a window's comparisons (max) or adds and one divide (average).

    tf.profiler refuses NCHW pooling (it counts 0, as for an incomplete shape).
    """
    ops = _window(v) * v.n_out()
    tfprof = 0 if v.is_nchw() else ops
    if v.op == "AvgPool":
        return Cost(arith=ops, tfprof=tfprof)
    return Cost(other=ops, tfprof=tfprof)


@register("MaxPoolWithArgmax", shape=pool2d_shape)
def max_pool_with_argmax(v: OpView) -> Cost:
    """Kh·Kw·N(out) comparisons, as MaxPool; tf.profiler has no formula."""
    return Cost(other=_window(v) * v.n_out())


@register("MaxPoolV2", shape=pool2d_v2_shape)
def max_pool_v2(v: OpView) -> Cost:
    """Kh·Kw·N(out) comparisons, the window given as input 1; tf.profiler has no formula."""
    return Cost(other=math.prod(v.value(1)) * v.n_out())


@register("MaxPool3D", "AvgPool3D", shape=pool3d_shape)
def pool3d(v: OpView) -> Cost:
    """Kd·Kh·Kw·N(out); tf.profiler has no formula for 3-D pooling."""
    ops = _window(v) * v.n_out()
    return Cost(arith=ops) if v.op == "AvgPool3D" else Cost(other=ops)


@register("FractionalMaxPool", "FractionalAvgPool", shape=fractional_pool_shape)
def fractional_pool(v: OpView) -> Cost:
    """Its regions tile the input (overlapping: neighbours share a boundary row or column,
    (H + Hout − 1)·(W + Wout − 1) cells per image and channel); a region of k cells costs
    k − 1 comparisons (max), or k − 1 adds and a divide (average). tf.profiler: 0."""
    n, h, w, ch = v.in_shape(0)
    _, h_out, w_out, _ = v.out_shape(0)
    if v.attr("overlapping", False):
        h, w = h + h_out - 1, w + w_out - 1
    cells = n * h * w * ch
    if v.op == "FractionalAvgPool":
        return Cost(arith=cells)
    return Cost(other=cells - v.n_out())


@register("AvgPoolGrad", shape=sizes_in_input_0)
def avg_pool_grad(v: OpView) -> Cost:
    """2·Kh·Kw·N(grad), NHWC only for tf.profiler."""
    ops = 2 * _window(v) * v.n_in(1)
    return Cost(arith=ops, tfprof=0 if v.is_nchw() else ops)


@register("MaxPoolGrad", shape=same_as_input)
def max_pool_grad(v: OpView) -> Cost:
    """Kh·Kw·N(orig_out) comparisons + N(orig_out) gradient adds, NHWC only for tf.profiler."""
    n = v.n_in(1)
    window = _window(v) * n
    return Cost(arith=n, other=window, tfprof=0 if v.is_nchw() else window + n)


@register("MaxPoolGradV2", shape=same_as_input)
def max_pool_grad_v2(v: OpView) -> Cost:
    """MaxPoolGrad's count, the window given as input 3; tf.profiler has no formula."""
    n = v.n_in(1)
    return Cost(arith=n, other=math.prod(v.value(3)) * n)
