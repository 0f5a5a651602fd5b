"""Memory: bytes each node writes, the weights' bytes, and the peak of live activations.

``peak_activation_bytes`` runs the inference nodes in graph order: a non-constant tensor
is alive from the node that writes it until its last reader has run (the outputs, until
the end); while a node runs, its inputs and outputs are alive together. Constants (Const,
variables, and what is computed from them alone: TensorFlow folds those once) are
weights, not activations. A view (Identity, Reshape, Squeeze, ...) writes no new buffer:
its output is its input's, kept alive as long as either is read. ``conv_bias``: x 12,288
B, the conv's, bias add's and relu's outputs 32,768 B each; the bias add holds 65,536.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from tfflops.analysis.counter import NodeCount
from tfflops.analysis.shapes import ShapeResult, TensorInfo
from tfflops.graph.families import PLACEHOLDER_OPS, VARIABLE_OPS
from tfflops.graph.index import Graph
from tfflops.graph.phases import INFERENCE
from tfflops.graph.tensors import DTYPE_SIZE, base_dtype

# Ops whose outputs are their input's buffer (IdentityN: output k is input k; the others'
# every output is input 0): they allocate nothing.
_ALIASES = frozenset(
    {
        "Identity",
        "IdentityN",
        "RefIdentity",
        "Snapshot",
        "StopGradient",
        "PreventGradient",
        "CheckNumerics",
        "EnsureShape",
        "Reshape",
        "Squeeze",
        "ExpandDims",
        "Switch",
        "RefSwitch",
        "Merge",
        "RefMerge",
        "Enter",
        "RefEnter",
        "Exit",
        "RefExit",
        "NextIteration",
        "RefNextIteration",
    }
)
_WEIGHT_SOURCES = VARIABLE_OPS | {"Const", "HostConst"}


@dataclass(frozen=True)
class Memory:
    """The memory figures of a profile; ``output_bytes`` by row."""

    output_bytes: list[int | None]
    weight_bytes: int
    peak_activation_bytes: int
    unknown_tensors: list[str]  # activations of unknown size ("node:k"), not in the peak
    weight_elements: int  # the parameters weight_bytes covers
    constant: bytearray  # by node number: 1 for a constant, or computed from them alone
    # What TensorFlow computes from constants alone when it loads the graph (weights and
    # views aside), held beside the activations: its bytes, and its tensors of unknown size.
    folded_bytes: int
    folded_unknown: list[str]


def tensor_bytes(info: TensorInfo | None) -> int | None:
    """``TensorInfo.nbytes``; None for no tensor."""
    return None if info is None else info.nbytes()


def output_bytes(row: NodeCount) -> int | None:
    """What a node writes: the bytes of its outputs; None when one's size is unknown."""
    return _written([tensor_bytes(info) for info in row.outputs])


def _written(sizes: list[int | None], unknown: bool = False) -> int | None:
    """The sum of a node's output sizes; None if one is unknown, or all of them
    (``unknown``: the shape inference gave up on the node, its outputs are not listed)."""
    return None if unknown or None in sizes else sum(sizes)


def memory_of(
    graph: Graph,
    shapes: ShapeResult,
    phases: Sequence[str],
    outputs: Collection[str],
    rows: Sequence[NodeCount],
) -> Memory:
    """Every memory figure of an analysed graph whose rows (``count_graph``) are ``rows``;
    ``output_bytes`` by node number."""
    unknown, names = shapes.unknown, graph.names
    sizes = [[tensor_bytes(info) for info in outs] for outs in shapes.by_id]
    written = [_written(s, not s and names[i] in unknown) for i, s in enumerate(sizes)]
    weight_bytes, weight_elements = _weights(graph, shapes, rows)
    order = [i for i in graph.topological_ids() if phases[i] == INFERENCE]
    fetched = [graph.index[name] for name in outputs if name in graph.index]
    constant = constants(graph, order, fetched)
    peak, missing = peak_activation_bytes(graph, sizes, unknown, order, constant, fetched)
    folded, folded_unknown = _folded(graph, sizes, order, constant)
    return Memory(
        written, weight_bytes, peak, missing, weight_elements, constant, folded, folded_unknown
    )


def _folded(
    graph: Graph, sizes: Sequence[Sequence[int | None]], order: Sequence[int], constant: bytearray
) -> tuple[int, list[str]]:
    """(bytes, tensors of unknown size) of what the nodes of ``order`` compute from
    constants alone: a Fill of constant dimensions is a tensor TensorFlow makes when it
    loads the graph, however large, and keeps."""
    ops, names = graph.op_list, graph.names
    total, unknown = 0, []
    for i in order:
        if not constant[i] or ops[i] in _WEIGHT_SOURCES or ops[i] in _ALIASES:
            continue
        if not sizes[i]:
            unknown.append(names[i])  # not even how many outputs it has
        for k, size in enumerate(sizes[i]):
            if size is None:
                unknown.append(f"{names[i]}:{k}")
            else:
                total += size
    return total, unknown


def _weights(graph: Graph, shapes: ShapeResult, rows: Sequence[NodeCount]) -> tuple[int, int]:
    """(bytes, elements) of the parameters (what ``params`` counts, outside function
    bodies), by their dtype."""
    total = elements = 0
    for i, row in enumerate(rows):
        if not row.weight:
            continue
        info = shapes.by_id[i][0]
        count = math.prod(info.shape)
        if row.op in VARIABLE_OPS:  # (its output is a handle or a ref: its dtype attr says)
            total += count * DTYPE_SIZE.get(base_dtype(graph.defs[i].attr["dtype"].type), 0)
        else:
            total += info.nbytes()
        elements += count
    return total, elements


def peak_activation_bytes(
    graph: Graph,
    sizes: Sequence[Sequence[int | None]],
    unknown: Collection[str],
    order: Sequence[int],
    constant: bytearray,
    fetched: Sequence[int],
) -> tuple[int, list[str]]:
    """(peak bytes of live activations, the activations of unknown size left out) when
    the nodes run in ``order``; ``sizes`` by node number and output, None unknown;
    ``unknown``: nodes whose outputs the shape inference could not even list; ``fetched``:
    the outputs' node numbers."""
    ops, data_in, names = graph.op_list, graph.data_in, graph.names
    # By node number: the buffer holding each output (-1: a constant, or none).
    held: list[Sequence[int]] = [()] * len(ops)
    buffers: list[int] = []  # by buffer: its size
    first: list[int] = []  # by buffer: the position of the node that allocates it
    missing: list[str] = []
    for p, i in enumerate(order):
        if constant[i]:
            continue
        outputs = sizes[i]
        if ops[i] in _ALIASES:
            edges, aliased = data_in[i], []
            for k in range(len(outputs)):
                e = k if ops[i] == "IdentityN" else 0
                j, out = edges[e] if e < len(edges) else (-1, 0)
                aliased.append(held[j][out] if j >= 0 and out < len(held[j]) else -1)
            held[i] = aliased
            continue
        if not outputs and names[i] in unknown:
            missing.append(names[i])  # not even how many outputs it has
        held[i] = range(len(buffers), len(buffers) + len(outputs))
        for k, size in enumerate(outputs):
            if size is None:
                missing.append(f"{names[i]}:{k}")
                size = 0
            buffers.append(size)
            first.append(p)
    # A buffer dies after its last reader (through any alias); one nobody reads, at once;
    # the outputs' live to the end.
    last = list(first)
    for p, i in enumerate(order):
        for j, out in data_in[i]:
            buffer = held[j]
            if out < len(buffer) and (b := buffer[out]) >= 0 and last[b] < p:
                last[b] = p
    for i in fetched:
        for b in held[i]:
            if b >= 0:
                last[b] = len(order)
    # The bytes alive at a position: the sum of the changes up to it (a buffer counts from
    # the position that allocates it to that of its last reader, the outputs' to the end).
    change = [0] * (len(order) + 2)
    for b, size in enumerate(buffers):
        change[first[b]] += size
        change[last[b] + 1] -= size
    return max(itertools.accumulate(change)), missing


def constants(graph: Graph, order: Sequence[int], fetched: Sequence[int]) -> bytearray:
    """1 for a weight source and for a node computed from constants alone (not random,
    not an output: what the caller fetches is made by the run), among ``order``'s nodes:
    TensorFlow computes those once, when it loads the graph."""
    ops, data_in = graph.op_list, graph.data_in
    constant = bytearray(len(ops))
    outputs = set(fetched)
    for i in order:
        op = ops[i]
        if op in _WEIGHT_SOURCES:
            constant[i] = 1
            continue
        edges = data_in[i]
        if not edges or op in PLACEHOLDER_OPS or i in outputs or _draws(op):
            continue
        for j, _ in edges:
            if not constant[j]:
                break
        else:
            constant[i] = 1
    return constant


def _draws(op: str) -> bool:
    """A random op: a new draw every run, never folded into a constant."""
    return "Random" in op or "TruncatedNormal" in op or op == "Multinomial"
