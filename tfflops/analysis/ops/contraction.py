"""Contractions: matrix products and convolutions (the multiply-accumulate ops)."""

from __future__ import annotations

import math

from tfflops.analysis.ops.base import (
    REGISTRY,
    Cost,
    OpView,
    ShapeCtx,
    TensorInfo,
    UnknownShape,
    register,
)
from tfflops.analysis.ops.dims import broadcast_shapes, conv_output_size, einsum_dims
from tfflops.analysis.ops.elementwise import unary_function
from tfflops.analysis.ops.image import resize_bilinear
from tfflops.graph.tensors import shape_text

# ---------------------------------------------------------------- shapes


def matmul_shape(c: ShapeCtx) -> list[TensorInfo]:
    a, b = c.shape(0), c.shape(1)
    m = None if a is None else a[1 if c.attr("transpose_a") else 0]
    n = None if b is None else b[0 if c.attr("transpose_b") else 1]
    return [TensorInfo((m, n), c.out_dtype("T"))]


def batch_matmul_shape(c: ShapeCtx) -> list[TensorInfo]:
    a, b = c.shape(0), c.shape(1)
    if a is None or b is None:
        raise UnknownShape("rank of an operand is unknown")
    m = a[-1] if c.attr("adj_x") else a[-2]
    n = b[-2] if c.attr("adj_y") else b[-1]
    batch = broadcast_shapes(a[:-2], b[:-2])
    return [TensorInfo((*batch, m, n), c.out_dtype("Tout", "T"))]


# The data formats of convolutions and poolings, by number of spatial dimensions.
_DATA_FORMATS = {
    1: ("NWC", "NCW"),
    2: ("NHWC", "NCHW", "NCHW_VECT_C"),
    3: ("NDHWC", "NCDHW"),
}


def spatial_dims(data_format: str, nspatial: int) -> tuple[int, int, list[int]]:
    """Indices of the batch, channel and spatial dims for NHWC/NCHW (and 3-D twins); a
    ValueError for a format TensorFlow refuses (taken for NHWC, it gave a count that
    looked right)."""
    known = _DATA_FORMATS.get(nspatial, ())
    if data_format not in known:
        raise ValueError(f"data_format {data_format!r}: TensorFlow accepts {', '.join(known)}")
    if data_format.startswith("NC"):
        return 0, 1, list(range(2, 2 + nspatial))
    return 0, 1 + nspatial, list(range(1, 1 + nspatial))


def _conv_like(c: ShapeCtx, shape, kernel_sizes, out_channels, nspatial) -> list[TensorInfo]:
    """A convolution's output for an input of ``shape`` (attrs: strides, dilations, padding)."""
    fmt = c.attr("data_format", "NHWC")
    rank = nspatial + 2
    if shape is None:
        shape = (None,) * rank
    n, ch, spatial = spatial_dims(fmt, nspatial)
    strides = c.attr("strides") or [1] * rank
    dilations = c.attr("dilations") or [1] * rank
    padding = c.attr("padding")  # (no default: TensorFlow requires it)
    explicit = c.attr("explicit_paddings") or [0] * (2 * rank)
    out = [None] * rank
    out[n] = shape[n]
    out[ch] = out_channels
    for k, dim in enumerate(spatial):
        out[dim] = conv_output_size(
            shape[dim],
            kernel_sizes[k],
            strides[dim],
            dilations[dim],
            padding,
            explicit[2 * dim],
            explicit[2 * dim + 1],
        )
    return [TensorInfo(tuple(out), c.out_dtype("T"))]


def _filter(c: ShapeCtx, i: int, rank: int) -> tuple:
    f = c.shape(i)
    if f is None or len(f) != rank:
        raise UnknownShape(f"filter shape is {shape_text(f)}")
    return f


def conv2d_shape(c: ShapeCtx) -> list[TensorInfo]:
    f = _filter(c, 1, 4)
    return _conv_like(c, c.shape(0), f[:2], f[3], 2)


def conv3d_shape(c: ShapeCtx) -> list[TensorInfo]:
    f = _filter(c, 1, 5)
    return _conv_like(c, c.shape(0), f[:3], f[4], 3)


def depthwise_shape(c: ShapeCtx) -> list[TensorInfo]:
    f = _filter(c, 1, 4)
    out_channels = None if f[2] is None or f[3] is None else f[2] * f[3]
    return _conv_like(c, c.shape(0), f[:2], out_channels, 2)


def _padded(shape, paddings) -> tuple:
    return tuple(None if d is None else d + int(p[0]) + int(p[1]) for d, p in zip(shape, paddings))


def fused_pad_conv2d_shape(c: ShapeCtx) -> list[TensorInfo]:
    """FusedPadConv2D(input, paddings, filter): a Conv2D of the padded input (NHWC)."""
    f = _filter(c, 2, 4)
    shape = c.rank_known(0)
    return _conv_like(c, _padded(shape, c.value(1).reshape(-1, 2)), f[:2], f[3], 2)


def fused_resize_pad_conv2d_shape(c: ShapeCtx) -> list[TensorInfo]:
    """FusedResizeAndPadConv2D(input, size, paddings, filter): resize (bilinear) to size,
    pad, then a Conv2D (NHWC)."""
    f = _filter(c, 3, 4)
    n, _, _, ch = c.rank_known(0)
    h, w = c.ints(1)
    resized = (n, h, w, ch)
    return _conv_like(c, _padded(resized, c.value(2).reshape(-1, 2)), f[:2], f[3], 2)


def dilation2d_shape(c: ShapeCtx) -> list[TensorInfo]:
    f = _filter(c, 1, 3)
    shape = c.shape(0) or (None,) * 4
    strides, rates = c.attr("strides"), c.attr("rates")
    padding = c.attr("padding")
    out = [shape[0]] + [
        conv_output_size(shape[i + 1], f[i], strides[i + 1], rates[i + 1], padding)
        for i in range(2)
    ]
    return [TensorInfo((*out, f[2]), c.dtype(0))]


def sizes_in_input_0(c: ShapeCtx) -> list[TensorInfo]:
    """A gradient whose shape is given as the value of input 0 (input_sizes)."""
    return [TensorInfo(tuple(c.ints(0)), c.dtype(1))]


def sizes_in_input_1(c: ShapeCtx) -> list[TensorInfo]:
    """A gradient whose shape is given as the value of input 1 (filter_sizes)."""
    return [TensorInfo(tuple(c.ints(1)), c.dtype(0))]


def einsum_shape(c: ShapeCtx) -> list[TensorInfo]:
    equation = str(c.attr("equation", "")).replace(" ", "")
    sizes, out_spec = einsum_dims(equation, [c.known_shape(i) for i in range(len(c.ins))])
    return [TensorInfo(tuple(sizes[ch] for ch in out_spec), c.dtype(0))]


# ---------------------------------------------------------------- formulas


def contraction(macs_per_output: int, outputs: int, tfprof: int | None = None) -> Cost:
    """``outputs`` elements, each a sum of ``macs_per_output`` products; tfprof 2·MACs."""
    macs = macs_per_output * outputs
    return Cost(macs=macs, mac_outputs=outputs, tfprof=2 * macs if tfprof is None else tfprof)


# Grappler's remapper fuses a contraction with the ops after it into one node (_FusedConv2D,
# _FusedMatMul, _FusedDepthwiseConv2dNative), listed in its attr fused_ops. Each is
# counted as its own node would be; tf.profiler has no formula for the fused nodes (0).
_FUSED_ONLY = {"GeluApproximate": unary_function, "GeluExact": unary_function}
FUSED_CONTRACTIONS = frozenset({"_FusedConv2D", "_FusedMatMul", "_FusedDepthwiseConv2dNative"})


def _fused_formula(name: str):
    return _FUSED_ONLY.get(name) or REGISTRY.get(name)


def unknown_fused_ops(fused_ops) -> list[str]:
    """The fused ops tfflops has no formula for (the counter reports them)."""
    return [name for name in fused_ops if _fused_formula(name) is None]


def fused(v: OpView, cost: Cost) -> Cost:
    """A fused contraction's Cost: its own multiply-accumulates plus its fused ops' (those
    with a formula: see ``unknown_fused_ops``); tf.profiler 0."""
    out = v.out_shape(0)
    channel = (out[1] if v.is_nchw() else out[-1],)
    arith = other = 0
    for op in v.attr("fused_ops") or ():
        formula = _fused_formula(op)
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


@register("MatMul", shape=matmul_shape)
def matmul(v: OpView) -> Cost:
    """2·K·N(out), K = a.shape[1] (a.shape[0] when transpose_a)."""
    a = v.in_shape(0)
    k = a[0] if v.attr("transpose_a") else a[1]
    return contraction(k, v.n_out())


@register("_FusedMatMul", shape=matmul_shape)
def fused_matmul(v: OpView) -> Cost:
    """MatMul's MACs plus its fused ops (bias, activation) as their own nodes; tf.profiler 0."""
    return fused(v, matmul(v))


@register("BatchMatMul", "BatchMatMulV2", "BatchMatMulV3", shape=batch_matmul_shape)
def batch_matmul(v: OpView) -> Cost:
    """2·K·N(out), K = a.shape[-1], or a.shape[-2] with adj_x.

    tf.profiler reads attr ``transpose_a``, which these ops do not have, so it always
    takes K = a.shape[-1]: wrong when adj_x is set (reproduced under ``tfprof``).
    """
    a = v.in_shape(0)
    k = a[-2] if v.attr("adj_x") else a[-1]
    outputs = v.n_out()
    return contraction(k, outputs, tfprof=2 * a[-1] * outputs)


@register("Conv2D", shape=conv2d_shape)
def conv2d(v: OpView) -> Cost:
    """2·N(out)·Kh·Kw·Cin_filter (groups through the filter's Cin; bias not included)."""
    kh, kw, cin, _ = v.in_shape(1)
    return contraction(kh * kw * cin, v.n_out())


@register("_FusedConv2D", shape=conv2d_shape)
def fused_conv2d(v: OpView) -> Cost:
    """Conv2D's MACs plus its fused ops (bias, batch norm, activation); tf.profiler 0."""
    return fused(v, conv2d(v))


@register("Conv3D", shape=conv3d_shape)
def conv3d(v: OpView) -> Cost:
    """2·N(out)·Kd·Kh·Kw·Cin_filter."""
    kd, kh, kw, cin, _ = v.in_shape(1)
    return contraction(kd * kh * kw * cin, v.n_out())


@register("DepthwiseConv2dNative", shape=depthwise_shape)
def depthwise_conv2d(v: OpView) -> Cost:
    """2·N(out)·Kh·Kw: each output channel sees one input channel."""
    kh, kw, _, _ = v.in_shape(1)
    return contraction(kh * kw, v.n_out())


@register("_FusedDepthwiseConv2dNative", shape=depthwise_shape)
def fused_depthwise_conv2d(v: OpView) -> Cost:
    """DepthwiseConv2dNative's MACs plus its fused ops; tf.profiler 0."""
    return fused(v, depthwise_conv2d(v))


@register("Dilation2D", shape=dilation2d_shape)
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


@register("Conv2DBackpropInput", shape=sizes_in_input_0)
def conv2d_backprop_input(v: OpView) -> Cost:
    """Gradient of Conv2D w.r.t. its input (conv2d_transpose): image = the output."""
    return _backprop(v, v.out_shape(0), v.in_shape(1), v.in_shape(2))


@register("Conv2DBackpropFilter", shape=sizes_in_input_1)
def conv2d_backprop_filter(v: OpView) -> Cost:
    """Gradient of Conv2D w.r.t. its filter: image = input 0, filter = the output."""
    return _backprop(v, v.in_shape(0), v.out_shape(0), v.in_shape(2))


@register("Einsum", shape=einsum_shape)
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


@register("Conv3DBackpropInputV2", shape=sizes_in_input_0)
def conv3d_backprop_input(v: OpView) -> Cost:
    """Gradient of Conv3D w.r.t. its input: the forward conv's MACs, N(dy)·Kd·Kh·Kw·Cin,
    summed into N(out) elements (Keras' Conv3DTranspose); tf.profiler has no formula."""
    kd, kh, kw, cin, _ = v.in_shape(1)
    return contraction(kd * kh * kw * cin, v.n_in(2), 0)._replace(mac_outputs=v.n_out())


@register("Conv3DBackpropFilterV2", shape=sizes_in_input_1)
def conv3d_backprop_filter(v: OpView) -> Cost:
    """Gradient of Conv3D w.r.t. its filter: N(dy)·Kd·Kh·Kw·Cin MACs summed into the
    filter's elements; tf.profiler has no formula."""
    kd, kh, kw, cin, _ = v.out_shape(0)
    return contraction(kd * kh * kw * cin, v.n_in(2), 0)._replace(mac_outputs=v.n_out())


@register("DepthwiseConv2dNativeBackpropInput", shape=sizes_in_input_0)
def depthwise_backprop_input(v: OpView) -> Cost:
    """Gradient of a depthwise conv w.r.t. its input: the forward's MACs, N(dy)·Kh·Kw;
    tf.profiler has no formula."""
    kh, kw, _, _ = v.in_shape(1)
    return contraction(kh * kw, v.n_in(2), 0)._replace(mac_outputs=v.n_out())


@register("DepthwiseConv2dNativeBackpropFilter", shape=sizes_in_input_1)
def depthwise_backprop_filter(v: OpView) -> Cost:
    """Gradient of a depthwise conv w.r.t. its filter: N(dy)·Kh·Kw MACs; tf.profiler has
    no formula."""
    kh, kw, _, _ = v.out_shape(0)
    return contraction(kh * kw, v.n_in(2), 0)._replace(mac_outputs=v.n_out())


@register("FusedPadConv2D", shape=fused_pad_conv2d_shape)
def fused_pad_conv2d(v: OpView) -> Cost:
    """A Conv2D of the padded input: N(out)·Kh·Kw·Cin MACs (padding computes nothing);
    tf.profiler has no formula."""
    kh, kw, cin, _ = v.in_shape(2)
    return contraction(kh * kw * cin, v.n_out(), 0)


@register("FusedResizeAndPadConv2D", shape=fused_resize_pad_conv2d_shape)
def fused_resize_pad_conv2d(v: OpView) -> Cost:
    """A bilinear resize to ``size`` (ResizeBilinear's arithmetic), then a Conv2D of the
    padded result: N(out)·Kh·Kw·Cin MACs; tf.profiler has no formula."""
    n, _, _, ch = v.in_shape(0)
    h, w = v.value(1)
    kh, kw, cin, _ = v.in_shape(3)
    conv = contraction(kh * kw * cin, v.n_out(), 0)
    resized = resize_bilinear(OpView("ResizeBilinear", outputs=((n, h, w, ch),)))
    return conv._replace(arith=resized.arith)
