"""Contractions: matrix products and convolutions (the multiply-accumulate ops)."""

from __future__ import annotations

import math

from tfflops.analysis.ops.base import REGISTRY, Cost, OpView, UnknownShape, register
from tfflops.analysis.ops.dims import einsum_dims


def contraction(macs_per_output: int, outputs: int, tfprof: int | None = None) -> Cost:
    """``outputs`` elements, each a sum of ``macs_per_output`` products; tfprof 2·MACs."""
    macs = macs_per_output * outputs
    return Cost(macs=macs, mac_outputs=outputs, tfprof=2 * macs if tfprof is None else tfprof)


# Grappler's remapper fuses a contraction with the ops after it into one node (_FusedConv2D,
# _FusedMatMul, _FusedDepthwiseConv2dNative), listed in its attr fused_ops. Each is
# counted as its own node would be; tf.profiler has no formula for the fused nodes (0).
_FUSED_AS = {"GeluApproximate": "Gelu", "GeluExact": "Gelu"}
FUSED_CONTRACTIONS = frozenset({"_FusedConv2D", "_FusedMatMul", "_FusedDepthwiseConv2dNative"})


def unknown_fused_ops(fused_ops) -> list[str]:
    """The fused ops tfflops has no formula for (the counter reports them)."""
    return [name for name in fused_ops if REGISTRY.get(_FUSED_AS.get(name, name)) is None]


def fused(v: OpView, cost: Cost) -> Cost:
    """A fused contraction's Cost: its own multiply-accumulates plus its fused ops' (those
    with a formula: see ``unknown_fused_ops``); tf.profiler 0."""
    out = v.out_shape(0)
    channel = (out[1] if v.is_nchw() else out[-1],)
    arith = other = 0
    for name in v.attr("fused_ops") or ():
        op = _FUSED_AS.get(name, name)
        formula = REGISTRY.get(op)
        if formula is None:
            continue
        # Operands: the contraction's output, then per-channel vectors (a bias; a batch
        # norm's scale, offset, mean and variance) — or a same-shape tensor for an Add.
        extra = (out,) if op in ("Add", "AddV2") else (channel,) * 4
        part = formula(
            OpView(
                op=op,
                inputs=(out, *extra),
                outputs=(out,),
                attrs={"is_training": False, "data_format": v.attr("data_format", "NHWC")},
            )
        )
        arith += part.arith
        other += part.other
    return Cost(macs=cost.macs, mac_outputs=cost.mac_outputs, arith=arith, other=other)


@register("MatMul")
def matmul(v: OpView) -> Cost:
    """2·K·N(out), K = a.shape[1] (a.shape[0] when transpose_a)."""
    a = v.in_shape(0)
    k = a[0] if v.attr("transpose_a") else a[1]
    return contraction(k, v.n_out())


@register("_FusedMatMul")
def fused_matmul(v: OpView) -> Cost:
    """MatMul's MACs plus its fused ops (bias, activation) as their own nodes; tf.profiler 0."""
    return fused(v, matmul(v))


@register("BatchMatMul", "BatchMatMulV2", "BatchMatMulV3")
def batch_matmul(v: OpView) -> Cost:
    """2·K·N(out), K = a.shape[-1], or a.shape[-2] with adj_x.

    tf.profiler reads attr ``transpose_a``, which these ops do not have, so it always
    takes K = a.shape[-1]: wrong when adj_x is set (reproduced under ``tfprof``).
    """
    a = v.in_shape(0)
    k = a[-2] if v.attr("adj_x") else a[-1]
    outputs = v.n_out()
    return contraction(k, outputs, tfprof=2 * a[-1] * outputs)


@register("Conv2D")
def conv2d(v: OpView) -> Cost:
    """2·N(out)·Kh·Kw·Cin_filter (groups through the filter's Cin; bias not included)."""
    kh, kw, cin, _ = v.in_shape(1)
    return contraction(kh * kw * cin, v.n_out())


@register("_FusedConv2D")
def fused_conv2d(v: OpView) -> Cost:
    """Conv2D's MACs plus its fused ops (bias, batch norm, activation); tf.profiler 0."""
    return fused(v, conv2d(v))


@register("Conv3D")
def conv3d(v: OpView) -> Cost:
    """2·N(out)·Kd·Kh·Kw·Cin_filter."""
    kd, kh, kw, cin, _ = v.in_shape(1)
    return contraction(kd * kh * kw * cin, v.n_out())


@register("DepthwiseConv2dNative")
def depthwise_conv2d(v: OpView) -> Cost:
    """2·N(out)·Kh·Kw: each output channel sees one input channel."""
    kh, kw, _, _ = v.in_shape(1)
    return contraction(kh * kw, v.n_out())


@register("_FusedDepthwiseConv2dNative")
def fused_depthwise_conv2d(v: OpView) -> Cost:
    """DepthwiseConv2dNative's MACs plus its fused ops; tf.profiler 0."""
    return fused(v, depthwise_conv2d(v))


@register("Dilation2D")
def dilation2d(v: OpView) -> Cost:
    """2·N(out)·Kh·Kw: an add and a max per window element (no multiply)."""
    kh, kw, _ = v.in_shape(1)
    window = kh * kw * v.n_out()
    return Cost(arith=window, other=window, tfprof=2 * window)


def _backprop(v: OpView, image: tuple[int, ...], kernel: tuple[int, ...], dy) -> Cost:
    """MACs: the forward Conv2D's, N(dy)·Kh·Kw·Cin. tf.profiler: 2·N(image)·N(filter) /
    (Cin·Sh·Sw), truncated, NHWC only: the same where the strides tile the image, more
    where they leave a remainder (VALID).

    tf.profiler refuses NCHW here (it counts 0, as for an incomplete shape).
    """
    kh, kw, cin_filter, _ = kernel
    cin = image[1] if v.is_nchw() else image[-1]
    products = math.prod(image) * math.prod(kernel)
    tfprof = 0 if v.is_nchw() else 2 * products // (cin * _stride_area(v))
    return contraction(kh * kw * cin_filter, math.prod(dy), tfprof)._replace(mac_outputs=v.n_out())


def _stride_area(v: OpView) -> int:
    strides = v.attr("strides") or [1, 1, 1, 1]
    return strides[2] * strides[3] if v.is_nchw() else strides[1] * strides[2]


@register("Conv2DBackpropInput")
def conv2d_backprop_input(v: OpView) -> Cost:
    """Gradient of Conv2D w.r.t. its input (conv2d_transpose): image = the output."""
    return _backprop(v, v.out_shape(0), v.in_shape(1), v.in_shape(2))


@register("Conv2DBackpropFilter")
def conv2d_backprop_filter(v: OpView) -> Cost:
    """Gradient of Conv2D w.r.t. its filter: image = input 0, filter = the output."""
    return _backprop(v, v.in_shape(0), v.out_shape(0), v.in_shape(2))


@register("Einsum")
def einsum(v: OpView) -> Cost:
    """MACs = product of every index's size (2+ operands); 1 operand: sums only.

    Each output sums over the contracted indices. One operand multiplies nothing: a
    transpose or diagonal costs 0, a reduction N(out)·(summed − 1) adds (``ij->i``:
    I·(J − 1)).

    tf.profiler has no formula for Einsum (0).
    """
    equation = str(v.attr("equation", "")).replace(" ", "")
    if "->" not in equation:
        raise UnknownShape(f"einsum equation {equation!r} has no explicit output")
    shapes = [v.in_shape(i) for i in range(len(v.inputs))]
    sizes, out_spec = einsum_dims(equation, shapes)
    outputs = v.n_out()
    if len(shapes) > 1:
        return Cost(macs=math.prod(sizes.values()), mac_outputs=outputs)
    summed = math.prod(d for ch, d in sizes.items() if ch not in out_spec)
    return Cost(arith=outputs * (summed - 1))
