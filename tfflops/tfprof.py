"""The tf.profiler wrapper: the only module that runs tf.profiler (and imports TensorFlow).

tf.profiler's float_operation needs shapes, never weight values, yet importing a graph
copies every weight into TensorFlow. So tf.profiler gets a copy of the graph in which
large floating-point constants are replaced by placeholders of the same shape and
dtype (both count 0 FLOPs), and in which every input has the shape tfflops resolved.
Nothing is executed and nothing is registered into TensorFlow's op statistics.
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass, field

from tfflops import proto
from tfflops.errors import TfflopsError
from tfflops.shapes import ShapeResult
from tfflops.tensors import FLOAT_DTYPES, base_dtype, tensor_shape

# Float constants with more elements than this are stripped before TensorFlow sees them.
STRIP_ELEMENTS = 64


class TfprofUnavailable(TfflopsError):
    """tf.profiler cannot run on this graph (custom ops, ...); the analytic count still can."""


@dataclass
class TfprofResult:
    """tf.profiler's figures: per node (nodes it counts 0 are absent) and in total."""

    total: int
    per_node: dict[str, int]
    incomplete: set[str] = field(default_factory=set)  # nodes TF saw with a partial shape


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


@contextlib.contextmanager
def _silenced_stderr_fd():
    """Mute file descriptor 2: TensorFlow's C++ start-up logs ("Could not find cuda
    drivers", absl's "All log messages before ...") ignore TF_CPP_MIN_LOG_LEVEL."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def import_tensorflow():
    """``import tensorflow``, quietly."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    with _silenced_stderr_fd():
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")  # deprecation notices of the tf.compat.v1 API
    return tf


def run_tfprof(graph_def: proto.GraphDef, shapes: ShapeResult, source: str) -> TfprofResult:
    """Import the stripped graph into TensorFlow and run float_operation on it."""
    tf = import_tensorflow()

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
    with contextlib.redirect_stderr(io.StringIO()), _silenced_stderr_fd():
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
