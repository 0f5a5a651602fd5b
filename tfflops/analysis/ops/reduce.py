"""Reductions, scans, softmax, normalization and losses."""

from __future__ import annotations

import numpy as np

from tfflops.analysis.ops.base import (
    Cost,
    OpView,
    ShapeCtx,
    TensorInfo,
    UnknownShape,
    info,
    register,
)
from tfflops.analysis.ops.elementwise import unary_shape
from tfflops.graph.tensors import DT

# ---------------------------------------------------------------- shapes

_REDUCE_VALUES = {
    "Sum": np.sum,
    "Prod": np.prod,
    "Max": np.max,
    "Min": np.min,
    "Mean": np.mean,
    "All": np.all,
    "Any": np.any,
}


def reduce_shape(c: ShapeCtx) -> list[TensorInfo]:
    shape = c.rank_known(0)
    keep = bool(c.attr("keep_dims", False))
    if c.maybe_value(1) is None:
        raise UnknownShape("reduction axes are not known statically")
    axes = sorted({a % len(shape) for a in c.ints(1)}) if shape else []
    if keep:
        out = tuple(1 if i in axes else d for i, d in enumerate(shape))
    else:
        out = tuple(d for i, d in enumerate(shape) if i not in axes)
    value = None
    if c.maybe_value(0) is not None and c.op in _REDUCE_VALUES:
        value = _REDUCE_VALUES[c.op](c.value(0), axis=tuple(axes), keepdims=keep)
    return [info(out, c.dtype(0), value)]


def arg_reduce_shape(c: ShapeCtx) -> list[TensorInfo]:
    shape = c.rank_known(0)
    axis = int(c.value(1)) % len(shape)
    return [TensorInfo(shape[:axis] + shape[axis + 1 :], c.attr("output_type", DT["DT_INT64"]))]


def scalar_shape(c: ShapeCtx) -> list[TensorInfo]:
    return [TensorInfo((), c.dtype(0))]


def fused_batch_norm_shape(c: ShapeCtx) -> list[TensorInfo]:
    shape = c.shape(0)
    fmt = c.attr("data_format", "NHWC")
    channels = None
    if shape is not None and len(shape) == 4:
        channels = shape[1] if fmt.startswith("NC") else shape[3]
    if channels is None:
        channels = (c.shape(1) or (None,))[0]
    stat = TensorInfo((channels,), DT["DT_FLOAT"])
    outs = [TensorInfo(shape, c.dtype(0)), stat, stat, stat, stat]
    if c.op == "FusedBatchNormV3":
        outs.append(TensorInfo(None, DT["DT_FLOAT"]))
    return outs


def fused_batch_norm_grad_shape(c: ShapeCtx) -> list[TensorInfo]:
    """x's backprop (x's shape), the scale's and the offset's (one per channel), and two
    reserve spaces."""
    stat = TensorInfo(c.shape(2), DT["DT_FLOAT"])
    return [TensorInfo(c.shape(1), c.dtype(0)), stat, stat, *[TensorInfo(None, DT["DT_FLOAT"])] * 2]


def bias_add_grad_shape(c: ShapeCtx) -> list[TensorInfo]:
    shape = c.rank_known(0)
    fmt = c.attr("data_format", "NHWC")
    return [TensorInfo((shape[1] if fmt.startswith("NC") else shape[-1],), c.dtype(0))]


def xent_shape(c: ShapeCtx) -> list[TensorInfo]:
    shape = c.shape(0)
    batch = None if shape is None else shape[:1]
    return [TensorInfo(batch, c.dtype(0)), TensorInfo(shape, c.dtype(0))]


# ---------------------------------------------------------------- formulas


def _folded(v: OpView) -> int:
    """N(in) − N(out): the operations that fold the input into the output; 0 for an empty
    input, whose output is filled with the reduction's identity (no arithmetic, not −1)."""
    return max(v.n_in(0) - v.n_out(), 0)


@register("Mean", shape=reduce_shape)
def mean(v: OpView) -> Cost:
    """N(in) − N(out) adds and N(out) divides = N(in)."""
    return Cost(arith=v.n_in(0), tfprof=v.n_in(0))


@register("Sum", shape=reduce_shape)
def reduce_sum(v: OpView) -> Cost:
    """N(in) − N(out) adds."""
    adds = _folded(v)
    return Cost(arith=adds, tfprof=adds)


@register("BiasAddGrad", shape=bias_add_grad_shape)
def bias_add_grad(v: OpView) -> Cost:
    """N(in) − N(out) adds (a sum over all but the channel dim)."""
    adds = _folded(v)
    return Cost(arith=adds, tfprof=adds)


@register("ArgMax", "ArgMin", shape=arg_reduce_shape)
def arg_reduce(v: OpView) -> Cost:
    """N(in) − N(out) comparisons."""
    comparisons = _folded(v)
    return Cost(other=comparisons, tfprof=comparisons)


@register("Prod", shape=reduce_shape)
def reduce_prod(v: OpView) -> Cost:
    """N(in) − N(out) multiplies; tf.profiler has no formula."""
    return Cost(arith=_folded(v))


@register("Max", "Min", "All", "Any", shape=reduce_shape)
def reduce_compare(v: OpView) -> Cost:
    """N(in) − N(out) comparisons; tf.profiler has no formula."""
    return Cost(other=_folded(v))


@register("EuclideanNorm", shape=reduce_shape)
def euclidean_norm(v: OpView) -> Cost:
    """N(in) multiplies + N(in) − N(out) adds + N(out) square roots."""
    return Cost(arith=v.n_in(0) + _folded(v), other=v.n_out())


@register("Softmax", "LogSoftmax", shape=unary_shape)
def softmax(v: OpView) -> Cost:
    """5·N(in): max, subtract, exp, sum, divide (or log-subtract) per element.

    tf.profiler counts Softmax (5·N) but has no formula for LogSoftmax.
    """
    n = v.n_in(0)
    return Cost(arith=3 * n, other=2 * n, tfprof=5 * n if v.op == "Softmax" else 0)


@register("L2Loss", shape=scalar_shape)
def l2_loss(v: OpView) -> Cost:
    """sum(x²)/2: N multiplies + (N − 1) adds + 1 halving; tf.profiler says 3·N − 1."""
    n = v.n_in(0)
    return Cost(arith=2 * n, tfprof=3 * n - 1)


@register("FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3", shape=fused_batch_norm_shape)
def fused_batch_norm(v: OpView) -> Cost:
    """Inference: y = x·a + b per element, with a = scale·rsqrt(var + ε) and
    b = offset − mean·a per channel (2·N(x) + 4·C arithmetic, C square roots).
    Training (is_training) also computes the batch mean and variance: 3·N(x) more.
    tf.profiler has no formula.
    """
    n = v.n_in(0)
    channels = v.in_shape(1)[0]
    arith = 2 * n + 4 * channels
    if v.attr("is_training", True):
        arith += 3 * n
    return Cost(arith=arith, other=channels)


@register(
    "FusedBatchNormGrad",
    "FusedBatchNormGradV2",
    "FusedBatchNormGradV3",
    shape=fused_batch_norm_grad_shape,
)
def fused_batch_norm_grad(v: OpView) -> Cost:
    """Inference (is_training false): dx = dy·a with a = scale·rsqrt(var + ε) per channel,
    dscale = Σ dy·(x − mean)·rsqrt(var + ε), doffset = Σ dy: 5·N(x) + C arithmetic, C
    square roots. Training: through the batch mean and variance too, dx = a/M·(M·dy − Σdy
    − x̂·Σ(dy·x̂)), x̂ = (x − mean)·rsqrt(var + ε), M = N(x)/C: 10·N(x) + 2·C arithmetic,
    C square roots. tf.profiler has no formula.
    """
    n = v.n_in(1)
    channels = v.in_shape(2)[0]
    if v.attr("is_training", True):
        return Cost(arith=10 * n + 2 * channels, other=channels)
    return Cost(arith=5 * n + channels, other=channels)


@register("SoftmaxCrossEntropyWithLogits", "SparseSoftmaxCrossEntropyWithLogits", shape=xent_shape)
def softmax_cross_entropy(v: OpView) -> Cost:
    """Softmax (5·N) + a log and a multiply-add per logit; no tf.profiler formula."""
    n = v.n_in(0)
    return Cost(arith=5 * n, other=2 * n)


@register("Cumsum", "Cumprod", shape=unary_shape)
def scan(v: OpView) -> Cost:
    """A running sum (product) along the axis of length L: L − 1 adds (multiplies) per
    line, L − 2 when ``exclusive`` (its first two outputs are 0 and x₀); N(out)/L lines.
    tf.profiler has no formula."""
    shape = v.out_shape(0)
    if not shape:
        return Cost()
    length = shape[v.value(1)[0] % len(shape)]
    if length == 0:
        return Cost()
    per_line = max(length - (2 if v.attr("exclusive", False) else 1), 0)
    return Cost(arith=v.n_out() // length * per_line)


@register("LRN", shape=unary_shape)
def local_response_normalization(v: OpView) -> Cost:
    """x / (bias + alpha·Σ x²)^beta over a window of 2·r + 1 channels (fewer at the edges):
    N squares, the window's adds, then ·alpha, +bias, a divide (3 arithmetic) and a power
    (1 other) per element. tf.profiler has no formula."""
    shape = v.in_shape(0)
    channels = shape[-1]
    n = v.n_in(0)
    if channels == 0:
        return Cost()
    # Channel pairs (c, j) with |c − j| ≤ r: C + 2·Σ_{d=1..m} (C − d), m = min(r, C − 1).
    m = max(0, min(v.attr("depth_radius", 5), channels - 1))
    terms = channels + 2 * (m * channels - m * (m + 1) // 2)
    adds = n // channels * (terms - channels)
    return Cost(arith=n + adds + 3 * n, other=n)
