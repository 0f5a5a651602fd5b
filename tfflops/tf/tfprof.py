"""The tf.profiler wrapper: the only module that runs tf.profiler.

tf.profiler's float_operation needs shapes, never values. Yet importing a graph into
TensorFlow runs its shape inference, which *evaluates* whatever a shape function asks the
value of (a Reshape's shape, a Fill's dims) — any subgraph down to constants, ``ReadFile``
included, however large — and infers the body of every function a node calls the same
way. So tf.profiler gets a copy (``profiled_graph_def``) in which TensorFlow can evaluate
only pure ops of bounded size:

* a node that names a function becomes a stand-in, and the library goes;
* a node TensorFlow could evaluate (its data inputs all could, down to constants) stays
  evaluable only if its op is in ``EVALUATION_SAFE`` and it holds at most
  ``EVALUATION_LIMIT`` elements (as tfflops inferred, or bounded by its inputs' for ops
  that never grow). Otherwise its readers read it through a *barrier*, a ``Print``:
  stateful, so TensorFlow never evaluates through it, and passing its input's shape on.
  The node itself stays, its shape inferred by TensorFlow as before; only its value is
  out of reach — a ReadFile's, a large Fill's;
* the large floating-point constants (weights) become stand-ins: importing them would
  copy every weight, for nothing;
* every input has the shape tfflops resolved.

A stand-in is a Placeholder (an IdentityN over placeholders for several outputs, a NoOp
for none) of the shapes and dtypes tfflops inferred. Every other node keeps its op, so on
an ordinary graph tf.profiler infers every shape itself and counts what it did before.
Nothing is executed and nothing is registered into TensorFlow's op statistics.
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings

from tfflops.analysis.crosscheck import TfprofResult
from tfflops.analysis.ops import TensorInfo
from tfflops.analysis.shapes import ShapeResult
from tfflops.errors import TfflopsError
from tfflops.freeze.safety import PURE_OPS
from tfflops.graph import proto
from tfflops.graph.families import CALL_OPS, PLACEHOLDER_OPS, VARIABLE_OPS
from tfflops.graph.index import Graph
from tfflops.graph.library import functions_by_name, node_references
from tfflops.graph.tensors import DT, FLOAT_DTYPES, base_dtype
from tfflops.tf import import_tensorflow, silenced_stderr_fd

# Float constants with more elements than this are stripped before TensorFlow sees them.
STRIP_ELEMENTS = 64
# The most elements a node TensorFlow could evaluate while importing may hold.
EVALUATION_LIMIT = 4096

# The ops tf.profiler has a flops formula for (../shared/TFPROF.md).
TFPROF_OPS = frozenset(
    {
        *("Add", "AddN", "AddV2", "ArgMax", "ArgMin", "AssignAdd", "AssignSub", "AvgPool"),
        *("AvgPoolGrad", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3", "BiasAdd"),
        *("BiasAddGrad", "Conv2D", "Conv2DBackpropFilter", "Conv2DBackpropInput", "Conv3D"),
        *("DepthwiseConv2dNative", "Dilation2D", "Equal", "Greater", "GreaterEqual", "L2Loss"),
        *("Less", "LessEqual", "Log", "MatMul", "MaxPool", "MaxPoolGrad", "Maximum", "Mean"),
        *("Minimum", "Mul", "Neg", "NotEqual", "Pow", "RealDiv", "Reciprocal", "Rsqrt"),
        *("RsqrtGrad", "Softmax", "Square", "SquaredDifference", "Sub", "Sum"),
    }
)
# Ops TensorFlow may evaluate while importing: pure (they read and write nothing outside
# the graph), their work bounded by the sizes of their inputs and outputs.
EVALUATION_SAFE = (PURE_OPS - set(CALL_OPS)) | TFPROF_OPS
# Ops whose outputs hold no more elements than their inputs together: bounded by them
# where tfflops does not know the shape.
_NOT_GROWING = frozenset(
    {
        *("Identity", "IdentityN", "Snapshot", "StopGradient", "PreventGradient"),
        *("CheckNumerics", "EnsureShape", "Reshape", "Squeeze", "ExpandDims", "Transpose"),
        *("Reverse", "ReverseV2", "Concat", "ConcatV2", "ConcatOffset", "Pack", "Unpack"),
        *("Split", "SplitV", "Slice", "StridedSlice", "Cast", "Bitcast", "ZerosLike"),
        *("OnesLike", "InvertPermutation", "BroadcastGradientArgs", "Unique", "Cumsum"),
        *("Cumprod", "Sum", "Mean", "Prod", "Max", "Min", "All", "Any", "ArgMax", "ArgMin"),
        *("Abs", "Neg", "Sign", "Floor", "Ceil", "Round", "Rint", "Reciprocal", "Square"),
        *("Sqrt", "Rsqrt", "Exp", "Log", "LogicalNot", "Relu", "Sigmoid", "Tanh"),
    }
)
_SHAPE_OPS = frozenset({"Shape", "ShapeN", "Size", "Rank"})  # read shapes, not values
_UNSIZED_DTYPES = frozenset(DT[n] for n in ("DT_STRING", "DT_VARIANT", "DT_RESOURCE"))
_MAX_RANK = 254  # TensorFlow's: a Shape holds at most this many elements
_CONSTANT_OPS = frozenset({"Const", "HostConst"})
# Sources TensorFlow never evaluates: fed, or state. (It evaluates no source but a
# constant: not even an ImmutableConst, which maps a file.)
_NEVER_EVALUATED = (PLACEHOLDER_OPS - {"PlaceholderWithDefault"}) | VARIABLE_OPS
# What needs TensorFlow here, as an error says it.
PURPOSE = "the cross-check with tf.profiler (`tfprof=False` skips it)"


class TfprofUnavailable(TfflopsError):
    """tf.profiler cannot run on this graph (custom ops, ...); the analytic count still can."""


def profiled_graph_def(graph: Graph, shapes: ShapeResult) -> proto.GraphDef:
    """The copy of the graph tf.profiler gets (see the module doc)."""
    library = functions_by_name(graph.graph_def)
    defs, data_in, by_id = graph.defs, graph.data_in, shapes.by_id
    bounds: list[int | None] = [None] * len(defs)  # elements, of what TensorFlow may evaluate
    stand_ins: set[int] = set()
    barred: set[int] = set()
    for i in graph.topological_ids():
        node, op = defs[i], graph.op_list[i]
        found, placeholders = node_references(node, None, library)
        if found or placeholders or op in CALL_OPS:
            stand_ins.add(i)  # TensorFlow would infer its functions' bodies
            continue
        if op in _CONSTANT_OPS and _is_big_float(node.attr["value"].tensor):
            stand_ins.add(i)
            continue
        inputs = [bounds[j] for j, _ in data_in[i]]
        if op in _SHAPE_OPS:
            bound = _elements(by_id[i]) or max(1, len(by_id[i])) * _MAX_RANK
        elif op in _CONSTANT_OPS:
            bound = _elements(by_id[i])
        elif op in _NEVER_EVALUATED or not inputs or None in inputs:
            continue  # TensorFlow cannot evaluate it
        else:
            bound = _elements(by_id[i])
            if bound is None and op in _NOT_GROWING:
                bound = sum(inputs)
        if op in EVALUATION_SAFE and bound is not None and bound <= EVALUATION_LIMIT:
            bounds[i] = bound
        else:
            barred.add(i)

    out = proto.GraphDef()
    out.versions.CopyFrom(graph.graph_def.versions)
    taken = set(graph.names)
    barriers: dict[tuple[int, int], str] = {}  # (node, output) → the barrier its readers read
    outputs_read = [0] * len(defs)  # 1 + the highest output index a reader reads
    for edges in data_in:
        for j, k in edges:
            outputs_read[j] = max(outputs_read[j], k + 1)
    for i, node in enumerate(defs):
        if i in stand_ins:
            count = max(outputs_read[i], len(by_id[i]))
            _add_stand_in(out, node, by_id[i], count, library, taken)
            continue
        new = out.node.add()
        new.CopyFrom(node)
        if barred and any(j in barred for j, _ in data_in[i]):
            edges = iter(data_in[i])
            for position, raw in enumerate(node.input):
                j, k = (None, None) if raw.startswith("^") else next(edges)
                if j in barred:
                    if (j, k) not in barriers:
                        barriers[j, k] = _add_barrier(out, graph, j, k, by_id[j], library, taken)
                    new.input[position] = barriers[j, k]
        shape = shapes.input_shapes.get(node.name)
        if shape is not None and node.op in ("Placeholder", "PlaceholderV2"):
            dims = new.attr["shape"].shape
            dims.Clear()
            for d in shape:
                dims.dim.add(size=-1 if d is None else d)
    return out


def _add_barrier(out, graph: Graph, j: int, k: int, infos, library, taken) -> str:
    """A Print of output ``k`` of node ``j``: its shape passes, its value cannot."""
    name = _fresh(f"{graph.names[j]}/_tfflops_barrier_{k}", taken)
    barrier = out.node.add(name=name, op="Print")
    barrier.input.append(graph.names[j] if k == 0 else f"{graph.names[j]}:{k}")
    barrier.attr["T"].type = _output_dtypes(graph.defs[j], infos, k + 1, library)[k]
    barrier.attr["U"].list.SetInParent()
    return name


def _elements(outputs: list[TensorInfo]) -> int | None:
    """Elements of all of a node's outputs together; None if any is unknown, or a string
    (or variant): one element of those may hold any number of bytes (a StringJoin of
    thousands of references to one large string), so they are never evaluated."""
    if not outputs:
        return None
    total = 0
    for info in outputs:
        if base_dtype(info.dtype) in _UNSIZED_DTYPES:
            return None
        if info.shape is None or any(d is None or d < 0 for d in info.shape):
            return None
        total += math.prod(info.shape)
    return total


def _is_big_float(tensor: proto.TensorProto) -> bool:
    if base_dtype(tensor.dtype) not in FLOAT_DTYPES:
        return False
    return math.prod(max(d.size, 0) for d in tensor.tensor_shape.dim) > STRIP_ELEMENTS


def _fresh(name: str, taken: set[str]) -> str:
    while name in taken:
        name += "_"
    taken.add(name)
    return name


def _add_stand_in(
    out: proto.GraphDef,
    node: proto.NodeDef,
    infos: list[TensorInfo],
    count: int,
    library: dict,
    taken: set[str],
) -> None:
    """``node`` as a source of ``count`` outputs of the shapes and dtypes tfflops inferred."""
    controls = [raw for raw in node.input if raw.startswith("^")]
    if count == 0:
        out.node.add(name=node.name, op="NoOp").input.extend(controls)
        return
    dtypes = _output_dtypes(node, infos, count, library)
    if count == 1:
        _add_placeholder(out, node.name, dtypes[0], infos[0] if infos else None, controls)
        return
    stand_in = out.node.add(name=node.name, op="IdentityN")
    for k, dtype in enumerate(dtypes):
        name = _fresh(f"{node.name}/_tfflops_output_{k}", taken)
        _add_placeholder(out, name, dtype, infos[k] if k < len(infos) else None, controls)
        stand_in.input.append(name)
        stand_in.attr["T"].list.type.append(dtype)


def _add_placeholder(out, name: str, dtype: int, info: TensorInfo | None, controls) -> None:
    placeholder = out.node.add(name=name, op="Placeholder")
    placeholder.input.extend(controls)
    placeholder.attr["dtype"].type = dtype
    if info is not None and info.shape is not None:
        dims = placeholder.attr["shape"].shape
        dims.SetInParent()
        for d in info.shape:
            dims.dim.add(size=-1 if d is None else d)


def _output_dtypes(node, infos: list[TensorInfo], count: int, library: dict) -> list[int]:
    """The dtype of each output: tfflops' where known, else TensorFlow's op definition."""
    dtypes = [base_dtype(info.dtype) for info in infos[:count]]
    if len(dtypes) == count and all(dtypes):
        return dtypes
    declared = _declared_dtypes(node, library)
    if declared is None or len(declared) < count or not all(declared[:count]):
        raise TfprofUnavailable(
            f"node {node.name!r} ({node.op}) cannot be given to tf.profiler safely: "
            "the dtypes of its outputs are unknown"
        )
    return [base_dtype(d) for d in declared[:count]]


def _declared_dtypes(node: proto.NodeDef, library: dict) -> list[int] | None:
    """The output dtypes the op's definition (or the function's signature) declares."""
    if node.op in library:
        return [arg.type for arg in library[node.op].signature.output_arg]
    from tensorflow.python.framework import op_def_registry

    op_def = op_def_registry.get(node.op)
    if op_def is None:
        return None
    attrs = {a.name: a.default_value for a in op_def.attr if a.HasField("default_value")}
    attrs.update(node.attr)
    dtypes = []
    for arg in op_def.output_arg:
        named = [a for a in (arg.type_list_attr, arg.type_attr, arg.number_attr) if a]
        if any(a not in attrs for a in named):
            return None
        if arg.type_list_attr:
            dtypes += list(attrs[arg.type_list_attr].list.type)
            continue
        dtype = attrs[arg.type_attr].type if arg.type_attr else arg.type
        dtypes += [dtype] * (attrs[arg.number_attr].i if arg.number_attr else 1)
    return dtypes


def run_tfprof(graph: Graph, shapes: ShapeResult) -> TfprofResult:
    """Import the profiled copy into TensorFlow and run float_operation on it."""
    tf = import_tensorflow(PURPOSE)

    graph_def = profiled_graph_def(graph, shapes)
    tf_graph_def = tf.compat.v1.GraphDef.FromString(graph_def.SerializeToString())
    tf_graph = tf.Graph()
    try:
        with tf_graph.as_default():
            tf.compat.v1.import_graph_def(tf_graph_def, name="")
    except (ValueError, TypeError, tf.errors.OpError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise TfprofUnavailable(f"TensorFlow cannot import this graph: {first}") from None

    options = (
        tf.compat.v1.profiler.ProfileOptionBuilder(
            tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
        )
        .with_empty_output()
        .build()
    )
    # tf.profiler writes "N ops no flops stats due to incomplete shapes." to stderr, and
    # numpy warns when a formula overflows int64; the cross-check names those nodes instead.
    with (
        contextlib.redirect_stderr(io.StringIO()),
        silenced_stderr_fd(),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", RuntimeWarning)
        root = tf.compat.v1.profiler.profile(tf_graph, cmd="scope", options=options)
    per_node: dict[str, int] = {}
    stack = list(root.children)
    while stack:
        item = stack.pop()
        if item.float_ops:
            per_node[item.name] = int(item.float_ops)
        stack.extend(item.children)

    incomplete = set()
    for op in tf_graph.get_operations():
        if op.name not in graph.index:
            continue  # a placeholder of the copy's own
        tensors = [*op.inputs, *op.outputs]
        if any(not t.shape.is_fully_defined() for t in tensors):
            incomplete.add(op.name)
    # tf.profiler's own total is an int64 sum, which wraps: add its figures in Python.
    return TfprofResult(sum(per_node.values()), per_node, incomplete)
