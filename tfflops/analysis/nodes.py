"""Counting nodes, the top level's and function bodies' alike: a Cost, bytes and runs each.

A node that calls functions (If, While, Case, PartitionedCall, ...) is counted from the
bodies the shape inference analysed (``ShapeResult.calls``), each body's nodes counted by
the same ``count_node``. A body counts only the nodes a call runs (``FunctionBody.needed``:
what its outputs need, and its stateful nodes); the rest is dead code, left out and said.

How often a body runs decides its share (``Cost.repeated``: under macs/exact/exact-bias/
full the figures multiply; ``tfprof`` stays tf.profiler's, one iteration and every branch
as it counts them once the graph is lowered):

* a While: its cond T + 1 times, its body T times (``loops.while_trips``; unknown: each
  once, and the note says how to give T);
* an If or Case: the branch its predicate or index picks when that is known statically,
  else the most expensive branch (under ``full``), the others 0 times;
* a plain call: once.

The call row keeps its bodies' rows (``inner``), each body's with the times the call runs
it (shared, not copied: a body many calls run is counted once), so the node, op and layer
views (``Profile.leaf_records``) repeat them alike and still add up to the call's figure.
v1 loops and conds (Enter/Switch/Merge frames, the top level's or a body's) give each
node its runs (``loops.frame_runs``) in the same way.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from tfflops.analysis.conventions import node_flops
from tfflops.analysis.loops import (
    Frames,
    Loop,
    cheaper_sides,
    frame_runs,
    resolve,
    while_trips,
)
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
from tfflops.analysis.shapes import BodyRun, CallShapes, ShapeResult
from tfflops.analysis.weights import is_parameter, loop_states, read_by_live_data, used_args
from tfflops.graph.index import Graph
from tfflops.graph.phases import INFERENCE
from tfflops.graph.tensors import (
    NodeAttrs,
    invalid_shape,
)

_ZERO = Cost()


class _NoOps(Mapping):
    """The empty, immutable mapping every node but a call node shares."""

    __slots__ = ()
    __hash__ = object.__hash__

    def __getitem__(self, key: str) -> int:
        raise KeyError(key)

    def __iter__(self):
        return iter(())

    def __len__(self) -> int:
        return 0

    def __contains__(self, key: object) -> bool:  # (Mapping's would raise and catch)
        return False


NOTHING: Mapping = _NoOps()


class Constant(NamedTuple):
    """A float constant the outputs read that is not a parameter, and why."""

    where: str  # "node", or "function/node" inside a function
    shape: tuple[int, ...]
    why: str  # STATE or CODE


class Body(NamedTuple):
    """The rows of a function body a call runs, and how many times it runs it."""

    rows: tuple[NodeCount, ...]
    times: int


STATE = "a loop's initial state"
CODE = "a constant of the model's code"


@dataclass(slots=True)
class NodeCount:
    """The analytic figures of one node. ``problem`` says why ``cost`` is None.

    ``runs``: how many times the node runs per run of the graph (a loop's iterations; 0 on
    a branch not taken); ``cost`` and ``bytes`` count them all (``tfprof`` excepted).
    """

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
    runs: int = 1
    loop: Loop | None = None  # a While, or a v1 frame's LoopCond: its loop
    unread: frozenset[int] = frozenset()  # a call's inputs no function it runs reads
    constant: str | None = None  # a float constant that is no parameter: why (STATE, CODE)
    weight: bool = False  # a parameter, counted on the node that uses it
    # A call node: op types inside its bodies with no formula, and inner nodes (as
    # "function/node") with a formula but unknown shapes — neither counted.
    # (Shared empty defaults: the other nodes allocate nothing for them.)
    inner_unsupported: Mapping[str, int] = NOTHING
    inner_unknown: Sequence[str] = ()
    # A call node: the rows of the bodies it runs (each a node of a function, ``function``
    # naming it), what inside them was not counted, the parameters they read, and the
    # float constants they read that are not parameters.
    inner: Sequence[Body] = ()
    function: str | None = None
    uncounted: Sequence[_Uncounted] = ()
    body_params: Mapping[str, int] = NOTHING
    body_constants: Sequence[Constant] = ()

    @property
    def output_shapes(self) -> list[list[int | None] | None]:
        return [None if o.shape is None else list(o.shape) for o in self.outputs]


def body_rows(row: NodeCount) -> Iterator[NodeCount]:
    """The rows of the function bodies a call node runs (its own, not nested calls')."""
    for body in row.inner:
        yield from body.rows


def most_runs(rows: Iterable[NodeCount]) -> int:
    """The most times a node of ``rows``, or of a function body they run, runs (0 if none).

    Each body is gone through once, however many calls run it (a call DAG can hold
    exponentially many paths)."""
    memo: dict[int, int] = {}

    def of_rows(rows: Iterable[NodeCount]) -> int:
        return max((row.runs * inner(row) for row in rows), default=0)

    def inner(row: NodeCount) -> int:
        return max((body.times * of_body(body.rows) for body in row.inner), default=1)

    def of_body(rows: tuple[NodeCount, ...]) -> int:
        if id(rows) not in memo:
            memo[id(rows)] = of_rows(rows)
        return memo[id(rows)]

    return of_rows(rows)


def repeated(row: NodeCount, runs: int) -> NodeCount:
    """``row`` run ``runs`` times as often (its bodies alike)."""
    if runs == 1:
        return row
    return replace(
        row,
        cost=None if row.cost is None else row.cost.repeated(runs),
        bytes=row.bytes * runs,
        runs=row.runs * runs,
        inner=tuple(Body(body.rows, body.times * runs) for body in row.inner),
    )


def _cost(
    node, name, op, edges, ins, outs, shape_problem, sized=False
) -> tuple[Cost | None, str | None]:
    """``edges``: the node's inputs, control inputs included (``len(node.input)``);
    ``sized``: every tensor of ``ins`` and ``outs`` is known to have a size (``_moved``)."""
    formula = lookup(op)
    if formula is None:
        return None, f"no formula for op {op}"
    invalid = None if sized else _invalid_shapes(ins, outs)
    if invalid is not None:
        return None, invalid
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


def _invalid_shapes(ins, outs) -> str | None:
    """Why TensorFlow would refuse one of a node's shapes (``invalid_shape``), or None: a
    formula given a negative dimension would count a negative number."""
    for infos in (ins, outs):
        for info in infos:
            if info is None or info.nbytes() is not None:
                continue  # valid and fully known: the common case, without building a message
            if (problem := invalid_shape(info.shape)) is not None:
                return problem
    return None


def _moved(ins: list[TensorInfo | None], outs: list[TensorInfo]) -> tuple[int, bool]:
    """The bytes of a node's tensors whose shapes are known, and valid (a negative
    dimension moves nothing, its node is not counted); whether every tensor has a size."""
    total, sized = 0, True
    for infos in (ins, outs):
        for info in infos:
            size = None if info is None else info.nbytes()
            if size is None:
                sized = False
            else:
                total += size
    return total, sized


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
    rows: tuple = ()  # a body's nodes; a call's: its Bodies
    constants: list[Constant] = field(default_factory=list)
    dead: int = 0  # nodes no output needs
    loop: Loop | None = None
    unread: frozenset[int] = frozenset()
    used: frozenset[int] = frozenset()  # a body's arguments whose value it uses


class NodeCounter:
    """Counts nodes, the top level's and function bodies' alike; each analysed body
    (BodyRun) once.

    ``given``: trip counts by loop name (--loop-iterations); ``weights_marked``: the graph
    tells its weights apart (variables, or frozen ones): other float constants are not
    parameters. ``loops`` collects every loop met, by name; ``open_branches`` every If or
    Case counted by its most expensive branch (its selector not known statically, its
    branches' costs unequal: the count is an upper bound).
    """

    def __init__(self, given: Mapping[str, int], weights_marked: bool):
        self.given = given
        self.weights_marked = weights_marked
        self.loops: dict[str, Loop] = {}
        self.open_branches: list[str] = []
        self.memo: dict[int, _Counted] = {}

    def count_node(
        self,
        graph: Graph,
        shapes: ShapeResult,
        i: int,
        phase: str,
        unresolved=NOTHING,
        scope: str = "",
    ) -> NodeCount:
        """Node ``i``'s figures: a call node's from the bodies it runs, else its formula's.
        ``scope``: ``"function/"`` for a node of a function body."""
        name, op, node, data = graph.names[i], graph.op_list[i], graph.defs[i], graph.data_in[i]
        outs = shapes.by_id[i]
        ins = shapes.inputs(data)
        call = shapes.calls.get(name) if shapes.calls else None
        if call is not None:
            counted = self.count_call(node, ins, outs, call, scope + name)
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
                loop=counted.loop,
                unread=counted.unread,
                inner_unsupported=_no_formula_ops(counted.uncounted),
                inner_unknown=[u.where for u in counted.uncounted if u.unknown_shape],
                inner=counted.rows,
                uncounted=counted.uncounted,
                body_params=counted.params,
                body_constants=counted.constants,
            )
        moved, sized = (0, False) if op in VIEW_OPS else _moved(ins, outs)
        if name in unresolved:
            cost, problem = None, unresolved[name]
        elif op in ZERO_COST:
            cost, problem = _ZERO, None
        else:
            problem = shapes.unknown.get(name) if shapes.unknown else None
            edges = len(data) + len(graph.control_in[i])
            cost, problem = _cost(node, name, op, edges, ins, outs, problem, sized)
        return NodeCount(
            name=name,
            op=op,
            phase=phase,
            cost=cost,
            params=0,
            bytes=moved,
            outputs=outs,
            problem=problem,
        )

    def apply_frames(self, graph: Graph, shapes: ShapeResult, rows: list, scope: str = ""):
        """Each row of ``graph`` (by node number) repeated by its v1 frame's runs."""
        frames = frame_runs(graph, shapes, _scoped(self.given, scope))
        if frames is None:
            return None
        for i, runs in enumerate(frames.runs):
            if rows[i] is not None:
                rows[i] = repeated(rows[i], runs)
        for i, loop in frames.loops.items():
            loop = replace(loop, name=scope + loop.name)
            self.loops[loop.name] = loop
            if rows[i] is not None:
                rows[i].loop = loop
        return frames

    @staticmethod
    def keep_costliest_sides(frames: Frames | None, rows: list) -> int:
        """Count 0 times the rows on the cheaper side of each Switch whose predicate is not
        known statically (``loops.cheaper_sides``, by FLOPs under ``full``, then MACs);
        how many. Call it once the parameters are found: both sides' weights are the
        model's."""
        if frames is None or frames.guards is None:
            return 0

        def weight(i: int) -> tuple[int, int]:
            row = rows[i]
            return (0, 0) if row is None or row.cost is None else (_full(row.cost), row.cost.macs)

        dropped = cheaper_sides(frames.guards, weight)
        for i in dropped:
            if rows[i] is not None:
                rows[i] = repeated(rows[i], 0)
        return len(dropped)

    def count_call(self, node, ins, outs, call: CallShapes, where: str) -> _Counted:
        """A call node: its functions' Costs, each repeated as often as it runs, through
        its formula; the rest summed."""
        analysed, uncounted = [], []
        for index, (role, run) in enumerate(call.runs):
            if run.body is None or run.shapes is None:
                reason = run.problem or "not analysed"
                uncounted.append(_Uncounted(f"{role} {run.function}", node.op, reason))
            else:
                analysed.append((index, role, run, self.count_body(run)))
        if not analysed:
            problem = call.problem or "; ".join(f"{u.where}: {u.reason}" for u in uncounted)
            return _Counted(None, problem=problem or f"{node.op} calls no function")
        times, static, loop, head = self._times(node, call, analysed, where)
        costs, params, notes, rows, constants = [], {}, [], [], []
        moved, read = 0, set()
        for (_, _, run, body), runs in zip(analysed, times, strict=True):
            costs.append(body.cost.repeated(runs))
            moved += body.bytes * runs
            if runs or not static:  # a branch never taken reads no weight
                params.update(body.params)
                constants.extend(body.constants)
                read.update(body.used)
            uncounted.extend(body.uncounted)
            rows.append(Body(body.rows, runs))
            if run.note:
                notes.append(run.note)
            if body.dead:
                notes.append(f"{run.function}: {body.dead} node(s) no output needs, not counted")
        view = _view(node, node.name, node.op, len(node.input), ins, outs, tuple(costs))
        cost = (lookup(node.op) or function_call)(view)
        if call.note:
            notes.append(call.note)
        note = _call_note(head, uncounted, notes)
        # Once each: a function called many times over would repeat them exponentially.
        uncounted = list(dict.fromkeys(uncounted))
        first = len(ins) - len(call.args)  # If's predicate, Case's index: no argument
        unread = frozenset(first + i for i in range(len(call.args)) if i not in read)
        return _Counted(
            cost,
            moved,
            params,
            uncounted,
            note=note,
            rows=tuple(rows),
            constants=constants,
            loop=loop,
            unread=unread,
        )

    def _times(self, node, call: CallShapes, analysed: list, where: str):
        """How many times each analysed function runs, whether those are the times it
        runs (a body run 0 times reads no weight; a branch only not counted may), the
        loop, and what the note says."""
        names = ", ".join(
            run.function if call.kind == "call" else f"{role} {run.function}"
            for _, role, run, _ in analysed
        )
        if call.kind == "while":
            inputs = [raw for raw in node.input if not raw.startswith("^")]
            loop = resolve(where, while_trips(call, inputs), self.given)
            if call.reshaped:
                names = [inputs[i] if i < len(inputs) else f"variable {i}" for i in call.reshaped]
                loop = replace(loop, reshaped=tuple(names))
            self.loops[where] = loop
            if loop.trips is None:
                head = (
                    f"cond + body counted once ({names}): the trip count is not known "
                    f"statically ({loop.how}); give it with --loop-iterations {where}=N"
                )
                return [1] * len(analysed), True, loop, head
            head = f"{names}: {loop.trips} iteration(s) ({loop.how}), cond runs once more"
            times = [loop.trips + (role == "cond") for _, role, _, _ in analysed]
            return times, True, loop, head
        if call.kind in ("if", "case"):
            positions = [index for index, *_ in analysed]
            if call.taken in positions:
                chosen, why = positions.index(call.taken), "known statically"
            else:
                chosen = max(
                    range(len(analysed)),
                    key=lambda b: (_full(analysed[b][3].cost), analysed[b][3].cost.macs, -b),
                )
                why = "not known statically: the most expensive branch"
                if len({(_full(b[3].cost), b[3].cost.macs) for b in analysed}) > 1:
                    self.open_branches.append(where)
            _, role, run, _ = analysed[chosen]
            selector = "predicate" if call.kind == "if" else "branch index"
            head = (
                f"{role} {run.function} counted (its {selector} is {why}); tfprof counts "
                f"every branch ({names}), as tf.profiler does once the graph is lowered to "
                "Switch/Merge"
            )
            times = [int(b == chosen) for b in range(len(analysed))]
            return times, call.taken in positions, None, head
        return [1] * len(analysed), False, None, f"calls {names}"

    def count_body(self, run: BodyRun) -> _Counted:
        """The nodes of one analysed body a call runs (``count_node``, as the top level)."""
        counted = self.memo.get(id(run))
        if counted is not None:
            return counted
        body, shapes = run.body, run.shapes
        graph, needed, scope = body.graph, body.needed, f"{body.name}/"
        listed = [None] * len(graph)
        for i, name in enumerate(graph.names):
            if name in needed and name not in body.synthetic:
                listed[i] = self.count_node(graph, shapes, i, INFERENCE, body.unresolved, scope)
        frames = self.apply_frames(graph, shapes, listed, scope)
        rows = [row for row in listed if row is not None]
        params: dict[str, int] = {}
        constants: list[Constant] = []
        uncounted: list[_Uncounted] = []
        state = loop_states(graph, shapes, lambda i: listed[i] is not None and listed[i].runs > 0)
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
            constants.extend(row.body_constants)
            uncounted.extend(row.uncounted)
            i = graph.index[row.name]
            output = row.outputs[0] if row.outputs else None
            if not (row.op == "Const" and is_parameter(graph.defs[i], row.op, output)):
                continue
            if not read_by_live_data(graph, i, listed):
                continue
            why = STATE if i in state else CODE if self.weights_marked else None
            if why is None:
                params[where] = math.prod(output.shape)
            else:
                constants.append(Constant(where, output.shape, why))
        if self.keep_costliest_sides(frames, listed):
            rows = [row for row in listed if row is not None]
        cost = Cost.total(r.cost for r in rows if r.cost)
        moved = sum(r.bytes for r in rows)
        dead = sum(1 for name in graph.names if name not in needed and name not in body.synthetic)
        uncounted = list(dict.fromkeys(uncounted))
        counted = _Counted(
            cost,
            moved,
            params,
            uncounted,
            rows=tuple(rows),
            constants=constants,
            dead=dead,
            used=used_args(body, listed),
        )
        self.memo[id(run)] = counted
        return counted


def _full(cost: Cost) -> int:
    return node_flops(cost, "full")


def _scoped(given: Mapping[str, int], scope: str) -> Mapping[str, int]:
    """--loop-iterations for the loops of one function: names without its ``scope``."""
    if not scope:
        return given
    return {name[len(scope) :]: n for name, n in given.items() if name.startswith(scope)}


def _no_formula_ops(uncounted: list[_Uncounted]) -> dict[str, int]:
    return dict(sorted(Counter(u.op for u in uncounted if u.no_formula).items()))


# How many of the nodes tfflops could not count a call node's note names.
_NOTE_UNCOUNTED = 3


def _call_note(head: str, uncounted: list[_Uncounted], notes) -> str:
    """What a call node's count is: which functions, how they add up, what is left out."""
    parts = [head, *dict.fromkeys(notes)]  # branches running one function say it once
    named = list(dict.fromkeys(f"{u.where} ({u.op}: {u.reason})" for u in uncounted))
    if named:
        shown = ", ".join(named[:_NOTE_UNCOUNTED])
        more = len(named) - _NOTE_UNCOUNTED
        parts.append(
            f"not counted inside: {shown}" + (f"; and {more} more node(s)" if more > 0 else "")
        )
    return "; ".join(parts)
