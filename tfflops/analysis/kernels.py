"""Measured kernels → the graph's nodes: which nodes each kernel TensorFlow ran stands for.

TensorFlow does not run a GraphDef as written. Its grappler folds what constants alone
compute (a batch norm's scale becomes part of the conv's weights), fuses a Conv2D with
its bias, batch norm and activation into one kernel named after the last node it
absorbed (``_FusedConv2D`` named ``.../Relu6``), rewrites chains of adds into nodes named
under the one they replace (``.../Add/ArithmeticOptimizer/AddOpsRewrite_Leaf_1_Add``),
and drops identities. The rule that maps the kernels back:

* a kernel stands for its *anchor*: the node of its own name, else the longest
  ``/``-prefix of its name that is a node of the graph;
* an anchor whose kernel is not the anchor's op (a ``_FusedConv2D`` named after a Relu, a
  Conv2D named after the batch norm Mul folded into its weights) covers itself and, up
  its data inputs, every node that runs at run time (it reads an input placeholder) and
  launched no kernel of its own, stopping at other anchors: the nodes it absorbed;
* a node that runs at run time and that no kernel covers was *folded* (an ``x + 0`` of
  a batch norm with no shift, an Identity): nothing ran for it;
* a kernel with no anchor is *unattributed* time (a transfer, a node TensorFlow made up).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from tfflops.graph.families import PLACEHOLDER_OPS
from tfflops.graph.index import Graph

# What the executor runs that is bookkeeping, not a kernel of the model.
BOOKKEEPING_OPS = frozenset({"Const", "NoOp", "_Arg", "_Retval", "_SOURCE", "_SINK"})


class Kernel(NamedTuple):
    """One node TensorFlow executed: its name and op there, its median time in seconds."""

    name: str
    op: str
    seconds: float


@dataclass
class Group:
    """The kernels standing for one anchor, and the graph's nodes they cover (numbers)."""

    anchor: int
    kernels: list[Kernel] = field(default_factory=list)
    covers: list[int] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(k.seconds for k in self.kernels)

    @property
    def fused(self) -> bool:
        """One kernel covering several nodes, or several kernels for one node."""
        return len(self.covers) > 1 or len(self.kernels) > 1


@dataclass
class Attribution:
    """Every kernel's group, the unattributed ones, and the run-time nodes no kernel
    covers (folded away: nothing ran for them)."""

    groups: list[Group]
    unattributed: list[Kernel]
    folded: list[int]


def attribute(graph: Graph, kernels: Sequence[Kernel]) -> Attribution:
    """Map ``kernels`` onto ``graph``'s nodes (see the module doc)."""
    runtime = _runtime_marks(graph)
    groups: dict[int, Group] = {}
    unattributed = []
    for kernel in kernels:
        if kernel.op in BOOKKEEPING_OPS:
            continue
        anchor = _anchor(graph, kernel.name)
        if anchor is None:
            unattributed.append(kernel)
        else:
            groups.setdefault(anchor, Group(anchor)).kernels.append(kernel)
    owner = bytearray(len(graph.names))
    for i in groups:
        owner[i] = 1
    data_in, ops = graph.data_in, graph.op_list
    for i in sorted(groups):
        group = groups[i]
        group.covers.append(i)
        if all(_same_op(k.op, ops[i]) for k in group.kernels):
            continue  # ran as written: it absorbed nothing
        stack = [i]
        while stack:
            j = stack.pop()
            for k, _ in data_in[j]:
                if runtime[k] and not owner[k] and ops[k] not in PLACEHOLDER_OPS:
                    owner[k] = 1
                    group.covers.append(k)
                    stack.append(k)
    folded = [
        i for i, op in enumerate(ops) if runtime[i] and not owner[i] and op not in PLACEHOLDER_OPS
    ]
    ordered = [groups[i] for i in sorted(groups)]
    for g in ordered:
        g.covers.sort()
    return Attribution(ordered, unattributed, folded)


def _same_op(kernel_op: str, node_op: str) -> bool:
    """The kernel is the node's op (oneDNN's ``_MklNativeConv2D`` is a Conv2D)."""
    return kernel_op.removeprefix("_MklNative").removeprefix("_Mkl") == node_op


def _anchor(graph: Graph, name: str) -> int | None:
    """The node ``name`` stands for: itself, else its longest ``/``-prefix in the graph."""
    index = graph.index
    while name:
        if name in index:
            return index[name]
        name = name.rpartition("/")[0]
    return None


def _runtime_marks(graph: Graph) -> bytearray:
    """1 for every node that reads an input placeholder through data edges."""
    marks = bytearray(len(graph.names))
    stack = [i for i, op in enumerate(graph.op_list) if op in PLACEHOLDER_OPS]
    for i in stack:
        marks[i] = 1
    readers, data_in = graph.readers, graph.data_in
    while stack:
        i = stack.pop()
        for r in readers[i]:
            if not marks[r] and any(j == i for j, _ in data_in[r]):
                marks[r] = 1
                stack.append(r)
    return marks


def measured_seconds(
    attribution: Attribution, weights: Sequence[float], size: int
) -> list[float | None]:
    """Per node: its group's time, split over the nodes it covers in proportion to
    ``weights`` (their estimates; evenly when they are all 0); 0.0 for a folded node;
    None for a node no kernel stands for (constants, views)."""
    seconds: list[float | None] = [None] * size
    for i in attribution.folded:
        seconds[i] = 0.0
    for g in attribution.groups:
        total = sum(weights[i] for i in g.covers)
        for i in g.covers:
            share = weights[i] / total if total else 1 / len(g.covers)
            seconds[i] = g.seconds * share
    return seconds
