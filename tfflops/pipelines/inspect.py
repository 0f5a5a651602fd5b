"""``tfflops inspect``: what a model file holds, without counting or running anything.

Like TensorFlow's ``summarize_graph``, done better: the format, a SavedModel's tag sets
and signatures (inputs with dtypes and shapes, outputs), the inputs with dtypes and
shapes, the outputs tfflops would choose, variables and parameters, an op-type histogram
(function bodies included), tensors whose shapes stay unknown, the function library and
the ops tfflops cannot count. Only a Keras file needs TensorFlow (to be loaded and traced).
"""

from __future__ import annotations

import contextlib
import math
import os
from collections import Counter

from tfflops.analysis.counter import count_graph
from tfflops.analysis.ops import ZERO_COST, lookup
from tfflops.analysis.shapes import infer_shapes, is_known
from tfflops.errors import TfflopsError
from tfflops.graph.families import PLACEHOLDER_OPS, VARIABLE_OPS
from tfflops.graph.index import Graph
from tfflops.graph.model import select_signature
from tfflops.graph.phases import default_outputs, phase_list
from tfflops.graph.tensors import dtype_name, shape_from_proto
from tfflops.pipelines.open import check_output_indices, open_model


def inspect_model(
    path: str | os.PathLike, signature: str | None = None, tag_set: str | None = None
) -> dict:
    """A plain-data summary of the model at ``path`` (imports TensorFlow for Keras only).

    ``outputs`` are the chosen signature's (``signature``, default ``serving_default``,
    else the only one) or, without one, the graph's sinks; ``signatures`` lists them all.
    """
    model = open_model(
        path, signature=signature, tag_set=tag_set, weights=False, outputs_given=not signature
    )
    if model.signature is None and model.signatures and not signature:
        # Several signatures, none the default: all are listed, the outputs guessed.
        with contextlib.suppress(TfflopsError):
            model.use_signature(select_signature(model.signatures, None, str(path)))
    graph_def, kind = model.graph_def, model.kind
    graph = Graph(graph_def, str(path))
    outputs = model.outputs
    if not outputs:
        outputs = [n for n in default_outputs(graph) if n not in model.not_outputs]
        outputs = outputs or default_outputs(graph)
    shapes = infer_shapes(graph, default_batch=None)
    named = [t.name for t in model.signature.outputs] if model.signature else []
    check_output_indices(graph, shapes, named, "signature")
    rows = count_graph(graph, shapes, phase_list(graph, outputs)).rows

    inputs = []
    variables = []
    for name, node in graph.nodes.items():
        if node.op in PLACEHOLDER_OPS:
            shape = shape_from_proto(node.attr["shape"].shape) if "shape" in node.attr else None
            inputs.append(_tensor(name, node.attr["dtype"].type, shape))
        elif node.op in VARIABLE_OPS:
            shape = shape_from_proto(node.attr["shape"].shape) if "shape" in node.attr else None
            variables.append(_tensor(name, node.attr["dtype"].type, shape))

    ops = Counter(node.op for node in graph_def.node)
    function_ops = Counter(n.op for f in graph_def.library.function for n in f.node_def)
    unknown = [
        name
        for name in graph.nodes
        if any(not is_known(t.shape) for t in shapes.tensors.get(name, []))
    ]
    all_ops = set(ops) | set(function_ops)
    uncountable = sorted(op for op in all_ops if op not in ZERO_COST and lookup(op) is None)
    return {
        "model": str(path),
        "format": kind,
        "format_detail": model.description,
        "tags": list(model.tags),
        "tag_sets": [list(t) for t in model.tag_sets],
        "signatures": [s.to_dict() for s in model.signatures.values()],
        "signature": model.signature.name if model.signature else None,
        "outputs_from": "signature" if model.signature else "sinks",
        "nodes": len(graph_def.node),
        "inputs": inputs,
        "outputs": outputs,
        "variables": variables,
        "params": sum(r.params for r in rows),
        "op_types": dict(ops.most_common()),
        "functions": [f.signature.name for f in graph_def.library.function],
        "function_op_types": dict(function_ops.most_common()),
        "unknown_shape_nodes": unknown,
        "uncountable_ops": uncountable,
    }


def _tensor(name: str, dtype: int, shape) -> dict:
    elements = math.prod(shape) if is_known(shape) else None
    return {
        "name": name,
        "dtype": dtype_name(dtype),
        "shape": None if shape is None else list(shape),
        "elements": elements,
    }
