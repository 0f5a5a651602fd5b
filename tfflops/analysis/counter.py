"""The graph walker of the analytic counter: a Cost, params and bytes for every node.

A node that calls functions (If, While, Case, PartitionedCall, ...) is counted from the
bodies the shape inference analysed (``ShapeResult.calls``): its Cost sums their nodes'
(recursively; If/Case every branch, While cond + body once), its bytes theirs, and the
parameter Consts inside count on it. Its ``tfprof`` figure is what tf.profiler counts for
the bodies once the graph is lowered (on the graph as loaded, tf.profiler never looks
inside a function: the cross-check explains that difference). Inner nodes tfflops cannot
count are named in its note.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from tfflops.analysis.ops import (
    VIEW_OPS,
    ZERO_COST,
    Cost,
    OpView,
    TensorInfo,
    UnknownShape,
    lookup,
)
from tfflops.analysis.ops.calls import function_call
from tfflops.analysis.ops.contraction import FUSED_CONTRACTIONS, unknown_fused_ops
from tfflops.analysis.shapes import BodyRun, CallShapes, ShapeResult, is_known
from tfflops.graph.families import PLACEHOLDER_OPS, VARIABLE_OPS
from tfflops.graph.index import Graph
from tfflops.graph.phases import INFERENCE
from tfflops.graph.tensors import DTYPE_SIZE, WEIGHT_DTYPES, NodeAttrs, base_dtype

_CONTRACTIONS = frozenset(
    {
        "Conv2D",
        "Conv2DBackpropInput",  # conv2d_transpose
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


class _NoOps(Mapping):
    """The empty, immutable ``inner_unsupported`` every node but a call node shares."""

    __slots__ = ()
    __hash__ = object.__hash__

    def __getitem__(self, key: str) -> int:
        raise KeyError(key)

    def __iter__(self):
        return iter(())

    def __len__(self) -> int:
        return 0


_NOTHING: Mapping[str, int] = _NoOps()
_PARAMETER_SOURCES = VARIABLE_OPS | {"Const"}
_BIAS_OPS = frozenset({"BiasAdd", "BiasAddV1", "Add", "AddV2"})


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
    bias: str | None = None  # "folded-here" / "folded-away" / "fused-in", for exact-bias
    note: str | None = None  # what a call node's count rests on, what it leaves out
    call: bool = False  # it calls functions, whose bodies its cost holds
    # A call node: op types inside its bodies with no formula, and inner nodes (as
    # "function/node") with a formula but unknown shapes — neither counted.
    # (Shared empty defaults: the other nodes allocate nothing for them.)
    inner_unsupported: Mapping[str, int] = _NOTHING
    inner_unknown: Sequence[str] = ()
    # A call node: the rows of the bodies it runs (each a node of a function, ``function``
    # naming it), what inside them was not counted, and the parameters they read.
    inner: Sequence[NodeCount] = ()
    function: str | None = None
    uncounted: Sequence[_Uncounted] = ()
    body_params: Mapping[str, int] = _NOTHING

    @property
    def output_shapes(self) -> list[list[int | None] | None]:
        return [None if o.shape is None else list(o.shape) for o in self.outputs]


def count_graph(graph: Graph, shapes: ShapeResult, phases: list[str]) -> list[NodeCount]:
    """Count every node of ``graph``, in GraphDef order; ``phases`` by node number."""
    bodies = _Bodies()
    rows = [bodies.count_node(graph, shapes, i, phases[i]) for i in range(len(graph))]
    _attribute_params(graph, shapes, rows)
    _attribute_body_params(rows)
    _fold_biases(graph, shapes, rows)
    _fused_contractions(graph, rows)
    return rows


def _cost(node, name, op, edges, ins, outs, shape_problem) -> tuple[Cost | None, str | None]:
    """``edges``: the node's inputs, control inputs included (``len(node.input)``)."""
    formula = lookup(op)
    if formula is None:
        return None, f"no formula for op {op}"
    view = _view(node, name, op, edges, ins, outs)
    try:
        return formula(view), None
    except UnknownShape as e:
        reason = f"{e}" + (f" ({shape_problem})" if shape_problem else "")
        return None, reason
    except (ValueError, IndexError, TypeError, KeyError, ZeroDivisionError) as e:
        # Shapes or attributes a malformed graph gives this op: the node stays uncounted.
        return None, f"cannot count {op} with these shapes/attributes: {e}"


def _view(node, name, op, edges, ins, outs, bodies=()) -> OpView:
    """What a formula sees of ``node``; ``edges`` counts its inputs, control ones too."""
    return OpView(
        op=op,
        inputs=tuple([None if i is None else i.shape for i in ins]),
        outputs=tuple([o.shape for o in outs]),
        attrs=NodeAttrs(node),
        num_raw_inputs=edges,
        name=name,
        bodies=bodies,
        values=tuple([None if i is None else i.value for i in ins]),
    )


def _bytes(infos: list[TensorInfo | None]) -> int:
    total = 0
    for info in infos:
        if info is not None and (shape := info.shape) is not None and None not in shape:
            dtype = info.dtype
            total += math.prod(shape) * DTYPE_SIZE.get(dtype - 100 if dtype > 100 else dtype, 0)
    return total


def is_parameter(node, op: str, info: TensorInfo | None) -> bool:
    """A floating-point Const or variable with at least one dimension."""
    if info is None or not is_known(info.shape) or not info.shape:
        return False
    if op in VARIABLE_OPS:
        dtype = node.attr["dtype"].type if "dtype" in node.attr else 0
        return base_dtype(dtype) in WEIGHT_DTYPES
    return op == "Const" and base_dtype(info.dtype) in WEIGHT_DTYPES


def _attribute_params(graph: Graph, shapes: ShapeResult, rows: list[NodeCount]) -> None:
    """Each parameter the inference phase reads counts once, on the op that uses it."""
    by_id, defs = shapes.by_id, graph.defs
    for i, op in enumerate(graph.op_list):
        if op not in _PARAMETER_SOURCES or rows[i].phase != INFERENCE:
            continue
        outs = by_id[i]
        info = outs[0] if outs else None
        if not is_parameter(defs[i], op, info):
            continue
        rows[_param_user(graph, i, rows)].params += math.prod(info.shape)


def _param_user(graph: Graph, source: int, rows: list[NodeCount]) -> int:
    """The first inference op past views (Identity, ReadVariableOp, Reshape) reading ``source``."""
    ops, readers, data_in = graph.op_list, graph.readers, graph.data_in
    queue, seen = [source], set()
    for i in queue:  # breadth first: the queue grows as it is read
        for reader in readers[i]:
            if reader in seen or rows[reader].phase != INFERENCE:
                continue
            seen.add(reader)
            if ops[reader] in VIEW_OPS:
                queue.append(reader)
            elif any(j == i for j, _ in data_in[reader]):
                return reader
    return source


def _attribute_body_params(rows: list[NodeCount]) -> None:
    """A Const inside a function counts once, on the first inference call node running it."""
    seen: set[str] = set()
    for row in rows:
        if row.phase != INFERENCE:
            continue
        for where, elements in row.body_params.items():
            if where not in seen:
                seen.add(where)
                row.params += elements


def _fold_biases(graph: Graph, shapes: ShapeResult, rows: list[NodeCount]) -> None:
    """Pair each bias add with the contraction it follows (for ``exact-bias``).

    A BiasAdd's second operand is its bias; an Add's bias is a parameter (a Const or
    variable, read through views) with one value per output channel, on either side.
    """
    data_in, readers, by_id = graph.data_in, graph.readers, shapes.by_id
    for i, op in enumerate(graph.op_list):
        if op not in _BIAS_OPS or len(data_in[i]) != 2:
            continue
        for side in (0,) if op.startswith("BiasAdd") else (0, 1):
            producer = data_in[i][side][0]
            if rows[producer].op not in _CONTRACTIONS or len(readers[producer]) != 1:
                continue
            bias = data_in[i][1 - side]
            if op in ("Add", "AddV2") and not (
                _reads_a_parameter(graph, bias[0]) and _is_bias_vector(by_id, i, bias)
            ):
                continue
            rows[producer].bias = "folded-here"
            rows[i].bias = "folded-away"
            break


def _reads_a_parameter(graph: Graph, i: int) -> bool:
    """Node ``i`` is a Const or variable, or a view (Identity, ReadVariableOp, ...) of one."""
    ops, data_in = graph.op_list, graph.data_in
    for _ in range(len(ops)):
        op = ops[i]
        if op in _PARAMETER_SOURCES:
            return True
        if op not in VIEW_OPS or op in PLACEHOLDER_OPS or not data_in[i]:
            return False
        i = data_in[i][0][0]
    return False


def _is_bias_vector(by_id: list[list[TensorInfo]], add: int, operand: tuple[int, int]) -> bool:
    """The Add's ``operand`` has one value per channel of the Add's output."""
    outs, (j, k) = by_id[add], operand
    out = outs[0] if outs else None
    bias = by_id[j][k] if k < len(by_id[j]) else None
    if out is None or bias is None or not is_known(out.shape) or not is_known(bias.shape):
        return False
    if not out.shape or math.prod(bias.shape) != out.shape[-1]:
        return False
    return all(d == 1 for d in bias.shape[:-1])


def _fused_contractions(graph: Graph, rows: list[NodeCount]) -> None:
    """A grappler-fused contraction: its bias (first of its fused ops) is folded in for
    ``exact-bias``; fused ops without a formula are named, not silently 0."""
    for i, op in enumerate(graph.op_list):
        if op not in FUSED_CONTRACTIONS or rows[i].cost is None:
            continue
        fused_ops = NodeAttrs(graph.defs[i]).get("fused_ops") or ()
        if fused_ops and fused_ops[0] == "BiasAdd":
            rows[i].bias = "fused-in"
        missing = unknown_fused_ops(fused_ops)
        if missing:
            rows[i].inner_unsupported = dict(Counter(missing))
            rows[i].note = f"fused op(s) not counted, no formula: {', '.join(missing)}"


# ---------------------------------------------------------------- function bodies


class _Uncounted(NamedTuple):
    """A node inside a function body that tfflops could not count."""

    where: str  # "function/node", or "role function" for a body not analysed
    op: str
    reason: str
    no_formula: bool = False
    unknown_shape: bool = False  # it has a formula; its shapes stay unknown


@dataclass(slots=True)
class _Counted:
    """The figures of a call node, or of one function body (then ``cost.tfprof`` is what
    tf.profiler counts for its nodes once the graph is lowered)."""

    cost: Cost | None
    bytes: int = 0
    params: dict[str, int] = field(default_factory=dict)  # "function/node" → elements
    uncounted: list[_Uncounted] = field(default_factory=list)
    problem: str | None = None
    note: str | None = None
    rows: tuple[NodeCount, ...] = ()  # the body's nodes (a call's: of all its bodies)


class _Bodies:
    """Counts nodes, the top level's and function bodies' alike; each analysed body
    (BodyRun) once."""

    def __init__(self):
        self.memo: dict[int, _Counted] = {}

    def count_node(
        self, graph: Graph, shapes: ShapeResult, i: int, phase: str, unresolved=_NOTHING
    ) -> NodeCount:
        """Node ``i``'s figures: a call node's from the bodies it runs, else its formula's."""
        name, op, node, data = graph.names[i], graph.op_list[i], graph.defs[i], graph.data_in[i]
        outs = shapes.by_id[i]
        ins = shapes.inputs(data)
        call = shapes.calls.get(name) if shapes.calls else None
        if call is not None:
            counted = self.count_call(node, ins, outs, call)
            return NodeCount(
                name=name,
                op=op,
                phase=phase,
                cost=counted.cost,
                params=0,
                bytes=counted.bytes,
                outputs=outs,
                problem=counted.problem,
                note=counted.note,
                call=True,
                inner_unsupported=_no_formula_ops(counted.uncounted),
                inner_unknown=[u.where for u in counted.uncounted if u.unknown_shape],
                inner=counted.rows,
                uncounted=counted.uncounted,
                body_params=counted.params,
            )
        if name in unresolved:
            cost, problem = None, unresolved[name]
        elif op in ZERO_COST:
            cost, problem = _ZERO, None
        else:
            problem = shapes.unknown.get(name) if shapes.unknown else None
            edges = len(data) + len(graph.control_in[i])
            cost, problem = _cost(node, name, op, edges, ins, outs, problem)
        return NodeCount(
            name=name,
            op=op,
            phase=phase,
            cost=cost,
            params=0,
            bytes=0 if op in VIEW_OPS else _bytes(ins) + _bytes(outs),
            outputs=outs,
            problem=problem,
        )

    def count_call(self, node, ins, outs, call: CallShapes) -> _Counted:
        """A call node: its functions' Costs through its formula, the rest summed."""
        costs, params, uncounted, notes, rows = [], {}, [], [], []
        moved = 0
        for role, run in call.runs:
            if run.body is None or run.shapes is None:
                reason = run.problem or "not analysed"
                uncounted.append(_Uncounted(f"{role} {run.function}", node.op, reason))
                continue
            body = self.count_body(run)
            costs.append(body.cost)
            moved += body.bytes
            params.update(body.params)
            uncounted.extend(body.uncounted)
            rows.extend(body.rows)
            if run.note:
                notes.append(run.note)
        if not costs:
            problem = call.problem or "; ".join(f"{u.where}: {u.reason}" for u in uncounted)
            return _Counted(None, problem=problem or f"{node.op} calls no function")
        view = _view(node, node.name, node.op, len(node.input), ins, outs, tuple(costs))
        cost = (lookup(node.op) or function_call)(view)
        if call.note:
            notes.append(call.note)
        note = _call_note(call, uncounted, notes)
        # Once each: a function called many times over would repeat them exponentially.
        uncounted = list(dict.fromkeys(uncounted))
        return _Counted(cost, moved, params, uncounted, note=note, rows=tuple(rows))

    def count_body(self, run: BodyRun) -> _Counted:
        """Every node of one analysed body (``count_node``, as the top level), summed."""
        counted = self.memo.get(id(run))
        if counted is not None:
            return counted
        body, shapes = run.body, run.shapes
        graph = body.graph
        rows = [
            self.count_node(graph, shapes, i, INFERENCE, body.unresolved)
            for i, name in enumerate(graph.names)
            if name not in body.synthetic
        ]
        params: dict[str, int] = {}
        uncounted: list[_Uncounted] = []
        for row in rows:
            row.function = body.name
            where = f"{body.name}/{row.name}"
            if row.cost is None:
                is_call = row.name in shapes.calls
                unknown = is_call or lookup(row.op) is not None or row.name in body.unresolved
                reason = row.problem or "not counted"
                uncounted.append(_Uncounted(where, row.op, reason, not unknown, unknown))
                continue
            params.update(row.body_params)
            uncounted.extend(row.uncounted)
            i = graph.index[row.name]
            output = row.outputs[0] if row.outputs else None
            parameter = row.op == "Const" and is_parameter(graph.defs[i], row.op, output)
            if parameter and _read_by_data(graph, i):
                params[where] = math.prod(output.shape)
        cost = Cost(
            macs=sum(r.cost.macs for r in rows if r.cost),
            mac_outputs=sum(r.cost.mac_outputs for r in rows if r.cost),
            arith=sum(r.cost.arith for r in rows if r.cost),
            other=sum(r.cost.other for r in rows if r.cost),
            tfprof=sum(r.cost.tfprof for r in rows if r.cost),
        )
        moved = sum(r.bytes for r in rows)
        uncounted = list(dict.fromkeys(uncounted))
        counted = _Counted(cost, moved, params, uncounted, rows=tuple(rows))
        self.memo[id(run)] = counted
        return counted


def _read_by_data(graph: Graph, i: int) -> bool:
    return any(j == i for reader in graph.readers[i] for j, _ in graph.data_in[reader])


def _no_formula_ops(uncounted: list[_Uncounted]) -> dict[str, int]:
    return dict(sorted(Counter(u.op for u in uncounted if u.no_formula).items()))


# How many of the nodes tfflops could not count a call node's note names.
_NOTE_UNCOUNTED = 3


def _call_note(call: CallShapes, uncounted: list[_Uncounted], notes) -> str:
    """What a call node's count is: which functions, how they add up, what is left out."""
    names = ", ".join(
        run.function if call.kind == "call" else f"{role} {run.function}" for role, run in call.runs
    )
    if call.kind == "if":
        head = (
            f"both branches counted ({names}), as tf.profiler counts them once the graph is "
            "lowered to Switch/Merge"
        )
    elif call.kind == "case":
        head = (
            f"every branch counted ({names}), as tf.profiler counts them once the graph is "
            "lowered to Switch/Merge"
        )
    elif call.kind == "while":
        head = (
            f"cond + body counted once ({names}): per iteration, the trip count is not "
            "known statically"
        )
    else:
        head = f"calls {names}"
    parts = [head, *dict.fromkeys(notes)]  # branches running one function say it once
    named = list(dict.fromkeys(f"{u.where} ({u.op}: {u.reason})" for u in uncounted))
    if named:
        shown = ", ".join(named[:_NOTE_UNCOUNTED])
        more = len(named) - _NOTE_UNCOUNTED
        parts.append(
            f"not counted inside: {shown}" + (f"; and {more} more node(s)" if more > 0 else "")
        )
    return "; ".join(parts)
