"""Two graphs side by side — before and after a freeze, or any A and B — and why they differ.

Both are profiled with the same options and their nodes joined by name. The difference
of the whole-graph count (every phase, under the chosen convention; with the ``tfprof``
convention this is what tf.profiler reports) is split into causes, each changed node
going to exactly one:

* ``initializers`` — init-phase nodes (random_normal/uniform/truncated_normal chains);
* ``assign`` — Assign, AssignAdd, AssignSub and their resource twins;
* ``training`` — optimizer (Apply*) and gradient subgraphs;
* ``save_summary`` — summaries and save/restore subgraphs;
* ``control_edges`` — subgraphs only a control edge from the outputs kept alive;
* ``control_flow`` — If/While lowered to Switch/Merge: both branches now count;
* ``constant_folding`` — subgraphs that compute from constants only;
* ``renamed`` — a node only in one graph matched by op, shapes and count to one only in
  the other;
* ``variables`` — variables that became constants, and the reads and Identity nodes
  that went with them;
* ``unused`` — nodes the outputs did not need; ``changed`` — in both, counted
  differently; ``removed`` / ``added`` — anything else only in one graph.
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from tfflops.analysis.profile import Profile
from tfflops.errors import TfflopsError
from tfflops.freeze.plan import apply_freeze, placeholder_values, plan_freeze
from tfflops.graph import proto
from tfflops.graph.families import (
    ASSIGN_OPS,
    CALL_OPS,
    EXIT_OPS,
    INIT_CHECK_OPS,
    MERGE_OPS,
    SAVE_RESTORE_OPS,
    VARIABLE_OPS,
)
from tfflops.graph.index import Graph
from tfflops.graph.loader import is_saved_model
from tfflops.graph.phases import (
    INFERENCE,
    INIT,
    OTHER,
    ancestors,
    data_ancestors,
    is_training_op,
)
from tfflops.pipelines.open import open_target
from tfflops.pipelines.profile import profile

CAUSES = {
    "initializers": "initializers (phase init)",
    "assign": "Assign/AssignAdd/AssignSub",
    "training": "optimizer and gradient subgraphs",
    "save_summary": "summaries and save/restore",
    "control_edges": "subgraphs kept alive by control edges",
    "control_flow": "lowered control flow (Switch/Merge: tfprof counts both branches)",
    "constant_folding": "constant-only subgraphs",
    "renamed": "renamed nodes",
    "variables": "variables → constants (reads, Identity)",
    "unused": "nodes the outputs do not need",
    "changed": "counted differently",
    "removed": "other nodes only in before",
    "added": "other nodes only in after",
}

_READ_OPS = INIT_CHECK_OPS | VARIABLE_OPS | {"Identity", "ReadVariableOp", "Snapshot"}
_LOWERED_OPS = frozenset({"Switch", "RefSwitch", "Merge", "RefMerge", "Enter", "Exit"})
_SAVE_SCOPE = re.compile(r"^save(_\d+)?/")
_RANDOM_KINDS = {
    "RandomStandardNormal": "random_normal",
    "RandomUniform": "random_uniform",
    "RandomUniformInt": "random_uniform",
    "TruncatedNormal": "truncated_normal",
}


@dataclass
class NodeDiff:
    """One node in either graph or both: its figures on each side and the cause."""

    name: str
    side: str  # "both", "before", "after", "renamed"
    op_before: str | None
    op_after: str | None
    flops_before: int
    flops_after: int
    tfprof_before: int | None
    tfprof_after: int | None
    params_before: int
    params_after: int
    bytes_before: int
    bytes_after: int
    cause: str | None = None
    after_name: str | None = None  # for a renamed node

    @property
    def display_name(self) -> str:
        """``a → b`` for a renamed node, else its name."""
        return f"{self.name} → {self.after_name}" if self.side == "renamed" else self.name

    @property
    def flops_difference(self) -> int:
        return self.flops_after - self.flops_before

    @property
    def tfprof_difference(self) -> int:
        return (self.tfprof_after or 0) - (self.tfprof_before or 0)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "after_name": self.after_name,
            "side": self.side,
            "op_before": self.op_before,
            "op_after": self.op_after,
            "flops_before": self.flops_before,
            "flops_after": self.flops_after,
            "tfprof_before": self.tfprof_before,
            "tfprof_after": self.tfprof_after,
            "params_before": self.params_before,
            "params_after": self.params_after,
            "bytes_before": self.bytes_before,
            "bytes_after": self.bytes_after,
            "cause": self.cause,
        }


@dataclass
class Comparison:
    """The result of ``compare``: both profiles, the joined nodes, the causes."""

    before: Profile
    after: Profile
    nodes: list[NodeDiff]
    details: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def convention(self) -> str:
        return self.before.convention

    @property
    def totals(self) -> dict:
        """Per figure: {"before", "after", "difference"} (None where tf.profiler did not run)."""
        figures = {}
        # With training=True (both sides, or neither): one training step's figure.
        train = ("train_flops", self.before.train_flops(), self.after.train_flops())
        for key, b, a in (
            ("flops", self.before.totals["flops"], self.after.totals["flops"]),
            *([train] if self.before.training is not None else []),
            ("graph_flops", _graph_flops(self.before), _graph_flops(self.after)),
            ("tfprof_flops", self.before.tfprof_total, self.after.tfprof_total),
            ("init_flops", self.before.totals["init_flops"], self.after.totals["init_flops"]),
            ("params", self.before.totals["params"], self.after.totals["params"]),
            ("bytes", self.before.totals["bytes"], self.after.totals["bytes"]),
            ("nodes", self.before.totals["nodes"], self.after.totals["nodes"]),
            *_estimates(self.before, self.after),
        ):
            difference = None if a is None or b is None else a - b
            figures[key] = {"before": b, "after": a, "difference": difference}
        return figures

    def causes(self) -> list[dict]:
        """Per cause with at least one node: node count, FLOPs and tf.profiler differences."""
        grouped: dict[str, list[NodeDiff]] = defaultdict(list)
        for n in self.nodes:
            if n.cause:
                grouped[n.cause].append(n)
        tfprof = self.before.tfprof_total is not None and self.after.tfprof_total is not None
        return [
            {
                "cause": cause,
                "label": label,
                "nodes": [n.name for n in grouped[cause]],
                "flops": sum(n.flops_difference for n in grouped[cause]),
                "tfprof_flops": sum(n.tfprof_difference for n in grouped[cause])
                if tfprof
                else None,
                "details": self.details.get(cause, []),
            }
            for cause, label in CAUSES.items()
            if grouped[cause]
        ]

    def ops(self) -> list[dict]:
        """Per op type, over every node of each graph."""
        rows: dict[str, dict] = {}
        for side, p in (("before", self.before), ("after", self.after)):
            for r, v in zip(p.rows, p.verdicts, strict=True):
                row = rows.setdefault(
                    r.op,
                    {
                        "op": r.op,
                        **{f"{k}_{s}": 0 for k in ("count", "flops") for s in ("before", "after")},
                        "tfprof_before": None,
                        "tfprof_after": None,
                    },
                )
                row[f"count_{side}"] += 1
                row[f"flops_{side}"] += p.flops_of(r)
                if v.tfprof_flops is not None:
                    row[f"tfprof_{side}"] = (row[f"tfprof_{side}"] or 0) + v.tfprof_flops
        return sorted(
            rows.values(),
            key=lambda r: (-abs(r["flops_after"] - r["flops_before"]), -r["flops_before"], r["op"]),
        )

    def to_dict(self) -> dict:
        """The ``--format json`` document."""

        def side(p: Profile) -> dict:
            return {"model": p.model, "outputs": list(p.outputs), "totals": p.totals}

        return {
            "convention": self.convention,
            "before": side(self.before),
            "after": side(self.after),
            "totals": self.totals,
            "causes": self.causes(),
            "ops": self.ops(),
            "nodes": [n.to_dict() for n in self.nodes],
            "notes": list(self.notes),
        }


def _estimates(before: Profile, after: Profile) -> list[tuple]:
    """The estimated seconds of both, when they were profiled with a device."""
    b, a = before.totals["est_seconds"], after.totals["est_seconds"]
    return [] if a is None and b is None else [("est_seconds", b, a)]


def compare(
    before: str | os.PathLike | proto.GraphDef,
    after: str | os.PathLike | proto.GraphDef,
    outputs: Sequence[str] | str | None = None,
    input_shapes: dict[str, Sequence[int | None]] | None = None,
    convention: str = "tfprof",
    tfprof: bool = True,
    labels: tuple[str, str] | None = None,
    *,
    signature: str | None = None,
    tag_set: Sequence[str] | str | None = None,
    training: bool = False,
    device=None,
) -> Comparison:
    """Profile ``before`` and ``after`` alike and attribute their difference to causes.

    ``outputs`` must exist in both; None takes each model's signature outputs (a
    SavedModel's ``signature``, as ``profile`` does), else each graph's sinks.
    ``input_shapes`` names inputs of either graph; each graph gets the ones it has.
    ``training=True`` adds each side's training step (``train_flops``) to the totals.
    ``device`` (a Device or a built-in profile's name) adds both estimated times.
    """
    if isinstance(outputs, str):
        outputs = [o for o in outputs.split(",") if o.strip()]
    graphs, profiles = [], []
    used: set[str] = set()
    for i, model in enumerate((before, after)):
        saved = is_saved_model(model)
        target = open_target(
            model, outputs, input_shapes, signature if saved else None, tag_set if saved else None
        )
        graph = target.graph
        if labels:
            graph.source = labels[i]
        mapped = target.input_shapes or {}
        shapes = {k: v for k, v in mapped.items() if k.split(":")[0] in graph}
        p = profile(
            graph.graph_def,
            target.output_tensors or target.outputs,
            shapes,
            convention,
            tfprof,
            training=training,
            device=device,
        )
        p.model = graph.source
        graphs.append(graph)
        profiles.append(p)
        # A signature's input key became a node name (or a Keras model was traced at it).
        used.update(k for k in input_shapes or {} if k not in mapped or k.split(":")[0] in graph)
    unknown = [k for k in (input_shapes or {}) if k not in used]
    if unknown:
        raise TfflopsError(f"`input_shapes`: no node named {unknown[0]!r} in either graph")
    result = _join(*graphs, *profiles)
    if not outputs:
        chosen = [", ".join(p.outputs) for p in profiles]
        result.notes.append(
            f"outputs not given; took each model's (its signature's, else its sinks): "
            f"{' | '.join(chosen)}"
        )
    defaulted = sorted({name for p in profiles for name in p.shapes.defaulted_batch})
    for name in defaulted:
        result.notes.append(f"input {name}: unknown batch dimension set to 1 (use --input-shape)")
    graph_difference = result.totals["graph_flops"]["difference"]
    tfprof_difference = result.totals["tfprof_flops"]["difference"]
    if convention == "tfprof" and tfprof_difference not in (None, graph_difference):
        result.notes.append(
            f"tf.profiler's difference ({tfprof_difference:+,}) is not tfflops' "
            f"({graph_difference:+,}): see the nodes with status mismatch or unsupported"
        )
    return result


def compare_freeze(
    model: str | os.PathLike,
    outputs: Sequence[str] | str | None = None,
    input_shapes: dict[str, Sequence[int | None]] | None = None,
    convention: str = "tfprof",
    tfprof: bool = True,
    *,
    signature: str | None = None,
    tag_set: Sequence[str] | str | None = None,
    training: bool = False,
    device=None,
) -> Comparison:
    """``model`` against itself frozen to ``outputs``, in memory, executing nothing.

    ``outputs`` None takes the model's signature outputs, else its sinks, as ``profile``
    does. FLOPs depend on shapes, not values, so the frozen graph's constants are
    zero-filled stand-ins of the variables' shapes (``tfflops freeze`` reads the real
    values).
    """
    source = str(model)
    target = open_target(model, outputs, input_shapes, signature, tag_set)
    graph, names, input_shapes = target.graph, target.outputs, target.input_shapes
    graph_def = graph.graph_def
    plan = plan_freeze(graph, names)
    frozen = apply_freeze(plan, placeholder_values(plan))
    result = compare(
        graph_def,
        frozen,
        names,
        input_shapes,
        convention,
        tfprof,
        labels=(source, f"{source} frozen to {','.join(names)} (in memory)"),
        training=training,
        device=device,
    )
    result.notes[:0] = plan.notes
    if plan.variables:
        result.notes.append(
            f"the frozen side holds zeros of the {len(plan.variables)} variable(s)' shapes: "
            "nothing was executed (`tfflops freeze` writes the graph with real values)"
        )
    return result


def _graph_flops(p: Profile) -> int:
    return sum(p.flops_of(r) for r in p.rows)


def _join(before_graph: Graph, after_graph: Graph, before: Profile, after: Profile) -> Comparison:
    b_rows = {r.name: (r, v) for r, v in zip(before.rows, before.verdicts, strict=True)}
    a_rows = {r.name: (r, v) for r, v in zip(after.rows, after.verdicts, strict=True)}
    nodes: list[NodeDiff] = []
    for name, (r, v) in b_rows.items():
        other = a_rows.get(name)
        nodes.append(_diff(name, "both" if other else "before", before, (r, v), after, other))
    for name, pair in a_rows.items():
        if name not in b_rows:
            nodes.append(_diff(name, "after", before, None, after, pair))
    result = Comparison(before, after, nodes)
    _match_renamed(result, b_rows, a_rows)
    _attribute(result, before_graph, after_graph, b_rows)
    return result


def _diff(name, side, before: Profile, b, after: Profile, a) -> NodeDiff:
    def figures(p: Profile, pair):
        if pair is None:
            return None, 0, None, 0, 0
        r, v = pair
        return r.op, p.flops_of(r), v.tfprof_flops, r.params, r.bytes

    op_b, flops_b, tfprof_b, params_b, bytes_b = figures(before, b)
    op_a, flops_a, tfprof_a, params_a, bytes_a = figures(after, a)
    return NodeDiff(
        name, side, op_b, op_a, flops_b, flops_a, tfprof_b, tfprof_a, params_b, params_a, bytes_b,
        bytes_a,
    )  # fmt: skip


def _match_renamed(result: Comparison, b_rows: dict, a_rows: dict) -> None:
    """Pair inference nodes only in before with ones only in after: same op, shapes, count."""

    def key(pair, p: Profile):
        r, _ = pair
        return (r.op, json.dumps(r.output_shapes), p.flops_of(r))

    waiting: dict[tuple, list[NodeDiff]] = defaultdict(list)
    for n in result.nodes:
        if n.side == "after" and a_rows[n.name][0].phase == INFERENCE:
            waiting[key(a_rows[n.name], result.after)].append(n)
    gone = []
    for n in result.nodes:
        if n.side != "before" or b_rows[n.name][0].phase != INFERENCE:
            continue
        if n.op_before in _READ_OPS or n.op_before == "Const":
            continue  # reads and constants are not renamed; they go with the variables
        candidates = waiting.get(key(b_rows[n.name], result.before))
        if candidates:
            match = candidates.pop(0)
            n.side, n.after_name, n.op_after = "renamed", match.name, match.op_after
            n.flops_after, n.tfprof_after = match.flops_after, match.tfprof_after
            n.params_after, n.bytes_after = match.params_after, match.bytes_after
            gone.append(match)
    result.nodes = [n for n in result.nodes if all(n is not g for g in gone)]


@dataclass
class _BeforeFacts:
    """What the before graph says about its nodes, for telling causes apart."""

    phase: dict[str, str]
    training: set[str]  # feeds an optimizer (Apply*) and nothing the outputs need
    saving: set[str]  # save/restore and summaries, and what feeds only them
    by_data: set[str]  # the outputs' values depend on these
    constant: set[str]  # computed from constants alone
    lowered: bool  # before has If/While/Case and after has Switch/Merge in their place
    functional: set[str]  # If/While/Case nodes and the nodes reading their outputs

    @classmethod
    def of(cls, before: Graph, after: Graph, phase: dict[str, str], outputs) -> _BeforeFacts:
        def feeding(sinks: list[str]) -> set[str]:
            """What feeds ``sinks``, and what only they feed (``train``, a NoOp grouping)."""
            region = {n for n in ancestors(before, sinks) if phase.get(n) != INFERENCE}
            for name in before.topological_order():
                preds = [r.node for r in before.inputs[name]] + before.control_inputs[name]
                if preds and phase.get(name) != INFERENCE and all(p in region for p in preds):
                    region.add(name)
            return region

        ops = {name: node.op for name, node in before.nodes.items()}
        functional = {n for n, op in ops.items() if op in CALL_OPS and CALL_OPS[op].kind != "call"}
        functional |= {r for n in functional for r in before.consumers[n]}
        return cls(
            phase=phase,
            training=feeding([n for n, op in ops.items() if is_training_op(op)]),
            saving=feeding(
                [
                    n
                    for n, op in ops.items()
                    if _SAVE_SCOPE.match(n) or "Summary" in op or op in SAVE_RESTORE_OPS
                ]
            ),
            by_data=data_ancestors(before, outputs),
            constant=_constant_only(before),
            lowered=bool(functional) and any(n.op in _LOWERED_OPS for n in after.nodes.values()),
            functional=functional,
        )

    def cause(self, name: str, op: str) -> str:
        """Why a node only in before is gone."""
        phase = self.phase[name]
        if phase != INFERENCE and (
            name in self.training or is_training_op(op) or _in_gradients(name)
        ):
            return "training"
        if name in self.saving or (phase != INFERENCE and "Summary" in op):
            return "save_summary"
        if op in ASSIGN_OPS:
            return "assign"
        if phase == INIT:
            return "initializers"
        if phase == INFERENCE and name not in self.by_data:
            return "control_edges"
        if name in self.functional and self.lowered:
            return "control_flow"
        if phase == INFERENCE and name in self.constant and op != "Const":
            return "constant_folding"
        if op in _READ_OPS:
            return "variables"
        return "unused" if phase == OTHER else "removed"


def _attribute(result: Comparison, before: Graph, after: Graph, b_rows: dict) -> None:
    """Give every changed node its cause (see the module doc), and each cause its details."""
    phase = {name: pair[0].phase for name, pair in b_rows.items()}
    facts = _BeforeFacts.of(before, after, phase, result.before.outputs)
    lowered = _lowered_region(after) if facts.lowered else set()
    for n in result.nodes:
        if n.side == "renamed":
            n.cause = "renamed"
        elif n.side == "before":
            n.cause = facts.cause(n.name, n.op_before)
        elif n.side == "both":
            if n.op_before != n.op_after and n.op_before in _READ_OPS and not n.flops_difference:
                n.cause = "variables"  # VariableV2 → Const, ReadVariableOp → Identity
            elif n.flops_difference or n.tfprof_difference or n.op_before != n.op_after:
                n.cause = "changed"
    gone = {n.cause for n in result.nodes if n.side == "before"}
    for n in result.nodes:
        if n.side != "after":
            continue
        if n.name in lowered:
            n.cause = "control_flow"
        elif n.op_after in _READ_OPS | {"Const"} and not n.flops_after:
            # A new constant: one folded from a constant-only subgraph, or a variable's value.
            n.cause = next((c for c in ("constant_folding", "variables") if c in gone), "added")
        else:
            n.cause = "added"
    result.details["initializers"] = _initializer_details(result, before, b_rows)
    for cause in CAUSES:
        if cause == "initializers":
            continue
        changed = sorted(
            (n for n in result.nodes if n.cause == cause and n.flops_difference),
            key=lambda n: (-abs(n.flops_difference), n.name),
        )
        result.details[cause] = [
            f"{n.display_name} ({n.op_before or n.op_after}) {n.flops_difference:+,}"
            for n in changed[:3]
        ] + ([f"… {len(changed) - 3} more"] if len(changed) > 3 else [])


def _initializer_details(result: Comparison, before: Graph, b_rows: dict) -> list[str]:
    """Per variable: its shape, the kind of initializer, the FLOPs of each of its nodes."""
    init_nodes = {n.name: n for n in result.nodes if n.cause == "initializers"}
    lines = []
    claimed: set[str] = set()
    for name, node in before.nodes.items():
        if node.op not in ASSIGN_OPS or name not in b_rows or not before.inputs[name]:
            continue
        variable = before.inputs[name][0].node
        chain = [
            n
            for n in ancestors(before, [name])
            if n in init_nodes and n not in claimed and n != variable
        ]
        claimed.update(chain)
        counted = [init_nodes[n] for n in before.nodes if n in chain and init_nodes[n].flops_before]
        if not counted:
            continue
        kinds = {_RANDOM_KINDS.get(before.nodes[n].op) for n in chain} - {None}
        kind = "/".join(sorted(kinds)) or "initial value"
        shape = b_rows[variable][0].output_shapes[0] if variable in b_rows else None
        figures = " + ".join(f"{n.flops_before:,}" for n in counted)
        lines.append((f"{variable} {shape}", f"{kind}: {figures}"))
    width = max((len(head) for head, _ in lines), default=0)
    return [f"{head:<{width}}  {tail}" for head, tail in lines]


def _in_gradients(name: str) -> bool:
    return "gradients" in name.split("/")[:2]


def _constant_only(graph: Graph) -> set[str]:
    """Nodes computed from Const nodes alone (no input, variable or random op upstream)."""
    constant: set[str] = set()
    for name in graph.topological_order():
        node = graph.nodes[name]
        inputs = graph.inputs[name]
        if node.op == "Const" or (
            inputs
            and all(ref.node in constant for ref in inputs)
            and node.op not in _RANDOM_KINDS
            and "Random" not in node.op
        ):
            constant.add(name)
    return constant


def _lowered_region(graph: Graph) -> set[str]:
    """Nodes from a Switch or Enter down to a Merge or Exit: a v1 cond's or loop's body."""
    region: set[str] = set()
    stack = [n for n, node in graph.nodes.items() if node.op in _LOWERED_OPS]
    while stack:
        name = stack.pop()
        if name in region:
            continue
        region.add(name)
        if graph.nodes[name].op in MERGE_OPS | EXIT_OPS:
            continue
        stack.extend(graph.consumers[name])
    return region
