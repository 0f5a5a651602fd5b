"""Static shape inference over a GraphDef, without TensorFlow.

Every output tensor gets a ``TensorInfo``: its shape (a tuple with ``None`` for an
unknown dimension, or ``None`` for an unknown rank), its dtype and, for small tensors
whose value is known before running (constants, ``Shape`` of a known tensor and the
arithmetic on such values), the value itself. The values are what resolves the
``Shape → StridedSlice → Pack → Reshape`` chains that Keras and TF1 graphs are made of.

Rules follow TensorFlow's C++ shape functions: SAME → ⌈In/S⌉, VALID → ⌊(In − K)/S⌋ + 1
with K = (K − 1)·D + 1 under dilation, EXPLICIT paddings, NHWC and NCHW, numpy-style
broadcasting, ``-1`` in Reshape, keep_dims reductions.

A node that calls functions (If, While, Case, PartitionedCall, ...) has each function's
body inferred with the arguments the call passes (shapes, dtypes, small values); the call's
outputs are what the bodies return (If/Case: where the branches agree; While: the loop
variables where the body keeps their shapes), refined by its ``output_shapes`` attr. The
analysed bodies stay in ``ShapeResult.calls`` for the counter.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from tfflops.analysis.ops import OPS, WALKER, ListItems, ShapeCtx, TensorInfo, UnknownShape
from tfflops.errors import TfflopsError
from tfflops.graph.families import CALL_OPS, PLACEHOLDER_OPS, CallSpec
from tfflops.graph.index import Graph, parse_tensor_name
from tfflops.graph.library import MAX_DEPTH, FunctionBody, FunctionError, Library
from tfflops.graph.tensors import DT, Shape, shape_from_proto, shape_text

# How much of the function library one inference analyses, over all calls: a body is
# analysed once per distinct arguments, and functions that call each other with ever new
# constants would otherwise take exponential time. Calls past the budget are not followed,
# and say so (their nodes count as not counted, in the totals' notes too).
MAX_BODY_RUNS = 10_000
MAX_BODY_NODES = 1_000_000


@dataclass
class ShapeResult:
    """Per node, the TensorInfo of each output; why a node's shapes are unknown.

    ``tensors[name]`` (also ``by_id[i]``, by the graph's node number) lists a node's
    outputs, ``[]`` when they are unknown.
    ``calls[node]``: the function bodies a call node runs, analysed (``CallShapes``).
    """

    tensors: dict[str, list[TensorInfo]]
    unknown: dict[str, str] = field(default_factory=dict)
    by_id: list[list[TensorInfo]] = field(default_factory=list)  # ``tensors`` by node number
    input_shapes: dict[str, tuple[int | None, ...]] = field(default_factory=dict)
    defaulted_batch: list[str] = field(default_factory=list)
    calls: dict[str, CallShapes] = field(default_factory=dict)

    def inputs(self, edges: Sequence[tuple[int, int]]) -> list[TensorInfo | None]:
        """The TensorInfo each ``(node number, output index)`` edge carries, None unknown."""
        by_id = self.by_id
        return [by_id[j][k] if k < len(by_id[j]) else None for j, k in edges]

    def output(self, name: str, index: int = 0) -> TensorInfo | None:
        outs = self.tensors.get(name)
        return outs[index] if outs and index < len(outs) else None


@dataclass
class BodyRun:
    """One function analysed with the arguments a call passes it, or why it was not."""

    function: str
    body: FunctionBody | None = None
    shapes: ShapeResult | None = None
    problem: str | None = None  # why the body was not analysed
    note: str | None = None  # something the counts rest on (arguments of unknown shape)


@dataclass
class CallShapes:
    """What the shape inference found for one call node: the runs of its functions.

    ``args``: what the call passes its functions, as it passes them (a While: the loop
    variables' initial values). ``taken``: the branch an If or Case runs, when its
    predicate or index is known statically.
    """

    kind: str
    runs: list[tuple[str, BodyRun]]  # (role: "then", "branch 1", "body", ...; the run)
    note: str | None = None  # something the counts rest on (a loop variable's shape)
    problem: str | None = None  # why no function could be found
    args: list[TensorInfo | None] = field(default_factory=list)
    taken: int | None = None
    reshaped: tuple[int, ...] = ()  # a While's variables whose shape the body changes


def is_known(shape: Shape) -> bool:
    return shape is not None and None not in shape


def infer_shapes(
    graph: Graph,
    input_shapes: dict[str, Sequence[int | None]] | None = None,
    default_batch: int = 1,
) -> ShapeResult:
    """Infer every tensor's shape; unknown batch dimensions of placeholders → default_batch.

    ``input_shapes`` maps placeholder names (``"x"`` or ``"x:0"``) to shapes; a name that
    is not a node of the graph, or a shape whose rank contradicts the declared one, is a
    TfflopsError.
    """
    pinned = _check_input_shapes(graph, input_shapes or {})
    result = ShapeResult(tensors={})
    functions = _Functions(Library(graph.graph_def.library))
    _infer(graph, result, functions, pinned, default_batch)
    return result


def _infer(
    graph: Graph,
    result: ShapeResult,
    functions: _Functions,
    pinned: dict[str, tuple],
    default_batch: int | None,
    seeds: dict[str, list[TensorInfo]] | None = None,
    unresolved: dict[str, str] | None = None,
) -> None:
    """Fill ``result`` for every node; ``seeds`` fixes some nodes' outputs (arguments)."""
    calls_by_name = bool(functions.library.functions)
    names, defs, ops, data_in = graph.names, graph.defs, graph.op_list, graph.data_in
    by_id: list[list[TensorInfo]] = [[] for _ in names]
    result.by_id = by_id  # filled in place, in topological order
    for i in graph.topological_ids():
        ins = result.inputs(data_in[i])
        op = ops[i]
        if seeds is not None and names[i] in seeds:
            outs = seeds[names[i]]
        elif unresolved and names[i] in unresolved:
            result.unknown[names[i]] = unresolved[names[i]]
            outs = []
        elif op in PLACEHOLDER_OPS:
            outs = _placeholder(defs[i], ins, pinned.get(names[i]), default_batch, result)
        else:
            node = defs[i]
            spec = CALL_OPS.get(op)
            if spec is None and calls_by_name:
                spec = functions.library.call_spec(node)
            if spec is None:
                outs = _run_shape_fn(node, op, ins, result)
            else:
                outs = functions.call(node, spec, ins, result)
        by_id[i] = outs
    result.tensors.update(zip(names, by_id))


def _pinned_shape(name: str, shape) -> tuple[int | None, ...]:
    """A given shape: whole numbers from 0 to int64's limit, None or -1 for unknown."""
    try:
        if isinstance(shape, (str, bytes)):
            raise TypeError
        given = list(shape)  # a list, tuple, numpy array, tf.TensorShape, ...
    except TypeError:
        raise TfflopsError(
            f"`input_shapes` {name}: {shape!r} is not a list of dimensions"
        ) from None
    dims = []
    for d in given:
        if d is None or (isinstance(d, numbers.Integral) and not isinstance(d, bool) and d == -1):
            dims.append(None)
        elif isinstance(d, numbers.Integral) and not isinstance(d, bool) and 0 <= d < 2**63:
            dims.append(int(d))
        else:
            raise TfflopsError(
                f"`input_shapes` {name}: {d!r} is not a dimension (a whole number from 0, "
                "or None or -1 for unknown)"
            )
    return tuple(dims)


def _check_input_shapes(graph: Graph, input_shapes: dict) -> dict[str, tuple]:
    pinned = {}
    for raw_name, shape in input_shapes.items():
        name = parse_tensor_name(raw_name).node
        i = graph.index.get(name)
        node = None if i is None else graph.defs[i]
        if node is None:
            raise TfflopsError(f"`input_shapes`: no node named {name!r} in {graph.source}")
        if node.op not in PLACEHOLDER_OPS:
            raise TfflopsError(
                f"`input_shapes` {name}: {name!r} is a {node.op} node, not an input (Placeholder)"
            )
        shape = _pinned_shape(name, shape)
        declared = shape_from_proto(node.attr["shape"].shape) if "shape" in node.attr else None
        if declared is not None and len(declared) != len(shape):
            raise TfflopsError(
                f"`input_shapes` {name}: rank {len(shape)} given, but {name} has shape "
                f"{shape_text(declared)}"
            )
        if declared is not None:
            for given, have in zip(shape, declared, strict=True):
                if have is not None and given is not None and given != have:
                    raise TfflopsError(
                        f"`input_shapes` {name}: {shape_text(shape)} contradicts the graph's "
                        f"{shape_text(declared)}"
                    )
        pinned[name] = shape
    return pinned


def _placeholder(node, ins, pinned, default_batch, result) -> list[TensorInfo]:
    dtype = node.attr["dtype"].type if "dtype" in node.attr else DT["DT_FLOAT"]
    shape = shape_from_proto(node.attr["shape"].shape) if "shape" in node.attr else None
    if shape is None and node.op == "PlaceholderWithDefault" and ins and ins[0] is not None:
        shape = ins[0].shape
    if pinned is not None:
        shape = pinned
    elif shape and shape[0] is None and default_batch is not None:
        shape = (default_batch, *shape[1:])
        result.defaulted_batch.append(node.name)
    if shape is not None:
        result.input_shapes[node.name] = shape
    return [TensorInfo(shape, dtype)]


def _run_shape_fn(node, op, ins, result) -> list[TensorInfo]:
    """The op table's shape function; else the shapes the graph declares; else unknown."""
    spec = OPS.get(op)
    if spec is None or spec.shape == WALKER:
        declared = _with_declared(node, [], fill=False)
        if declared:
            return declared
        result.unknown[node.name] = f"no shape function for op {op}"
        return []
    try:
        outs = spec.shape(ShapeCtx(node, op, ins))
    except UnknownShape as e:
        result.unknown[node.name] = str(e)
    except (
        ValueError,
        IndexError,
        TypeError,
        KeyError,
        AttributeError,
        ZeroDivisionError,
        OverflowError,
    ) as e:
        # A malformed attribute or an inconsistent graph: that node stays unknown.
        result.unknown[node.name] = f"shape inference failed: {e}"
    else:
        for o in outs:  # (a size known is a shape TensorFlow accepts; the sizes are kept)
            if o.nbytes() is None and _negative(o.shape):
                result.unknown[node.name] = (
                    f"a negative dimension in the shape {shape_text(o.shape)}"
                )
                break
        else:
            return outs
    return _with_declared(node, [], fill=False)


# ---------------------------------------------------------------- function calls


class _Functions:
    """The function calls of one inference: the library, the call stack, analysed bodies.

    A body is analysed once per distinct arguments (shapes, dtypes, values); a function
    already on the stack (recursion) or a stack deeper than MAX_DEPTH is not followed.
    """

    def __init__(self, library: Library, stack: tuple[str, ...] = (), shared=None):
        self.library = library
        self.stack = stack
        self.shared = _Analysed() if shared is None else shared

    def call(self, node, spec: CallSpec, ins, result: ShapeResult) -> list[TensorInfo]:
        """Analyse the functions ``node`` runs; its outputs' TensorInfo."""
        try:
            called = self.library.called(node, spec)
        except FunctionError as e:
            result.calls[node.name] = CallShapes(spec.kind, [], problem=str(e))
            result.unknown[node.name] = str(e)
            return _with_declared(node, [])
        args = ins[spec.first_input :]
        passed = self._loop_variables(called, args) if spec.kind == "while" else args
        runs = [(role, self.run(function, passed)) for role, function in called]
        taken = taken_branch(spec.kind, ins[0] if ins else None, len(runs))
        reshaped: tuple[int, ...] = ()
        if spec.kind == "while":
            outs, reshaped = _loop_outputs(args, runs)
        else:
            outs = _branch_outputs(runs if taken is None else [runs[taken]])
        note = None
        if reshaped:
            note = (
                f"loop variable(s) {', '.join(map(str, reshaped))} change shape in the body: "
                "counted with the shapes they enter the loop with"
            )
        result.calls[node.name] = CallShapes(
            spec.kind, runs, note, None, args, taken, reshaped=reshaped
        )
        problems = [f"{role} {run.function}: {run.problem}" for role, run in runs if run.problem]
        if problems:
            result.unknown[node.name] = "; ".join(problems)
        return _with_declared(node, outs)

    def _loop_variables(self, called, args: list[TensorInfo | None]) -> list[TensorInfo | None]:
        """A While's arguments as its cond and body see them: the values of the variables
        the body changes are not known (only their initial values are)."""
        body = next((function for role, function in called if role == "body"), None)
        try:
            kept = self.library.body(body).pass_through if body is not None else frozenset()
        except FunctionError:
            kept = frozenset()
        return [
            arg
            if arg is None or arg.value is None or i in kept
            else TensorInfo(arg.shape, arg.dtype, None, arg.items)
            for i, arg in enumerate(args)
        ]

    def run(self, function: str, args: list[TensorInfo | None]) -> BodyRun:
        """``function`` analysed with ``args`` (cached), or why it was not."""
        if function in self.stack:
            return BodyRun(function, problem=f"recursive call of {function} not followed")
        if len(self.stack) >= MAX_DEPTH:
            return BodyRun(function, problem=f"calls nested deeper than {MAX_DEPTH}")
        try:
            body = self.library.body(function)
        except FunctionError as e:
            return BodyRun(function, problem=str(e))
        arg_infos, note = _bind(body, args)
        key = (function, len(args), tuple(_info_key(info) for info in arg_infos))
        shared = self.shared
        run = shared.cache.get(key)
        if run is not None:
            return run
        if shared.runs >= MAX_BODY_RUNS or shared.nodes + len(body.graph) > MAX_BODY_NODES:
            return BodyRun(
                function,
                problem=f"not analysed: the budget of {MAX_BODY_RUNS:,} function bodies "
                f"({MAX_BODY_NODES:,} nodes) per model is spent",
            )
        shared.runs += 1
        shared.nodes += len(body.graph)
        shapes = ShapeResult(tensors={})
        seeds = {name: [info] for name, info in zip(body.args, arg_infos)}
        seeds.update((name, []) for name in body.synthetic - set(body.args))
        inner = _Functions(self.library, (*self.stack, function), shared)
        try:
            _infer(body.graph, shapes, inner, {}, None, seeds, body.unresolved)
        except TfflopsError as e:  # a cycle in the body
            run = BodyRun(function, problem=str(e))
        else:
            run = BodyRun(function, body, shapes, note=note)
        shared.cache[key] = run
        return run


@dataclass
class _Analysed:
    """What one inference analysed of the library: the runs by arguments, and how much."""

    cache: dict[tuple, BodyRun] = field(default_factory=dict)
    runs: int = 0
    nodes: int = 0


def _bind(body: FunctionBody, args: list[TensorInfo | None]) -> tuple[list[TensorInfo], str | None]:
    """The arguments' TensorInfo: the call's inputs, else their declared shapes."""
    if body.list_args or len(args) != len(body.args):
        note = (
            f"{body.name} takes {len(body.args)} argument(s), the call passes {len(args)}: "
            "their shapes are unknown"
        )
        return [TensorInfo(None, dtype) for dtype in body.arg_types], note
    infos = []
    for info, declared, dtype in zip(args, body.arg_shapes, body.arg_types):
        infos.append(
            TensorInfo(declared, dtype)
            if info is None
            else info.reshaped(_refine(info.shape, declared))
        )
    return infos, None


def _info_key(info: TensorInfo) -> tuple:
    value = info.value
    if value is None:
        return (info.shape, info.dtype, info.items)
    return (info.shape, info.dtype, info.items, value.dtype.str, value.tobytes())


def _returned(run: BodyRun) -> list[TensorInfo | None] | None:
    """What the function returns, per output; None when it was not analysed."""
    if run.body is None or run.shapes is None:
        return None
    return [
        None if ref is None else run.shapes.output(ref.node, ref.index) for ref in run.body.rets
    ]


def _branch_outputs(runs: list[tuple[str, BodyRun]]) -> list[TensorInfo | None]:
    """A call's outputs: its function's, or, over branches, the dims they agree on."""
    returned = [_returned(run) for _, run in runs]
    if not returned or any(r is None for r in returned):
        return []
    outs: list[TensorInfo | None] = []
    for i in range(min(len(r) for r in returned)):
        infos = [r[i] for r in returned]
        if any(info is None for info in infos):
            outs.append(None)
            continue
        shape = infos[0].shape
        for info in infos[1:]:
            shape = _agree(shape, info.shape)
        values = [info.value for info in infos]
        same = all(
            v is not None and v.shape == values[0].shape and bool(np.all(v == values[0]))
            for v in values
        )
        items = infos[0].items if all(i.items == infos[0].items for i in infos) else None
        outs.append(TensorInfo(shape, infos[0].dtype, values[0] if same else None, items))
    return outs


def _loop_outputs(args, runs) -> tuple[list[TensorInfo | None], tuple[int, ...]]:
    """A While's outputs: each loop variable, where one pass of the body keeps its shape;
    the variables whose shape it changes."""
    body = next((run for role, run in runs if role == "body"), None)
    returned = _returned(body) if body is not None else None
    outs: list[TensorInfo | None] = []
    changed = []
    for i, arg in enumerate(args):
        ret = returned[i] if returned is not None and i < len(returned) else None
        if arg is None:
            outs.append(None)
            continue
        shape = _agree(arg.shape, None if ret is None else ret.shape)
        if ret is not None and differ(arg.shape, ret.shape):
            changed.append(i)
        outs.append(TensorInfo(shape, arg.dtype, None, _loop_items(arg.items, ret)))
    return outs, tuple(changed)


def taken_branch(kind: str, selector: TensorInfo | None, branches: int) -> int | None:
    """The branch an If (by its predicate) or a Case (by its index) runs, when that is
    known statically: If's then branch (0) for a true predicate; a Case index out of
    range runs the last branch, as TensorFlow's does."""
    value = None if selector is None else selector.value
    if kind not in ("if", "case") or value is None or value.size != 1 or not branches:
        return None
    chosen = value.reshape(-1)[0]
    if kind == "if":
        return (0 if bool(chosen) else 1) if branches == 2 else None
    index = int(chosen)
    return index if 0 <= index < branches else branches - 1


def _loop_items(entered: ListItems | None, ret: TensorInfo | None) -> ListItems | None:
    """A TensorList loop variable's elements after the loop: as it entered, or as the body
    writes them where it entered with unknown dimensions (batch ``-1`` in a signature:
    every iteration writes what one pass of the body does)."""
    written = None if ret is None else ret.items
    if entered is None or written is None or written == entered:
        return written if written == entered else None
    if written.dtype != entered.dtype or written.length != entered.length:
        return None
    if entered.shape is not None and _refine(entered.shape, written.shape) != written.shape:
        return None  # the body changed a dimension it knew
    return written


def differ(a: Shape, b: Shape) -> bool:
    """Two shapes known to differ: in rank, or in a dimension both know."""
    if a is None or b is None:
        return False
    return len(a) != len(b) or any(x is not None and y is not None and x != y for x, y in zip(a, b))


def _agree(a: Shape, b: Shape) -> Shape:
    """The dims two shapes agree on (None elsewhere); None if a rank is unknown or differs."""
    if a is None or b is None or len(a) != len(b):
        return None
    return tuple(x if x == y else None for x, y in zip(a, b))


def _refine(inferred: Shape, declared: Shape) -> Shape:
    """``inferred`` with its unknown dims (or rank) taken from ``declared``."""
    if inferred is None:
        return declared
    if declared is None or len(declared) != len(inferred):
        return inferred
    return tuple(d if d is not None else e for d, e in zip(inferred, declared))


def _negative(shape: Shape) -> bool:
    """Whether a dimension is negative (``min`` over a tuple of ints is the fast path)."""
    if not shape:
        return False
    if None in shape:
        return any(d is not None and d < 0 for d in shape)
    return min(shape) < 0


def declared_outputs(node) -> tuple[list[Shape], list[int]]:
    """The output shapes and dtypes a node declares: ``_output_shapes`` (recorded by
    exporters), else its ``output_shapes`` attr (call ops); dtypes from ``Tout``, else
    ``T``. Empty lists when it declares none."""
    shapes: list[Shape] = []
    for key in ("_output_shapes", "output_shapes"):
        if key in node.attr and node.attr[key].list.shape:
            shapes = [shape_from_proto(s) for s in node.attr[key].list.shape]
            break
    dtypes: list[int] = []
    for key in ("Tout", "T"):
        if key in node.attr and node.attr[key].list.type:
            dtypes = list(node.attr[key].list.type)
            break
    return shapes, dtypes


def _with_declared(node, outs: list[TensorInfo | None], fill: bool = True) -> list[TensorInfo]:
    """Outputs ``outs`` refined by what the node declares (``declared_outputs``).

    ``fill=False``: only as many outputs as shapes are declared (none declared: ``[]``).
    """
    declared, dtypes = declared_outputs(node)
    if not fill and not declared:
        return []
    count = len(declared) if not fill else (len(dtypes) or max(len(outs), len(declared)))
    infos = []
    for i in range(count):
        info = outs[i] if i < len(outs) else None
        shape = _refine(
            None if info is None else info.shape, declared[i] if i < len(declared) else None
        )
        if info is not None:
            infos.append(info.reshaped(shape))
        else:
            infos.append(TensorInfo(shape, dtypes[i] if i < len(dtypes) else DT["DT_INVALID"]))
    return infos
