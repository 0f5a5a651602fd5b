"""The structural freeze: prune to the outputs, drop what only trains, saves or initializes.

``plan_freeze`` picks the nodes a frozen graph keeps; ``apply_freeze`` writes it with the
variables turned into constants (``variables``). Nothing here executes a graph: finding the
variables' values does, in ``tfflops.tf.values``, after ``safety`` vetted it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from tfflops.errors import TfflopsError
from tfflops.freeze.safety import vet_run
from tfflops.freeze.variables import convert_variables, declared_shape
from tfflops.graph import proto
from tfflops.graph.families import V1_CONTROL_FLOW_OPS, VARIABLE_OPS
from tfflops.graph.index import Graph, parse_tensor_name
from tfflops.graph.library import functions_by_name, needed_nodes, prune_library, used_functions
from tfflops.graph.phases import ancestors, data_ancestors, is_training_only, resolve_outputs


@dataclass
class FreezePlan:
    """What the freeze keeps: the nodes, the variables among them, and why (``notes``)."""

    graph: Graph
    outputs: list[str]
    keep: set[str]
    variables: list[str]
    notes: list[str] = field(default_factory=list)
    pruned: int = 0  # nodes dropped from function bodies: no call runs them


def plan_freeze(graph: Graph, outputs: Iterable[str]) -> FreezePlan:
    """The nodes the outputs need over data and control edges, minus training-only ones.

    A training-only node (see ``is_training_only``) that only a control edge keeps alive
    is dropped with the edge, and so is what only it needed; one whose value an output
    needs is a TfflopsError — freezing would change what the graph computes.
    """
    names = resolve_outputs(graph, outputs)
    for name in names:
        op = graph.nodes[name].op
        if is_training_only(op):
            raise TfflopsError(
                f"`outputs` {name}: {op} updates, saves or checks variables; "
                "a frozen graph has none"
            )
    reachable = ancestors(graph, names)
    by_data = data_ancestors(graph, names)
    stripped = {name for name in reachable if is_training_only(graph.nodes[name].op)}
    stack = sorted(stripped)
    while stack:
        name = stack.pop()
        for reader in graph.consumers[name]:
            if reader not in reachable or reader in stripped:
                continue
            if not any(ref.node == name for ref in graph.inputs[reader]):
                continue  # a control edge: dropped with the node
            if reader in by_data:
                raise TfflopsError(
                    f"{graph.source}: node {reader!r} reads the result of {name!r} "
                    f"({graph.nodes[name].op}), which updates, saves or checks a variable; "
                    "it cannot be frozen"
                )
            stripped.add(reader)  # only a control edge keeps it: it goes too
            stack.append(reader)
    keep = ancestors(graph, names, avoid=stripped)
    variables = [n for n in graph.nodes if n in keep and graph.nodes[n].op in VARIABLE_OPS]
    plan = FreezePlan(graph, names, keep, variables)
    control_only = reachable - by_data
    if control_only:
        plan.notes.append(_control_edge_note(graph, by_data, control_only, keep))
    return plan


def _control_edge_note(
    graph: Graph, by_data: set[str], control_only: set[str], keep: set[str]
) -> str:
    edges = sorted(
        f"{reader} ← ^{name}"
        for reader in by_data
        for name in graph.control_inputs[reader]
        if name in control_only
    )
    removed = sorted(control_only - keep)
    updates = [n for n in removed if is_training_only(graph.nodes[n].op)]
    kept = sorted(control_only & keep)

    def some(names: list[str]) -> str:
        shown = ", ".join(f"{n} ({graph.nodes[n].op})" for n in names[:3])
        return shown + (f", … {len(names) - 3} more" if len(names) > 3 else "")

    parts = [
        f"control edge(s) {', '.join(edges[:3])}{' …' if len(edges) > 3 else ''} keep "
        f"{len(control_only)} node(s) alive that no output value needs"
    ]
    if removed:
        others = len(removed) - len(updates)
        tail = f" and {others} node(s) only they needed" if others else ""
        parts.append(f"removed {len(updates)} training-only node(s): {some(updates)}{tail}")
    if kept:
        parts.append(f"kept {len(kept)}: {some(kept)}")
    return "; ".join(parts)


def apply_freeze(plan: FreezePlan, values: dict[str, proto.TensorProto]) -> proto.GraphDef:
    """The frozen GraphDef: the plan's nodes, its variables replaced by ``values``.

    Then ``Identity`` nodes are bypassed where that is safe (never an output, nor one next
    to a control-flow op or with control edges), dangling colocation constraints are
    dropped, function bodies lose the nodes no call runs (``prune_function_bodies``), and
    the function library keeps only what the graph calls.
    """
    missing = [name for name in plan.variables if name not in values]
    if missing:
        raise TfflopsError(f"{plan.graph.source}: no value for variable {missing[0]!r}")
    out = extract_subgraph(plan.graph.graph_def, plan.keep)
    convert_variables(out, {name: values[name] for name in plan.variables}, plan.graph.source)
    bypass_identities(out, protected=set(plan.outputs))
    _drop_dangling_colocation(out)
    plan.pruned = prune_function_bodies(out)
    prune_library(out, used_functions(out))
    return out


def prune_function_bodies(graph_def: proto.GraphDef) -> int:
    """Drop from every function the nodes a call never runs (``library.needed_nodes``: what
    neither its outputs nor its stateful nodes need), as TensorFlow does when it runs one;
    inlined, they would be sinks of the graph. How many were dropped."""
    library = functions_by_name(graph_def)
    dropped = 0
    for function in graph_def.library.function:
        needed = needed_nodes(function, library)
        for i in reversed(range(len(function.node_def))):
            if function.node_def[i].name not in needed:
                del function.node_def[i]
                dropped += 1
    return dropped


def vetted_subgraph(
    graph: Graph,
    runs: Sequence[tuple[Sequence[str], str, str | None]],
    allow_unsafe_ops: bool,
) -> proto.GraphDef:
    """What TensorFlow may be given to make ``runs`` ((fetches, purpose, checkpoint
    filename tensor) each): the nodes they execute, vetted first (``safety.vet_run``)
    unless ``allow_unsafe_ops``, and only the functions those call — importing a graph
    evaluates constant subgraphs already, so nothing else may reach TensorFlow."""
    if allow_unsafe_ops:
        needed = ancestors(graph, [name for fetches, _, _ in runs for name in fetches])
        return extract_subgraph(graph.graph_def, needed)
    executions = [vet_run(graph, fetches, purpose, filename) for fetches, purpose, filename in runs]
    subgraph = extract_subgraph(graph.graph_def, {n for e in executions for n in e.nodes})
    prune_library(subgraph, [f for e in executions for f in e.closure.functions])
    return subgraph


def extract_subgraph(graph_def: proto.GraphDef, names: set[str]) -> proto.GraphDef:
    """The nodes in ``names``, in order, with the library; edges and colocations to others cut.

    A data input from outside ``names`` is the caller's mistake; control inputs to nodes
    left out are dropped.
    """
    out = proto.GraphDef()
    out.versions.CopyFrom(graph_def.versions)
    out.library.CopyFrom(graph_def.library)
    for node in graph_def.node:
        if node.name not in names:
            continue
        new = out.node.add()
        new.CopyFrom(node)
        inputs = [raw for raw in node.input if not raw.startswith("^") or raw[1:] in names]
        if len(inputs) != len(node.input):
            del new.input[:]
            new.input.extend(inputs)
    _drop_dangling_colocation(out)
    return out


def bypass_identities(graph_def: proto.GraphDef, protected: set[str]) -> int:
    """Remove ``Identity`` nodes whose readers can read their input instead; how many.

    Kept: ``protected`` nodes, an Identity with control inputs or control readers, and
    one that reads or feeds a control-flow op (``cond/switch_t`` makes a branch's
    constants dead through a control edge; a loop's Identity nodes hold its frame).
    """
    nodes = {n.name: n for n in graph_def.node}
    control_readers = {raw[1:] for n in graph_def.node for raw in n.input if raw.startswith("^")}
    data_readers: dict[str, set[str]] = {}
    for node in graph_def.node:
        for raw in node.input:
            if not raw.startswith("^"):
                data_readers.setdefault(parse_tensor_name(raw).node, set()).add(node.op)

    def removable(node: proto.NodeDef) -> bool:
        if node.op != "Identity" or node.name in protected or node.name in control_readers:
            return False
        if len(node.input) != 1 or node.input[0].startswith("^"):
            return False
        source = nodes.get(parse_tensor_name(node.input[0]).node)
        return (
            source is not None
            and source.op not in V1_CONTROL_FLOW_OPS
            and not data_readers.get(node.name, set()) & V1_CONTROL_FLOW_OPS
        )

    bypassed = {name for name, node in nodes.items() if removable(node)}

    def resolve(raw: str) -> str:
        ref = parse_tensor_name(raw)
        while ref.index == 0 and ref.node in bypassed:
            raw = nodes[ref.node].input[0]
            ref = parse_tensor_name(raw)
        return raw

    for node in graph_def.node:
        for i, raw in enumerate(node.input):
            if not raw.startswith("^"):
                node.input[i] = resolve(raw)
    for i in reversed(range(len(graph_def.node))):
        if graph_def.node[i].name in bypassed:
            del graph_def.node[i]
    return len(bypassed)


def _drop_dangling_colocation(graph_def: proto.GraphDef) -> None:
    """``_class: loc:@x`` with ``x`` gone fails TensorFlow's import: drop those entries."""
    names = {n.name for n in graph_def.node}
    for node in graph_def.node:
        if "_class" not in node.attr:
            continue
        entries = list(node.attr["_class"].list.s)
        keep = [s for s in entries if not s.startswith(b"loc:@") or s[5:].decode() in names]
        if len(keep) == len(entries):
            continue
        if keep:
            del node.attr["_class"].list.s[:]
            node.attr["_class"].list.s.extend(keep)
        else:
            del node.attr["_class"]


def placeholder_values(plan: FreezePlan) -> dict[str, proto.TensorProto]:
    """Zero-filled stand-ins of each variable's declared shape, for counting a freeze.

    FLOPs depend on shapes, not values, so ``profile --compare-freeze`` freezes with these
    and executes nothing. A variable without a fully declared shape is a TfflopsError.
    """
    values = {}
    for name in plan.variables:
        node = plan.graph.nodes[name]
        shape = declared_shape(node)
        if shape is None or None in shape:
            raise TfflopsError(
                f"{plan.graph.source}: variable {name!r} has no declared shape; "
                "freeze it with `tfflops freeze` to count the frozen graph"
            )
        tensor = proto.TensorProto(dtype=node.attr["dtype"].type)
        for d in shape:
            tensor.tensor_shape.dim.add(size=d)
        values[name] = tensor
    return values
