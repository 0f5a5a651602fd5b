"""Phases of a graph's nodes, its outputs, and walks over its edges. Nothing is executed.

Every node gets one phase:

* ``inference`` — the outputs depend on it, through data or control edges;
* ``init`` — initializers: ``Assign``/``AssignVariableOp`` and what feeds only them
  (``random_normal``'s Mul and Add, ...), and the ``init`` NoOp grouping them;
* ``other`` — everything else: training, saving, summaries, dead ends.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tfflops.errors import TfflopsError
from tfflops.graph.families import (
    ASSIGN_OPS,
    INIT_CHECK_OPS,
    INITIALIZER_OPS,
    MERGE_OPS,
    PLACEHOLDER_OPS,
    SAVE_RESTORE_OPS,
    SUMMARY_OPS,
    SWITCH_OPS,
    UPDATE_OPS,
    V1_CONTROL_FLOW_OPS,
    VARIABLE_OPS,
)
from tfflops.graph.index import Graph, parse_tensor_name

INFERENCE, INIT, OTHER = "inference", "init", "other"


# Sinks of these kinds are never taken as outputs: they initialize, train, save or
# bookkeep, or they are bare sources.
_NOT_OUTPUT_OPS = (
    ASSIGN_OPS
    | SAVE_RESTORE_OPS
    | INIT_CHECK_OPS
    | PLACEHOLDER_OPS
    | VARIABLE_OPS
    | SUMMARY_OPS
    | {"NoOp", "ReadVariableOp", "Const", "Assert", "Print", "PrintV2"}
)


_SOURCE_OPS = frozenset({"Const", "Placeholder", "PlaceholderWithDefault"})


def is_training_op(op: str) -> bool:
    return op.startswith(("Apply", "ResourceApply", "SparseApply", "ResourceSparseApply"))


def in_gradients_scope(name: str) -> bool:
    """The node is part of a backward pass ``tf.gradients`` built (``gradients/``,
    ``gradients_1/``, ...)."""
    return _GRADIENTS_SCOPE.match(name) is not None


def resolve_outputs(graph: Graph, outputs: Iterable[str]) -> list[str]:
    """Output names as given (``"logits"`` or ``"logits:0"``) → node names; unknown → error."""
    names = []
    for raw in outputs:
        raw = raw.strip()
        if not raw:
            continue
        name = parse_tensor_name(raw.lstrip("^")).node
        if name not in graph.index:
            raise TfflopsError(f"`outputs`: no node named {name!r} in {graph.source}")
        names.append(name)
    if not names:
        raise TfflopsError("`outputs`: no output node named")
    return names


def default_outputs(graph: Graph) -> list[str]:
    """The graph's sinks (nothing consumes them) that do not initialize, train or save.

    A sink is left out by its op type (Assign, Apply*, SaveV2, NoOp, a summary, ...), and
    so is a by-product of training or saving: a sink that reads such an op directly (a
    saver's ``save/control_dependency``), or that lies in the name scope ``tf.gradients``
    gives the backward pass (``gradients/``, ``gradients_1/``, ...); and so is the
    plumbing of TF1 control flow: a loop variable's unread ``Exit``, a cond's
    ``switch_t``/``switch_f``, an unread input of a lowered loop's condition (Identity
    nodes of a Switch or a Merge).
    """
    names, ops = graph.names, graph.op_list
    sinks = [i for i, readers in enumerate(graph.readers) if not readers]

    def computes(i: int) -> bool:
        return ops[i] not in _NOT_OUTPUT_OPS and not is_training_op(ops[i])

    def by_product(i: int) -> bool:
        inputs = [j for j, _ in graph.data_in[i]] + list(graph.control_in[i])
        if ops[i] in V1_CONTROL_FLOW_OPS or (
            ops[i] == "Identity" and any(ops[j] in _BRANCHING_OPS for j in inputs)
        ):
            return True
        return in_gradients_scope(names[i]) or any(is_training_only(ops[j]) for j in inputs)

    computed = [i for i in sinks if computes(i)]
    chosen = [i for i in computed if not by_product(i)] or computed
    if chosen:
        return [names[i] for i in chosen]
    # A graph of bare constants or placeholders: its sources are its outputs.
    sources = [names[i] for i in sinks if ops[i] in _SOURCE_OPS]
    if not sources:
        raise TfflopsError(
            f"{graph.source}: cannot guess the outputs (every sink initializes, trains or "
            "saves); name them with `outputs`"
        )
    return sources


_GRADIENTS_SCOPE = re.compile(r"gradients(_\d+)?/")
_BRANCHING_OPS = SWITCH_OPS | MERGE_OPS


def ancestors(graph: Graph, roots: Iterable[str], avoid: set[str] = frozenset()) -> set[str]:
    """Every node the roots depend on through data or control edges, roots included.

    The walk does not enter ``avoid``.
    """
    index, names = graph.index, graph.names
    blocked = [index[name] for name in avoid if name in index]
    marks = ancestor_marks(graph, [index[name] for name in roots], blocked)
    return {names[i] for i in _marked(marks)}


def ancestor_marks(graph: Graph, roots: Iterable[int], avoid: Iterable[int] = ()) -> bytearray:
    """``marks[i]`` is 1 for every node the roots depend on (data or control edges)."""
    data_in, control_in = graph.data_in, graph.control_in
    marks = bytearray(len(data_in))
    for i in avoid:
        marks[i] = 2
    stack = list(roots)
    while stack:
        i = stack.pop()
        if marks[i]:
            continue
        marks[i] = 1
        for j, _ in data_in[i]:
            stack.append(j)
        stack.extend(control_in[i])
    return marks


def descendant_marks(graph: Graph, roots: Iterable[int]) -> bytearray:
    """``marks[i]`` is 1 for every node that reads the roots' results, directly or not."""
    readers = graph.readers
    marks = bytearray(len(readers))
    stack = list(roots)
    while stack:
        i = stack.pop()
        if not marks[i]:
            marks[i] = 1
            stack.extend(readers[i])
    return marks


def _marked(marks: bytearray) -> list[int]:
    return [i for i, mark in enumerate(marks) if mark == 1]


def phase_list(graph: Graph, outputs: list[str]) -> list[str]:
    """Each node's phase by node number: ``inference`` | ``init`` | ``other``."""
    ops, index = graph.op_list, graph.index
    inference = ancestor_marks(graph, [index[name] for name in outputs])
    # An Assign that runs after a training op (Adam's beta1_power update) is a training
    # step, not an initializer: what it reads (the gradients) is not init work.
    trained = descendant_marks(graph, [i for i, op in enumerate(ops) if is_training_op(op)])
    roots = [i for i, op in enumerate(ops) if op in INITIALIZER_OPS and not trained[i]]
    init = ancestor_marks(graph, roots, _marked(inference)) if roots else bytearray(len(ops))
    phases = [INFERENCE if mark else OTHER for mark in inference]
    for i in _marked(init):
        phases[i] = INIT
    for i, op in enumerate(ops):
        # The `init` NoOp (global_variables_initializer) only groups initializers.
        control = graph.control_in[i]
        if op == "NoOp" and control and phases[i] == OTHER and all(init[j] == 1 for j in control):
            phases[i] = INIT
            init[i] = 1
    return phases


def is_update_op(op: str) -> bool:
    """Assign*, Apply*, Scatter*, CountUpTo: ops that write a variable."""
    return op in UPDATE_OPS or is_training_op(op) or op.startswith(("Scatter", "ResourceScatter"))


def is_training_only(op: str) -> bool:
    """Updates, save/restore, summaries and initialization checks: gone from a frozen graph."""
    return is_update_op(op) or op in SAVE_RESTORE_OPS or op in INIT_CHECK_OPS or "Summary" in op


def data_ancestors(graph: Graph, roots: Iterable[str]) -> set[str]:
    """Every node whose value the roots depend on (data edges only), roots included."""
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(ref.node for ref in graph.inputs[name])
    return seen
