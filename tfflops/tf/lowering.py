"""v2 control flow → v1: ``If``/``While`` and function calls inlined as ``Switch``/``Merge``.

tf.profiler and the analytic counter see top-level nodes only, so a frozen ``tf.cond`` or
``tf.while_loop`` of TensorFlow 2 counts nothing inside its functions. TensorFlow's own
grappler function optimizer (the pass behind ``convert_variables_to_constants_v2``)
inlines the functions and lowers If/While to Switch/Merge/Enter/Exit; after it both
branches, and a loop body once, count. It rewrites the graph; it executes nothing.
"""

from __future__ import annotations

from tfflops.errors import TfflopsError
from tfflops.graph import proto
from tfflops.graph.families import CALL_OPS
from tfflops.graph.library import called_functions, functions_by_name
from tfflops.tf import import_tensorflow


def lower_control_flow(
    graph_def: proto.GraphDef, outputs: list[str], source: str = "<graph>"
) -> proto.GraphDef:
    """``graph_def`` with its function calls inlined and control flow lowered; outputs kept."""
    tf = import_tensorflow("inlining function calls and lowering control flow")
    from tensorflow.core.protobuf import config_pb2, meta_graph_pb2
    from tensorflow.python.grappler import tf_optimizer

    graph_def = _stateless_where_possible(graph_def)
    meta_graph = meta_graph_pb2.MetaGraphDef()
    meta_graph.graph_def.ParseFromString(graph_def.SerializeToString())
    fetch = meta_graph_pb2.CollectionDef()
    fetch.node_list.value.extend(f"{name}:0" for name in outputs)
    meta_graph.collection_def["train_op"].CopyFrom(fetch)  # grappler keeps what this names
    config = config_pb2.ConfigProto()
    rewrite = config.graph_options.rewrite_options
    rewrite.min_graph_nodes = -1  # small graphs too
    rewrite.optimizers.append("function")
    try:
        lowered = tf_optimizer.OptimizeGraph(config, meta_graph)
    except (ValueError, tf.errors.OpError) as e:
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise TfflopsError(f"{source}: lowering the control flow failed: {message}") from None
    return proto.GraphDef.FromString(lowered.SerializeToString())


def _stateless_where_possible(graph_def: proto.GraphDef) -> proto.GraphDef:
    """A copy whose functions and calls are marked stateless where nothing stateful runs.

    Frozen function copies keep TensorFlow's stateful marks (they read variables before
    the freeze), and grappler does not inline a stateful function. A random op, or any op
    TensorFlow registers as stateful, keeps the marks.
    """
    from tensorflow.python.framework import op_def_registry

    graph_def = proto.GraphDef.FromString(graph_def.SerializeToString())
    functions = functions_by_name(graph_def)
    memo: dict[str, bool] = {}

    def function_stateless(name: str) -> bool:
        if name not in memo:
            memo[name] = False  # a recursive call stays stateful
            memo[name] = all(node_stateless(n) for n in functions[name].node_def)
        return memo[name]

    def node_stateless(node) -> bool:
        called = list(called_functions(node, functions))
        if not all(function_stateless(name) for name in called):
            return False
        if called and (node.op in functions or node.op in CALL_OPS):
            return True  # a call: as stateless as what it runs
        op_def = op_def_registry.get(node.op)
        return op_def is not None and not op_def.is_stateful

    nodes = [*graph_def.node, *(n for f in functions.values() for n in f.node_def)]
    for node in nodes:
        spec = CALL_OPS.get(node.op)
        if spec is not None and spec.stateless and node_stateless(node):
            node.op = spec.stateless
    for name, function in functions.items():
        if function.signature.is_stateful and function_stateless(name):
            function.signature.is_stateful = False
    return graph_def
