"""The graph walker of the analytic counter: a Cost, params and bytes for every node.

``nodes.NodeCounter`` counts each node (function bodies, loops and branches included);
here the whole graph: v1 frames, the parameters, bias adds paired with their
contractions (for ``exact-bias``), fused contractions, and notes on what the counts rest
on (loops, constants that are not parameters).

Parameters are the model's weights (on frozen Keras models: Keras' ``count_params()``):
the floating-point variables and constants of at least one dimension that a node which
runs reads, each once, except

* a loop's initial state: a constant whose only readers are loop variables the loop
  rewrites (an RNN's zero state), not a weight it reads;
* when the graph tells its weights apart — it has variables, or constants TensorFlow's
  freezing made of resource variables (``…/resource``) — its other constants, which
  are the model's code's (a Normalization layer's given mean and variance).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from tfflops.analysis.loops import Loop, check_given
from tfflops.analysis.nodes import (
    CODE,
    STATE,
    Constant,
    NodeCount,
    NodeCounter,
    body_rows,
    most_runs,
)
from tfflops.analysis.ops import VIEW_OPS, TensorInfo
from tfflops.analysis.ops.contraction import FUSED_CONTRACTIONS, unknown_fused_ops
from tfflops.analysis.runs import check_runs
from tfflops.analysis.shapes import ShapeResult, is_known
from tfflops.analysis.weights import (
    frozen_argument,
    frozen_variable,
    is_parameter,
    loop_states,
    reads,
)
from tfflops.errors import TfflopsError
from tfflops.graph.families import PLACEHOLDER_OPS, VARIABLE_OPS
from tfflops.graph.index import Graph
from tfflops.graph.phases import INFERENCE
from tfflops.graph.tensors import NodeAttrs

__all__ = ["GraphCount", "NodeCount", "body_rows", "count_graph", "is_parameter"]

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
_PARAMETER_SOURCES = VARIABLE_OPS | {"Const"}
_BIAS_OPS = frozenset({"BiasAdd", "BiasAddV1", "Add", "AddV2"})
# How many loops, or constants, a note names before it only counts them.
_NAMED = 3


@dataclass
class GraphCount:
    """Every node's figures (GraphDef order), the loops met, and what the counts rest on."""

    rows: list[NodeCount]
    loops: list[Loop] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def count_graph(
    graph: Graph,
    shapes: ShapeResult,
    phases: list[str],
    loop_iterations: dict[str, int] | None = None,
) -> GraphCount:
    """Count every node of ``graph``; ``phases`` by node number; ``loop_iterations``: trip
    counts by loop name (a While node, ``function/node`` inside a function, a v1 frame),
    for loops whose count the graph does not fix (or to override it)."""
    given = check_given(loop_iterations)
    counter = NodeCounter(given, weights_marked(graph))
    rows = [counter.count_node(graph, shapes, i, phases[i]) for i in range(len(graph))]
    frames = counter.apply_frames(graph, shapes, rows)
    loops = list(counter.loops.values())
    if loops:  # (any loop, in the functions called too: no loop, every node runs once)
        check_runs(most_runs(rows), graph.source, loops)
    missing = sorted(set(given) - set(counter.loops))
    if missing:
        loops = ", ".join(sorted(counter.loops)[:10]) or "none"
        raise TfflopsError(
            f"`loop_iterations` {missing[0]}: {graph.source} has no loop of that name "
            f"(its loops: {loops})"
        )
    constants = _attribute_params(graph, shapes, rows, counter.weights_marked)
    constants += _attribute_body_params(rows)
    not_taken = counter.keep_costliest_sides(frames, rows)
    _fold_biases(graph, shapes, rows)
    _fused_contractions(graph, rows)
    notes = [*_loop_notes(loops), *_constant_notes(constants)]
    if frames is not None and frames.dead:
        notes.append(
            f"{frames.dead} node(s) behind a Switch whose predicate is known statically never "
            "run: counted 0 times (tfprof: once, as tf.profiler counts them)"
        )
    if frames is not None and frames.open_conds:
        notes.append(
            f"{frames.open_conds} Switch predicate(s) not known statically: the most expensive "
            f"side counted, the others' {not_taken} node(s) 0 times (an upper bound; a lowered "
            "Case's _SwitchN has a side per branch; tfprof: every side, as tf.profiler counts "
            "them)"
        )
    if counter.open_branches:
        notes.append(_open_branches_note(counter.open_branches))
    return GraphCount(rows, loops, notes)


def _open_branches_note(names: list[str]) -> str:
    """The If/Case nodes counted by their most expensive branch: the total is an upper
    bound, which the totals must say (the node's own note is not enough)."""
    return (
        f"{len(names)} If/Case node(s) whose predicate or branch index is not known "
        f"statically, each counted by its most expensive branch under macs/exact/"
        f"exact-bias/full (an upper bound; tfprof: every branch): {_named(names)}"
    )


def _named(items: list[str]) -> str:
    """The first _NAMED items, and how many more."""
    more = f" and {len(items) - _NAMED} more" if len(items) > _NAMED else ""
    return ", ".join(items[:_NAMED]) + more


def weights_marked(graph: Graph) -> bool:
    """The graph tells its weights apart: it has variables, or frozen resource variables."""
    ops = graph.op_list
    if any(op in VARIABLE_OPS for op in ops):
        return True
    return any(frozen_variable(graph.names[i]) for i, op in enumerate(ops) if op == "Const")


def _attribute_params(
    graph: Graph, shapes: ShapeResult, rows: list[NodeCount], marked: bool
) -> list[Constant]:
    """Each parameter the inference phase reads counts once, on the op that uses it; the
    float constants that are not parameters (the module doc), returned."""
    by_id, defs, names = shapes.by_id, graph.defs, graph.names
    state = loop_states(graph, shapes, lambda i: rows[i].phase == INFERENCE and rows[i].runs > 0)
    constants = []
    for i, op in enumerate(graph.op_list):
        if op not in _PARAMETER_SOURCES or rows[i].phase != INFERENCE:
            continue
        outs = by_id[i]
        info = outs[0] if outs else None
        if not is_parameter(defs[i], op, info):
            continue
        user = _param_user(graph, i, rows)
        if user is None:
            continue  # read only on a side that never runs
        if op == "Const" and (i in state or (marked and not _frozen(graph, shapes, i))):
            rows[i].constant = STATE if i in state else CODE
            constants.append(Constant(names[i], info.shape, rows[i].constant))
            continue
        rows[user].params += math.prod(info.shape)
        rows[i].weight = True
    return constants


def _frozen(graph: Graph, shapes: ShapeResult, i: int) -> bool:
    """Const ``i`` is one freezing made of a resource variable: named ``…/resource``, or
    passed to a function argument that held the variable (a Keras grouped convolution's
    kernel, which freezing names by a number, goes to its XLA function's
    ``convolution_readvariableop_resource``)."""
    if frozen_variable(graph.names[i]):
        return True
    for reader in graph.readers[i]:
        call = shapes.calls.get(graph.names[reader]) if shapes.calls else None
        if call is None:
            continue
        data = graph.data_in[reader]
        first = len(data) - len(call.args)  # If's predicate, Case's index: no argument
        for position, (j, _) in enumerate(data):
            if j != i or position < first:
                continue
            for _, run in call.runs:
                args = run.body.args if run.body is not None else []
                if position - first < len(args) and frozen_argument(args[position - first]):
                    return True
    return False


def _param_user(graph: Graph, source: int, rows: list[NodeCount]) -> int | None:
    """The first inference op past views (Identity, ReadVariableOp, Reshape) reading
    ``source`` that runs, by data edges only; the source itself when nothing reads it;
    None when only nodes that never run do (a branch not taken)."""
    ops, readers, data_in = graph.op_list, graph.readers, graph.data_in
    queue, seen, unrun = [source], set(), False
    for i in queue:  # breadth first: the queue grows as it is read
        for reader in readers[i]:
            if reader in seen or rows[reader].phase != INFERENCE:
                continue
            for j, _ in data_in[reader]:
                if j == i:
                    break
            else:
                continue  # a control edge: a lowered loop's NoOp gates other variables
            seen.add(reader)
            if not rows[reader].runs:
                unrun = True
            elif ops[reader] in VIEW_OPS:
                queue.append(reader)
            elif reads(graph, reader, i, rows[reader]):
                return reader
            else:
                unrun = True  # passed to a function that never reads it
    return None if unrun else source


def _attribute_body_params(rows: list[NodeCount]) -> list[Constant]:
    """A Const inside a function counts once, on the first inference call node running
    it; the float constants inside that are not parameters, returned."""
    seen: set[str] = set()
    constants: dict[str, Constant] = {}
    for row in rows:
        if not row.call or row.phase != INFERENCE:
            continue
        for where, elements in row.body_params.items():
            if where not in seen:
                seen.add(where)
                row.params += elements
        for constant in row.body_constants:
            constants.setdefault(constant.where, constant)
    return list(constants.values())


def _loop_notes(loops: list[Loop]) -> list[str]:
    """One line per loop: its trip count and how it was found, or why it is unknown; and
    when its variables change shape, that its count is not exact."""
    notes = []
    for loop in loops:
        if loop.trips is None:
            notes.append(
                f"loop {loop.name}: trip count not known statically ({loop.how}); its body "
                f"is counted once — give it with --loop-iterations {loop.name}=N"
            )
        else:
            notes.append(
                f"loop {loop.name}: {loop.trips} iteration(s) ({loop.how}); its body counted "
                f"{loop.trips}× under macs/exact/exact-bias/full, once under tfprof (as "
                "tf.profiler counts one iteration)"
            )
        if loop.reshaped and loop.runs > 1:
            notes[-1] += (
                f"; loop variable(s) {_named(list(loop.reshaped))} change shape from one "
                "iteration to the next, and every iteration is counted at the shapes of the "
                "first: not exact"
            )
    return notes


def _constant_notes(constants: list[Constant]) -> list[str]:
    """What float constants the outputs read are not parameters, and why (module doc)."""
    notes = []
    for why in (STATE, CODE):
        found = sorted(c for c in constants if c.why == why)
        if not found:
            continue
        shown = _named([f"{c.where} [{','.join(map(str, c.shape))}]" for c in found])
        elements = sum(math.prod(c.shape) for c in found)
        reason = (
            "the loop rewrites them"
            if why == STATE
            else "the graph's weights are its variables (or the constants freezing made of "
            "them, …/resource)"
        )
        notes.append(
            f"not parameters: {len(found)} constant(s), {elements:,} elements, {why} "
            f"({reason}): {shown}"
        )
    return notes


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
