"""GraphDefs built with TensorFlow, for tests (``builders.py`` builds them without it)."""

import tensorflow as tf

from tfflops.graph import proto

tf1 = tf.compat.v1


def build(fn, control_flow_v2: bool | None = None) -> proto.GraphDef:
    """Run ``fn()`` inside a fresh tf.Graph and return its GraphDef (tfflops' schema);
    ``control_flow_v2``: While/If as functions (True) or v1 frames (False), None as set."""
    was_v2 = tf1.control_flow_v2_enabled()
    if control_flow_v2 is not None:
        (tf1.enable_control_flow_v2 if control_flow_v2 else tf1.disable_control_flow_v2)()
    try:
        graph = tf.Graph()
        with graph.as_default():
            fn()
        data = graph.as_graph_def().SerializeToString()
    finally:
        (tf1.enable_control_flow_v2 if was_v2 else tf1.disable_control_flow_v2)()
    return proto.GraphDef.FromString(data)


def graph_def_of(tf_graph_def) -> proto.GraphDef:
    """A TensorFlow GraphDef in tfflops' schema."""
    return proto.GraphDef.FromString(tf_graph_def.SerializeToString())


def save(graph_def: proto.GraphDef, path) -> str:
    path.write_bytes(graph_def.SerializeToString())
    return str(path)
