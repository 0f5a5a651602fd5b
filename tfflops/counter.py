"""The graph walker of the analytic counter: a Cost, params and bytes for every node."""

from __future__ import annotations

import math
from dataclasses import dataclass

from tfflops.freezer import INFERENCE
from tfflops.graph import Graph
from tfflops.ops import VIEW_OPS, ZERO_COST, Cost, OpView, UnknownShape, lookup
from tfflops.shapes import ShapeResult, TensorInfo, is_known
from tfflops.tensors import DTYPE_SIZE, FLOAT_DTYPES, NodeAttrs, base_dtype

_CONTRACTIONS = frozenset(
    {
        "Conv2D",
        "Conv3D",
        "DepthwiseConv2dNative",
        "MatMul",
        "BatchMatMul",
        "BatchMatMulV2",
        "BatchMatMulV3",
        "Einsum",
    }
)
_ZERO = Cost()
_PARAMETER_SOURCES = frozenset({"VariableV2", "Variable", "VarHandleOp", "Const"})
_BIAS_OPS = frozenset({"BiasAdd", "BiasAddV1", "Add", "AddV2"})
_VARIABLE_OPS = frozenset({"VariableV2", "Variable", "VarHandleOp"})


@dataclass(slots=True)
class NodeCount:
    """The analytic figures of one node. ``problem`` says why ``cost`` is None."""

    name: str
    op: str
    phase: str
    cost: Cost | None
    params: int
    bytes: int
    outputs: list[TensorInfo]
    problem: str | None = None
    bias: str | None = None  # "folded-here" / "folded-away", for exact-bias

    @property
    def output_shapes(self) -> list[list[int | None] | None]:
        return [None if o.shape is None else list(o.shape) for o in self.outputs]


def count_graph(graph: Graph, shapes: ShapeResult, phases: dict[str, str]) -> list[NodeCount]:
    """Count every node of ``graph``, in GraphDef order."""
    rows = {}
    tensors, unknown = shapes.tensors, shapes.unknown
    for name, node in graph.nodes.items():
        op = graph.ops[name]
        outs = tensors.get(name) or []
        ins = []
        for ref_node, index in graph.inputs[name]:
            produced = tensors.get(ref_node)
            ins.append(produced[index] if produced and index < len(produced) else None)
        if op in ZERO_COST:
            cost, problem = _ZERO, None
        else:
            cost, problem = _cost(node, ins, outs, unknown.get(name))
        rows[name] = NodeCount(
            name=name,
            op=op,
            phase=phases[name],
            cost=cost,
            params=0,
            bytes=0 if op in VIEW_OPS else _bytes(ins) + _bytes(outs),
            outputs=outs,
            problem=problem,
        )
    _attribute_params(graph, shapes, rows)
    _fold_biases(graph, shapes, rows)
    return list(rows.values())


def _cost(node, ins, outs, shape_problem) -> tuple[Cost | None, str | None]:
    formula = lookup(node.op)
    if formula is None:
        return None, f"no formula for op {node.op}"
    view = OpView(
        op=node.op,
        inputs=tuple(None if i is None else i.shape for i in ins),
        outputs=tuple(o.shape for o in outs),
        attrs=NodeAttrs(node),
        num_raw_inputs=len(node.input),
        name=node.name,
    )
    try:
        return formula(view), None
    except UnknownShape as e:
        reason = f"{e}" + (f" ({shape_problem})" if shape_problem else "")
        return None, reason
    except (ValueError, IndexError, TypeError, KeyError, ZeroDivisionError) as e:
        # Shapes or attributes a malformed graph gives this op: the node stays uncounted.
        return None, f"cannot count {node.op} with these shapes/attributes: {e}"


def _bytes(infos: list[TensorInfo | None]) -> int:
    total = 0
    for info in infos:
        if info is not None and is_known(info.shape):
            total += math.prod(info.shape) * DTYPE_SIZE.get(base_dtype(info.dtype), 0)
    return total


def _is_parameter(node, info: TensorInfo | None) -> bool:
    """A floating-point Const or variable with at least one dimension."""
    if info is None or not is_known(info.shape) or not info.shape:
        return False
    if node.op in _VARIABLE_OPS:
        dtype = node.attr["dtype"].type if "dtype" in node.attr else 0
        return base_dtype(dtype) in FLOAT_DTYPES
    return node.op == "Const" and base_dtype(info.dtype) in FLOAT_DTYPES


def _attribute_params(graph: Graph, shapes: ShapeResult, rows: dict[str, NodeCount]) -> None:
    """Each parameter the inference phase reads counts once, on the op that uses it."""
    for name, node in graph.nodes.items():
        if rows[name].phase != INFERENCE or node.op not in _PARAMETER_SOURCES:
            continue
        info = shapes.output(name)
        if not _is_parameter(node, info):
            continue
        rows[_param_user(graph, name, rows)].params += math.prod(info.shape)


def _param_user(graph: Graph, source: str, rows: dict[str, NodeCount]) -> str:
    """The first inference op past views (Identity, ReadVariableOp, Reshape) reading ``source``."""
    stack, seen = [source], set()
    while stack:
        name = stack.pop(0)
        for consumer in graph.consumers[name]:
            if consumer in seen or rows[consumer].phase != INFERENCE:
                continue
            seen.add(consumer)
            if graph.ops[consumer] in VIEW_OPS:
                stack.append(consumer)
            elif any(ref.node == name for ref in graph.inputs[consumer]):
                return consumer
    return source


def _fold_biases(graph: Graph, shapes: ShapeResult, rows: dict[str, NodeCount]) -> None:
    """Pair each bias add with the contraction it follows (for ``exact-bias``)."""
    for name, node in graph.nodes.items():
        if node.op not in _BIAS_OPS or len(graph.inputs[name]) != 2:
            continue
        producer = graph.inputs[name][0].node
        if rows[producer].op not in _CONTRACTIONS or len(graph.consumers[producer]) != 1:
            continue
        if node.op in ("Add", "AddV2") and not _is_bias_vector(shapes, graph, name):
            continue
        rows[producer].bias = "folded-here"
        rows[name].bias = "folded-away"


def _is_bias_vector(shapes: ShapeResult, graph: Graph, name: str) -> bool:
    """An Add whose second operand has one value per output channel."""
    out = shapes.output(name)
    bias_ref = graph.inputs[name][1]
    bias = shapes.output(bias_ref.node, bias_ref.index)
    if out is None or bias is None or not is_known(out.shape) or not is_known(bias.shape):
        return False
    if not out.shape or math.prod(bias.shape) != out.shape[-1]:
        return False
    return all(d == 1 for d in bias.shape[:-1])
