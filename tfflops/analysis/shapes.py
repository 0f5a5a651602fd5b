"""Static shape inference over a GraphDef, without TensorFlow.

Every output tensor gets a ``TensorInfo``: its shape (a tuple with ``None`` for an
unknown dimension, or ``None`` for an unknown rank), its dtype and, for small tensors
whose value is known before running (constants, ``Shape`` of a known tensor and the
arithmetic on such values), the value itself. The values are what resolves the
``Shape → StridedSlice → Pack → Reshape`` chains that Keras and TF1 graphs are made of.

Rules follow TensorFlow's C++ shape functions: SAME → ⌈In/S⌉, VALID → ⌊(In − K)/S⌋ + 1
with K = (K − 1)·D + 1 under dilation, EXPLICIT paddings, NHWC and NCHW, numpy-style
broadcasting, ``-1`` in Reshape, keep_dims reductions.

A node that calls functions (If, While, Case, PartitionedCall, ...) has each function's
body inferred with the arguments the call passes (shapes, dtypes, small values); the call's
outputs are what the bodies return (If/Case: where the branches agree; While: the loop
variables where the body keeps their shapes), refined by its ``output_shapes`` attr. The
analysed bodies stay in ``ShapeResult.calls`` for the counter.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from tfflops.analysis.ops.base import UnknownShape
from tfflops.analysis.ops.dims import (
    broadcast_shapes,
    conv_output_size,
    einsum_dims,
    indexed_shape,
    strided_slice_index,
)
from tfflops.errors import TfflopsError
from tfflops.graph import proto
from tfflops.graph.families import CALL_OPS, PLACEHOLDER_OPS, CallSpec
from tfflops.graph.index import Graph, parse_tensor_name
from tfflops.graph.library import MAX_DEPTH, FunctionBody, FunctionError, Library
from tfflops.graph.tensors import (
    DT,
    FLOAT_DTYPES,
    Shape,
    attr_value,
    base_dtype,
    shape_from_proto,
    shape_text,
    tensor_shape,
    tensor_value,
)

# Values are kept for tensors up to this many elements: enough for any shape vector,
# small enough that no weight is ever decoded.
MAX_VALUE_ELEMENTS = 1024


@dataclass(slots=True)
class TensorInfo:
    """What is known of one tensor before running the graph. Never modified once made: an
    op whose output is its input's shape and dtype shares the input's TensorInfo."""

    shape: Shape
    dtype: int
    value: np.ndarray | None = None


@dataclass
class ShapeResult:
    """Per node, the TensorInfo of each output; why a node's shapes are unknown.

    ``tensors[name]`` (also ``by_id[i]``, by the graph's node number) lists a node's
    outputs, ``[]`` when they are unknown.
    ``calls[node]``: the function bodies a call node runs, analysed (``CallShapes``).
    """

    tensors: dict[str, list[TensorInfo]]
    unknown: dict[str, str] = field(default_factory=dict)
    by_id: list[list[TensorInfo]] = field(default_factory=list)  # ``tensors`` by node number
    input_shapes: dict[str, tuple[int | None, ...]] = field(default_factory=dict)
    defaulted_batch: list[str] = field(default_factory=list)
    calls: dict[str, CallShapes] = field(default_factory=dict)

    def inputs(self, edges: Sequence[tuple[int, int]]) -> list[TensorInfo | None]:
        """The TensorInfo each ``(node number, output index)`` edge carries, None unknown."""
        by_id = self.by_id
        return [by_id[j][k] if k < len(by_id[j]) else None for j, k in edges]

    def output(self, name: str, index: int = 0) -> TensorInfo | None:
        outs = self.tensors.get(name)
        return outs[index] if outs and index < len(outs) else None


@dataclass
class BodyRun:
    """One function analysed with the arguments a call passes it, or why it was not."""

    function: str
    body: FunctionBody | None = None
    shapes: ShapeResult | None = None
    problem: str | None = None  # why the body was not analysed
    note: str | None = None  # something the counts rest on (arguments of unknown shape)


@dataclass
class CallShapes:
    """What the shape inference found for one call node: the runs of its functions."""

    kind: str
    runs: list[tuple[str, BodyRun]]  # (role: "then", "branch 1", "body", ...; the run)
    note: str | None = None  # something the counts rest on (a loop variable's shape)
    problem: str | None = None  # why no function could be found


def is_known(shape: Shape) -> bool:
    return shape is not None and None not in shape


def num_elements(shape: Shape) -> int | None:
    if not is_known(shape):
        return None
    return math.prod(shape)


class _Ctx:
    """What a shape function sees: the node, its data inputs' TensorInfo, its attrs."""

    __slots__ = ("ins", "node", "op")

    def __init__(self, node: proto.NodeDef, op: str, ins: list[TensorInfo | None]):
        self.node = node
        self.op = op
        self.ins = ins

    def attr(self, key: str, default=None):
        value = self.node.attr.get(key)
        return default if value is None else attr_value(value)

    def has_attr(self, key: str) -> bool:
        return key in self.node.attr

    def shape(self, i: int) -> Shape:
        info = self.ins[i] if i < len(self.ins) else None
        return None if info is None else info.shape

    def known_shape(self, i: int) -> tuple[int, ...]:
        shape = self.shape(i)
        if not is_known(shape):
            raise UnknownShape(f"shape of input {i} is {shape_text(shape)}")
        return shape

    def rank(self, i: int) -> int:
        shape = self.shape(i)
        if shape is None:
            raise UnknownShape(f"rank of input {i} is unknown")
        return len(shape)

    def dtype(self, i: int = 0) -> int:
        info = self.ins[i] if i < len(self.ins) else None
        return DT["DT_INVALID"] if info is None else info.dtype

    def value(self, i: int) -> np.ndarray:
        info = self.ins[i] if i < len(self.ins) else None
        if info is None or info.value is None:
            raise UnknownShape(f"value of input {i} is not known statically")
        return info.value

    def maybe_value(self, i: int) -> np.ndarray | None:
        info = self.ins[i] if i < len(self.ins) else None
        return None if info is None else info.value

    def out_dtype(self, *keys: str) -> int:
        for key in keys:
            value = self.attr(key)
            if value is not None:
                return value
        return self.dtype(0)


def _info(shape: Shape, dtype: int, value: np.ndarray | None = None) -> TensorInfo:
    if value is not None:
        value = np.asarray(value)
        if value.size > MAX_VALUE_ELEMENTS:
            value = None
        else:
            shape = tuple(value.shape)
    elif type(shape) is tuple:
        return TensorInfo(shape, dtype)
    return TensorInfo(None if shape is None else tuple(shape), dtype, value)


ShapeFn = Callable[[_Ctx], list[TensorInfo]]
_SHAPE_FNS: dict[str, ShapeFn] = {}


def _register(*ops: str) -> Callable[[ShapeFn], ShapeFn]:
    def wrap(fn: ShapeFn) -> ShapeFn:
        for op in ops:
            if op in _SHAPE_FNS:
                raise ValueError(f"shape function for {op} registered twice")
            _SHAPE_FNS[op] = fn
        return fn

    return wrap


def infer_shapes(
    graph: Graph,
    input_shapes: dict[str, Sequence[int | None]] | None = None,
    default_batch: int = 1,
) -> ShapeResult:
    """Infer every tensor's shape; unknown batch dimensions of placeholders → default_batch.

    ``input_shapes`` maps placeholder names (``"x"`` or ``"x:0"``) to shapes; a name that
    is not a node of the graph, or a shape whose rank contradicts the declared one, is a
    TfflopsError.
    """
    pinned = _check_input_shapes(graph, input_shapes or {})
    result = ShapeResult(tensors={})
    functions = _Functions(Library(graph.graph_def.library))
    _infer(graph, result, functions, pinned, default_batch)
    return result


def _infer(
    graph: Graph,
    result: ShapeResult,
    functions: _Functions,
    pinned: dict[str, tuple],
    default_batch: int | None,
    seeds: dict[str, list[TensorInfo]] | None = None,
    unresolved: dict[str, str] | None = None,
) -> None:
    """Fill ``result`` for every node; ``seeds`` fixes some nodes' outputs (arguments)."""
    calls_by_name = bool(functions.library.functions)
    names, defs, ops, data_in = graph.names, graph.defs, graph.op_list, graph.data_in
    by_id: list[list[TensorInfo]] = [[] for _ in names]
    result.by_id = by_id  # filled in place, in topological order
    for i in graph.topological_ids():
        ins = result.inputs(data_in[i])
        op = ops[i]
        if seeds is not None and names[i] in seeds:
            outs = seeds[names[i]]
        elif unresolved and names[i] in unresolved:
            result.unknown[names[i]] = unresolved[names[i]]
            outs = []
        elif op in PLACEHOLDER_OPS:
            outs = _placeholder(defs[i], ins, pinned.get(names[i]), default_batch, result)
        else:
            node = defs[i]
            spec = CALL_OPS.get(op)
            if spec is None and calls_by_name:
                spec = functions.library.call_spec(node)
            if spec is None:
                outs = _run_shape_fn(node, op, ins, result)
            else:
                outs = functions.call(node, spec, ins, result)
        by_id[i] = outs
    result.tensors.update(zip(names, by_id))


def _pinned_shape(name: str, shape) -> tuple[int | None, ...]:
    """A given shape: whole numbers from 0 to int64's limit, None or -1 for unknown."""
    try:
        if isinstance(shape, (str, bytes)):
            raise TypeError
        given = list(shape)  # a list, tuple, numpy array, tf.TensorShape, ...
    except TypeError:
        raise TfflopsError(f"--input-shape {name}: {shape!r} is not a list of dimensions") from None
    dims = []
    for d in given:
        if d is None or (isinstance(d, numbers.Integral) and not isinstance(d, bool) and d == -1):
            dims.append(None)
        elif isinstance(d, numbers.Integral) and not isinstance(d, bool) and 0 <= d < 2**63:
            dims.append(int(d))
        else:
            raise TfflopsError(
                f"--input-shape {name}: {d!r} is not a dimension (a whole number from 0, "
                "or None or -1 for unknown)"
            )
    return tuple(dims)


def _check_input_shapes(graph: Graph, input_shapes: dict) -> dict[str, tuple]:
    pinned = {}
    for raw_name, shape in input_shapes.items():
        name = parse_tensor_name(raw_name).node
        i = graph.index.get(name)
        node = None if i is None else graph.defs[i]
        if node is None:
            raise TfflopsError(f"--input-shape: no node named {name!r} in {graph.source}")
        if node.op not in PLACEHOLDER_OPS:
            raise TfflopsError(
                f"--input-shape {name}: {name!r} is a {node.op} node, not an input (Placeholder)"
            )
        shape = _pinned_shape(name, shape)
        declared = shape_from_proto(node.attr["shape"].shape) if "shape" in node.attr else None
        if declared is not None and len(declared) != len(shape):
            raise TfflopsError(
                f"--input-shape {name}: rank {len(shape)} given, but {name} has shape "
                f"{shape_text(declared)}"
            )
        if declared is not None:
            for given, have in zip(shape, declared, strict=True):
                if have is not None and given is not None and given != have:
                    raise TfflopsError(
                        f"--input-shape {name}: {shape_text(shape)} contradicts the graph's "
                        f"{shape_text(declared)}"
                    )
        pinned[name] = shape
    return pinned


def _placeholder(node, ins, pinned, default_batch, result) -> list[TensorInfo]:
    dtype = node.attr["dtype"].type if "dtype" in node.attr else DT["DT_FLOAT"]
    shape = shape_from_proto(node.attr["shape"].shape) if "shape" in node.attr else None
    if shape is None and node.op == "PlaceholderWithDefault" and ins and ins[0] is not None:
        shape = ins[0].shape
    if pinned is not None:
        shape = pinned
    elif shape and shape[0] is None and default_batch is not None:
        shape = (default_batch, *shape[1:])
        result.defaulted_batch.append(node.name)
    if shape is not None:
        result.input_shapes[node.name] = shape
    return [TensorInfo(shape, dtype)]


def _run_shape_fn(node, op, ins, result) -> list[TensorInfo]:
    fn = _SHAPE_FNS.get(op)
    if fn is None:
        declared = _declared_output_shapes(node)
        if declared is not None:
            return declared
        result.unknown[node.name] = f"no shape function for op {op}"
        return []
    try:
        return fn(_Ctx(node, op, ins))
    except UnknownShape as e:
        result.unknown[node.name] = str(e)
    except (
        ValueError,
        IndexError,
        TypeError,
        KeyError,
        AttributeError,
        ZeroDivisionError,
        OverflowError,
    ) as e:
        # A malformed attribute or an inconsistent graph: that node stays unknown.
        result.unknown[node.name] = f"shape inference failed: {e}"
    return _declared_output_shapes(node) or []


def _declared_output_shapes(node) -> list[TensorInfo] | None:
    """Shapes some exporters record in ``_output_shapes`` / ``output_shapes``."""
    for key in ("_output_shapes", "output_shapes"):
        if key in node.attr and node.attr[key].list.shape:
            dtypes = list(node.attr["Tout"].list.type) if "Tout" in node.attr else []
            shapes = [shape_from_proto(s) for s in node.attr[key].list.shape]
            return [
                TensorInfo(s, dtypes[i] if i < len(dtypes) else DT["DT_INVALID"])
                for i, s in enumerate(shapes)
            ]
    return None


# ---------------------------------------------------------------- sources and variables


@_register("Const", "HostConst")
def _const(c: _Ctx) -> list[TensorInfo]:
    tensor = c.node.attr["value"].tensor
    shape = tensor_shape(tensor)
    value = None
    count = math.prod(shape)
    # Shape arithmetic runs on integers; a float constant's value matters only as a
    # scalar (a Fill value, a Range bound), so larger float tensors are never decoded.
    if count <= MAX_VALUE_ELEMENTS and (count <= 8 or base_dtype(tensor.dtype) not in FLOAT_DTYPES):
        value = tensor_value(tensor)
    return [_info(shape, base_dtype(tensor.dtype), value)]


@_register("VariableV2", "Variable", "VarHandleOp", "TemporaryVariable")
def _variable(c: _Ctx) -> list[TensorInfo]:
    # A VarHandleOp's output is a resource handle; tfflops tracks the variable's shape
    # through it so that ReadVariableOp knows what it reads.
    shape = c.attr("shape")
    dtype = c.node.attr["dtype"].type if c.has_attr("dtype") else DT["DT_FLOAT"]
    return [TensorInfo(shape if isinstance(shape, tuple) else None, dtype)]


@_register("ReadVariableOp")
def _read_variable(c: _Ctx) -> list[TensorInfo]:
    if c.dtype(0) == DT["DT_RESOURCE"]:
        # A bare handle (a resource Placeholder or argument): its shape is the handle's.
        raise UnknownShape("reads a resource handle whose variable's shape is not known")
    return [TensorInfo(c.shape(0), c.attr("dtype", c.dtype(0)))]


@_register(
    "Assign",
    "AssignAdd",
    "AssignSub",
    "Identity",
    "RefIdentity",
    "StopGradient",
    "PreventGradient",
    "Snapshot",
    "CheckNumerics",
    "DebugIdentity",
    "Enter",
    "RefEnter",
    "Exit",
    "RefExit",
    "NextIteration",
    "RefNextIteration",
    "LoopCond",
    "Print",
    "PrintV2Identity",
)
def _identity(c: _Ctx) -> list[TensorInfo]:
    info = c.ins[0] if c.ins else None
    if info is None:
        raise UnknownShape("input 0 is unknown")
    return [info]


@_register("IdentityN")
def _identity_n(c: _Ctx) -> list[TensorInfo]:
    return [info if info is not None else TensorInfo(None, DT["DT_INVALID"]) for info in c.ins]


@_register("EnsureShape")
def _ensure_shape(c: _Ctx) -> list[TensorInfo]:
    return [TensorInfo(c.attr("shape") or c.shape(0), c.dtype(0), c.maybe_value(0))]


@_register(
    "NoOp",
    "AssignVariableOp",
    "AssignAddVariableOp",
    "AssignSubVariableOp",
    "SaveV2",
    "Save",
    "SaveSlices",
    "ControlTrigger",
    "DestroyResourceOp",
)
def _no_outputs(c: _Ctx) -> list[TensorInfo]:
    return []


@_register("VarIsInitializedOp", "IsVariableInitialized")
def _bool_scalar(c: _Ctx) -> list[TensorInfo]:
    return [TensorInfo((), DT["DT_BOOL"])]


# ---------------------------------------------------------------- elementwise

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

_UNARY = (
    *_UNARY_VALUES,
    "Relu",
    "Relu6",
    "Elu",
    "Selu",
    "LeakyRelu",
    "Gelu",
    "Sigmoid",
    "Tanh",
    "Softplus",
    "Softsign",
    "Exp",
    "Expm1",
    "Log",
    "Log1p",
    "Sqrt",
    "Rsqrt",
    "Reciprocal",
    "Inv",
    "Erf",
    "Erfc",
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
    "Rint",
    "IsNan",
    "IsInf",
    "IsFinite",
    "Softmax",
    "LogSoftmax",
    "ZerosLike",
    "OnesLike",
    "LRN",
    "Relu6Grad",
    "ReluGrad",
    "EluGrad",
    "SeluGrad",
    "SigmoidGrad",
    "TanhGrad",
    "SoftplusGrad",
    "RsqrtGrad",
    "SqrtGrad",
    "LeakyReluGrad",
    "Invert",
    "BitwiseNot",
    "Dropout",
    "HardSwish",
    "Mish",
    "Swish",
    "ClipByValue",
    "FakeQuantWithMinMaxVars",
    "FakeQuantWithMinMaxArgs",
    "FakeQuantWithMinMaxVarsPerChannel",
    "Cumsum",
    "Cumprod",
    "Reverse",
    "ReverseV2",
    "BiasAdd",
    "BiasAddV1",
    "RandomShuffle",
    "L2Normalize",
)


@_register(*_UNARY)
def _unary(c: _Ctx) -> list[TensorInfo]:
    value = c.maybe_value(0)
    if value is None and c.op != "ZerosLike" and c.ins and c.ins[0] is not None:
        return [c.ins[0]]  # same shape, same dtype, no value: the input's own TensorInfo
    fn = _UNARY_VALUES.get(c.op)
    out = fn(value) if fn is not None and value is not None else None
    if c.op == "ZerosLike" and is_known(c.shape(0)):
        out = np.zeros(c.shape(0), dtype=np.int64) if math.prod(c.shape(0)) < 64 else None
    return [_info(c.shape(0), c.dtype(0), out)]


@_register("Cast")
def _cast(c: _Ctx) -> list[TensorInfo]:
    value = c.maybe_value(0)
    dst = c.attr("DstT", c.dtype(0))
    if value is not None and dst in (DT["DT_INT32"], DT["DT_INT64"]):
        value = value.astype(np.int64)
    elif value is not None and dst in (DT["DT_FLOAT"], DT["DT_DOUBLE"]):
        value = value.astype(np.float64)
    else:
        value = None
    return [_info(c.shape(0), dst, value)]


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
_BINARY = (
    *_BINARY_VALUES,
    "Pow",
    "SquaredDifference",
    "DivNoNan",
    "MulNoNan",
    "Atan2",
    "Xdivy",
    "Xlogy",
    "BitwiseAnd",
    "BitwiseOr",
    "BitwiseXor",
    "LeftShift",
    "RightShift",
    "ApproximateEqual",
    "TruncateMod",
)


@_register(*_BINARY)
def _binary(c: _Ctx) -> list[TensorInfo]:
    shape = broadcast_shapes(c.shape(0), c.shape(1))
    dtype = DT["DT_BOOL"] if c.op in _COMPARISONS else c.dtype(0)
    a, b = c.maybe_value(0), c.maybe_value(1)
    value = None
    fn = _BINARY_VALUES.get(c.op)
    if fn is not None and a is not None and b is not None:
        with np.errstate(all="ignore"):
            value = fn(a, b)
        if c.op == "Div" and np.issubdtype(np.result_type(a, b), np.floating):
            value = np.true_divide(a, b)
    return [_info(shape, dtype, value)]


@_register("AddN", "AccumulateNV2")
def _add_n(c: _Ctx) -> list[TensorInfo]:
    shapes = [info.shape for info in c.ins if info is not None]
    known = [s for s in shapes if is_known(s)]
    return [TensorInfo(known[0] if known else (shapes[0] if shapes else None), c.dtype(0))]


@_register("Select")
def _select(c: _Ctx) -> list[TensorInfo]:
    return [TensorInfo(c.shape(1) if is_known(c.shape(1)) else c.shape(2), c.dtype(1))]


@_register("SelectV2")
def _select_v2(c: _Ctx) -> list[TensorInfo]:
    shape = broadcast_shapes(broadcast_shapes(c.shape(0), c.shape(1)), c.shape(2))
    return [TensorInfo(shape, c.dtype(1))]


# ---------------------------------------------------------------- contractions


@_register("MatMul", "_FusedMatMul")
def _matmul(c: _Ctx) -> list[TensorInfo]:
    a, b = c.shape(0), c.shape(1)
    m = None if a is None else a[1 if c.attr("transpose_a") else 0]
    n = None if b is None else b[0 if c.attr("transpose_b") else 1]
    return [TensorInfo((m, n), c.out_dtype("T"))]


@_register("BatchMatMul", "BatchMatMulV2", "BatchMatMulV3")
def _batch_matmul(c: _Ctx) -> list[TensorInfo]:
    a, b = c.shape(0), c.shape(1)
    if a is None or b is None:
        raise UnknownShape("rank of an operand is unknown")
    m = a[-1] if c.attr("adj_x") else a[-2]
    n = b[-2] if c.attr("adj_y") else b[-1]
    batch = broadcast_shapes(a[:-2], b[:-2])
    return [TensorInfo((*batch, m, n), c.out_dtype("Tout", "T"))]


def _spatial(c: _Ctx, data_format: str, nspatial: int):
    """Indices of the batch, channel and spatial dims for NHWC/NCHW (and 3-D twins)."""
    if data_format.startswith("NC"):
        return 0, 1, list(range(2, 2 + nspatial))
    return 0, 1 + nspatial, list(range(1, 1 + nspatial))


def _conv_like(c: _Ctx, kernel_sizes, out_channels, nspatial) -> list[TensorInfo]:
    shape = c.shape(0)
    fmt = c.attr("data_format", "NHWC")
    rank = nspatial + 2
    if shape is None:
        shape = (None,) * rank
    n, ch, spatial = _spatial(c, fmt, nspatial)
    strides = c.attr("strides") or [1] * rank
    dilations = c.attr("dilations") or [1] * rank
    padding = c.attr("padding", "VALID")
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


@_register("Conv2D", "_FusedConv2D", "FusedResizeAndPadConv2D", "FusedPadConv2D")
def _conv2d(c: _Ctx) -> list[TensorInfo]:
    f = c.shape(1)
    if f is None or len(f) != 4:
        raise UnknownShape(f"filter shape is {shape_text(f)}")
    return _conv_like(c, f[:2], f[3], 2)


@_register("Conv3D")
def _conv3d(c: _Ctx) -> list[TensorInfo]:
    f = c.shape(1)
    if f is None or len(f) != 5:
        raise UnknownShape(f"filter shape is {shape_text(f)}")
    return _conv_like(c, f[:3], f[4], 3)


@_register("DepthwiseConv2dNative", "_FusedDepthwiseConv2dNative")
def _depthwise(c: _Ctx) -> list[TensorInfo]:
    f = c.shape(1)
    if f is None or len(f) != 4:
        raise UnknownShape(f"filter shape is {shape_text(f)}")
    out_channels = None if f[2] is None or f[3] is None else f[2] * f[3]
    return _conv_like(c, f[:2], out_channels, 2)


@_register("Dilation2D")
def _dilation2d(c: _Ctx) -> list[TensorInfo]:
    f = c.shape(1)
    if f is None or len(f) != 3:
        raise UnknownShape(f"filter shape is {shape_text(f)}")
    shape = c.shape(0) or (None,) * 4
    strides, rates = c.attr("strides"), c.attr("rates")
    padding = c.attr("padding")
    out = [shape[0]] + [
        conv_output_size(shape[i + 1], f[i], strides[i + 1], rates[i + 1], padding)
        for i in range(2)
    ]
    return [TensorInfo((*out, f[2]), c.dtype(0))]


@_register("Conv2DBackpropInput", "Conv3DBackpropInputV2")
def _conv_backprop_input(c: _Ctx) -> list[TensorInfo]:
    return [TensorInfo(tuple(int(v) for v in c.value(0)), c.dtype(1))]


@_register("Conv2DBackpropFilter", "Conv3DBackpropFilterV2", "DepthwiseConv2dNativeBackpropFilter")
def _conv_backprop_filter(c: _Ctx) -> list[TensorInfo]:
    return [TensorInfo(tuple(int(v) for v in c.value(1)), c.dtype(0))]


@_register("DepthwiseConv2dNativeBackpropInput")
def _depthwise_backprop_input(c: _Ctx) -> list[TensorInfo]:
    return [TensorInfo(tuple(int(v) for v in c.value(0)), c.dtype(1))]


# ---------------------------------------------------------------- pooling, normalization


def _pool(c: _Ctx, ksize, strides, nspatial) -> list[TensorInfo]:
    shape = c.shape(0)
    rank = nspatial + 2
    if shape is None:
        shape = (None,) * rank
    fmt = c.attr("data_format", "NHWC" if nspatial == 2 else "NDHWC")
    _, _, spatial = _spatial(c, fmt, nspatial)
    padding = c.attr("padding", "VALID")
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


@_register("MaxPool", "AvgPool", "MaxPoolWithArgmax", "FractionalMaxPool")
def _pool2d(c: _Ctx) -> list[TensorInfo]:
    outs = _pool(c, c.attr("ksize"), c.attr("strides"), 2)
    if c.op == "MaxPoolWithArgmax":
        outs.append(TensorInfo(outs[0].shape, c.attr("Targmax", DT["DT_INT64"])))
    return outs


@_register("MaxPoolV2")
def _pool2d_v2(c: _Ctx) -> list[TensorInfo]:
    return _pool(c, [int(v) for v in c.value(1)], [int(v) for v in c.value(2)], 2)


@_register("MaxPool3D", "AvgPool3D")
def _pool3d(c: _Ctx) -> list[TensorInfo]:
    return _pool(c, c.attr("ksize"), c.attr("strides"), 3)


@_register("AvgPoolGrad")
def _avg_pool_grad(c: _Ctx) -> list[TensorInfo]:
    return [TensorInfo(tuple(int(v) for v in c.value(0)), c.dtype(1))]


@_register("MaxPoolGrad", "MaxPoolGradV2")
def _max_pool_grad(c: _Ctx) -> list[TensorInfo]:
    return [TensorInfo(c.shape(0), c.dtype(0))]


@_register("FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3")
def _fused_batch_norm(c: _Ctx) -> list[TensorInfo]:
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


@_register("BiasAddGrad")
def _bias_add_grad(c: _Ctx) -> list[TensorInfo]:
    shape = c.shape(0)
    fmt = c.attr("data_format", "NHWC")
    if shape is None:
        raise UnknownShape("rank of input 0 is unknown")
    return [TensorInfo((shape[1] if fmt.startswith("NC") else shape[-1],), c.dtype(0))]


@_register("L2Loss")
def _scalar_like(c: _Ctx) -> list[TensorInfo]:
    return [TensorInfo((), c.dtype(0))]


# ---------------------------------------------------------------- reductions


def _axes(c: _Ctx, i: int, rank: int) -> list[int]:
    axes = np.asarray(c.value(i)).reshape(-1)
    return sorted({int(a) % rank for a in axes}) if rank else []


_REDUCE_VALUES = {
    "Sum": np.sum,
    "Prod": np.prod,
    "Max": np.max,
    "Min": np.min,
    "Mean": np.mean,
    "All": np.all,
    "Any": np.any,
}


@_register(*_REDUCE_VALUES, "EuclideanNorm")
def _reduce(c: _Ctx) -> list[TensorInfo]:
    shape = c.shape(0)
    keep = bool(c.attr("keep_dims", False))
    axes_value = c.maybe_value(1)
    if shape is None:
        raise UnknownShape("rank of input 0 is unknown")
    if axes_value is None:
        # The rank is still known when the axes' count is and keep_dims is set.
        raise UnknownShape("reduction axes are not known statically")
    axes = _axes(c, 1, len(shape))
    if keep:
        out = tuple(1 if i in axes else d for i, d in enumerate(shape))
    else:
        out = tuple(d for i, d in enumerate(shape) if i not in axes)
    value = None
    if c.maybe_value(0) is not None and c.op in _REDUCE_VALUES:
        value = _REDUCE_VALUES[c.op](c.value(0), axis=tuple(axes), keepdims=keep)
    return [_info(out, c.dtype(0), value)]


@_register("ArgMax", "ArgMin")
def _arg_reduce(c: _Ctx) -> list[TensorInfo]:
    shape = c.shape(0)
    if shape is None:
        raise UnknownShape("rank of input 0 is unknown")
    axis = int(c.value(1)) % len(shape)
    return [TensorInfo(shape[:axis] + shape[axis + 1 :], c.attr("output_type", DT["DT_INT64"]))]


@_register("TopKV2", "TopK")
def _top_k(c: _Ctx) -> list[TensorInfo]:
    shape = c.shape(0)
    if shape is None:
        raise UnknownShape("rank of input 0 is unknown")
    k = c.attr("k") if c.op == "TopK" else int(c.value(1))
    out = (*shape[:-1], k)
    return [TensorInfo(out, c.dtype(0)), TensorInfo(out, DT["DT_INT32"])]


# ---------------------------------------------------------------- shape manipulation


@_register("Shape")
def _shape(c: _Ctx) -> list[TensorInfo]:
    shape = c.shape(0)
    dtype = c.attr("out_type", DT["DT_INT32"])
    if shape is None:
        return [TensorInfo((None,), dtype)]
    value = np.array(shape, dtype=np.int64) if is_known(shape) else None
    return [_info((len(shape),), dtype, value)]


@_register("ShapeN")
def _shape_n(c: _Ctx) -> list[TensorInfo]:
    dtype = c.attr("out_type", DT["DT_INT32"])
    outs = []
    for info in c.ins:
        shape = None if info is None else info.shape
        value = np.array(shape, dtype=np.int64) if is_known(shape) else None
        outs.append(_info(None if shape is None else (len(shape),), dtype, value))
    return outs


@_register("Size")
def _size(c: _Ctx) -> list[TensorInfo]:
    n = num_elements(c.shape(0))
    value = None if n is None else np.array(n, dtype=np.int64)
    return [_info((), c.attr("out_type", DT["DT_INT32"]), value)]


@_register("Rank")
def _rank(c: _Ctx) -> list[TensorInfo]:
    shape = c.shape(0)
    value = None if shape is None else np.array(len(shape), dtype=np.int64)
    return [_info((), DT["DT_INT32"], value)]


@_register("Reshape")
def _reshape(c: _Ctx) -> list[TensorInfo]:
    target = c.maybe_value(1)
    if target is None:
        size_shape = c.shape(1)
        if size_shape is not None and is_known(size_shape):
            return [TensorInfo((None,) * size_shape[0], c.dtype(0))]
        raise UnknownShape("the target shape is not known statically")
    dims = [int(d) for d in np.asarray(target).reshape(-1)]
    total = num_elements(c.shape(0))
    if -1 in dims:
        rest = math.prod(d for d in dims if d != -1)
        if total is None or rest == 0:
            out = tuple(None if d == -1 else d for d in dims)
        else:
            out = tuple(total // rest if d == -1 else d for d in dims)
    else:
        out = tuple(dims)
    value = c.maybe_value(0)
    if value is not None and is_known(out):
        value = value.reshape(out)
    return [_info(out, c.dtype(0), value if is_known(out) else None)]


@_register("Squeeze")
def _squeeze(c: _Ctx) -> list[TensorInfo]:
    shape = c.shape(0)
    if shape is None:
        raise UnknownShape("rank of input 0 is unknown")
    dims = {d % len(shape) for d in (c.attr("squeeze_dims") or c.attr("axis") or [])}
    if dims:
        out = tuple(d for i, d in enumerate(shape) if i not in dims)
    else:
        if not is_known(shape):
            raise UnknownShape(f"squeezing all size-1 dims of {shape_text(shape)}")
        out = tuple(d for d in shape if d != 1)
    value = c.maybe_value(0)
    return [_info(out, c.dtype(0), None if value is None else value.reshape(out))]


@_register("ExpandDims")
def _expand_dims(c: _Ctx) -> list[TensorInfo]:
    shape = c.shape(0)
    if shape is None:
        raise UnknownShape("rank of input 0 is unknown")
    axis = int(np.asarray(c.value(1)).reshape(-1)[0])
    if axis < 0:
        axis += len(shape) + 1
    out = (*shape[:axis], 1, *shape[axis:])
    value = c.maybe_value(0)
    return [_info(out, c.dtype(0), None if value is None else value.reshape(out))]


@_register("Transpose", "ConjugateTranspose")
def _transpose(c: _Ctx) -> list[TensorInfo]:
    shape = c.shape(0)
    perm = [int(p) for p in np.asarray(c.value(1)).reshape(-1)]
    if shape is None:
        return [TensorInfo((None,) * len(perm), c.dtype(0))]
    value = c.maybe_value(0)
    out = tuple(shape[p] for p in perm)
    return [_info(out, c.dtype(0), None if value is None else np.transpose(value, perm))]


@_register("Pad", "PadV2", "MirrorPad")
def _pad(c: _Ctx) -> list[TensorInfo]:
    shape = c.shape(0)
    pads = np.asarray(c.value(1)).reshape(-1, 2)
    if shape is None:
        shape = (None,) * len(pads)
    out = tuple(None if d is None else d + int(p[0]) + int(p[1]) for d, p in zip(shape, pads))
    return [TensorInfo(out, c.dtype(0))]


@_register("Tile")
def _tile(c: _Ctx) -> list[TensorInfo]:
    shape = c.shape(0)
    multiples = [int(m) for m in np.asarray(c.value(1)).reshape(-1)]
    if shape is None:
        shape = (None,) * len(multiples)
    out = tuple(None if d is None else d * m for d, m in zip(shape, multiples))
    value = c.maybe_value(0)
    if value is not None and value.size * math.prod(multiples) <= MAX_VALUE_ELEMENTS:
        value = np.tile(value, multiples)
    else:
        value = None
    return [_info(out, c.dtype(0), value)]


@_register("Fill")
def _fill(c: _Ctx) -> list[TensorInfo]:
    dims = tuple(int(d) for d in np.asarray(c.value(0)).reshape(-1))
    value = c.maybe_value(1)
    full = None
    if value is not None and math.prod(dims) <= MAX_VALUE_ELEMENTS:
        full = np.full(dims, value)
    return [_info(dims, c.dtype(1), full)]


@_register(
    "RandomStandardNormal",
    "RandomUniform",
    "TruncatedNormal",
    "RandomUniformInt",
    "StatelessRandomNormal",
    "StatelessRandomUniform",
    "StatelessTruncatedNormal",
    "StatelessRandomNormalV2",
    "StatelessRandomUniformV2",
    "StatelessTruncatedNormalV2",
    "Empty",
)
def _random(c: _Ctx) -> list[TensorInfo]:
    dims = tuple(int(d) for d in np.asarray(c.value(0)).reshape(-1))
    dtype = c.attr("dtype", c.attr("Tout", DT["DT_FLOAT"]))
    return [TensorInfo(dims, dtype)]


@_register("Range")
def _range(c: _Ctx) -> list[TensorInfo]:
    start, limit, delta = (c.maybe_value(i) for i in range(3))
    if start is None or limit is None or delta is None:
        return [TensorInfo((None,), c.attr("Tidx", c.dtype(0)))]
    start, limit, delta = start.item(), limit.item(), delta.item()
    if delta == 0:
        raise UnknownShape("Range with delta 0")
    length = max(0, math.ceil((limit - start) / delta))
    # Never materialize a large range: only its length matters then.
    value = np.arange(start, limit, delta) if length <= MAX_VALUE_ELEMENTS else None
    return [_info((length,), c.attr("Tidx", c.dtype(0)), value)]


@_register("Pack")
def _pack(c: _Ctx) -> list[TensorInfo]:
    shapes = [info.shape if info else None for info in c.ins]
    base = next((s for s in shapes if is_known(s)), next((s for s in shapes if s), None))
    if base is None:
        raise UnknownShape("ranks of the packed inputs are unknown")
    axis = c.attr("axis", 0)
    if axis < 0:
        axis += len(base) + 1
    out = (*base[:axis], len(c.ins), *base[axis:])
    values = [c.maybe_value(i) for i in range(len(c.ins))]
    value = None if any(v is None for v in values) else np.stack(values, axis=axis)
    return [_info(out, c.dtype(0), value)]


@_register("Unpack")
def _unpack(c: _Ctx) -> list[TensorInfo]:
    shape = c.shape(0)
    if shape is None:
        raise UnknownShape("rank of input 0 is unknown")
    axis = c.attr("axis", 0) % len(shape)
    num = _output_count(c.attr("num") or shape[axis])
    out = shape[:axis] + shape[axis + 1 :]
    value = c.maybe_value(0)
    if value is not None:
        return [_info(out, c.dtype(0), np.take(value, i, axis=axis)) for i in range(num)]
    return [TensorInfo(out, c.dtype(0)) for _ in range(num)]


def _output_count(num) -> int:
    """An op's declared number of outputs, refused when a malformed graph makes it absurd."""
    if not isinstance(num, int) or not 0 < num <= 1 << 16:
        raise UnknownShape(f"implausible number of outputs: {num!r}")
    return num


def _concat(c: _Ctx, inputs: list[TensorInfo | None], axis_value) -> list[TensorInfo]:
    shapes = [info.shape if info else None for info in inputs]
    ranked = [s for s in shapes if s is not None]
    if not ranked:
        raise UnknownShape("ranks of the concatenated inputs are unknown")
    rank = len(ranked[0])
    axis = int(axis_value) % rank
    out = []
    for d in range(rank):
        if d == axis:
            sizes = [None if s is None else s[d] for s in shapes]
            out.append(None if None in sizes else sum(sizes))
        else:
            out.append(next((s[d] for s in ranked if s[d] is not None), None))
    values = [info.value if info else None for info in inputs]
    value = None
    if all(v is not None for v in values):
        value = np.concatenate(values, axis=axis)
    dtype = next((info.dtype for info in inputs if info), DT["DT_INVALID"])
    return [_info(tuple(out), dtype, value)]


@_register("ConcatV2")
def _concat_v2(c: _Ctx) -> list[TensorInfo]:
    return _concat(c, c.ins[:-1], c.value(len(c.ins) - 1).item())


@_register("Concat")
def _concat_v1(c: _Ctx) -> list[TensorInfo]:
    return _concat(c, c.ins[1:], c.value(0).item())


@_register("Split")
def _split(c: _Ctx) -> list[TensorInfo]:
    shape = c.shape(1)
    num = _output_count(c.attr("num_split"))
    if shape is None:
        return [TensorInfo(None, c.dtype(1)) for _ in range(num)]
    axis = int(c.value(0).item()) % len(shape)
    size = None if shape[axis] is None else shape[axis] // num
    out = (*shape[:axis], size, *shape[axis + 1 :])
    return [TensorInfo(out, c.dtype(1)) for _ in range(num)]


@_register("SplitV")
def _split_v(c: _Ctx) -> list[TensorInfo]:
    shape = c.shape(0)
    sizes = [int(s) for s in c.value(1).reshape(-1)]
    if shape is None:
        return [TensorInfo(None, c.dtype(0)) for _ in sizes]
    axis = int(c.value(2).item()) % len(shape)
    if -1 in sizes and shape[axis] is not None:
        sizes[sizes.index(-1)] = shape[axis] - (sum(sizes) + 1)
    return [
        TensorInfo((*shape[:axis], s if s >= 0 else None, *shape[axis + 1 :]), c.dtype(0))
        for s in sizes
    ]


@_register("Slice")
def _slice(c: _Ctx) -> list[TensorInfo]:
    shape = c.shape(0)
    begin = [int(b) for b in c.value(1).reshape(-1)]
    size = [int(s) for s in c.value(2).reshape(-1)]
    if shape is None:
        shape = (None,) * len(begin)
    out = tuple(
        (None if d is None else d - b) if s == -1 else s
        for d, b, s in zip(shape, begin, size, strict=True)
    )
    value = c.maybe_value(0)
    if value is not None:
        value = value[tuple(slice(b, None if s == -1 else b + s) for b, s in zip(begin, size))]
    return [_info(out, c.dtype(0), value)]


@_register("StridedSlice")
def _strided_slice(c: _Ctx) -> list[TensorInfo]:
    shape = c.shape(0)
    if shape is None:
        raise UnknownShape("rank of input 0 is unknown")
    begin, end, strides = ([int(v) for v in np.asarray(c.value(i)).reshape(-1)] for i in (1, 2, 3))
    index = strided_slice_index(
        begin,
        end,
        strides,
        c.attr("begin_mask", 0),
        c.attr("end_mask", 0),
        c.attr("ellipsis_mask", 0),
        c.attr("new_axis_mask", 0),
        c.attr("shrink_axis_mask", 0),
    )
    out = indexed_shape(shape, index)
    value = c.maybe_value(0)
    if value is not None:
        value = value[tuple(index)]
    return [_info(out, c.dtype(0), value)]


@_register("GatherV2", "Gather", "ResourceGather")
def _gather(c: _Ctx) -> list[TensorInfo]:
    params, indices = c.shape(0), c.shape(1)
    if params is None or indices is None:
        raise UnknownShape("rank of an input is unknown")
    axis = 0 if c.op != "GatherV2" else int(c.value(2).item()) % len(params)
    batch_dims = c.attr("batch_dims", 0)
    out = params[:axis] + indices[batch_dims:] + params[axis + 1 :]
    value = None
    if c.maybe_value(0) is not None and c.maybe_value(1) is not None and batch_dims == 0:
        value = np.take(c.value(0), c.value(1), axis=axis)
    return [_info(out, c.attr("dtype", c.dtype(0)), value)]


@_register("OneHot")
def _one_hot(c: _Ctx) -> list[TensorInfo]:
    shape = c.shape(0)
    if shape is None:
        raise UnknownShape("rank of input 0 is unknown")
    depth = int(c.value(1).item())
    axis = c.attr("axis", -1)
    axis = len(shape) if axis == -1 else axis
    return [TensorInfo((*shape[:axis], depth, *shape[axis:]), c.dtype(2))]


@_register("BroadcastTo")
def _broadcast_to(c: _Ctx) -> list[TensorInfo]:
    dims = tuple(int(d) for d in c.value(1).reshape(-1))
    return [TensorInfo(dims, c.dtype(0))]


@_register("BroadcastArgs")
def _broadcast_args(c: _Ctx) -> list[TensorInfo]:
    a, b = (tuple(int(v) for v in c.value(i).reshape(-1)) for i in (0, 1))
    out = broadcast_shapes(a, b)
    return [_info((len(out),), c.dtype(0), np.array(out, dtype=np.int64))]


@_register("Switch", "RefSwitch")
def _switch(c: _Ctx) -> list[TensorInfo]:
    info = c.ins[0] or TensorInfo(None, DT["DT_INVALID"])
    return [info, info]


@_register("Merge", "RefMerge")
def _merge(c: _Ctx) -> list[TensorInfo]:
    infos = [info for info in c.ins if info is not None]
    known = [info for info in infos if is_known(info.shape)]
    chosen = known[0] if known else (infos[0] if infos else TensorInfo(None, DT["DT_INVALID"]))
    return [TensorInfo(chosen.shape, chosen.dtype), TensorInfo((), DT["DT_INT32"])]


@_register("ResizeBilinear", "ResizeNearestNeighbor", "ResizeBicubic", "ResizeArea")
def _resize(c: _Ctx) -> list[TensorInfo]:
    shape = c.shape(0) or (None,) * 4
    h, w = (int(v) for v in c.value(1).reshape(-1))
    dtype = c.dtype(0) if c.op == "ResizeNearestNeighbor" else DT["DT_FLOAT"]
    return [TensorInfo((shape[0], h, w, shape[3]), dtype)]


@_register("DepthToSpace", "SpaceToDepth")
def _depth_space(c: _Ctx) -> list[TensorInfo]:
    n, h, w, ch = c.known_shape(0)
    b = c.attr("block_size")
    if c.op == "DepthToSpace":
        return [TensorInfo((n, h * b, w * b, ch // (b * b)), c.dtype(0))]
    return [TensorInfo((n, h // b, w // b, ch * b * b), c.dtype(0))]


@_register("SpaceToBatchND")
def _space_to_batch(c: _Ctx) -> list[TensorInfo]:
    shape = c.known_shape(0)
    block = [int(b) for b in c.value(1).reshape(-1)]
    pads = c.value(2).reshape(-1, 2)
    spatial = [(shape[1 + i] + int(pads[i][0]) + int(pads[i][1])) // b for i, b in enumerate(block)]
    out = (shape[0] * math.prod(block), *spatial, *shape[1 + len(block) :])
    return [TensorInfo(out, c.dtype(0))]


@_register("BatchToSpaceND")
def _batch_to_space(c: _Ctx) -> list[TensorInfo]:
    shape = c.known_shape(0)
    block = [int(b) for b in c.value(1).reshape(-1)]
    crops = c.value(2).reshape(-1, 2)
    spatial = [shape[1 + i] * b - int(crops[i][0]) - int(crops[i][1]) for i, b in enumerate(block)]
    out = (shape[0] // math.prod(block), *spatial, *shape[1 + len(block) :])
    return [TensorInfo(out, c.dtype(0))]


@_register("Einsum")
def _einsum(c: _Ctx) -> list[TensorInfo]:
    equation = c.attr("equation").replace(" ", "")
    sizes, out_spec = einsum_dims(equation, [c.known_shape(i) for i in range(len(c.ins))])
    return [TensorInfo(tuple(sizes[ch] for ch in out_spec), c.dtype(0))]


@_register("SparseSoftmaxCrossEntropyWithLogits", "SoftmaxCrossEntropyWithLogits")
def _xent(c: _Ctx) -> list[TensorInfo]:
    shape = c.shape(0)
    batch = None if shape is None else shape[:1]
    return [TensorInfo(batch, c.dtype(0)), TensorInfo(shape, c.dtype(0))]


# ---------------------------------------------------------------- function calls


class _Functions:
    """The function calls of one inference: the library, the call stack, analysed bodies.

    A body is analysed once per distinct arguments (shapes, dtypes, values); a function
    already on the stack (recursion) or a stack deeper than MAX_DEPTH is not followed.
    """

    def __init__(self, library: Library, stack: tuple[str, ...] = (), cache=None):
        self.library = library
        self.stack = stack
        self.cache: dict[tuple, BodyRun] = {} if cache is None else cache

    def call(self, node, spec: CallSpec, ins, result: ShapeResult) -> list[TensorInfo]:
        """Analyse the functions ``node`` runs; its outputs' TensorInfo."""
        try:
            called = self.library.called(node, spec)
        except FunctionError as e:
            result.calls[node.name] = CallShapes(spec.kind, [], problem=str(e))
            result.unknown[node.name] = str(e)
            return _with_declared(node, [])
        args = ins[spec.first_input :]
        runs = [(role, self.run(function, args)) for role, function in called]
        if spec.kind == "while":
            outs, note = _loop_outputs(args, runs)
        else:
            outs, note = _branch_outputs(runs), None
        result.calls[node.name] = CallShapes(spec.kind, runs, note=note)
        problems = [f"{role} {run.function}: {run.problem}" for role, run in runs if run.problem]
        if problems:
            result.unknown[node.name] = "; ".join(problems)
        return _with_declared(node, outs)

    def run(self, function: str, args: list[TensorInfo | None]) -> BodyRun:
        """``function`` analysed with ``args`` (cached), or why it was not."""
        if function in self.stack:
            return BodyRun(function, problem=f"recursive call of {function} not followed")
        if len(self.stack) >= MAX_DEPTH:
            return BodyRun(function, problem=f"calls nested deeper than {MAX_DEPTH}")
        try:
            body = self.library.body(function)
        except FunctionError as e:
            return BodyRun(function, problem=str(e))
        arg_infos, note = _bind(body, args)
        key = (function, len(args), tuple(_info_key(info) for info in arg_infos))
        run = self.cache.get(key)
        if run is not None:
            return run
        shapes = ShapeResult(tensors={})
        seeds = {name: [info] for name, info in zip(body.args, arg_infos)}
        seeds.update((name, []) for name in body.synthetic - set(body.args))
        inner = _Functions(self.library, (*self.stack, function), self.cache)
        try:
            _infer(body.graph, shapes, inner, {}, None, seeds, body.unresolved)
        except TfflopsError as e:  # a cycle in the body
            run = BodyRun(function, problem=str(e))
        else:
            run = BodyRun(function, body, shapes, note=note)
        self.cache[key] = run
        return run


def _bind(body: FunctionBody, args: list[TensorInfo | None]) -> tuple[list[TensorInfo], str | None]:
    """The arguments' TensorInfo: the call's inputs, else their declared shapes."""
    if body.list_args or len(args) != len(body.args):
        note = (
            f"{body.name} takes {len(body.args)} argument(s), the call passes {len(args)}: "
            "their shapes are unknown"
        )
        return [TensorInfo(None, dtype) for dtype in body.arg_types], note
    infos = []
    for info, declared, dtype in zip(args, body.arg_shapes, body.arg_types):
        if info is None:
            infos.append(TensorInfo(declared, dtype))
        else:
            shape = _refine(info.shape, declared)
            infos.append(TensorInfo(shape, info.dtype, info.value if shape == info.shape else None))
    return infos, None


def _info_key(info: TensorInfo) -> tuple:
    value = info.value
    if value is None:
        return (info.shape, info.dtype, None)
    return (info.shape, info.dtype, value.dtype.str, value.tobytes())


def _returned(run: BodyRun) -> list[TensorInfo | None] | None:
    """What the function returns, per output; None when it was not analysed."""
    if run.body is None or run.shapes is None:
        return None
    return [
        None if ref is None else run.shapes.output(ref.node, ref.index) for ref in run.body.rets
    ]


def _branch_outputs(runs: list[tuple[str, BodyRun]]) -> list[TensorInfo | None]:
    """A call's outputs: its function's, or, over branches, the dims they agree on."""
    returned = [_returned(run) for _, run in runs]
    if not returned or any(r is None for r in returned):
        return []
    outs: list[TensorInfo | None] = []
    for i in range(min(len(r) for r in returned)):
        infos = [r[i] for r in returned]
        if any(info is None for info in infos):
            outs.append(None)
            continue
        shape = infos[0].shape
        for info in infos[1:]:
            shape = _agree(shape, info.shape)
        values = [info.value for info in infos]
        same = all(
            v is not None and v.shape == values[0].shape and bool(np.all(v == values[0]))
            for v in values
        )
        outs.append(TensorInfo(shape, infos[0].dtype, values[0] if same else None))
    return outs


def _loop_outputs(args, runs) -> tuple[list[TensorInfo | None], str | None]:
    """A While's outputs: each loop variable, where one pass of the body keeps its shape."""
    body = next((run for role, run in runs if role == "body"), None)
    returned = _returned(body) if body is not None else None
    outs: list[TensorInfo | None] = []
    changed = []
    for i, arg in enumerate(args):
        ret = returned[i] if returned is not None and i < len(returned) else None
        if arg is None:
            outs.append(None)
            continue
        shape = _agree(arg.shape, None if ret is None else ret.shape)
        if ret is not None and ret.shape != arg.shape:
            changed.append(str(i))
        outs.append(TensorInfo(shape, arg.dtype))
    note = None
    if changed:
        note = (
            f"loop variable(s) {', '.join(changed)} change shape in the body: counted with "
            "the shapes they enter the loop with"
        )
    return outs, note


def _agree(a: Shape, b: Shape) -> Shape:
    """The dims two shapes agree on (None elsewhere); None if a rank is unknown or differs."""
    if a is None or b is None or len(a) != len(b):
        return None
    return tuple(x if x == y else None for x, y in zip(a, b))


def _refine(inferred: Shape, declared: Shape) -> Shape:
    """``inferred`` with its unknown dims (or rank) taken from ``declared``."""
    if inferred is None:
        return declared
    if declared is None or len(declared) != len(inferred):
        return inferred
    return tuple(d if d is not None else e for d, e in zip(inferred, declared))


def _with_declared(node, outs: list[TensorInfo | None]) -> list[TensorInfo]:
    """A call's outputs refined by its ``output_shapes``/``_output_shapes``; dtypes from attrs."""
    declared: list[Shape] = []
    for key in ("output_shapes", "_output_shapes"):
        if key in node.attr and node.attr[key].list.shape:
            declared = [shape_from_proto(s) for s in node.attr[key].list.shape]
            break
    dtypes: list[int] = []
    for key in ("Tout", "T"):
        if key in node.attr and node.attr[key].list.type:
            dtypes = list(node.attr[key].list.type)
            break
    count = len(dtypes) or max(len(outs), len(declared))
    infos = []
    for i in range(count):
        info = outs[i] if i < len(outs) else None
        shape = _refine(
            None if info is None else info.shape, declared[i] if i < len(declared) else None
        )
        if info is not None:
            infos.append(TensorInfo(shape, info.dtype, info.value if shape == info.shape else None))
        else:
            infos.append(TensorInfo(shape, dtypes[i] if i < len(dtypes) else DT["DT_INVALID"]))
    return infos
