"""Where the gradient goes, and what it costs: one graph's or function body's backward pass.

A *scope* is the top level or one analysed function body, with its rows (by node number;
None for a node that is not counted: a body's dead code, its ``_Arg`` nodes). In a scope:

* *trained*: the tensors computed from a parameter (or from a trained argument of a
  body), through differentiable ops and floating-point tensors — around v1 loops too;
* *flows*: the trained nodes the gradient reaches back from the seeds (the outputs, or
  what a body returns to outputs that receive gradient);
* each such node's backward Cost by the op's gradient rule (``gradients.backward``) ×
  the times it runs (a v1 frame's ``runs``, already × its trip count).

A call node (PartitionedCall, a v2 ``While``) is followed into its analysed body, tensor
by tensor: the call's output ``k`` is trained when its body's return ``k`` is (a While's
also when its initial value is: a fixed point over the loop variables, each pass's
returns being the next one's arguments); the gradient reaches the body's returns of the
outputs that receive it, and leaves through the arguments it reaches (again a fixed point
for a While). The body's backward counts × the times the call runs it (its trip count).
Not estimated, and named: an If/Case, a loop whose trip count is not known statically, a
call whose functions were not analysed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tfflops.analysis.gradients import (
    MOVES_DATA,
    NOT_DIFFERENTIABLE,
    SPARSE_GRADIENT,
    accumulation,
    backward,
    has_rule,
)
from tfflops.analysis.loops import loop_frames
from tfflops.analysis.nodes import NodeCount
from tfflops.analysis.ops import Cost, OpView, UnknownShape, lookup
from tfflops.analysis.shapes import BodyRun, ShapeResult
from tfflops.analysis.weights import is_parameter
from tfflops.graph.families import CALL_OPS, ENTER_OPS, EXIT_OPS, PLACEHOLDER_OPS
from tfflops.graph.index import Graph
from tfflops.graph.tensors import DT, FLOAT_DTYPES, NodeAttrs, base_dtype

# A resource is a variable's handle; a variant a TensorList's, which carries an RNN's steps
# out of its loop (the gradient flows back through the list).
_GRADIENT_DTYPES = FLOAT_DTYPES | {DT["DT_RESOURCE"], DT["DT_VARIANT"]}


@dataclass(frozen=True, slots=True)
class Skipped:
    """A forward node the gradient flows through whose backward tfflops cannot estimate."""

    node: str
    op: str
    reason: str


@dataclass
class Scope:
    """The top level or one analysed function body: its graph, shapes and rows (None for
    a node not counted), names prefixed by ``where`` (``function/``), and the parameter
    constants of function bodies (``NodeCount.body_params``' keys)."""

    graph: Graph
    shapes: ShapeResult
    rows: Sequence[NodeCount | None]
    where: str = ""
    params: Mapping[str, int] = field(default_factory=dict)

    def runs(self, i: int) -> bool:
        row = self.rows[i]
        return row is not None and row.runs > 0


@dataclass
class Marks:
    """Per node, 1 when marked; for a call node followed into its body, which of its
    outputs are (the others are not, though the node is)."""

    node: bytearray
    outs: dict[int, frozenset[int]] = field(default_factory=dict)

    def edge(self, shapes: ShapeResult, j: int, k: int) -> bool:
        """Output ``k`` of node ``j`` is marked (and may carry a gradient)."""
        if not self.node[j] or not carries_gradient(shapes, j, k):
            return False
        return j not in self.outs or k in self.outs[j]


@dataclass
class _Call:
    """A call node followed into its body: the body's scope, the first input that is an
    argument, whether the body's returns come back as its arguments (a While), and the
    times it runs."""

    run: BodyRun
    scope: Scope
    first: int
    loops: bool
    times: int


class Backprop:
    """The backward pass of scopes, bodies' analyses shared (a body many calls run with
    the same trained arguments and returns is analysed once)."""

    def __init__(self):
        self.memo: dict[tuple, tuple] = {}

    # ------------------------------------------------------------ trained

    def trained(self, scope: Scope, sources: list[int]) -> Marks:
        """What is computed from ``sources`` (parameters, trained arguments)."""
        graph, shapes = scope.graph, scope.shapes
        ops, data_in, readers = graph.op_list, graph.data_in, graph.readers
        marks = Marks(bytearray(len(ops)))
        for i in sources:
            marks.node[i] = 1
        stack = list(sources)
        for name in shapes.calls or ():  # a body's own parameters train what it returns
            r = graph.index.get(name)
            call = None if r is None or not scope.runs(r) else self.call(scope, r)
            if isinstance(call, _Call) and not marks.node[r]:
                marks.outs[r] = self._call_trained(scope, r, call, marks)
                if marks.outs[r]:
                    marks.node[r] = 1
                    stack.append(r)
        while stack:
            i = stack.pop()
            for r in readers[i]:
                if not scope.runs(r) or ops[r] in NOT_DIFFERENTIABLE or ops[r] in PLACEHOLDER_OPS:
                    continue
                if not _outputs_carry(shapes, r):
                    continue
                if not any(j == i and marks.edge(shapes, j, k) for j, k in data_in[r]):
                    continue
                call = self.call(scope, r)
                if isinstance(call, _Call):
                    outs = self._call_trained(scope, r, call, marks)
                    if marks.node[r] and marks.outs.get(r) == outs:
                        continue
                    marks.outs[r] = outs
                elif marks.node[r]:
                    continue
                marks.node[r] = 1
                stack.append(r)
        return marks

    def _call_trained(self, scope: Scope, i: int, call: _Call, marks: Marks) -> frozenset[int]:
        """The call's trained outputs, given which of its inputs are trained."""
        args = self._trained_args(scope, i, call, marks)
        if call.loops:
            return args
        return self._returns(call, self.body_trained(call, args))

    def _trained_args(self, scope: Scope, i: int, call: _Call, marks: Marks) -> frozenset[int]:
        """The body's trained arguments: those the call passes trained, and of a While's
        those its body's returns make trained (a fixed point)."""
        data = scope.graph.data_in[i][call.first :]
        args = frozenset(p for p, (j, k) in enumerate(data) if marks.edge(scope.shapes, j, k))
        while call.loops:
            more = args | self._returns(call, self.body_trained(call, args))
            if more == args:
                break
            args = more
        return args

    def body_trained(self, call: _Call, args: frozenset[int]) -> Marks:
        """What the body computes from its trained arguments and its own parameters."""
        key = ("trained", id(call.run), args)
        if key not in self.memo:
            body, scope = call.run.body, call.scope
            index = scope.graph.index
            sources = [index[body.args[p]] for p in sorted(args) if p < len(body.args)]
            self.memo[key] = self.trained(scope, sources + _parameters(scope, body.name))
        return self.memo[key]

    def _returns(self, call: _Call, marks: Marks) -> frozenset[int]:
        """The positions of the body's returns that are marked."""
        index, shapes = call.scope.graph.index, call.scope.shapes
        return frozenset(
            p
            for p, ref in enumerate(call.run.body.rets)
            if ref is not None
            and ref.node in index
            and marks.edge(shapes, index[ref.node], ref.index)
        )

    # ------------------------------------------------------------ flows

    def flows(self, scope: Scope, seeds: list[tuple[int, int | None]], trained: Marks) -> Marks:
        """The trained nodes the gradient reaches back from ``seeds`` (node, output; None:
        every output), through call bodies."""
        shapes, data_in = scope.shapes, scope.graph.data_in
        marks = Marks(bytearray(len(data_in)))
        stack: list[int] = []

        def reach(j: int, k: int | None) -> None:
            if not trained.node[j]:
                return
            if j in trained.outs:  # a call followed into its body: output by output
                given = trained.outs[j] if k is None else trained.outs[j] & {k}
                had = marks.outs.get(j, frozenset())
                if given <= had:
                    return
                marks.outs[j] = had | given
            elif marks.node[j]:
                return
            marks.node[j] = 1
            stack.append(j)

        for j, k in seeds:
            if k is None or trained.edge(shapes, j, k):
                reach(j, k)
        while stack:
            i = stack.pop()
            call = self.call(scope, i) if i in trained.outs else None
            if isinstance(call, _Call):
                args = self._trained_args(scope, i, call, trained)
                _, body_flows, _ = self.body_flows(call, args, marks.outs[i])
                reached = self._arguments(call, body_flows)
                edges = [e for p, e in enumerate(data_in[i][call.first :]) if p in reached]
            else:
                edges = data_in[i]
            for j, k in edges:
                if trained.edge(shapes, j, k):
                    reach(j, k)
        return marks

    def body_flows(
        self, call: _Call, args: frozenset[int], outs: frozenset[int]
    ) -> tuple[Marks, Marks, list[tuple[int, int]]]:
        """The body's trained marks, where the gradient flows in it, and the returns it
        flows from: those of the outputs ``outs`` (of a While, also those whose arguments
        it reaches: a fixed point)."""
        trained = self.body_trained(call, args)
        seeds = outs
        rets, index = call.run.body.rets, call.scope.graph.index
        while True:
            tensors = [
                (index[rets[p].node], rets[p].index)
                for p in sorted(seeds)
                if p < len(rets) and rets[p] is not None and rets[p].node in index
            ]
            key = ("flows", id(call.run), args, seeds)
            if key not in self.memo:
                self.memo[key] = (trained, self.flows(call.scope, tensors, trained))
            flows = self.memo[key][1]
            more = seeds | self._arguments(call, flows) if call.loops else seeds
            if more == seeds:
                return trained, flows, tensors
            seeds = more

    def _arguments(self, call: _Call, flows: Marks) -> frozenset[int]:
        """The positions of the body's arguments the gradient reaches."""
        index = call.scope.graph.index
        return frozenset(
            p
            for p, name in enumerate(call.run.body.args)
            if name in index and flows.node[index[name]]
        )

    # ------------------------------------------------------------ calls

    def call(self, scope: Scope, i: int) -> _Call | str | None:
        """Node ``i`` as a call followed into its body; why it cannot be; None when it is
        no call (each found once: its body's scope is the same every time)."""
        key = ("call", id(scope), i)
        if key not in self.memo:
            self.memo[key] = (scope, self._call(scope, i))  # (the scope kept: its id)
        return self.memo[key][1]

    def _call(self, scope: Scope, i: int) -> _Call | str | None:
        graph, shapes = scope.graph, scope.shapes
        name, op = graph.names[i], graph.op_list[i]
        calls = shapes.calls.get(name) if shapes.calls else None
        if calls is None:
            return "calls functions that were not analysed" if op in CALL_OPS else None
        row = scope.rows[i]
        if calls.kind in ("if", "case"):
            return "an If/Case (the backward of its branches is not estimated)"
        runs = [(role, run) for role, run in calls.runs if run.body is not None and run.shapes]
        if row is None or len(runs) != len(calls.runs) or len(row.inner) != len(runs):
            return "calls functions that were not analysed"
        roles = [role for role, _ in runs]
        if calls.kind == "while":
            if row.loop is None or row.loop.trips is None:
                return (
                    "a while loop whose trip count is not known statically (its backward "
                    "runs once per iteration)"
                )
            position = roles.index("body") if "body" in roles else None
        else:
            position = 0 if len(runs) == 1 else None
        if position is None:
            return "calls functions whose backward is not estimated"
        run, body = runs[position][1], row.inner[position]
        first = len(graph.data_in[i]) - len(calls.args)
        return _Call(run, self._scope(scope, run, body), first, calls.kind == "while", body.times)

    def _scope(self, outer: Scope, run: BodyRun, body) -> Scope:
        """The scope of an analysed body, one for every call that runs it (its rows are
        shared too): what is found in it is found once, however many calls run it."""
        key = ("scope", id(run), id(body.rows))
        if key not in self.memo:
            rows: list[NodeCount | None] = [None] * len(run.body.graph)
            for r in body.rows:
                rows[run.body.graph.index[r.name]] = r
            where = f"{outer.where}{run.body.name}/"
            inner = Scope(run.body.graph, run.shapes, rows, where, outer.params)
            self.memo[key] = (run, body.rows, inner)  # (what the ids name, kept alive)
        return self.memo[key][2]

    # ------------------------------------------------------------ the backward pass

    def backward(
        self, scope: Scope, trained: Marks, flows: Marks, seeds: Sequence[tuple[int, int]] = ()
    ) -> tuple[dict[int, Cost], list[Skipped]]:
        """Each node's backward Cost (× its runs), its gradient's sum over its readers
        (and the ``seeds``, the tensors a gradient comes back to from outside) included,
        and the nodes not estimated."""
        graph = scope.graph
        costs: dict[int, Cost] = {}
        skipped: list[Skipped] = []
        arriving: dict[tuple[int, int], list[tuple[int, bool]]] = defaultdict(list)
        for j, k in seeds:
            if flows.node[j]:
                arriving[j, k].append((1, False))  # from outside: the loss, the caller
        looped = _in_unknown_loops(scope)
        for i, row in enumerate(scope.rows):
            if row is None or not row.runs or not (flows.node[i] and trained.node[i]):
                continue
            call = self.call(scope, i)
            wanted = self._wanted(scope, i, call, trained, flows)
            for p in wanted:
                sparse = p == 0 and row.op in SPARSE_GRADIENT
                arriving[graph.data_in[i][p]].append((row.runs, sparse))
            if not wanted and not isinstance(call, _Call):
                continue  # a parameter itself (a body may hold its own)
            name = scope.where + graph.names[i]
            if looped[i] and row.op not in MOVES_DATA:
                why = "inside a while loop whose trip count is not known statically"
                skipped.append(Skipped(name, row.op, why))
            elif isinstance(call, _Call):
                cost, inner = self._call_backward(scope, i, call, trained, flows)
                costs[i] = cost
                skipped += inner
            elif call is not None:
                skipped.append(Skipped(name, row.op, call))
            else:
                cost, why = _backward_cost(scope, i, frozenset(wanted))
                if cost is None:
                    skipped.append(Skipped(name, row.op, why))
                else:
                    costs[i] = cost.repeated(row.runs)
        if any(looped):  # (a loop's nodes are named: their sums are not estimated either)
            arriving = {t: runs for t, runs in arriving.items() if not looped[t[0]]}
        sums, unsummed = _sums(scope, arriving)
        for j, cost in sums.items():
            costs[j] = Cost.total([costs[j], cost]) if j in costs else cost
        return costs, skipped + unsummed

    def _wanted(self, scope: Scope, i: int, call, trained: Marks, flows: Marks) -> list[int]:
        """The positions of node ``i``'s inputs its gradient goes to: the trained ones
        (of a call followed into its body, those whose arguments the gradient reaches)."""
        graph, shapes = scope.graph, scope.shapes
        positions = [p for p, (j, k) in enumerate(graph.data_in[i]) if trained.edge(shapes, j, k)]
        if not isinstance(call, _Call):
            return positions
        args = self._trained_args(scope, i, call, trained)
        _, body_flows, _ = self.body_flows(call, args, flows.outs.get(i, frozenset()))
        reached = self._arguments(call, body_flows)
        return [p for p in positions if p - call.first in reached]

    def _call_backward(
        self, scope: Scope, i: int, call: _Call, trained: Marks, flows: Marks
    ) -> tuple[Cost, list[Skipped]]:
        """The body's backward × the times the call runs it."""
        args = self._trained_args(scope, i, call, trained)
        outs = flows.outs.get(i, frozenset())
        key = ("backward", id(call.scope), args, outs)
        if key not in self.memo:
            body_trained, body_flows, seeds = self.body_flows(call, args, outs)
            costs, skipped = self.backward(call.scope, body_trained, body_flows, seeds)
            self.memo[key] = (Cost.total(costs.values()), skipped)
        cost, skipped = self.memo[key]
        return cost.repeated(call.times), skipped


def top_parameters(scope: Scope) -> list[int]:
    """The top level's parameters that run (``params``' sources: a variable, a float
    constant with a dimension — not one the counter found is none)."""
    graph, shapes = scope.graph, scope.shapes
    return [
        i
        for i, row in enumerate(scope.rows)
        if scope.runs(i)
        and not graph.data_in[i]
        and is_parameter(graph.defs[i], graph.op_list[i], (shapes.by_id[i] or [None])[0])
        and row.constant is None
    ]


def _parameters(scope: Scope, function: str) -> list[int]:
    """Function ``function``'s parameter constants (the counter's ``body_params``)."""
    return [
        i
        for i, row in enumerate(scope.rows)
        if row is not None and f"{function}/{row.name}" in scope.params
    ]


def _sums(
    scope: Scope, arriving: Mapping[tuple[int, int], list[tuple[int, bool]]]
) -> tuple[dict[int, Cost], list[Skipped]]:
    """The sum of the gradients that reach one tensor from its readers
    (``gradients.accumulation``: an AddN, as TensorFlow's _AggregatedGrads builds it), ×
    the times its node runs; a loop invariant entering a v1 frame (a constant Enter) sums
    its readers' every iteration into an accumulator that starts at zeros (_EnterGrad):
    one more addend, × the times they run. ``arriving``: per tensor, the runs of each
    reader it gets a gradient from, and whether that one is sparse (IndexedSlices)."""
    graph, shapes, rows = scope.graph, scope.shapes, scope.rows
    sums: dict[int, Cost] = {}
    skipped: list[Skipped] = []
    for (j, k), readers in arriving.items():
        invariant = graph.op_list[j] in ENTER_OPS and NodeAttrs(graph.defs[j]).get("is_constant")
        sparse = sum(1 for _, s in readers if s)
        info = shapes.by_id[j][k] if k < len(shapes.by_id[j]) else None
        shape = None if info is None else info.shape
        view = accumulation(shape, len(readers) - sparse + bool(invariant), sparse)
        if view is None:
            continue
        try:
            cost = lookup("AddN")(view._replace(name=graph.names[j]))
        except UnknownShape as e:
            why = f"its gradients' sum: {e}"
            skipped.append(Skipped(scope.where + graph.names[j], "AddN", why))
            continue
        if invariant:
            cost = cost.repeated(max(runs for runs, _ in readers))
        elif rows[j] is not None:
            cost = cost.repeated(rows[j].runs)
        sums[j] = Cost.total([sums[j], cost]) if j in sums else cost
    return sums, skipped


def carries_gradient(shapes: ShapeResult, j: int, k: int) -> bool:
    """Output ``k`` of node ``j`` is floating-point (or a variable's or a TensorList's
    handle), or of an unknown type — then the estimate tries, and says so if it cannot."""
    outs = shapes.by_id[j]
    if k >= len(outs) or outs[k].dtype == DT["DT_INVALID"]:
        return True
    return base_dtype(outs[k].dtype) in _GRADIENT_DTYPES


def _outputs_carry(shapes: ShapeResult, i: int) -> bool:
    """One of node ``i``'s outputs may carry a gradient (a While's first is its counter)."""
    outs = shapes.by_id[i]
    return not outs or any(carries_gradient(shapes, i, k) for k in range(len(outs)))


def _in_unknown_loops(scope: Scope) -> bytearray:
    """``marks[i]`` is 1 for each node of a v1 while loop whose trip count is not known
    statically (its Enters and Exits, and the loops nested in it, included); the nodes of
    the other loops, whose backward runs as often as they do, stay 0."""
    graph, rows = scope.graph, scope.rows
    marks = bytearray(len(rows))
    if ENTER_OPS.isdisjoint(graph.op_list):
        return marks
    frame, parent, loop_cond = loop_frames(graph)
    unknown = [False] * len(parent)
    for f in range(1, len(parent)):  # (a parent's number is below its children's)
        row = rows[loop_cond[f]] if loop_cond[f] is not None else None
        here = row is not None and row.loop is not None and row.loop.trips is None
        unknown[f] = unknown[parent[f]] or here
    ops, data_in = graph.op_list, graph.data_in
    for i, f in enumerate(frame):
        if ops[i] in EXIT_OPS and data_in[i]:
            f = frame[data_in[i][0][0]]  # the loop it leaves
        marks[i] = unknown[f]
    return marks


def _backward_cost(scope: Scope, i: int, wanted: frozenset[int]) -> tuple[Cost | None, str]:
    """Node ``i``'s backward Cost (one run) w.r.t. its inputs ``wanted``, or None and why
    not."""
    graph, shapes, row = scope.graph, scope.shapes, scope.rows[i]
    name, op = graph.names[i], graph.op_list[i]
    if op in MOVES_DATA:
        return Cost(), ""  # wherever it is, its gradient computes nothing
    if not has_rule(op):
        return None, f"no gradient rule for op {op}"
    if row.cost is None:
        return None, f"its forward is not counted ({row.problem})"
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
    return Cost.total(costs), ""
