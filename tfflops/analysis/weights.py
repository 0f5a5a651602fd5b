"""Weights: which constants and variables are parameters, and which values a node uses.

A parameter is a floating-point (or quantized) Const or variable with a dimension; a
variable, or the Const freezing made of one, of integers too (Keras' int8 kernels). A
value is *used* by a node that runs and reads it by a data edge (a call: in a function
it runs, its ``row.unread`` inputs excepted), through views; a loop's initial state is
a value whose only readers are loop variables the loop rewrites.
"""

from __future__ import annotations

from tfflops.analysis.loops import state_inputs
from tfflops.analysis.ops import VIEW_OPS, TensorInfo
from tfflops.analysis.shapes import ShapeResult
from tfflops.graph.families import VARIABLE_OPS
from tfflops.graph.index import Graph
from tfflops.graph.library import FunctionBody
from tfflops.graph.tensors import (
    VARIABLE_WEIGHT_DTYPES,
    WEIGHT_DTYPES,
    base_dtype,
)


def is_parameter(node, op: str, info: TensorInfo | None) -> bool:
    """A floating-point Const or variable with at least one dimension; a variable, or the
    Const freezing made of one (``…/resource``), of integers too (VARIABLE_WEIGHT_DTYPES:
    Keras' int8 kernels, which its ``count_params()`` counts)."""
    if info is None or not info.shape or info.nbytes() is None:
        return False  # a scalar, a shape not known, or one TensorFlow would refuse
    if op in VARIABLE_OPS:
        dtype = node.attr["dtype"].type if "dtype" in node.attr else 0
        return base_dtype(dtype) in VARIABLE_WEIGHT_DTYPES
    if op != "Const":
        return False
    dtypes = VARIABLE_WEIGHT_DTYPES if frozen_variable(node.name) else WEIGHT_DTYPES
    return base_dtype(info.dtype) in dtypes


def frozen_variable(name: str) -> bool:
    """A Const TensorFlow's freezing made of a resource variable (``…/resource``, the name
    of the variable's handle in the traced function)."""
    return name.endswith("/resource")


def frozen_argument(arg: str) -> bool:
    """A function argument that held a resource variable: ``…/resource`` as a FunctionDef
    spells an argument (``convolution_readvariableop_resource``)."""
    return arg.endswith("_resource")


def used_args(body: FunctionBody, rows: list) -> frozenset[int]:
    """The arguments whose value a call of ``body`` uses: read by data, through views
    (Identity, ReadVariableOp), by a node it runs (``rows``, by node number) that uses it
    (``reads``), or returned. A variable read only for the function's control outputs
    (TensorFlow orders every read of a resource there, a dead one's too) gives no output
    anything: it is no parameter."""
    graph = body.graph
    returned = {graph.index[r.node] for r in body.rets if r is not None and r.node in graph.index}
    return frozenset(
        position
        for position, arg in enumerate(body.args)
        if arg in graph.index and _value_used(graph, graph.index[arg], rows, returned)
    )


def _value_used(graph: Graph, source: int, rows: list, returned: set[int]) -> bool:
    """``source``'s value reaches, through views, a node that runs and uses it, or a
    return value."""
    queue, seen = [source], {source}  # a v1 loop's views make a cycle
    for i in queue:  # breadth first: the queue grows as it is read
        if i in returned:
            return True
        for reader in graph.readers[i]:
            row = rows[reader]
            if reader in seen or row is None or not row.runs or not reads(graph, reader, i, row):
                continue
            if graph.op_list[reader] not in VIEW_OPS:
                return True
            seen.add(reader)
            queue.append(reader)
    return False


def loop_states(graph: Graph, shapes: ShapeResult, live) -> set[int]:
    """Nodes whose every reader that runs (``live(node number)``) is a loop variable the
    loop rewrites: they give its initial state (an RNN's zeros), not weights (which a loop
    passes through unchanged)."""
    inputs = state_inputs(graph, shapes)
    if not inputs:
        return set()
    data_in, readers = graph.data_in, graph.readers
    state = set()
    for j in {data_in[i][p][0] for i, p in inputs if p < len(data_in[i])}:
        edges = [
            (r, p)
            for r in set(readers[j])
            if live(r)
            for p, (source, _) in enumerate(data_in[r])
            if source == j
        ]
        if edges and all(edge in inputs for edge in edges):
            state.add(j)
    return state


def read_by_live_data(graph: Graph, i: int, rows: list) -> bool:
    """Node ``i`` is read as data by a node that runs (not dead, not pruned) and uses it."""
    for reader in graph.readers[i]:
        row = rows[reader]
        if row is not None and row.runs and reads(graph, reader, i, row):
            return True
    return False


def reads(graph: Graph, reader: int, source: int, row) -> bool:
    """Node ``reader`` uses ``source``'s value (a call: in a function it runs)."""
    unread = row.unread
    for p, (j, _) in enumerate(graph.data_in[reader]):  # noqa: SIM110 (no generator: hot)
        if j == source and p not in unread:
            return True
    return False
