"""``tfflops inspect``: what a model file holds, without counting or running anything.

Like TensorFlow's ``summarize_graph``, done better: the format, the inputs with dtypes and
shapes, the outputs tfflops would choose, variables and parameters, an op-type histogram
(function bodies included), tensors whose shapes stay unknown, the function library and
the ops tfflops cannot count.
"""

from __future__ import annotations

import math
import os
from collections import Counter

from tfflops.counter import count_graph
from tfflops.freezer import default_outputs, tag_phases
from tfflops.graph import Graph
from tfflops.loader import load_model
from tfflops.ops import ZERO_COST, lookup
from tfflops.shapes import infer_shapes, is_known
from tfflops.tensors import dtype_name, shape_from_proto

_VARIABLE_OPS = frozenset({"VariableV2", "Variable", "VarHandleOp"})
_INPUT_OPS = frozenset({"Placeholder", "PlaceholderV2", "PlaceholderWithDefault"})


def inspect_model(path: str | os.PathLike) -> dict:
    """A plain-data summary of the model at ``path`` (never imports TensorFlow)."""
    graph_def, kind = load_model(path, weights=False)
    graph = Graph(graph_def, str(path))
    outputs = default_outputs(graph)
    shapes = infer_shapes(graph, default_batch=None)
    rows = count_graph(graph, shapes, tag_phases(graph, outputs))

    inputs = []
    variables = []
    for name, node in graph.nodes.items():
        if node.op in _INPUT_OPS:
            shape = shape_from_proto(node.attr["shape"].shape) if "shape" in node.attr else None
            inputs.append(_tensor(name, node.attr["dtype"].type, shape))
        elif node.op in _VARIABLE_OPS:
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


def render_summary(summary: dict) -> str:
    """The summary as text for a terminal."""

    def shape_text(shape):
        if shape is None:
            return "unknown rank"
        return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"

    out = [f"{summary['model']}: {summary['format']}, {summary['nodes']} nodes", ""]
    out.append(f"inputs ({len(summary['inputs'])}):")
    out += [f"  {t['name']}  {t['dtype']}  {shape_text(t['shape'])}" for t in summary["inputs"]]
    out.append(f"outputs (guessed): {', '.join(summary['outputs'])}")
    if summary["variables"]:
        out.append(f"variables ({len(summary['variables'])}):")
        out += [
            f"  {t['name']}  {t['dtype']}  {shape_text(t['shape'])}" for t in summary["variables"]
        ]
    out.append(f"params read by the outputs: {summary['params']:,}")
    out.append("op types: " + ", ".join(f"{op} {n}" for op, n in summary["op_types"].items()))
    if summary["functions"]:
        out.append(f"functions ({len(summary['functions'])}): {', '.join(summary['functions'])}")
        out.append(
            "  op types inside: "
            + ", ".join(f"{op} {n}" for op, n in summary["function_op_types"].items())
        )
    unknown = summary["unknown_shape_nodes"]
    if unknown:
        shown = ", ".join(unknown[:5]) + (", ..." if len(unknown) > 5 else "")
        out.append(f"nodes with unknown shapes ({len(unknown)}): {shown}")
    if summary["uncountable_ops"]:
        out.append("ops tfflops cannot count: " + ", ".join(summary["uncountable_ops"]))
    return "\n".join(out) + "\n"
