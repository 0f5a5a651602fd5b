"""Elementwise ops: arithmetic, comparisons, activations and their gradients, AddN, Select,
casts. Small integer values (shape arithmetic) are computed as the graph would."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from tfflops.analysis.ops.base import (
    ZERO,
    Cost,
    OpView,
    ShapeCtx,
    TensorInfo,
    bounded,
    info,
    register,
    same_as_input,
)
from tfflops.analysis.ops.dims import broadcast_shapes
from tfflops.graph.tensors import DT

# ---------------------------------------------------------------- shapes

_UNARY_VALUES: dict[str, Callable] = {
    "Neg": np.negative,
    "Abs": np.abs,
    "Floor": np.floor,
    "Ceil": np.ceil,
    "Round": np.round,
    "Sign": np.sign,
    "Square": np.square,
    "LogicalNot": np.logical_not,
}


def unary_shape(c: ShapeCtx) -> list[TensorInfo]:
    """Input 0's shape and dtype; its value too, through the few ops shape arithmetic uses."""
    value = c.maybe_value(0)
    if value is None and c.ins and c.ins[0] is not None:
        return same_as_input(c)  # same shape, same dtype, no value: the input's TensorInfo
    fn = _UNARY_VALUES.get(c.op)
    out = fn(value) if fn is not None and value is not None else None
    return [info(c.shape(0), c.dtype(0), out)]


def zeros_like_shape(c: ShapeCtx) -> list[TensorInfo]:
    shape = c.shape(0)
    value = None
    if shape is not None and None not in shape and math.prod(shape) < 64:
        value = np.zeros(shape, dtype=np.int64) if c.op == "ZerosLike" else None
    return [info(shape, c.dtype(0), value)]


def cast_shape(c: ShapeCtx) -> list[TensorInfo]:
    value = c.maybe_value(0)
    dst = c.attr("DstT", c.dtype(0))
    if value is not None and dst in (DT["DT_INT32"], DT["DT_INT64"]):
        value = value.astype(np.int64)
    elif value is not None and dst in (DT["DT_FLOAT"], DT["DT_DOUBLE"]):
        value = value.astype(np.float64)
    else:
        value = None
    return [info(c.shape(0), dst, value)]


_BINARY_VALUES: dict[str, Callable] = {
    "Add": np.add,
    "AddV2": np.add,
    "Sub": np.subtract,
    "Mul": np.multiply,
    "RealDiv": np.true_divide,
    "Div": np.floor_divide,
    "FloorDiv": np.floor_divide,
    "TruncateDiv": np.floor_divide,
    "FloorMod": np.mod,
    "Maximum": np.maximum,
    "Minimum": np.minimum,
    "Equal": np.equal,
    "NotEqual": np.not_equal,
    "Greater": np.greater,
    "GreaterEqual": np.greater_equal,
    "Less": np.less,
    "LessEqual": np.less_equal,
    "LogicalAnd": np.logical_and,
    "LogicalOr": np.logical_or,
}
_COMPARISONS = frozenset(
    {"Equal", "NotEqual", "Greater", "GreaterEqual", "Less", "LessEqual", "ApproximateEqual"}
)


def binary_shape(c: ShapeCtx) -> list[TensorInfo]:
    """The broadcast shape; the value when both operands' are known and the result is small."""
    shape = broadcast_shapes(c.shape(0), c.shape(1))
    dtype = DT["DT_BOOL"] if c.op in _COMPARISONS else c.dtype(0)
    a, b = c.maybe_value(0), c.maybe_value(1)
    value = None
    fn = _BINARY_VALUES.get(c.op)
    if fn is not None and a is not None and b is not None:
        result = broadcast_shapes(a.shape, b.shape)  # checked before it is computed
        if bounded(math.prod(result)):
            with np.errstate(all="ignore"):
                value = fn(a, b)
            if c.op == "Div" and np.issubdtype(np.result_type(a, b), np.floating):
                value = np.true_divide(a, b)
    return [info(shape, dtype, value)]


def add_n_shape(c: ShapeCtx) -> list[TensorInfo]:
    shapes = [i.shape for i in c.ins if i is not None]
    known = [s for s in shapes if s is not None and None not in s]
    return [TensorInfo(known[0] if known else (shapes[0] if shapes else None), c.dtype(0))]


def select_shape(c: ShapeCtx) -> list[TensorInfo]:
    then = c.shape(1)
    return [TensorInfo(then if then is not None and None not in then else c.shape(2), c.dtype(1))]


def select_v2_shape(c: ShapeCtx) -> list[TensorInfo]:
    shape = broadcast_shapes(broadcast_shapes(c.shape(0), c.shape(1)), c.shape(2))
    return [TensorInfo(shape, c.dtype(1))]


# ---------------------------------------------------------------- formulas


def per_element(arith: int = 0, other: int = 0, tfprof: int = 0, tfprof_on: str = "out"):
    """A formula counting ``arith`` + ``other`` ops per output element.

    tf.profiler counts ``tfprof`` per element of the broadcast output (``tfprof_on="out"``,
    its binary ops) or of the first input (``"in"``, its unary ops).
    """

    def formula(v: OpView) -> Cost:
        n = v.n_out()
        tf = tfprof * (v.n_in(0) if tfprof and tfprof_on == "in" else n)
        return Cost(arith=arith * n, other=other * n, tfprof=tf)

    ops = " + ".join(
        f"{count} {kind} op{'s' if count > 1 else ''}"
        for count, kind in ((arith, "arithmetic"), (other, "other"))
        if count
    )
    counted = f"{tfprof}·N({'in0' if tfprof_on == 'in' else 'out'})" if tfprof else "0"
    formula.__doc__ = f"{ops or 'nothing'} per output element; tf.profiler: {counted}"
    return formula


# One function evaluation per element, which tf.profiler does not count: activations and
# other unary functions (also what a fused contraction's fused activation costs).
unary_function = per_element(other=1)

# tf.profiler: N(out), one arithmetic op per element.
register("Add", "AddV2", "Sub", "Mul", "RealDiv", shape=binary_shape)(
    per_element(arith=1, tfprof=1)
)
# tf.profiler: N(out), one non-arithmetic op per element (a comparison, a power).
register(
    "Maximum",
    "Minimum",
    "Pow",
    "Greater",
    "GreaterEqual",
    "Less",
    "LessEqual",
    "Equal",
    "NotEqual",
    shape=binary_shape,
)(per_element(other=1, tfprof=1))
# (x − y)²: a subtract and a multiply.
register("SquaredDifference", shape=binary_shape)(per_element(arith=2, tfprof=2))
# rsqrt gradient dy·(−½)·y³: tf.profiler counts 4 per element.
register("RsqrtGrad", shape=binary_shape)(per_element(arith=4, tfprof=4))
# tf.profiler: N(in0).
register("Reciprocal", "Square", "Neg", "BiasAdd", shape=unary_shape)(
    per_element(arith=1, tfprof=1, tfprof_on="in")
)
register("Log", shape=unary_shape)(per_element(other=1, tfprof=1, tfprof_on="in"))
register("Rsqrt", shape=unary_shape)(per_element(other=2, tfprof=2, tfprof_on="in"))
# Arithmetic tf.profiler has no formula for.
register(
    "Div",
    "FloorDiv",
    "TruncateDiv",
    "FloorMod",
    "TruncateMod",
    "DivNoNan",
    "MulNoNan",
    "Xdivy",
    shape=binary_shape,
)(per_element(arith=1))
register("BiasAddV1", "Inv", shape=unary_shape)(per_element(arith=1))
# Activations and other unary functions tf.profiler has no formula for: one op each.
register(
    "Relu",
    "Relu6",
    "Elu",
    "Selu",
    "LeakyRelu",
    "Sigmoid",
    "Tanh",
    "Softplus",
    "Softsign",
    "Exp",
    "Expm1",
    "Log1p",
    "Sqrt",
    "Erf",
    "Erfc",
    "Abs",
    "Sign",
    "Floor",
    "Ceil",
    "Round",
    "Rint",
    "Sin",
    "Cos",
    "Tan",
    "Asin",
    "Acos",
    "Atan",
    "Sinh",
    "Cosh",
    "Asinh",
    "Acosh",
    "Atanh",
    "LogicalNot",
    "IsNan",
    "IsInf",
    "IsFinite",
    "Invert",
    "Relu6Grad",
    "ReluGrad",
    "LeakyReluGrad",
    shape=unary_shape,
    cost=unary_function,
)
# Binary functions, logic and bit operations: one non-arithmetic op per element.
register(
    "Atan2",
    "Xlogy",
    "LogicalAnd",
    "LogicalOr",
    "ApproximateEqual",
    "BitwiseAnd",
    "BitwiseOr",
    "BitwiseXor",
    "LeftShift",
    "RightShift",
    shape=binary_shape,
)(per_element(other=1))
register("Select", shape=select_shape)(per_element(other=1))
register("SelectV2", shape=select_v2_shape)(per_element(other=1))
# Activation gradients from the output y: SigmoidGrad dy·y·(1 − y), TanhGrad dy·(1 − y²):
# two multiplies and a subtract per element.
register("SigmoidGrad", "TanhGrad", shape=unary_shape)(per_element(arith=3))
# The others: a multiply and a function evaluation per element.
register("SoftplusGrad", "EluGrad", "SeluGrad", "SqrtGrad", shape=unary_shape)(
    per_element(arith=1, other=1)
)
# Two comparisons per element.
register("ClipByValue", shape=unary_shape)(per_element(other=2))
# Fake quantization: clamp to [min, max] (2 comparisons), (x − min)/scale, round,
# ·scale + min: 4 arithmetic ops and 3 others per element.
register(
    "FakeQuantWithMinMaxArgs",
    "FakeQuantWithMinMaxVars",
    "FakeQuantWithMinMaxVarsPerChannel",
    shape=unary_shape,
)(per_element(arith=4, other=3))

# No arithmetic: a cast converts, ZerosLike/OnesLike write.
register("Cast", shape=cast_shape, cost=ZERO)
register("ZerosLike", "OnesLike", shape=zeros_like_shape, cost=ZERO)


@register("AddN", "AccumulateNV2", shape=add_n_shape)
def add_n(v: OpView) -> Cost:
    """N(in0)·(inputs − 1) adds.

    tf.profiler multiplies by ``len(node.input) − 1``, control inputs (``^name``) included.
    """
    n = v.n_in(0)
    raw = len(v.inputs) if v.num_raw_inputs is None else v.num_raw_inputs
    tfprof = n * (raw - 1) if v.op == "AddN" else 0
    return Cost(arith=n * (len(v.inputs) - 1), tfprof=tfprof)
