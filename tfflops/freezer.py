"""The structural freeze: which nodes the outputs need, which only initialize.

Nothing is executed here. Every node gets one phase:

* ``inference`` — the outputs depend on it, through data or control edges;
* ``init`` — initializers: ``Assign``/``AssignVariableOp`` and what feeds only them
  (``random_normal``'s Mul and Add, ...), and the ``init`` NoOp grouping them;
* ``other`` — everything else: training, saving, summaries, dead ends.
"""

from __future__ import annotations

from collections.abc import Iterable

from tfflops.errors import TfflopsError
from tfflops.graph import Graph, parse_tensor_name

INFERENCE, INIT, OTHER = "inference", "init", "other"

_INIT_ROOT_OPS = frozenset({"Assign", "AssignVariableOp"})

# Sinks of these kinds are never taken as outputs: they initialize, train, save or
# bookkeep, or they are bare sources.
_NOT_OUTPUT_OPS = frozenset(
    {
        "NoOp",
        "Assign",
        "AssignAdd",
        "AssignSub",
        "AssignVariableOp",
        "AssignAddVariableOp",
        "AssignSubVariableOp",
        "SaveV2",
        "Save",
        "SaveSlices",
        "RestoreV2",
        "Restore",
        "MergeV2Checkpoints",
        "VarIsInitializedOp",
        "IsVariableInitialized",
        "ReadVariableOp",
        "Const",
        "Placeholder",
        "PlaceholderWithDefault",
        "VariableV2",
        "Variable",
        "VarHandleOp",
        "ScalarSummary",
        "HistogramSummary",
        "MergeSummary",
        "ImageSummary",
        "TensorSummary",
        "TensorSummaryV2",
        "Assert",
        "Print",
        "PrintV2",
    }
)


_SOURCE_OPS = frozenset({"Const", "Placeholder", "PlaceholderWithDefault"})


def is_training_op(op: str) -> bool:
    return op.startswith(("Apply", "ResourceApply", "SparseApply", "ResourceSparseApply"))


def resolve_outputs(graph: Graph, outputs: Iterable[str]) -> list[str]:
    """Output names as given (``"logits"`` or ``"logits:0"``) → node names; unknown → error."""
    names = []
    for raw in outputs:
        raw = raw.strip()
        if not raw:
            continue
        name = parse_tensor_name(raw.lstrip("^")).node
        if name not in graph.nodes:
            raise TfflopsError(f"--outputs: no node named {name!r} in {graph.source}")
        names.append(name)
    if not names:
        raise TfflopsError("--outputs: no output node named")
    return names


def default_outputs(graph: Graph) -> list[str]:
    """The graph's sinks (nothing consumes them) that do not initialize, train or save."""
    sinks = [name for name in graph.nodes if not graph.consumers[name]]
    computed = [
        name
        for name in sinks
        if graph.nodes[name].op not in _NOT_OUTPUT_OPS and not is_training_op(graph.nodes[name].op)
    ]
    if computed:
        return computed
    # A graph of bare constants or placeholders: its sources are its outputs.
    sinks = [name for name in sinks if graph.nodes[name].op in _SOURCE_OPS]
    if not sinks:
        raise TfflopsError(
            f"{graph.source}: cannot guess the outputs (every sink initializes, trains or "
            "saves); name them with --outputs"
        )
    return sinks


def ancestors(graph: Graph, roots: Iterable[str]) -> set[str]:
    """Every node the roots depend on through data or control edges, roots included."""
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        stack.extend(ref.node for ref in graph.inputs[name])
        stack.extend(graph.control_inputs[name])
    return seen


def tag_phases(graph: Graph, outputs: list[str]) -> dict[str, str]:
    """node name → ``inference`` | ``init`` | ``other``."""
    inference = ancestors(graph, outputs)
    roots = [name for name, node in graph.nodes.items() if node.op in _INIT_ROOT_OPS]
    init = ancestors(graph, roots) - inference
    for name, node in graph.nodes.items():
        # The `init` NoOp (global_variables_initializer) only groups initializers.
        control = graph.control_inputs[name]
        if node.op == "NoOp" and control and name not in inference and set(control) <= init:
            init.add(name)
    return {
        name: INFERENCE if name in inference else INIT if name in init else OTHER
        for name in graph.nodes
    }
