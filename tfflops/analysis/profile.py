"""A profile: every node's figures and verdict, the totals, and what they rest on."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tfflops.analysis.conventions import node_flops, unit
from tfflops.analysis.counter import NodeCount
from tfflops.analysis.crosscheck import MISMATCH, TFPROF_INT64_LIMIT, Verdict, runs_note
from tfflops.analysis.devices import Device
from tfflops.analysis.layers import DEFAULT_DEPTH, layer_names
from tfflops.analysis.loops import Loop
from tfflops.analysis.memory import Memory, output_bytes
from tfflops.analysis.ops import lookup
from tfflops.analysis.ops.custom import CUSTOM, is_custom, replaced_ops
from tfflops.analysis.roofline import (
    NO_KERNEL,
    Estimate,
    combine,
    compute_dtype,
    estimate,
    intensity,
)
from tfflops.analysis.shapes import ShapeResult
from tfflops.graph.phases import INFERENCE, INIT, OTHER
from tfflops.graph.tensors import dtype_name

if TYPE_CHECKING:  # (the training modules load with --training only: start-up time)
    from tfflops.analysis.training import TrainingStep

# How many function-body rows the views list before a call node stays one row.
MAX_LEAF_ROWS = 100_000

NODE_COLUMNS = (
    "name",
    "op",
    "phase",
    "flops",
    "tfprof_flops",
    "params",
    "bytes",
    "output_shapes",
    "dtype",
    "status",
    "note",
    "layer",
    "output_bytes",
    "intensity",
    "bound",
    "est_seconds",
    "measured_seconds",
)


@dataclass(repr=False)
class Profile:
    """The result of ``tfflops.profile``: per-node rows, totals and findings."""

    model: str
    outputs: list[str]
    convention: str
    rows: list[NodeCount]
    verdicts: list[Verdict]
    shapes: ShapeResult
    tfprof_total: int | None
    notes: list[str] = field(default_factory=list)
    training: TrainingStep | None = None  # with ``training=True``: one training step
    memory: Memory | None = None  # None: not computed (a Profile built by hand)
    device: Device | None = None  # the roofline's device; None: no estimates
    depth: int = DEFAULT_DEPTH  # name scope components of a layer
    measured: list[float | None] | None = None  # seconds by row, after ``measure``
    loops: list[Loop] = field(default_factory=list)

    def flops_of(self, row: NodeCount, convention: str | None = None) -> int:
        """One node's figure under ``convention`` (default: the profile's); 0 if uncounted."""
        if row.cost is None:
            return 0
        return node_flops(row.cost, convention or self.convention, row.bias)

    def total_flops(self, convention: str | None = None, phase: str = INFERENCE) -> int:
        return sum(self.flops_of(r, convention) for r in self.rows if r.phase == phase)

    def train_flops_estimate(self, convention: str | None = None) -> int | None:
        """The estimated training step: its forward rows' figures plus the backward's
        (``tfflops.analysis.training``); None without ``training=True``, or when forward
        and backward are inside one function (a TF2 training signature)."""
        step = self.training
        if step is None or step.inside:
            return None  # (the forward pass is inside the function that trains)
        forward = sum(self.flops_of(self.rows[i], convention) for i in step.forward)
        return forward + step.backward_flops(convention or self.convention)

    def train_flops(self, convention: str | None = None) -> int | None:
        """One training step: the one the graph holds, counted as it is, else the estimate;
        None without ``training=True``."""
        step = self.training
        if step is None or step.held is None:
            return self.train_flops_estimate(convention)
        return sum(self.flops_of(self.rows[i], convention) for i in step.held)

    def train_uncounted(self) -> list[str]:
        """The nodes ``train_flops`` leaves out: of a training step the graph holds, those
        tfflops cannot count; of an estimate, those whose backward it cannot estimate."""
        step = self.training
        if step is None:
            return []
        if step.held is not None:
            held = [self.rows[i] for i in step.held]
            inside = [u.where for row in held for u in row.uncounted]  # in function bodies
            return [row.name for row in held if row.cost is None] + inside
        return [s.node for s in step.skipped]

    @property
    def totals(self) -> dict:
        """The JSON ``totals``: inference flops, tf.profiler's total, params, bytes, ...,
        and with ``training=True`` one training step's figures; memory, and with a device
        the estimated seconds of the inference phase."""
        inference = [r for r in self.rows if r.phase == INFERENCE]
        memory = self.memory
        seconds = None
        if self.device is not None:
            estimates = zip(self.rows, self.estimates(), strict=True)
            seconds = sum(e.seconds for r, e in estimates if e and r.phase == INFERENCE)
        return {
            "flops": self.total_flops(),
            "tfprof_flops": self.tfprof_total,
            "params": sum(r.params for r in inference),
            "bytes": sum(r.bytes for r in inference),
            "init_flops": self.total_flops(phase=INIT),
            "nodes": len(self.rows),
            "train_flops": self.train_flops(),
            "train_flops_estimate": self.train_flops_estimate(),
            "weight_bytes": None if memory is None else memory.weight_bytes,
            "peak_activation_bytes": None if memory is None else memory.peak_activation_bytes,
            "est_seconds": seconds,
            "device": None if self.device is None else self.device.name,
        }

    def layers(self) -> list[str]:
        """Every row's layer (``tfflops.analysis.layers``), the prefix found from the
        inference phase's names."""
        return layer_names(
            [r.name for r in self.rows], [r.phase == INFERENCE for r in self.rows], self.depth
        )

    def estimates(self) -> list[Estimate | None]:
        """Every row's roofline estimate on the profile's device (a call node's: its
        bodies' nodes' summed; none for one computed from constants alone, which runs
        once, when the graph loads); None for a row tfflops could not count, and for all
        of them without a device."""
        if self.device is None:
            return [None] * len(self.rows)
        constant = None if self.memory is None else self.memory.constant
        return [
            NO_KERNEL if constant and constant[i] and r.cost else self._estimate(r)
            for i, r in enumerate(self.rows)
        ]

    def _estimate(self, row: NodeCount, times: int = 1) -> Estimate | None:
        """The row's roofline estimate, run ``times`` as often (a body a call repeats); a
        call's from its bodies' rows."""
        if self.device is None or row.cost is None:
            return None
        leaves = _leaves(row.inner, [MAX_LEAF_ROWS], times) if row.inner else None
        if leaves is not None:
            return combine([e for r, t in leaves if (e := self._estimate(r, t))])
        full = node_flops(row.cost.repeated(times), "full", row.bias)
        moved = row.bytes * times
        return estimate(full, moved, compute_dtype(row.outputs), row.op, self.device)

    def node_records(self) -> list[dict]:
        memory, measured = self.memory, self.measured
        return [
            {
                "name": r.name,
                "op": r.op,
                "phase": r.phase,
                "flops": self.flops_of(r),
                "tfprof_flops": v.tfprof_flops,
                "params": r.params,
                "bytes": r.bytes,
                "output_shapes": r.output_shapes,
                "dtype": _dtype(r),
                "status": v.status,
                "note": v.note,
                "layer": layer,
                "output_bytes": None if memory is None else memory.output_bytes[i],
                **self._time_fields(r, e),
                "measured_seconds": None if measured is None else measured[i],
            }
            for i, (r, v, layer, e) in enumerate(
                zip(self.rows, self.verdicts, self.layers(), self.estimates(), strict=True)
            )
        ]

    def _time_fields(self, row: NodeCount, e: Estimate | None) -> dict:
        full = None if row.cost is None else self.flops_of(row, "full")
        return {
            "intensity": None if full is None else intensity(full, row.bytes),
            "bound": None if e is None else e.bound,
            "est_seconds": None if e is None else e.seconds,
        }

    def leaf_records(self) -> list[dict]:
        """The node records the node, op and layer views list: a call node's place is taken
        by the nodes of the bodies it runs (``function`` names their function; they take
        the call's phase; tf.profiler never sees them: ``tfprof_flops`` None). The call
        node stays for what its bodies' rows do not account for: its parameters (the
        variables it reads), and any FLOPs not in them."""
        return self._leaves_of(self.node_records())

    def _leaves_of(self, node_records: list[dict]) -> list[dict]:
        """``leaf_records`` from the node records (changed in place)."""
        if not any(row.inner for row in self.rows):  # no body: the records are the views'
            for record in node_records:
                record["function"] = None
            return node_records
        records = []
        budget = [MAX_LEAF_ROWS]
        for record, row in zip(node_records, self.rows, strict=True):
            record["function"] = None
            leaves = _leaves(row.inner, budget) if row.inner and row.cost is not None else None
            if leaves is None:
                records.append(record)
                continue
            inner = [self._inner_record(r, times, row.phase) for r, times in leaves]
            record["flops"] -= sum(r["flops"] for r in inner)
            record["bytes"] -= sum(r["bytes"] for r in inner)
            # what is left of the call is no kernel: its bodies' nodes carry the time
            record.update(intensity=None, bound=None, est_seconds=None, measured_seconds=None)
            if record["flops"] or record["params"] or record["bytes"]:
                records.append(record)
            records.extend(inner)
        # Layers of what the views show: each function's nodes below the prefix they share
        # (a Keras model's name scope is inside its traced function), the graph's apart.
        by_function: dict[str | None, list[dict]] = {}
        for record in records:
            by_function.setdefault(record["function"], []).append(record)
        for group in by_function.values():
            inference = [r["phase"] == INFERENCE for r in group]
            names = layer_names([r["name"] for r in group], inference, self.depth)
            for record, layer in zip(group, names, strict=True):
                record["layer"] = layer
        return records

    def _inner_record(self, row: NodeCount, times: int, phase: str) -> dict:
        """A body's node, its figures ``times`` over (how often the call runs the body)."""
        runs = row.runs * times
        return {
            "name": row.name,
            "op": row.op,
            "phase": phase,
            "flops": 0
            if row.cost is None
            else node_flops(row.cost.repeated(times), self.convention, row.bias),
            "tfprof_flops": None,
            "params": 0,
            "bytes": row.bytes * times,
            "output_shapes": row.output_shapes,
            "dtype": _dtype(row),
            "status": "unsupported" if row.cost is None else "explained",
            "note": "; ".join(
                [row.problem or f"in function {row.function}"]
                + ([runs_note(runs)] if runs != 1 else [])
            ),
            "layer": None,  # set over all the views' records
            "output_bytes": output_bytes(row),
            **self._time_fields(row, self._estimate(row, times)),
            "measured_seconds": None,
            "function": row.function,
        }

    @property
    def nodes(self):
        """A pandas DataFrame, one row per node, the JSON ``nodes`` columns;
        ``tfprof_flops`` and ``output_bytes`` are nullable integers (``Int64``), <NA>
        where tf.profiler did not run or did not count the node, or a size is unknown;
        the seconds are floats, NaN where there are none."""
        import pandas as pd

        frame = pd.DataFrame(self.node_records(), columns=list(NODE_COLUMNS))
        return frame.astype(
            {
                "tfprof_flops": "Int64",
                "output_bytes": "Int64",
                "est_seconds": "float64",
                "measured_seconds": "float64",
            }
        )

    def __repr__(self) -> str:
        t = self.totals
        return (
            f"Profile({self.model!r}, outputs={self.outputs!r}, "
            f"convention={self.convention!r}, flops={t['flops']}, "
            f"tfprof_flops={t['tfprof_flops']}, params={t['params']}, nodes={t['nodes']})"
        )

    def _repr_html_(self) -> str:
        """A notebook's view: the totals, the ops without a formula, the notes."""
        t = self.totals
        rows = [
            (f"FLOPs ({self.convention})", t["flops"]),
            ("tf.profiler FLOPs", t["tfprof_flops"]),
            ("params", t["params"]),
            ("bytes moved", t["bytes"]),
            ("init-phase FLOPs", t["init_flops"]),
            ("nodes", t["nodes"]),
        ]
        cells = "".join(
            f"<tr><th style='text-align:left'>{name}</th><td style='text-align:right'>"
            f"{'not run' if n is None else f'{n:,}'}</td></tr>"
            for name, n in rows
        )
        items = [*self.notes]
        if self.unsupported_ops:
            items.append(f"no formula for: {', '.join(self.unsupported_ops)}")
        import html  # (here: only a notebook's display needs it)

        notes = "".join(f"<li>{html.escape(note)}</li>" for note in items)
        head = f"{html.escape(self.model)} → {html.escape(', '.join(self.outputs))}"
        return f"<p><b>{head}</b></p><table>{cells}</table>" + (
            f"<ul>{notes}</ul>" if notes else ""
        )

    @property
    def unsupported_ops(self) -> dict[str, int]:
        """Op types tfflops has no formula for, with their node counts (function bodies
        included), among the nodes counted (the inference and init phases'); custom ops
        (``register_op``) whose formula could not count a node too."""
        counted = [r for r in self.rows if r.phase != OTHER]
        counts = Counter(r.op for r in counted if r.cost is None and cannot_count(r.op))
        for r in counted:
            if r.inner_unsupported:
                counts.update(r.inner_unsupported)
        return dict(sorted(counts.items()))

    def tfprof_missed(self) -> tuple[int, int, str]:
        """The multiply-accumulates of the outputs' nodes that tf.profiler leaves out, of
        all of theirs, and where they are: nodes it counts 0 for (an op it has no formula
        for, a function call it never looks inside) and a loop's iterations past the
        first (it counts one)."""
        total = missed = repeats = 0
        zero: Counter = Counter()
        for row, verdict in zip(self.rows, self.verdicts, strict=True):
            if row.phase != INFERENCE or row.cost is None or not row.cost.macs:
                continue
            macs = row.cost.macs
            total += macs
            seen = verdict.tfprof_flops
            if seen is None:  # not run: what it would count on the graph as loaded
                seen = 0 if row.inner else row.cost.tfprof
            if not seen:
                missed += macs
                zero[row.op] += 1
            elif row.runs > 1:
                missed += macs - macs // row.runs
                repeats += 1
        where = [f"{op} ×{n}" for op, n in zero.most_common()]
        if repeats:
            where.append(f"later iterations of {repeats} loop node(s)")
        return missed, total, ", ".join(where)

    def status_counts(self) -> dict[str, int]:
        return dict(Counter(v.status for v in self.verdicts))

    def mismatches(self) -> list[str]:
        return [r.name for r, v in zip(self.rows, self.verdicts) if v.status == MISMATCH]

    def to_dict(self) -> dict:
        """Exactly the ``--format json`` document."""
        nodes = self.node_records()
        leaves = (
            self._leaves_of([dict(r) for r in nodes]) if any(r.inner for r in self.rows) else []
        )
        return {
            "model": self.model,
            "outputs": list(self.outputs),
            "convention": self.convention,
            "totals": self.totals,
            "nodes": nodes,
            "function_nodes": [r for r in leaves if r["function"] is not None],
            "unsupported_ops": self.unsupported_ops,
            "notes": list(self.notes),
        }


def findings(p: Profile) -> Iterable[str]:
    """Profile-level explanations: where tf.profiler's total and tfflops' differ, and why."""
    if p.tfprof_total is not None:
        init = _tfprof_figures(p, INIT)
        if init:
            yield (
                f"tf.profiler's total includes {sum(init)} FLOPs of {len(init)} initializer "
                "node(s) (phase init) that freezing removes"
            )
        other = _tfprof_figures(p, OTHER)
        if other:
            yield (
                f"tf.profiler's total includes {sum(other)} FLOPs of nodes the outputs do not need"
            )
        huge = [r.name for r in p.rows if p.flops_of(r, "tfprof") >= TFPROF_INT64_LIMIT]
        if huge:
            yield (
                f"tf.profiler's total is wrong: {len(huge)} node(s) need 2^63 FLOPs or more, "
                f"which its int64 arithmetic cannot hold (e.g. {huge[0]})"
            )
    skipped = _skipped_by_tfprof(p)
    if skipped:
        yield skipped
    unknown = [r.name for r in p.rows if r.cost is None and not cannot_count(r.op)]
    unknown += [inner for r in p.rows for inner in r.inner_unknown]
    if unknown:
        yield f"{len(unknown)} node(s) with unknown shapes not counted, e.g. {unknown[0]}"
    # (custom ops that could not be counted: in _custom_findings)
    unsupported = {op: n for op, n in p.unsupported_ops.items() if not is_custom(op)}
    if unsupported:
        ops = ", ".join(f"{op} ×{n}" for op, n in unsupported.items())
        yield f"ops tfflops has no formula for: {ops}"
    yield from _custom_findings(p)
    statuses = p.status_counts()
    if statuses.get(MISMATCH):
        yield f"{statuses[MISMATCH]} node(s) where tfflops and tf.profiler disagree (mismatch)"
    yield from _time_findings(p)
    if p.training is not None:
        yield from training_findings(p)


def cannot_count(op: str) -> bool:
    """A node of this op type that is not counted is unsupported (no formula, or a custom
    formula that failed on it), not a node whose shapes stayed unknown."""
    return lookup(op) is None or is_custom(op)


def _custom_findings(p: Profile) -> Iterable[str]:
    """Which figures rest on the user's formulas (``register_op``), and what they replace."""
    used = Counter(r.op for r in p.rows if is_custom(r.op) and r.cost is not None)
    if used:
        ops = ", ".join(f"{op} ×{n} ({CUSTOM[op].origin})" for op, n in sorted(used.items()))
        yield f"counted by custom formulas: {ops}"
    failed = [r for r in p.rows if is_custom(r.op) and r.cost is None]
    if failed:
        yield (
            f"{len(failed)} node(s) of custom ops not counted, e.g. {failed[0].name}: "
            f"{failed[0].problem}"
        )
    for op, origin in replaced_ops().items():
        yield f"the built-in formula of {op} is replaced by a custom one ({origin})"


def training_findings(p: Profile) -> Iterable[str]:
    """What ``train_flops`` is made of, and what it leaves out."""
    from tfflops.analysis.training import skipped_summary  # (--training only)

    step, u = p.training, unit(p.convention)
    forward = sum(p.flops_of(p.rows[i]) for i in step.forward)
    backward = step.backward_flops(p.convention)
    estimate = f"{forward + backward:,} = forward {forward:,} + backward {backward:,} {u}"
    how = (
        "the gradients TensorFlow builds for each op w.r.t. the parameters and what is "
        "computed from them (a contraction's: as many MACs as its forward, for its input "
        "and for its weights); no loss, no optimizer update"
    )
    if p.convention == "tfprof":
        how += "; backward ops as tf.profiler counts them (ReluGrad and others: 0)"
    if step.held is None:
        yield f"train_flops {estimate}, estimated: {how}"
    elif step.inside:
        yield (
            f"the graph holds its training step inside {', '.join(step.inside)} "
            f"({step.gradient_nodes} node(s) of its backward pass, {step.updates} optimizer "
            "update(s)): train_flops counts it as it is; no estimate beside it (its forward "
            "pass is inside the same function)"
        )
    else:
        yield (
            f"the graph holds its training step ({step.gradient_nodes} node(s) of its "
            f"backward pass, {step.updates} optimizer update(s)): train_flops counts it as it "
            f"is; train_flops_estimate {estimate} from its forward pass ({how})"
        )
    uncounted = p.train_uncounted()
    if uncounted and step.held is not None:
        yield (
            f"train_flops leaves out {len(uncounted)} node(s) of the training step tfflops "
            f"could not count, e.g. {uncounted[0]}"
        )
    if step.no_gradient and step.held is None:
        yield (
            f"no gradient flows back from {', '.join(step.no_gradient)}: not floating-point "
            "or not computed from the parameters (name the logits or the loss with "
            "`outputs` to estimate their backward pass)"
        )
    if step.skipped:
        figure = "train_flops" if step.held is None else "train_flops_estimate"
        yield f"{figure} leaves out the backward pass of {skipped_summary(step.skipped)}"


def _time_findings(p: Profile) -> Iterable[str]:
    """What the memory figures and the estimated time leave out."""
    memory = p.memory
    if memory is not None and memory.unknown_tensors:
        unknown = memory.unknown_tensors
        yield (
            f"peak_activation_bytes leaves out {len(unknown)} tensor(s) of unknown size, "
            f"e.g. {unknown[0]}"
        )
    params = sum(r.params for r in p.rows if r.phase == INFERENCE)
    if memory is not None and memory.weight_elements != params:
        yield (
            f"weight_bytes covers {memory.weight_elements} of the {params} parameters (not "
            "those inside function bodies)"
        )
    if p.device is not None:
        uncounted = [r.name for r in p.rows if r.phase == INFERENCE and r.cost is None]
        if uncounted:
            yield (
                f"est_seconds leaves out {len(uncounted)} node(s) tfflops could not count, "
                f"e.g. {uncounted[0]}"
            )


def _tfprof_figures(p: Profile, phase: str) -> list[int]:
    """tf.profiler's own non-zero figures for the nodes of ``phase``."""
    return [
        v.tfprof_flops
        for r, v in zip(p.rows, p.verdicts, strict=True)
        if r.phase == phase and v.tfprof_flops
    ]


def _leaves(bodies, budget: list[int], times: int = 1) -> list[tuple[NodeCount, int]] | None:
    """The rows of a call's bodies, each with the times it runs over its own runs, nested
    calls replaced by their own bodies' rows; None when that would list more than
    ``budget[0]`` rows (functions that call each other many times over: the call then
    stays one row), which the budget is charged with otherwise."""
    out = []
    for body in bodies:
        runs = times * body.times
        for row in body.rows:
            nested = _leaves(row.inner, budget, runs) if row.inner and row.cost else None
            if nested is None:
                out.append((row, runs))
                budget[0] -= 1
            else:
                out.extend(nested)
            if budget[0] < 0:
                return None
    return out


def _dtype(row: NodeCount) -> str | None:
    """The dtype of a node's first output (``float``, ``qint32``, ...), None if unknown."""
    dtype = row.outputs[0].dtype if row.outputs else 0
    return dtype_name(dtype) if dtype else None


def _skipped_by_tfprof(p: Profile) -> str | None:
    """The ops tf.profiler counts 0 that cost something, told as fits the run.

    Under ``tfprof`` the figures shown leave them out, so their FLOPs under ``full``
    are named (the convention, not tf.profiler, when it did not run); under another
    convention only where tf.profiler ran (its total leaves them out), in that
    convention's figures. Nothing to say otherwise: a ``macs`` count of a Relu is 0 by
    design, and without tf.profiler there is no total of its to explain.
    """
    ran = p.tfprof_total is not None
    shown_in = "full" if p.convention == "tfprof" else p.convention
    if p.convention != "tfprof" and not ran:
        return None
    skipped = Counter()
    for r in p.rows:
        cost = r.cost
        if cost is not None and not cost.tfprof and r.phase == INFERENCE:
            # a zero cost still places its op: equal figures are named in first-node order
            skipped[r.op] += p.flops_of(r, shown_in) if any(cost) else 0
    skipped = +skipped  # drop the zeros
    if not skipped:
        return None
    ops = ", ".join(f"{op} ({n:,})" for op, n in skipped.most_common())
    figures = f"their {unit(shown_in)} under --convention {shown_in}"
    if p.convention != "tfprof":
        return f"tf.profiler counts 0 for: {ops} — {figures}, in this total, not in its"
    if ran:
        return f"tf.profiler counts 0, and so does the tfprof convention, for: {ops} — {figures}"
    return f"the tfprof convention counts 0, as tf.profiler does, for: {ops} — {figures}"
