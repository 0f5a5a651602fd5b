"""Quantized ops (TensorFlow's eight-bit kernels, as in gemmlowp-style graphs): integer
multiply-accumulates for the contractions, per element work for the rest. Each computes on
a quantized tensor and carries its float range along as two scalar outputs (min, max).
tf.profiler has no formula for any of them."""

from __future__ import annotations

import math

from tfflops.analysis.ops.array import concat_shape, reshape_shape
from tfflops.analysis.ops.base import (
    VIEW,
    ZERO,
    Cost,
    OpView,
    ShapeCtx,
    TensorInfo,
    register,
)
from tfflops.analysis.ops.contraction import contraction, conv2d_shape, matmul_shape
from tfflops.analysis.ops.dims import broadcast_shapes
from tfflops.analysis.ops.pooling import pool2d_shape
from tfflops.graph.tensors import DT

_RANGE = TensorInfo((), DT["DT_FLOAT"])


def _with_range(outs: list[TensorInfo], dtype: int | None = None) -> list[TensorInfo]:
    """The quantized result (of ``dtype``, if given) and its float range."""
    first = outs[0] if dtype is None else TensorInfo(outs[0].shape, dtype)
    return [first, _RANGE, _RANGE]


def quantized_conv2d_shape(c: ShapeCtx) -> list[TensorInfo]:
    return _with_range(conv2d_shape(c), c.attr("out_type", DT["DT_QINT32"]))


def quantized_matmul_shape(c: ShapeCtx) -> list[TensorInfo]:
    return _with_range(matmul_shape(c), c.attr("Toutput", DT["DT_QINT32"]))


def quantized_pool_shape(c: ShapeCtx) -> list[TensorInfo]:
    return _with_range(pool2d_shape(c))


def quantized_same_shape(c: ShapeCtx) -> list[TensorInfo]:
    """Input 0's shape, in the op's output type; and the range."""
    dtype = c.attr("out_type", c.attr("T", c.dtype(0)))
    return _with_range([TensorInfo(c.shape(0), dtype)])


def quantized_binary_shape(c: ShapeCtx) -> list[TensorInfo]:
    shape = broadcast_shapes(c.shape(0), c.shape(1))
    return _with_range([TensorInfo(shape, c.attr("Toutput", DT["DT_QINT32"]))])


def quantize_shape(c: ShapeCtx) -> list[TensorInfo]:
    return _with_range([TensorInfo(c.shape(0), c.attr("T", DT["DT_QUINT8"]))])


def dequantize_shape(c: ShapeCtx) -> list[TensorInfo]:
    return [TensorInfo(c.shape(0), c.attr("dtype", DT["DT_FLOAT"]))]


def requantization_range_shape(c: ShapeCtx) -> list[TensorInfo]:
    return [_RANGE, _RANGE]


def quantized_reshape_shape(c: ShapeCtx) -> list[TensorInfo]:
    return _with_range(reshape_shape(c))


def quantized_concat_shape(c: ShapeCtx) -> list[TensorInfo]:
    """QuantizedConcat(concat_dim, values × N, mins × N, maxes × N): ConcatV1's output."""
    count = c.attr("N", (len(c.ins) - 1) // 3)
    values = ShapeCtx(c.node, c.op, c.ins[: 1 + count])
    return _with_range(concat_shape(values))


@register("QuantizedConv2D", shape=quantized_conv2d_shape)
def quantized_conv2d(v: OpView) -> Cost:
    """Conv2D's integer MACs, N(out)·Kh·Kw·Cin; tf.profiler has no formula."""
    kh, kw, cin, _ = v.in_shape(1)
    return contraction(kh * kw * cin, v.n_out(), 0)


@register("QuantizedMatMul", shape=quantized_matmul_shape)
def quantized_matmul(v: OpView) -> Cost:
    """MatMul's integer MACs, K·N(out); tf.profiler has no formula."""
    a = v.in_shape(0)
    k = a[0] if v.attr("transpose_a") else a[1]
    return contraction(k, v.n_out(), 0)


@register("QuantizedMaxPool", shape=quantized_pool_shape)
def quantized_max_pool(v: OpView) -> Cost:
    """Kh·Kw·N(out) comparisons, as MaxPool."""
    return Cost(other=math.prod(v.attr("ksize") or [1]) * v.n_out())


@register("QuantizedAvgPool", shape=quantized_pool_shape)
def quantized_avg_pool(v: OpView) -> Cost:
    """Kh·Kw·N(out) adds and divides, as AvgPool."""
    return Cost(arith=math.prod(v.attr("ksize") or [1]) * v.n_out())


@register("QuantizedRelu", "QuantizedRelu6", shape=quantized_same_shape)
def quantized_relu(v: OpView) -> Cost:
    """One comparison per element (two for Relu6)."""
    return Cost(other=(2 if v.op == "QuantizedRelu6" else 1) * v.n_out())


@register("QuantizedBiasAdd", shape=quantized_same_shape)
def quantized_bias_add(v: OpView) -> Cost:
    """One add per element, as BiasAdd."""
    return Cost(arith=v.n_out())


@register("QuantizedAdd", "QuantizedMul", shape=quantized_binary_shape)
def quantized_binary(v: OpView) -> Cost:
    """Per element of the broadcast output: both operands rescaled to the output's range (a
    multiply each), then the add or multiply: 3 arithmetic ops."""
    return Cost(arith=3 * v.n_out())


@register("QuantizeV2", shape=quantize_shape)
def quantize(v: OpView) -> Cost:
    """(x − min)·scale (2 arithmetic), rounded and clamped (3 others) per element."""
    n = v.n_out()
    return Cost(arith=2 * n, other=3 * n)


@register("Dequantize", shape=dequantize_shape)
def dequantize(v: OpView) -> Cost:
    """q·scale + min: 2 arithmetic ops per element."""
    return Cost(arith=2 * v.n_out())


@register("Requantize", shape=quantized_same_shape)
def requantize(v: OpView) -> Cost:
    """A rescale (multiply, add), a rounding and a clamp (3 others) per element."""
    n = v.n_out()
    return Cost(arith=2 * n, other=3 * n)


@register("RequantizationRange", shape=requantization_range_shape)
def requantization_range(v: OpView) -> Cost:
    """The input's minimum and maximum: 2 comparisons per element."""
    return Cost(other=2 * v.n_in(0))


register("QuantizedReshape", shape=quantized_reshape_shape, cost=VIEW)
register("QuantizedConcat", shape=quantized_concat_shape, cost=ZERO)
