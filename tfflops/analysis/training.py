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
* Loops and function bodies (``tfflops.analysis.backprop``): a v2 While's or a call's
  body followed into, × its trip count; a v1 frame's nodes × their runs.
* Not estimated, and named (so the figure is a lower bound, and says so): a node with no
  gradient rule, one in a loop whose trip count is not known statically, an If/Case, a
  call whose functions were not analysed, one whose shapes are unknown.

A graph that already holds its backward pass — ``tf.gradients``' ``gradients/`` scope, or
optimizer updates (Apply*) — is counted as it is: the training step is what its updates
(else its gradients) and its outputs run; the estimate is made beside it from the forward
nodes of that step (those that neither are nor follow a gradient or an update).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from tfflops.analysis.backprop import Backprop, Scope, Skipped, top_parameters
from tfflops.analysis.conventions import node_flops
from tfflops.analysis.counter import NodeCount, body_rows
from tfflops.analysis.ops import Cost
from tfflops.analysis.shapes import ShapeResult
from tfflops.graph.index import Graph
from tfflops.graph.phases import (
    INFERENCE,
    INIT,
    ancestor_marks,
    descendant_marks,
    in_gradients_scope,
    is_training_op,
)

_TAPE_SCOPE = "gradient_tape/"  # what a GradientTape names the backward ops it records


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
        step = TrainingStep(forward)
    else:
        step = held
        step.forward = [i for i in step.forward if rows[i].runs]
    in_forward = set(step.forward)
    if held is None:
        seeds = [graph.index[name] for name in outputs]
    else:  # the loss: what the forward computes that nothing of the forward reads
        seeds = [i for i in step.forward if not any(r in in_forward for r in graph.readers[i])]
    scope = Scope(
        graph,
        shapes,
        [row if i in in_forward else None for i, row in enumerate(rows)],
        params={key: n for i in step.forward for key, n in rows[i].body_params.items()},
    )
    walk = Backprop()
    trained = walk.trained(scope, top_parameters(scope))
    step.no_gradient = [graph.names[i] for i in seeds if not trained.node[i]]
    # The loss reads each output's first tensor (a node named as an output is its tensor
    # 0): the gradient flows from there alone.
    losses = [(i, 0) for i in seeds]
    flows = walk.flows(scope, losses, trained)
    step.backward, step.skipped = walk.backward(scope, trained, flows, losses)
    return step


def _held_step(graph: Graph, rows: list[NodeCount]) -> TrainingStep | None:
    """The training step the graph holds: what its optimizer updates (else its gradients)
    run, and what the outputs need (a loss the updates do not read is still computed when
    a step fetches it), initializers left out; its forward nodes are those that neither are
    nor follow a gradient or an update. A call whose function trains (a TF2 training
    signature: GradientTape and updates inside) is such an update. None when the graph
    holds no backward pass."""
    names, ops = graph.names, graph.op_list
    tally = _Tally()
    inside = [i for i, row in enumerate(rows) if any(tally.of_calls(row))]
    updates = [i for i, op in enumerate(ops) if is_training_op(op)] + inside
    gradients = [i for i, name in enumerate(names) if _in_backward_scope(name)]
    if not updates and not gradients:
        return None
    runs = ancestor_marks(graph, updates or gradients)
    after = descendant_marks(graph, updates + gradients)
    held = [
        i
        for i, row in enumerate(rows)
        if (runs[i] == 1 or row.phase == INFERENCE) and row.phase != INIT
    ]
    counts = [tally.of_row(rows[i]) for i in held]
    return TrainingStep(
        forward=[i for i in held if not after[i]],
        held=held,
        gradient_nodes=sum(gradient for gradient, _ in counts),
        updates=sum(update for _, update in counts),
        inside=sorted({body.function for i in inside for body in body_rows(rows[i])}),
    )


def _in_backward_scope(name: str) -> bool:
    """A node of a backward pass: ``tf.gradients``' scope, or a GradientTape's in a
    function."""
    return in_gradients_scope(name) or name.startswith(_TAPE_SCOPE)


class _Tally:
    """Per row, its backward-scope nodes and optimizer updates, a call's counted in the
    functions it runs (nested calls expanded, each call's bodies once per call); a row
    trains when either is not 0. Each body is gone through once, however many calls run
    it (a call DAG can hold exponentially many paths)."""

    def __init__(self):
        self.memo: dict[int, tuple[int, int]] = {}

    def of_row(self, row: NodeCount) -> tuple[int, int]:
        if row.inner:
            return self.of_calls(row)
        return int(_in_backward_scope(row.name)), int(is_training_op(row.op))

    def of_calls(self, row: NodeCount) -> tuple[int, int]:
        """The bodies' figures of call ``row`` ((0, 0) for a row that calls none)."""
        return _sum_pairs(self._of_body(body.rows) for body in row.inner)

    def _of_body(self, rows: tuple[NodeCount, ...]) -> tuple[int, int]:
        if id(rows) not in self.memo:
            self.memo[id(rows)] = _sum_pairs(self.of_row(r) for r in rows)
        return self.memo[id(rows)]


def _sum_pairs(pairs) -> tuple[int, int]:
    gradient = update = 0
    for g, u in pairs:
        gradient, update = gradient + g, update + u
    return gradient, update


def skipped_summary(skipped: list[Skipped]) -> str:
    """``3 node(s): FusedBatchNormV3 ×2, While ×1 (e.g. bn: no gradient rule for ...)``."""
    ops = Counter(s.op for s in skipped)
    listed = ", ".join(f"{op} ×{n}" for op, n in ops.most_common())
    first = skipped[0]
    return f"{len(skipped)} node(s): {listed} (e.g. {first.node}: {first.reason})"
