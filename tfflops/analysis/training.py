"""One training step (forward + backward), from the forward pass's rows and graph.

The estimate (``train_flops`` of a graph that holds no backward pass): the forward pass is
the inference phase's nodes that run (not a cond's side that never does: a static
predicate's dead side, the cheaper side of one not known), counted as ``flops`` counts it;
the backward pass is, for every node the gradient flows through, the ops TensorFlow's
gradient functions build for it (``tfflops.analysis.gradients``), counted by the op table
under the same convention — so a contraction costs as many MACs again for its input's
gradient and again for its weights'.

* Trained: every parameter (what ``params`` counts: a variable, or a floating-point
  constant with a dimension in a frozen graph). A tensor needs a gradient when it is
  floating-point and computed from a parameter; the graph's inputs and other constants
  get none, so the first layer computes no gradient w.r.t. its input.
* The gradient flows back from the outputs, as if the loss read them directly: the loss,
  its gradient and the optimizer's update are not in an inference graph, and not counted.
* Not estimated, and named (so the figure is a lower bound, and says so): a node with no
  gradient rule, one inside a TF1 while loop or calling functions, one whose shapes are
  unknown.

A graph that already holds its backward pass — ``tf.gradients``' ``gradients/`` scope, or
optimizer updates (Apply*) — is counted as it is: the training step is what its updates
(else its gradients) and its outputs run; the estimate is made beside it from the forward
nodes of that step (those that neither are nor follow a gradient or an update).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from tfflops.analysis.conventions import node_flops
from tfflops.analysis.counter import NodeCount, body_rows
from tfflops.analysis.gradients import (
    MOVES_DATA,
    NOT_DIFFERENTIABLE,
    SPARSE_GRADIENT,
    accumulation,
    backward,
    has_rule,
)
from tfflops.analysis.ops import Cost, OpView, UnknownShape, lookup
from tfflops.analysis.shapes import ShapeResult
from tfflops.analysis.weights import is_parameter
from tfflops.graph.families import CALL_OPS, ENTER_OPS, EXIT_OPS, PLACEHOLDER_OPS
from tfflops.graph.index import Graph
from tfflops.graph.phases import (
    INFERENCE,
    INIT,
    ancestor_marks,
    descendant_marks,
    in_gradients_scope,
    is_training_op,
)
from tfflops.graph.tensors import DT, FLOAT_DTYPES, NodeAttrs, base_dtype

# A resource is a variable's handle; a variant a TensorList's, which carries an RNN's steps
# out of its loop (the gradient flows back through the list).
_GRADIENT_DTYPES = FLOAT_DTYPES | {DT["DT_RESOURCE"], DT["DT_VARIANT"]}
_TAPE_SCOPE = "gradient_tape/"  # what a GradientTape names the backward ops it records


@dataclass(frozen=True, slots=True)
class Skipped:
    """A forward node the gradient flows through whose backward tfflops cannot estimate."""

    node: str
    op: str
    reason: str


@dataclass
class TrainingStep:
    """The forward rows, each one's backward Cost, what was not estimated, and the
    training step the graph holds (its rows), if it holds one."""

    forward: list[int]
    backward: dict[int, Cost] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    held: list[int] | None = None
    gradient_nodes: int = 0  # in the held step: nodes of the gradients/ scope
    updates: int = 0  # in the held step: optimizer updates (Apply*)
    no_gradient: list[str] = field(default_factory=list)  # outputs no gradient flows from
    inside: list[str] = field(default_factory=list)  # functions holding forward and backward

    def backward_flops(self, convention: str) -> int:
        """The backward pass's figure under ``convention``."""
        return sum(node_flops(cost, convention) for cost in self.backward.values())


def estimate_training(
    graph: Graph, shapes: ShapeResult, rows: list[NodeCount], outputs: list[str]
) -> TrainingStep:
    """The training step of the graph whose rows (``count_graph``) are ``rows``."""
    held = _held_step(graph, rows)
    if held is None:
        forward = [i for i, row in enumerate(rows) if row.phase == INFERENCE and row.runs]
        seeds = [graph.index[name] for name in outputs]
        step = TrainingStep(forward)
    else:
        step = held
        step.forward = [i for i in step.forward if rows[i].runs]
        in_forward = set(step.forward)
        # The loss: what the forward computes that nothing of the forward reads.
        seeds = [i for i in step.forward if not any(r in in_forward for r in graph.readers[i])]
    trained = _trained(graph, shapes, rows, step.forward)
    step.no_gradient = [graph.names[i] for i in seeds if not trained[i]]
    flows = _gradient_flows(graph, shapes, step.forward, seeds, trained)
    looped = _in_loops(graph)
    arriving: dict[tuple[int, int], list[int]] = {}  # tensor → [dense, sparse] gradients
    for i in seeds:
        if flows[i]:
            arriving[(i, 0)] = [1, 0]  # the loss's
    for i in step.forward:
        if not (flows[i] and trained[i]):
            continue
        wanted = frozenset(
            position
            for position, (j, k) in enumerate(graph.data_in[i])
            if trained[j] and _carries_gradient(shapes, j, k)
        )
        if not wanted:
            continue  # a parameter itself
        for position in wanted:
            sparse = position == 0 and graph.op_list[i] in SPARSE_GRADIENT
            arriving.setdefault(graph.data_in[i][position], [0, 0])[sparse] += 1
        cost, why = _backward_cost(graph, shapes, rows, i, wanted, looped[i])
        if cost is None:
            step.skipped.append(Skipped(graph.names[i], graph.op_list[i], why))
        else:
            step.backward[i] = cost
    _accumulate(graph, shapes, step, arriving, looped)
    return step


def _accumulate(
    graph: Graph,
    shapes: ShapeResult,
    step: TrainingStep,
    arriving: dict[tuple[int, int], list[int]],
    looped: bytearray,
) -> None:
    """Add to each tensor's producer the sum of the gradients its readers send back (a
    residual's input, Q/K/V's shared input, a tied embedding): ``gradients.accumulation``.
    Inside a TF1 loop the backward is not estimated (named already), nor is its sum."""
    for (j, k), (dense, sparse) in arriving.items():
        info = shapes.by_id[j][k] if k < len(shapes.by_id[j]) else None
        view = accumulation(None if info is None else info.shape, dense, sparse)
        if view is None or looped[j]:
            continue
        try:
            cost = lookup("AddN")(view._replace(name=graph.names[j]))
        except UnknownShape as e:
            step.skipped.append(Skipped(graph.names[j], "AddN", f"its gradients' sum: {e}"))
            continue
        if j in step.backward:
            cost = Cost(*map(sum, zip(step.backward[j], cost, strict=True)))
        step.backward[j] = cost


def _held_step(graph: Graph, rows: list[NodeCount]) -> TrainingStep | None:
    """The training step the graph holds: what its optimizer updates (else its gradients)
    run, and what the outputs need (a loss the updates do not read is still computed when
    a step fetches it), initializers left out; its forward nodes are those that neither are
    nor follow a gradient or an update. A call whose function trains (a TF2 training
    signature: GradientTape and updates inside) is such an update. None when the graph
    holds no backward pass."""
    names, ops = graph.names, graph.op_list
    inside = [i for i, row in enumerate(rows) if _trains(body_rows(row))]
    updates = [i for i, op in enumerate(ops) if is_training_op(op)] + inside
    gradients = [i for i, name in enumerate(names) if in_gradients_scope(name)]
    if not updates and not gradients:
        return None
    runs = ancestor_marks(graph, updates or gradients)
    after = descendant_marks(graph, updates + gradients)
    held = [
        i
        for i, row in enumerate(rows)
        if (runs[i] == 1 or row.phase == INFERENCE) and row.phase != INIT
    ]
    leaves = [leaf for i in held for leaf in _leaves(rows[i])]
    return TrainingStep(
        forward=[i for i in held if not after[i]],
        held=held,
        gradient_nodes=sum(1 for leaf in leaves if _in_backward_scope(leaf.name)),
        updates=sum(1 for leaf in leaves if is_training_op(leaf.op)),
        inside=sorted({body.function for i in inside for body in body_rows(rows[i])}),
    )


def _in_backward_scope(name: str) -> bool:
    """A node of a backward pass: ``tf.gradients``' scope, or a GradientTape's in a
    function."""
    return in_gradients_scope(name) or name.startswith(_TAPE_SCOPE)


def _trains(rows) -> bool:
    """Function bodies' rows that hold an optimizer update, or a backward pass."""
    return any(
        is_training_op(r.op) or _in_backward_scope(r.name) or _trains(body_rows(r)) for r in rows
    )


def _leaves(row: NodeCount) -> list[NodeCount]:
    """The row, or the rows of the functions it runs (nested calls expanded)."""
    if not row.inner:
        return [row]
    return [leaf for inner in body_rows(row) for leaf in _leaves(inner)]


def _carries_gradient(shapes: ShapeResult, j: int, k: int) -> bool:
    """Output ``k`` of node ``j`` is floating-point (or a variable's or a TensorList's
    handle), or of an unknown type — then the estimate tries, and says so if it cannot."""
    outs = shapes.by_id[j]
    if k >= len(outs) or outs[k].dtype == DT["DT_INVALID"]:
        return True
    return base_dtype(outs[k].dtype) in _GRADIENT_DTYPES


def _outputs_carry(shapes: ShapeResult, i: int) -> bool:
    """One of node ``i``'s outputs may carry a gradient (a While's first is its counter)."""
    outs = shapes.by_id[i]
    return not outs or any(_carries_gradient(shapes, i, k) for k in range(len(outs)))


def _trained(
    graph: Graph, shapes: ShapeResult, rows: list[NodeCount], forward: list[int]
) -> bytearray:
    """``marks[i]`` is 1 for each forward node computed from a parameter (parameters
    included; not a constant the counter found is none: a loop's initial state, a
    constant of the model's code), through differentiable ops and floating-point tensors —
    around loops too."""
    ops, defs, data_in, readers = graph.op_list, graph.defs, graph.data_in, graph.readers
    in_forward = bytearray(len(ops))
    for i in forward:
        in_forward[i] = 1
    marks = bytearray(len(ops))
    stack = [
        i
        for i in forward
        if not data_in[i]
        and is_parameter(defs[i], ops[i], (shapes.by_id[i] or [None])[0])
        and rows[i].constant is None
    ]
    for i in stack:
        marks[i] = 1
    while stack:
        i = stack.pop()
        for r in readers[i]:
            if marks[r] or not in_forward[r] or ops[r] in NOT_DIFFERENTIABLE:
                continue
            if ops[r] in PLACEHOLDER_OPS or not _outputs_carry(shapes, r):
                continue
            if any(j == i and _carries_gradient(shapes, j, k) for j, k in data_in[r]):
                marks[r] = 1
                stack.append(r)
    return marks


def _gradient_flows(
    graph: Graph, shapes: ShapeResult, forward: list[int], seeds: list[int], trained: bytearray
) -> bytearray:
    """``marks[i]`` is 1 for each trained node the gradient reaches from the ``seeds``
    (the outputs, or the loss) back through differentiable ops — around loops too."""
    data_in = graph.data_in
    marks = bytearray(len(data_in))
    stack = [i for i in seeds if trained[i]]
    for i in stack:
        marks[i] = 1
    while stack:
        i = stack.pop()
        for j, k in data_in[i]:
            if trained[j] and not marks[j] and _carries_gradient(shapes, j, k):
                marks[j] = 1
                stack.append(j)
    return marks


def _in_loops(graph: Graph) -> bytearray:
    """``marks[i]`` is 1 for each node inside a TF1 while loop (from an Enter to an Exit)."""
    ops, readers = graph.op_list, graph.readers
    marks = bytearray(len(ops))
    stack = [i for i, op in enumerate(ops) if op in ENTER_OPS]
    while stack:
        i = stack.pop()
        if marks[i]:
            continue
        marks[i] = 1
        if ops[i] not in EXIT_OPS:
            stack.extend(readers[i])
    return marks


def _backward_cost(
    graph: Graph,
    shapes: ShapeResult,
    rows: list[NodeCount],
    i: int,
    wanted: frozenset[int],
    looped: bool,
) -> tuple[Cost | None, str]:
    """Node ``i``'s backward Cost w.r.t. its inputs ``wanted``, or None and why not."""
    name, op = graph.names[i], graph.op_list[i]
    if op in MOVES_DATA:
        return Cost(), ""  # wherever it is, its gradient computes nothing
    if looped:
        return None, "inside a while loop (its backward runs once per iteration)"
    if op in CALL_OPS or name in shapes.calls:
        return None, "calls functions (the backward of function bodies is not estimated)"
    if not has_rule(op):
        return None, f"no gradient rule for op {op}"
    if rows[i].cost is None:
        return None, f"its forward is not counted ({rows[i].problem})"
    view = OpView(
        op=op,
        inputs=tuple(None if t is None else t.shape for t in shapes.inputs(graph.data_in[i])),
        outputs=tuple(t.shape for t in shapes.by_id[i]),
        attrs=NodeAttrs(graph.defs[i]),
        name=name,
    )
    try:
        costs = [lookup(g.op)(g) for g in backward(view, wanted)]
    except UnknownShape as e:
        return None, str(e)
    except (ValueError, IndexError, TypeError, KeyError, ZeroDivisionError) as e:
        return None, f"cannot estimate its gradient with these shapes/attributes: {e}"
    return (Cost(*map(sum, zip(*costs, strict=True))) if costs else Cost()), ""


def skipped_summary(skipped: list[Skipped]) -> str:
    """``3 node(s): FusedBatchNormV3 ×2, While ×1 (e.g. bn: no gradient rule for ...)``."""
    ops = Counter(s.op for s in skipped)
    listed = ", ".join(f"{op} ×{n}" for op, n in ops.most_common())
    first = skipped[0]
    return f"{len(skipped)} node(s): {listed} (e.g. {first.node}: {first.reason})"
