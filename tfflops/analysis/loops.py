"""Loops and branches: how many times a loop runs its body, and each node its work.

A while loop runs its condition T + 1 times and its body T times. The trip count T is read
from the graph wherever the graph fixes it: a **counter** (a loop variable the body adds a
known step to) starts at a known value and is compared (``<``, ``<=``, ``>``, ``>=``) with
a known **bound** — a constant, or a loop variable the body passes through unchanged
(Keras' ``maximum_iterations``). Conditions joined by ``LogicalAnd`` stop at the first to
fail: T is the smallest, known only if every one is. The loop comes in two forms:

* v2, ``While``/``StatelessWhile`` calling a cond and a body function: ``while_trips``
  reads the functions as the shape inference analysed them;
* v1 frames, ``Enter → Merge → LoopCond → Switch → … → NextIteration → Merge`` and
  ``Exit`` (TF1's ``tf.while_loop``, and a v2 While once lowered): ``frame_runs`` puts
  every node in its frame (``Enter`` opens one, ``Exit`` leaves it), reads each frame's
  trip count the same way, and gives each node its number of runs: its frame's entries ×
  (T + 1) on the condition's side (before the ``Switch``), × T on the body's side.

A ``Switch`` whose predicate is known statically (a ``tf.cond`` on a constant, v1 or
lowered) sends nothing to one side: what depends on that side is dead (0 runs) until a
``Merge`` joins the live side back. A predicate not known statically runs one side or the
other: each node carries the sides it lies on (its **guards**: (predicate, port) pairs,
gathered from its inputs, dropped again by the ``Merge`` that joins both sides), and the
counter keeps the side that costs the most (``cheaper_sides``), as for a v2 ``If``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace

from tfflops.analysis.runs import check_runs
from tfflops.analysis.shapes import BodyRun, CallShapes, ShapeResult, differ
from tfflops.errors import TfflopsError
from tfflops.graph.families import BACK_EDGE_OPS, ENTER_OPS, EXIT_OPS, MERGE_OPS, SWITCH_OPS
from tfflops.graph.index import Graph

# The most iterations --loop-iterations may give a loop: far more than any model runs, few
# enough that every figure stays a plausible integer.
MAX_GIVEN_TRIPS = 10**12

_IDENTITIES = frozenset({"Identity", "RefIdentity", "Snapshot"})
_STEPS = {"Add": 1, "AddV2": 1, "Sub": -1}
# counter OP bound, and the same with the sides swapped
_COMPARES = {"Less": "<", "LessEqual": "<=", "Greater": ">", "GreaterEqual": ">="}
_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}
_FRAMED = ENTER_OPS | SWITCH_OPS  # a graph without these has no v1 loop or cond
_NO_GUARDS: frozenset = frozenset()


@dataclass(frozen=True)
class Loop:
    """One loop: its name (a While node, ``function/node`` inside a function, or a v1
    frame), its trip count (None: not known statically) and how it was found."""

    name: str
    trips: int | None
    how: str
    given: bool = False  # from --loop-iterations
    # The loop variables whose shape the body changes: every iteration is counted at the
    # shapes of the first (a growing concat costs more each time): not exact.
    reshaped: tuple[str, ...] = ()

    @property
    def runs(self) -> int:
        """How many times the body is counted: its trip count, or once when unknown."""
        return 1 if self.trips is None else self.trips


def check_given(given: Mapping[str, int] | None) -> dict[str, int]:
    """``loop_iterations``: a loop's name → a whole number from 0 to MAX_GIVEN_TRIPS."""
    checked = {}
    for name, trips in (given or {}).items():
        if not isinstance(name, str) or not name:
            raise TfflopsError(f"`loop_iterations`: {name!r} is not a loop's name")
        if (
            isinstance(trips, bool)
            or not isinstance(trips, int)
            or not 0 <= trips <= MAX_GIVEN_TRIPS
        ):
            raise TfflopsError(
                f"`loop_iterations` {name}: {trips!r} is not a number of iterations (a whole "
                f"number from 0 to {MAX_GIVEN_TRIPS:,})"
            )
        checked[name] = trips
    return checked


def resolve(name: str, found: tuple[int | None, str], given: Mapping[str, int]) -> Loop:
    """The loop ``name`` with the trip count found, unless --loop-iterations gives one."""
    if name in given:
        trips = given[name]
        known = found[0]
        how = "--loop-iterations" + ("" if known is None else f" (the graph says {known})")
        return Loop(name, trips, how, given=True)
    return Loop(name, *found)


# ---------------------------------------------------------------- the trip count


@dataclass(frozen=True)
class _Var:
    """A loop variable: a counter (``step`` set) or an invariant, with its initial value."""

    name: str
    init: int | None
    step: int | None = None  # None: the body passes it through unchanged


def _trips(conjuncts: list, var_of, value_of) -> tuple[int | None, str]:
    """T from the conditions ``LogicalAnd`` joins; ``var_of(edge)`` → _Var or None,
    ``value_of(edge)`` → an int or None."""
    found, unknown = [], []
    for term in conjuncts:
        if term is None:
            unknown.append("a condition tfflops cannot read")
            continue
        op, a, b = term
        result = _compare(_COMPARES[op], var_of(a), var_of(b), value_of(a), value_of(b))
        (found if isinstance(result, tuple) else unknown).append(result)
    if found and not unknown:
        trips, how = min(found)
        return trips, how
    reason = unknown[0] if unknown else "no loop condition"
    if found:
        return None, f"{reason} (at most {min(found)[0]}: {min(found)[1]})"
    return None, reason


def _compare(op: str, left, right, left_value, right_value) -> tuple[int, str] | str:
    """The trip count ``counter OP bound`` allows, or why it cannot be told."""
    if left is not None and left.step is not None:
        counter, limit, bound = left, right, (right.init if right is not None else right_value)
    elif right is not None and right.step is not None:
        counter, limit, op = right, left, _FLIPPED[op]
        bound = left.init if left is not None else left_value
    else:
        return "no counter compared with a bound"
    if limit is not None and limit.step is not None:
        return f"{counter.name} is compared with {limit.name}, which the loop changes too"
    if counter.init is None:
        return f"{counter.name} starts from a value not known statically"
    if bound is None:
        other = "a value" if limit is None else limit.name
        return f"{counter.name} is compared with {other}, not known statically"
    start, step = counter.init, counter.step
    named = "" if limit is None else f"{limit.name} = "
    how = f"{counter.name} from {start} by {step:+d} while {op} {named}{bound}"
    if op in ("<", "<="):
        last = bound if op == "<=" else bound - 1  # the largest value that passes
        if start > last:
            return 0, how
        if step <= 0:
            return f"{how}: never ends by this condition"
        return (last - start) // step + 1, how
    last = bound if op == ">=" else bound + 1
    if start < last:
        return 0, how
    if step >= 0:
        return f"{how}: never ends by this condition"
    return (start - last) // -step + 1, how


def _int(value) -> int | None:
    """A known scalar integer value, else None."""
    if value is None or value.size != 1 or value.dtype.kind not in "iu":
        return None
    return int(value.reshape(-1)[0])


def _conjuncts(graph: Graph, edge: tuple[int, int], through) -> list:
    """The comparisons a loop condition joins with LogicalAnd: (op, edge a, edge b), None
    for a condition of another kind. ``through(edge)`` skips identities."""
    terms, stack = [], [edge]
    for _ in range(len(graph)):  # bounded: a condition is a tree over the graph's nodes
        if not stack:
            break
        j, _k = through(stack.pop())
        op, data = graph.op_list[j], graph.data_in[j]
        if op == "LogicalAnd" and len(data) == 2:
            stack.extend(data)
        elif op in _COMPARES and len(data) == 2:
            terms.append((op, through(data[0]), through(data[1])))
        else:
            terms.append(None)
    return terms


def _through(graph: Graph, edge: tuple[int, int]) -> tuple[int, int]:
    """The edge past Identity nodes."""
    ops, data_in = graph.op_list, graph.data_in
    for _ in range(len(ops)):
        j, k = edge
        if ops[j] not in _IDENTITIES or not data_in[j] or k:
            break
        edge = data_in[j][0]
    return edge


def while_trips(call: CallShapes, inputs: list[str]) -> tuple[int | None, str]:
    """A v2 While's trip count (or None) and how it was found (or why not); ``inputs``
    name the tensors it takes (its loop variables' initial values)."""
    runs: dict[str, BodyRun] = dict(call.runs)
    cond, body = runs.get("cond"), runs.get("body")
    if cond is None or body is None or cond.body is None or body.body is None:
        return None, "its cond or body function was not analysed"
    if not cond.body.rets or cond.body.rets[0] is None or body.shapes is None:
        return None, "its cond function returns nothing tfflops can read"
    cond_graph = cond.body.graph
    out = cond.body.rets[0]
    cond_args = {name: i for i, name in enumerate(cond.body.args)}

    def var_of(edge) -> _Var | None:
        j, k = edge
        i = cond_args.get(cond_graph.names[j])
        if i is None or k or i >= len(call.args):
            return None
        init = call.args[i]
        init = None if init is None else _int(init.value)
        name = inputs[i] if i < len(inputs) else f"loop variable {i}"
        if i in body.body.pass_through:
            return _Var(name, init)
        step = _v2_step(body.body, body.shapes, i)
        return None if step is None else _Var(name, init, step)

    def value_of(edge) -> int | None:
        j, k = edge
        return _int(_value(cond.shapes, j, k))

    start = (cond_graph.index[out.node], out.index)
    terms = _conjuncts(cond_graph, start, lambda e: _through(cond_graph, e))
    return _trips(terms, var_of, value_of)


def _info(shapes: ShapeResult | None, j: int, k: int):
    outs = shapes.by_id[j] if shapes is not None else []
    return outs[k] if k < len(outs) else None


def _value(shapes: ShapeResult | None, j: int, k: int):
    info = _info(shapes, j, k)
    return None if info is None else info.value


def _v2_step(body, shapes: ShapeResult, i: int) -> int | None:
    """The step the body adds to argument ``i`` each iteration (ret i = arg i ± c)."""
    ref = body.rets[i] if i < len(body.rets) else None
    if ref is None:
        return None
    graph = body.graph
    j, _k = _through(graph, (graph.index[ref.node], ref.index))
    return _step(graph, shapes, j, lambda e: graph.names[_through(graph, e)[0]] == body.args[i])


def _step(graph: Graph, shapes: ShapeResult, j: int, is_var, known=None) -> int | None:
    """Node ``j`` adds (or subtracts) a known integer to the variable ``is_var`` tells;
    ``known(edge)`` → the integer an edge carries (default: its static value)."""
    sign = _STEPS.get(graph.op_list[j])
    data = graph.data_in[j]
    if sign is None or len(data) != 2:
        return None
    for side in (0, 1):
        if sign < 0 and side == 1:
            break  # c − var is no counter
        if is_var(data[side]):
            edge = _through(graph, data[1 - side])
            step = known(edge) if known is not None else _int(_value(shapes, *edge))
            return None if step is None else sign * step
    return None


# ---------------------------------------------------------------- v1 frames


@dataclass
class _Frame:
    name: str
    parent: int
    depth: int = 0
    loop_cond: int | None = None
    entry_runs: int | None = None  # how often the loop is entered
    entry_body: bool = False  # entered from its parent's body side
    loop: Loop | None = None


@dataclass
class Frames:
    """What ``frame_runs`` found: runs per node, the loops, the conds' dead sides."""

    runs: list[int]
    loops: dict[int, Loop] = field(default_factory=dict)  # LoopCond node → its loop
    dead: int = 0  # nodes a Switch with a predicate known statically never runs
    open_conds: int = 0  # predicates of Switches not known statically
    # Per node, the (predicate tensor, port) sides of such Switches it lies on; None when
    # the graph has no such Switch.
    guards: list[frozenset] | None = None


def frame_runs(graph: Graph, shapes: ShapeResult, given: Mapping[str, int]) -> Frames | None:
    """How many times each node runs (None: every node once, no v1 loop or cond)."""
    if _FRAMED.isdisjoint(graph.op_list):
        return None
    order = graph.topological_ids()
    frame_of = _frames(graph, order)
    frames = frame_of.frames
    reshaped = _v1_reshaped(graph, shapes, frame_of.frame)
    for index, f in enumerate(frames):
        if f.loop_cond is not None:
            found = _v1_trips(graph, shapes, frame_of.frame, f.loop_cond)
            f.loop = replace(resolve(f.name, found, given), reshaped=reshaped.get(index, ()))
    return _runs(graph, shapes, order, frame_of)


def _v1_reshaped(graph: Graph, shapes: ShapeResult, frame: list[int]) -> dict[int, tuple]:
    """Per frame, the loop variables whose shape the body changes: a Merge whose
    ``NextIteration`` brings back another shape than its ``Enter`` brought in (named
    after the initial value, as ``_merge_parts`` names them)."""
    ops, data_in = graph.op_list, graph.data_in
    found: dict[int, list[str]] = {}
    for j, op in enumerate(ops):
        if op not in MERGE_OPS:
            continue
        entry = [e for e in data_in[j] if ops[e[0]] in ENTER_OPS]
        back = [e for e in data_in[j] if ops[e[0]] in BACK_EDGE_OPS]
        if len(entry) != 1 or len(back) != 1 or not data_in[back[0][0]]:
            continue
        entered = _info(shapes, *entry[0])
        returned = _info(shapes, *data_in[back[0][0]][0])
        if entered is not None and returned is not None and differ(entered.shape, returned.shape):
            enter = entry[0][0]
            name = graph.names[data_in[enter][0][0]] if data_in[enter] else graph.names[j]
            found.setdefault(frame[j], []).append(name)
    return {f: tuple(names) for f, names in found.items()}


@dataclass
class _FrameOf:
    frame: list[int]
    frames: list[_Frame]


def _frames(graph: Graph, order: list[int]) -> _FrameOf:
    """Each node's frame: Enter opens its ``frame_name`` in its input's frame, Exit goes
    back to the parent, every other node is in the frame of its inputs (the innermost,
    should a constant outside feed it: a graph whose control-only NoOps were dropped)."""
    ops, data_in, control_in, defs = graph.op_list, graph.data_in, graph.control_in, graph.defs
    frame = [0] * len(ops)
    seen = bytearray(len(ops))
    frames = [_Frame("", 0)]
    by_key: dict[tuple[int, str], int] = {}
    for i in order:
        inputs = [frame[j] for j, _ in data_in[i] if seen[j]]
        inputs += [frame[j] for j in control_in[i] if seen[j]]
        outer = max(inputs, key=lambda f: frames[f].depth, default=0)
        op = ops[i]
        if op in ENTER_OPS:
            attr = defs[i].attr.get("frame_name")
            name = attr.s.decode("utf-8", "replace") if attr is not None else ""
            key = (outer, name)
            if key not in by_key:
                by_key[key] = len(frames)
                frames.append(_Frame(name, outer, frames[outer].depth + 1))
            frame[i] = by_key[key]
        elif op in EXIT_OPS:
            frame[i] = frames[outer].parent
        else:
            frame[i] = outer
            if op == "LoopCond" and outer and frames[outer].loop_cond is None:
                frames[outer].loop_cond = i
        seen[i] = 1
    return _FrameOf(frame, frames)


def loop_frames(graph: Graph) -> tuple[list[int], list[int], list[int | None]]:
    """Each node's v1 frame (0: the top level; an Exit is in the frame it goes back to),
    each frame's parent and LoopCond node; frames are numbered parents first."""
    found = _frames(graph, graph.topological_ids())
    return found.frame, [f.parent for f in found.frames], [f.loop_cond for f in found.frames]


def _v1_trips(graph: Graph, shapes: ShapeResult, frame: list[int], loop_cond: int):
    """A frame's trip count from its LoopCond's predicate (see the module doc)."""
    ops, data_in = graph.op_list, graph.data_in
    if not data_in[loop_cond]:
        return None, "its LoopCond has no input"
    here = frame[loop_cond]

    def through(edge):
        return _through(graph, edge)

    def var_of(edge) -> _Var | None:
        j, k = edge
        if ops[j] not in MERGE_OPS or k or frame[j] != here:
            return None
        return _merge_var(graph, shapes, j)

    def value_of(edge) -> int | None:
        return _int(_value(shapes, *edge))

    terms = _conjuncts(graph, data_in[loop_cond][0], through)
    return _trips(terms, var_of, value_of)


def _merge_var(graph: Graph, shapes: ShapeResult, j: int) -> _Var | None:
    """The v1 loop variable Merge ``j`` holds: a counter, an invariant, else None.

    Its inputs are ``Enter(initial value)`` and ``NextIteration(update)``; in the body the
    variable is ``Switch(Merge, LoopCond):1``, which an invariant's update is. A counter's
    step is a constant or an invariant (a lowered ``for i in tf.range(a, b, d)`` carries
    ``d`` as a loop variable).
    """
    found = _merge_parts(graph, shapes, j)
    if found is None:
        return None
    var, update, is_var = found
    if is_var(update):
        return var

    def known(edge) -> int | None:
        value = _int(_value(shapes, *edge))
        return value if value is not None else _invariant_init(graph, shapes, edge)

    step = _step(graph, shapes, update[0], is_var, known)
    return None if step is None else replace(var, step=step)


def _merge_parts(graph: Graph, shapes: ShapeResult, j: int):
    """Merge ``j`` as a loop variable: (its _Var without a step, the edge of its update,
    ``is_var(edge)``: the edge reads the variable in the body), or None."""
    ops, data_in = graph.op_list, graph.data_in
    entry = [e for e in data_in[j] if ops[e[0]] in ENTER_OPS]
    back = [e for e in data_in[j] if ops[e[0]] in BACK_EDGE_OPS]
    if len(entry) != 1 or len(back) != 1 or not data_in[back[0][0]]:
        return None
    init = _int(_value(shapes, *entry[0]))
    update = _through(graph, data_in[back[0][0]][0])

    def is_var(edge) -> bool:
        s, port = _through(graph, edge)
        return (
            ops[s] in SWITCH_OPS
            and port == 1
            and bool(data_in[s])
            and _through(graph, data_in[s][0])[0] == j
        )

    enter = entry[0][0]  # named after its initial value, as a v2 While's variables are
    name = graph.names[data_in[enter][0][0]] if data_in[enter] else graph.names[j]
    return _Var(name, init), update, is_var


def _invariant_init(graph: Graph, shapes: ShapeResult, edge: tuple[int, int]) -> int | None:
    """The initial value of the loop invariant ``edge`` reads in a body
    (``Switch(Merge):1`` of a Merge whose update is that Switch), else None."""
    s, port = edge
    if graph.op_list[s] not in SWITCH_OPS or port != 1 or not graph.data_in[s]:
        return None
    merge = _through(graph, graph.data_in[s][0])[0]
    if graph.op_list[merge] not in MERGE_OPS:
        return None
    found = _merge_parts(graph, shapes, merge)
    if found is None or not found[2](found[1]):
        return None
    return found[0].init


def state_inputs(graph: Graph, shapes: ShapeResult) -> set[tuple[int, int]]:
    """(node, input) of every loop variable's initial value whose variable the loop
    rewrites: a v2 While's input the body does not pass through, a v1 ``Enter`` into a
    ``Merge`` whose variable is not invariant."""
    ops, data_in, readers = graph.op_list, graph.data_in, graph.readers
    inputs = set()
    for name, call in shapes.calls.items():
        body = dict(call.runs).get("body") if call.kind == "while" else None
        if body is None or body.body is None:
            continue
        i = graph.index[name]
        kept = body.body.pass_through
        inputs.update((i, p) for p in range(len(data_in[i])) if p not in kept)
    enters = [] if ENTER_OPS.isdisjoint(ops) else [i for i, op in enumerate(ops) if op in ENTER_OPS]
    for i in enters:
        constant = graph.defs[i].attr.get("is_constant")
        if constant is not None and constant.b:
            continue
        merges = [r for r in readers[i] if ops[r] in MERGE_OPS]
        if merges and all(
            (var := _merge_var(graph, shapes, m)) is None or var.step is not None for m in merges
        ):
            inputs.add((i, 0))
    return inputs


def _on_body_side(graph: Graph, i: int, frame, body, seen, inner: _Frame) -> bool:
    """Node ``i`` reads, in its own frame, the loop's Switch's true side (the body's
    variables) or a node that does."""
    ops, data_in, f = graph.op_list, graph.data_in, frame[i]
    for j, k in data_in[i]:
        if not seen[j] or frame[j] != f or ops[j] in ENTER_OPS:
            continue
        if body[j] or (
            k == 1 and ops[j] in SWITCH_OPS and data_in[j][1:] == [(inner.loop_cond, 0)]
        ):
            return True
    return any(frame[j] == f and body[j] for j in graph.control_in[i] if seen[j])


def _live_port(graph: Graph, i: int, selector) -> int:
    """The only output Switch ``i`` writes, its predicate or index known statically (-1:
    not known). A Switch writes output 1 on true, 0 on false; a ``_SwitchN`` (a lowered
    Case) the output its index names, the last for an index out of range (its default
    branch, as TensorFlow's kernel does)."""
    if selector is None or selector.size != 1:
        return -1
    value = selector.reshape(-1)[0]
    if graph.op_list[i] != "_SwitchN":
        return int(bool(value))
    outs = graph.defs[i].attr.get("num_outs")
    if outs is None or outs.i < 1:
        return -1
    index = int(value)
    return index if 0 <= index < outs.i else outs.i - 1


def _enclosing(frames: list[_Frame], f: int) -> Iterator[Loop]:
    """The loops of frame ``f`` and of the frames around it, innermost first."""
    for _ in range(len(frames)):  # bounded: a frame's parent was made before it
        if not f:
            return
        if frames[f].loop is not None:
            yield frames[f].loop
        f = frames[f].parent


def _runs(graph: Graph, shapes: ShapeResult, order: list[int], frame_of: _FrameOf) -> Frames:
    """Runs per node from the frames' trip counts and the static Switches (module doc)."""
    ops, data_in, control_in = graph.op_list, graph.data_in, graph.control_in
    frame, frames = frame_of.frame, frame_of.frames
    n = len(ops)
    runs = [1] * n
    body = bytearray(n)  # on its frame's body side (after the loop's Switch)
    dead = bytearray(n)
    live_port = [-1] * n  # a Switch with a known predicate: the only output it writes

    def cut(j: int, k: int) -> bool:  # output k of node j is never written
        return live_port[j] not in (-1, k)

    seen = bytearray(n)
    open_preds: set[tuple[int, int]] = set()
    open_pred = [None] * n  # a Switch whose predicate is not known: that predicate
    guards = [_NO_GUARDS] * n

    def side(j: int, k: int) -> frozenset:
        """The guards of what reads output ``k`` of node ``j``."""
        pred = open_pred[j]
        return guards[j] if pred is None else guards[j] | {(pred, k)}

    loop_conds = {f.loop_cond for f in frames if f.loop_cond is not None}
    result = Frames(runs)
    for i in order:
        op, f = ops[i], frame[i]
        data = data_in[i]
        if op in MERGE_OPS:
            live = [e for e in data if seen[e[0]]]
            dead[i] = bool(live) and all(dead[j] or cut(j, k) for j, k in live)
            sides = [side(j, k) for j, k in live if not (dead[j] or cut(j, k))]
            guards[i] = frozenset.intersection(*sides) if sides else _NO_GUARDS
        else:
            dead[i] = any(dead[j] or cut(j, k) for j, k in data if seen[j]) or any(
                dead[j] for j in control_in[i] if seen[j] and ops[j] not in SWITCH_OPS
            )
            if open_preds:
                guards[i] = _NO_GUARDS.union(
                    *(side(j, k) for j, k in data if seen[j]),
                    *(guards[j] for j in control_in[i] if seen[j]),
                )
        if op in SWITCH_OPS and len(data) == 2 and data[1][0] not in loop_conds:
            live_port[i] = _live_port(graph, i, _value(shapes, *data[1]))
            if live_port[i] < 0:  # conds on one predicate (through Identity) take one side
                open_pred[i] = _through(graph, data[1])
                open_preds.add(open_pred[i])
        if op in ENTER_OPS:
            source = next((j for j, _ in data if seen[j]), None)
            outer_runs = 1 if source is None else runs[source]
            runs[i] = outer_runs
            inner = frames[f]
            if inner.entry_runs is None or outer_runs > inner.entry_runs:
                inner.entry_runs = outer_runs
                inner.entry_body = source is not None and bool(body[source])
        elif op in EXIT_OPS:
            inner = frames[frame[data[0][0]]] if data else frames[0]
            runs[i] = inner.entry_runs or 1
            body[i] = inner.entry_body
        elif f:
            inner = frames[f]
            body[i] = op not in MERGE_OPS and _on_body_side(graph, i, frame, body, seen, inner)
            loop = inner.loop
            # Unknown trip count: condition and body once each.
            trips = 1 if loop is None or loop.trips is None else loop.trips + (not body[i])
            runs[i] = (inner.entry_runs or 1) * trips
            check_runs(runs[i], graph.source, _enclosing(frames, f))
        if dead[i]:
            runs[i] = 0
        seen[i] = 1
    for frame_info in frames[1:]:
        if frame_info.loop is not None:
            result.loops[frame_info.loop_cond] = frame_info.loop
    result.dead = sum(dead)
    result.open_conds = len(open_preds)
    if open_preds:
        result.guards = guards
    return result


def cheaper_sides(guards: list[frozenset], weight: Callable[[int], tuple[int, int]]) -> set[int]:
    """The nodes on the cheaper side of each predicate not known statically: those a run
    that takes the most expensive side (by ``weight``, summed) never runs.

    Innermost predicates first (a cond inside another's side: its nodes lie on both), so
    an outer side weighs only what its inner conds keep. Switches sharing a predicate
    take the same side; on a tie, the true side (port 1), as a v2 If's then-branch.
    """
    sides: dict[tuple, dict[int, list[int]]] = {}
    depth: dict[tuple, int] = {}
    for i, guard in enumerate(guards):
        for pred, port in guard:
            sides.setdefault(pred, {}).setdefault(port, []).append(i)
            depth[pred] = min(depth.get(pred, len(guard)), len(guard))
    dropped: set[int] = set()
    for pred in sorted(sides, key=lambda p: -depth[p]):
        by_port = sides[pred]
        weights = {
            port: tuple(map(sum, zip((0, 0), *(weight(i) for i in nodes if i not in dropped))))
            for port, nodes in by_port.items()
        }
        taken = max(weights, key=lambda port: (weights[port], port))
        for port, nodes in by_port.items():
            if port != taken:
                dropped.update(nodes)
    return dropped
