"""The backward pass of each op: the ops TensorFlow's gradient functions build for it.

``backward(view, wanted)`` is the list of gradient ops (each an OpView) that the gradient
of the forward node ``view`` w.r.t. its inputs ``wanted`` (their positions) builds, as
``tf.GradientTape`` builds them (it skips the inputs that need no gradient; see
``tensorflow/python/ops/math_grad.py``, ``nn_grad.py``): a MatMul's gradient w.r.t. ``a``
is ``MatMul(dy, b, transpose_b=True)``, a Conv2D's w.r.t. its filter is
``Conv2DBackpropFilter(x, sizes, dy)``, a Relu's is ``ReluGrad(dy, y)``, a broadcasting
Add's is a ``Sum`` over the broadcast axes. The op table counts each of them (its own
formula, under every convention; under ``tfprof`` what tf.profiler counts for that op,
quirks included), so a contraction's gradient costs as many MACs as its forward.

Ops whose gradient only moves data (reshapes, transposes, slices, concats, gathers, casts)
cost nothing; ``NOT_DIFFERENTIABLE`` ops pass no gradient on; an op in neither set and
without a rule has no backward estimate (the training estimate says so, never 0).
"""

from __future__ import annotations

from collections.abc import Callable

from tfflops.analysis.ops import OpView, UnknownShape
from tfflops.graph.families import FRAME_OPS, MERGE_OPS
from tfflops.graph.tensors import Shape

# Given the forward node and the inputs whose gradient is wanted: the gradient ops.
Rule = Callable[[OpView, frozenset[int]], list[OpView]]
RULES: dict[str, Rule] = {}

# No gradient flows through these (TensorFlow: NotDifferentiable, or a gradient of zeros).
NOT_DIFFERENTIABLE = frozenset(
    {
        "StopGradient",
        "PreventGradient",
        "ZerosLike",
        "OnesLike",
        "Floor",
        "Ceil",
        "Round",
        "Rint",
        "Sign",
        "FloorDiv",
        "TruncateDiv",
        "IsNan",
        "IsInf",
        "IsFinite",
    }
)

# Their gradient puts the incoming one back in place (a reshape, transpose, slice, pad,
# concat, gather's IndexedSlices...): no arithmetic.
MOVES_DATA = frozenset(
    {
        "Identity",
        "IdentityN",
        "Snapshot",
        "EnsureShape",
        "CheckNumerics",
        "ReadVariableOp",
        "Reshape",
        "Squeeze",
        "ExpandDims",
        "Transpose",
        "Pad",
        "PadV2",
        "Slice",
        "StridedSlice",
        "ConcatV2",
        "Concat",
        "Split",
        "SplitV",
        "Pack",
        "Unpack",
        "GatherV2",
        "Gather",
        "ResourceGather",
        "ReverseV2",
        "DepthToSpace",
        "SpaceToDepth",
        "SpaceToBatchND",
        "BatchToSpaceND",
        "Cast",
        "AddN",
        "Sum",  # its gradient broadcasts (Tile)
        # a TensorList's gradient is another list: stack ↔ unstack, get ↔ set
        "TensorListFromTensor",
        "TensorListGetItem",
        "TensorListSetItem",
        "TensorListStack",
        "TensorListGather",
        # a TF1 TensorArray's likewise: its gradient is another TensorArray (TensorArrayGrad)
        "TensorArrayReadV3",
        "TensorArrayWriteV3",
        "TensorArrayGatherV3",
        "TensorArrayScatterV3",
        "TensorArrayConcatV3",
        "TensorArraySplitV3",
        # control flow: the gradient goes back through the branch, the loop
        "Switch",
        "RefSwitch",
        *MERGE_OPS,
        *FRAME_OPS,
    }
)


# Their gradient w.r.t. input 0 is an IndexedSlices (the rows read), not a dense tensor.
SPARSE_GRADIENT = frozenset({"Gather", "GatherV2", "ResourceGather"})


def accumulation(shape: Shape, dense: int, sparse: int) -> OpView | None:
    """The op that sums the gradients reaching one tensor from several readers, as
    TensorFlow's ``_AggregatedGrads`` builds it: an ``AddN`` of them all once two or more
    arrive and one is dense (IndexedSlices alone are concatenated: no arithmetic; their
    conversion to a dense tensor beside a dense one is not counted); None when nothing is
    summed."""
    if dense + sparse < 2 or not dense:
        return None
    return _op("AddN", (shape,) * (dense + sparse), shape)


def has_rule(op: str) -> bool:
    """Whether tfflops knows what the gradient of ``op`` builds."""
    return op in RULES or op in MOVES_DATA


def backward(v: OpView, wanted: frozenset[int]) -> list[OpView]:
    """The gradient ops of forward node ``v`` w.r.t. its inputs ``wanted``; KeyError when
    ``v.op`` has no rule (``has_rule``)."""
    if v.op in MOVES_DATA or not wanted:
        return []
    return RULES[v.op](v, wanted)


def rule(*ops: str):
    """Register a gradient rule for ``ops``; an op given a second rule is an error."""

    def add(fn: Rule) -> Rule:
        for op in ops:
            if op in RULES or op in MOVES_DATA:
                raise ValueError(f"op {op} already has a gradient rule")
            RULES[op] = fn
        return fn

    return add


# ---------------------------------------------------------------- helpers


def _in(v: OpView, i: int) -> Shape:
    return v.inputs[i] if i < len(v.inputs) else None


def _out(v: OpView) -> Shape:
    return v.outputs[0] if v.outputs else None


def _op(op: str, inputs: tuple[Shape, ...], output: Shape, attrs=None) -> OpView:
    return OpView(op, inputs, (output,), {} if attrs is None else attrs)


def _sum_to(grad: Shape, operand: Shape) -> list[OpView]:
    """The Sum over broadcast axes that brings a gradient of shape ``grad`` back to the
    operand's (TensorFlow's _ReduceGradientArgs); nothing when they are equal."""
    if grad == operand and grad is not None:
        return []
    return [_op("Sum", (grad, None), operand)]


def _elementwise(op: str, v: OpView, n: int = 1) -> list[OpView]:
    """``n`` ops of type ``op`` on tensors of the forward output's shape."""
    out = _out(v)
    return [_op(op, (out, out), out) for _ in range(n)]


# ---------------------------------------------------------------- contractions

# (first operand, second, transpose_a, transpose_b) of the MatMul that gives the gradient
# w.r.t. a and w.r.t. b, per (transpose_a, transpose_b) of the forward: _MatMulGrad.
_MATMUL_GRADS = {
    (False, False): (("dy", "b", False, True), ("a", "dy", True, False)),
    (False, True): (("dy", "b", False, False), ("dy", "a", True, False)),
    (True, False): (("b", "dy", False, True), ("a", "dy", False, False)),
    (True, True): (("b", "dy", True, True), ("dy", "a", True, True)),
}


@rule("MatMul")
def _matmul(v: OpView, wanted: frozenset[int]) -> list[OpView]:
    shapes = {"a": _in(v, 0), "b": _in(v, 1), "dy": _out(v)}
    flags = (bool(v.attr("transpose_a")), bool(v.attr("transpose_b")))
    return [
        _op("MatMul", (shapes[x], shapes[y]), _in(v, i), {"transpose_a": p, "transpose_b": q})
        for i, (x, y, p, q) in enumerate(_MATMUL_GRADS[flags])
        if i in wanted
    ]


@rule("BatchMatMul", "BatchMatMulV2", "BatchMatMulV3")
def _batch_matmul(v: OpView, wanted: frozenset[int]) -> list[OpView]:
    """_BatchMatMulV2: the same products as MatMul's (adj_x, adj_y for transpose_a/b),
    over the output's batch dims, then a Sum over the batch dims an operand broadcast."""
    shapes = {"a": _in(v, 0), "b": _in(v, 1), "dy": _out(v)}
    flags = (bool(v.attr("adj_x")), bool(v.attr("adj_y")))
    views = []
    for i, (x, y, p, q) in enumerate(_MATMUL_GRADS[flags]):
        if i not in wanted:
            continue
        operand, dy = _in(v, i), shapes["dy"]
        full = None if operand is None or dy is None else (*dy[:-2], *operand[-2:])
        views.append(_op(v.op, (shapes[x], shapes[y]), full, {"adj_x": p, "adj_y": q}))
        views += _sum_to(full, operand)
    return views


def _convolution(backprop_input: str, backprop_filter: str) -> Rule:
    """A convolution's gradients: w.r.t. the input ``backprop_input(sizes, filter, dy)``,
    w.r.t. the filter ``backprop_filter(x, sizes, dy)``, with the forward's attributes."""

    def gradients(v: OpView, wanted: frozenset[int]) -> list[OpView]:
        x, f, dy = _in(v, 0), _in(v, 1), _out(v)
        sizes = None if x is None else (len(x),)
        views = []
        if 0 in wanted:
            views.append(OpView(backprop_input, (sizes, f, dy), (x,), v.attrs))
        if 1 in wanted:
            views.append(OpView(backprop_filter, (x, sizes, dy), (f,), v.attrs))
        return views

    return gradients


rule("Conv2D")(_convolution("Conv2DBackpropInput", "Conv2DBackpropFilter"))
rule("Conv3D")(_convolution("Conv3DBackpropInputV2", "Conv3DBackpropFilterV2"))
rule("DepthwiseConv2dNative")(
    _convolution("DepthwiseConv2dNativeBackpropInput", "DepthwiseConv2dNativeBackpropFilter")
)


@rule("Conv2DBackpropInput")
def _conv2d_transpose(v: OpView, wanted: frozenset[int]) -> list[OpView]:
    """conv2d_transpose(sizes, filter, x): w.r.t. the filter Conv2DBackpropFilter(dy, sizes,
    x), w.r.t. x Conv2D(dy, filter) (_Conv2DBackpropInputGrad)."""
    f, x, dy = _in(v, 1), _in(v, 2), _out(v)
    views = []
    if 1 in wanted:
        views.append(OpView("Conv2DBackpropFilter", (dy, (4,), x), (f,), v.attrs))
    if 2 in wanted:
        views.append(OpView("Conv2D", (dy, f), (x,), v.attrs))
    return views


@rule("Einsum")
def _einsum(v: OpView, wanted: frozenset[int]) -> list[OpView]:
    """Two operands: each one's gradient is the einsum of dy with the other one, over
    every index but its own (as many MACs as the forward when each of its indices is in
    the output or the other operand; one only it has is then broadcast back). One operand
    (a transpose, a diagonal, a sum): its gradient broadcasts, no arithmetic."""
    equation = str(v.attr("equation", "")).replace(" ", "")
    lhs, arrow, out = equation.partition("->")
    specs = lhs.split(",")
    if len(specs) == 1:
        return []
    if not arrow or len(specs) != 2 or "." in equation:
        raise UnknownShape(f"no gradient rule for the einsum {equation!r}")
    views = []
    for i in sorted(wanted):
        mine, other = specs[i], specs[1 - i]
        shape = _in(v, i)
        if shape is None or len(shape) != len(mine):
            raise UnknownShape(f"shape of input {i} does not fit the einsum {equation!r}")
        kept = "".join(ch for ch in mine if ch in out or ch in other)
        size = dict(zip(mine, shape))
        views.append(
            _op(
                "Einsum",
                (_out(v), _in(v, 1 - i)),
                tuple(size[ch] for ch in kept),
                {"equation": f"{out},{other}->{kept}"},
            )
        )
    return views


# ---------------------------------------------------------------- elementwise


@rule("BiasAdd", "BiasAddV1")
def _bias_add(v: OpView, wanted: frozenset[int]) -> list[OpView]:
    """dy to the input as it is; BiasAddGrad (a sum over all but the channel) to the bias."""
    if 1 not in wanted:
        return []
    return [_op("BiasAddGrad", (_out(v),), _in(v, 1), v.attrs)]


@rule("Add", "AddV2")
def _add(v: OpView, wanted: frozenset[int]) -> list[OpView]:
    return [view for i in sorted(wanted) for view in _sum_to(_out(v), _in(v, i))]


@rule("Sub")
def _sub(v: OpView, wanted: frozenset[int]) -> list[OpView]:
    """x: dy (summed where x broadcast); y: −dy (a Neg), summed where y broadcast."""
    views = []
    for i in sorted(wanted):
        views += _elementwise("Neg", v) if i == 1 else []
        views += _sum_to(_out(v), _in(v, i))
    return views


@rule("Mul")
def _mul(v: OpView, wanted: frozenset[int]) -> list[OpView]:
    """x: dy·y; y: x·dy; each summed where its operand broadcast."""
    views = []
    for i in sorted(wanted):
        views += [*_elementwise("Mul", v), *_sum_to(_out(v), _in(v, i))]
    return views


@rule("RealDiv", "Div")
def _real_div(v: OpView, wanted: frozenset[int]) -> list[OpView]:
    """x: dy / y; y: dy · ((−x / y) / y) — a Neg of x, two RealDivs and a Mul; each summed
    where its operand broadcast (_RealDivGrad)."""
    views = []
    for i in sorted(wanted):
        if i == 0:
            views += _elementwise("RealDiv", v)
        else:
            x = _in(v, 0)
            views += [_op("Neg", (x,), x), *_elementwise("RealDiv", v, 2), *_elementwise("Mul", v)]
        views += _sum_to(_out(v), _in(v, i))
    return views


@rule("Maximum", "Minimum")
def _maximum_minimum(v: OpView, wanted: frozenset[int]) -> list[OpView]:
    """A mask x ≥ y (x ≤ y) once, then a select per wanted input, summed where it
    broadcast (_MaximumMinimumGrad)."""
    mask = "GreaterEqual" if v.op == "Maximum" else "LessEqual"
    views = [_op(mask, (_in(v, 0), _in(v, 1)), _out(v))]
    for i in sorted(wanted):
        views += [*_elementwise("SelectV2", v), *_sum_to(_out(v), _in(v, i))]
    return views


@rule("SquaredDifference")
def _squared_difference(v: OpView, wanted: frozenset[int]) -> list[OpView]:
    """2·dy·(x − y) once (a Mul, a Sub, a Mul); y's is its Neg; each summed where its
    operand broadcast."""
    views = [*_elementwise("Mul", v), *_elementwise("Sub", v), *_elementwise("Mul", v)]
    for i in sorted(wanted):
        views += [*(_elementwise("Neg", v) if i == 1 else []), *_sum_to(_out(v), _in(v, i))]
    return views


def _unary(*ops: str) -> Rule:
    """Gradient ops on tensors of the forward's shape, one of each of ``ops``."""

    def gradients(v: OpView, wanted: frozenset[int]) -> list[OpView]:
        return [view for op in ops for view in _elementwise(op, v)]

    return gradients


# Activations: their own gradient op, of dy and the forward's output (or input).
ACTIVATION_GRADIENTS = {
    "Relu": "ReluGrad",
    "Relu6": "Relu6Grad",
    "LeakyRelu": "LeakyReluGrad",
    "Elu": "EluGrad",
    "Selu": "SeluGrad",
    "Sigmoid": "SigmoidGrad",
    "Tanh": "TanhGrad",
    "Softplus": "SoftplusGrad",
    "Sqrt": "SqrtGrad",
    "Rsqrt": "RsqrtGrad",
}
for _op_type, _grad_op in ACTIVATION_GRADIENTS.items():
    rule(_op_type)(_unary(_grad_op))
rule("Neg")(_unary("Neg"))  # −dy
rule("Exp")(_unary("Mul"))  # dy·y
rule("Log")(_unary("Reciprocal", "Mul"))  # dy·(1/x)
rule("Abs")(_unary("Sign", "Mul"))  # dy·sign(x)
rule("Square")(_unary("Mul", "Mul"))  # dy·(2·x)
rule("Erf")(_unary("Square", "Neg", "Exp", "Mul", "Mul"))  # dy·(2/√π)·exp(−x²)


# ---------------------------------------------------------------- reductions, pooling


@rule("Mean")
def _mean(v: OpView, wanted: frozenset[int]) -> list[OpView]:
    """dy broadcast back (Tile) and divided by the count reduced: a RealDiv per input
    element (_MeanGrad)."""
    x = _in(v, 0)
    return [_op("RealDiv", (x, ()), x)]


def _row_sum(v: OpView) -> OpView:
    """A Sum over the last axis of a tensor of the forward output's shape (keepdims)."""
    y = _out(v)
    return _op("Sum", (y, None), None if y is None else (*y[:-1], 1))


@rule("Softmax")
def _softmax(v: OpView, wanted: frozenset[int]) -> list[OpView]:
    """(dy − Σ(dy·y)) · y over the last axis: a Mul, a Sum, a Sub and a Mul (_SoftmaxGrad)."""
    return [*_elementwise("Mul", v), _row_sum(v), *_elementwise("Sub", v), *_elementwise("Mul", v)]


@rule("LogSoftmax")
def _log_softmax(v: OpView, wanted: frozenset[int]) -> list[OpView]:
    """dy − Σdy · exp(y) over the last axis: an Exp, a Sum, a Mul, a Sub (_LogSoftmaxGrad)."""
    return [*_elementwise("Exp", v), _row_sum(v), *_elementwise("Mul", v), *_elementwise("Sub", v)]


@rule("MaxPool")
def _max_pool(v: OpView, wanted: frozenset[int]) -> list[OpView]:
    """MaxPoolGrad(x, y, dy)."""
    return [OpView("MaxPoolGrad", (_in(v, 0), _out(v), _out(v)), (_in(v, 0),), v.attrs)]


@rule("AvgPool")
def _avg_pool(v: OpView, wanted: frozenset[int]) -> list[OpView]:
    """AvgPoolGrad(sizes, dy)."""
    x = _in(v, 0)
    return [OpView("AvgPoolGrad", (None if x is None else (len(x),), _out(v)), (x,), v.attrs)]


@rule("FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3")
def _fused_batch_norm(v: OpView, wanted: frozenset[int]) -> list[OpView]:
    """One FusedBatchNormGrad for x, scale and offset together; the mean and variance of
    an inference-mode batch norm get no gradient (_FusedBatchNormGrad)."""
    if not wanted & {0, 1, 2}:
        return []
    grad = v.op.replace("FusedBatchNorm", "FusedBatchNormGrad")
    x, scale = _in(v, 0), _in(v, 1)
    inputs = (_out(v), x, scale, scale, scale)
    return [OpView(grad, inputs, (x, scale, scale), v.attrs)]


@rule("Tile", "BroadcastTo")
def _tile(v: OpView, wanted: frozenset[int]) -> list[OpView]:
    """A Sum of the copies back into the input (_TileGrad, _BroadcastToGrad)."""
    return _sum_to(_out(v), _in(v, 0)) if 0 in wanted else []
