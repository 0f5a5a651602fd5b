"""Pooling and its gradients."""

from __future__ import annotations

import math

from tfflops.analysis.ops.base import Cost, OpView, register


def _window(v: OpView) -> int:
    return math.prod(v.attr("ksize") or [1])


@register("MaxPool", "AvgPool")
def pool2d(v: OpView) -> Cost:
    """Kh·Kw·N(out): a window's comparisons (max) or adds and one divide (average).

    tf.profiler refuses NCHW pooling (it counts 0, as for an incomplete shape).
    """
    ops = _window(v) * v.n_out()
    tfprof = 0 if v.is_nchw() else ops
    if v.op == "AvgPool":
        return Cost(arith=ops, tfprof=tfprof)
    return Cost(other=ops, tfprof=tfprof)


@register("MaxPool3D", "AvgPool3D")
def pool3d(v: OpView) -> Cost:
    """Kd·Kh·Kw·N(out); tf.profiler has no formula for 3-D pooling."""
    ops = _window(v) * v.n_out()
    return Cost(arith=ops) if v.op == "AvgPool3D" else Cost(other=ops)


@register("AvgPoolGrad")
def avg_pool_grad(v: OpView) -> Cost:
    """2·Kh·Kw·N(grad), NHWC only for tf.profiler."""
    ops = 2 * _window(v) * v.n_in(1)
    return Cost(arith=ops, tfprof=0 if v.is_nchw() else ops)


@register("MaxPoolGrad")
def max_pool_grad(v: OpView) -> Cost:
    """Kh·Kw·N(orig_out) comparisons + N(orig_out) gradient adds, NHWC only for tf.profiler."""
    n = v.n_in(1)
    window = _window(v) * n
    return Cost(arith=n, other=window, tfprof=0 if v.is_nchw() else window + n)
