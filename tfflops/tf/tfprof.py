"""The tf.profiler wrapper: the only module that runs tf.profiler.

tf.profiler's float_operation needs shapes, never weight values, yet importing a graph
copies every weight into TensorFlow. So tf.profiler gets a copy of the graph in which
large floating-point constants are replaced by placeholders of the same shape and
dtype (both count 0 FLOPs), and in which every input has the shape tfflops resolved.
Nothing is executed and nothing is registered into TensorFlow's op statistics.
"""

from __future__ import annotations

import contextlib
import io

from tfflops.analysis.crosscheck import TfprofResult
from tfflops.analysis.shapes import ShapeResult
from tfflops.errors import TfflopsError
from tfflops.graph import proto
from tfflops.graph.tensors import FLOAT_DTYPES, base_dtype, tensor_shape
from tfflops.tf import import_tensorflow, silenced_stderr_fd

# Float constants with more elements than this are stripped before TensorFlow sees them.
STRIP_ELEMENTS = 64


class TfprofUnavailable(TfflopsError):
    """tf.profiler cannot run on this graph (custom ops, ...); the analytic count still can."""


def stripped_graph_def(graph_def: proto.GraphDef, shapes: ShapeResult) -> proto.GraphDef:
    """A copy for tf.profiler: inputs pinned to the resolved shapes, big weights stripped."""
    out = proto.GraphDef()
    out.versions.CopyFrom(graph_def.versions)
    out.library.CopyFrom(graph_def.library)
    for node in graph_def.node:
        new = out.node.add()
        if node.op == "Const" and _is_big_float(node.attr["value"].tensor):
            tensor = node.attr["value"].tensor
            new.name, new.op = node.name, "Placeholder"
            new.input.extend(node.input)  # control inputs only, for a Const
            new.attr["dtype"].type = tensor.dtype
            new.attr["shape"].shape.CopyFrom(tensor.tensor_shape)
            continue
        new.CopyFrom(node)
        shape = shapes.input_shapes.get(node.name)
        if shape is not None and node.op in ("Placeholder", "PlaceholderV2"):
            dims = new.attr["shape"].shape
            dims.Clear()
            for d in shape:
                dims.dim.add(size=-1 if d is None else d)
    return out


def _is_big_float(tensor: proto.TensorProto) -> bool:
    if base_dtype(tensor.dtype) not in FLOAT_DTYPES:
        return False
    count = 1
    for d in tensor_shape(tensor):
        count *= d
    return count > STRIP_ELEMENTS


def run_tfprof(graph_def: proto.GraphDef, shapes: ShapeResult, source: str) -> TfprofResult:
    """Import the stripped graph into TensorFlow and run float_operation on it."""
    tf = import_tensorflow("the cross-check with tf.profiler (`tfprof=False` skips it)")

    data = stripped_graph_def(graph_def, shapes).SerializeToString()
    tf_graph_def = tf.compat.v1.GraphDef.FromString(data)
    graph = tf.Graph()
    try:
        with graph.as_default():
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
    # tf.profiler writes "N ops no flops stats due to incomplete shapes." to stderr; the
    # cross-check names those ops instead.
    with contextlib.redirect_stderr(io.StringIO()), silenced_stderr_fd():
        root = tf.compat.v1.profiler.profile(graph, cmd="scope", options=options)
    per_node: dict[str, int] = {}
    stack = list(root.children)
    while stack:
        item = stack.pop()
        if item.float_ops:
            per_node[item.name] = int(item.float_ops)
        stack.extend(item.children)

    incomplete = set()
    for op in graph.get_operations():
        tensors = [*op.inputs, *op.outputs]
        if any(not t.shape.is_fully_defined() for t in tensors):
            incomplete.add(op.name)
    return TfprofResult(int(root.total_float_ops), per_node, incomplete)
