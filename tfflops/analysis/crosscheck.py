"""Join the analytic count with tf.profiler's, node by node: one status per node.

* ``match``       the ``tfprof`` convention equals tf.profiler on this node;
* ``explained``   they differ for a known reason, given in the note (tf.profiler saw an
                  incomplete shape and counted 0), or there was nothing to compare with
                  (``--no-tfprof``);
* ``mismatch``    they differ for no known reason: a bug in one of the two;
* ``unsupported`` tfflops cannot count the node (no formula, or its shapes stay unknown).

The status always compares the ``tfprof`` convention, whatever convention the figures
are shown in, so a mismatch always means something.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tfflops.analysis.counter import NodeCount
from tfflops.graph.phases import INIT

MATCH, MISMATCH, EXPLAINED, UNSUPPORTED = "match", "mismatch", "explained", "unsupported"

# tf.profiler computes a node's figure in numpy int64: from 2**63 on it wraps around.
TFPROF_INT64_LIMIT = 2**63


@dataclass
class TfprofResult:
    """tf.profiler's figures: per node (nodes it counts 0 are absent) and in total."""

    total: int
    per_node: dict[str, int]
    incomplete: set[str] = field(default_factory=set)  # nodes TF saw with a partial shape


@dataclass(frozen=True, slots=True)
class Verdict:
    status: str
    note: str
    tfprof_flops: int | None


def runs_note(runs: int) -> str:
    """What a node's figures rest on when it does not run once per run of the graph."""
    if not runs:
        return (
            "never runs (a branch its predicate rules out, or a loop of no iteration): "
            "0 under macs/exact/exact-bias/full, tfprof as tf.profiler counts it"
        )
    return (
        f"runs {runs} times (a loop): counted {runs}× under macs/exact/exact-bias/full, "
        "once under tfprof, as tf.profiler counts it"
    )


def crosscheck(
    rows: list[NodeCount], tfprof: TfprofResult | None, unchecked_reason: str = "--no-tfprof"
) -> list[Verdict]:
    """A Verdict per row, in the same order; without tf.profiler's figures, says why."""
    # Without them most rows get the same verdict: one object, shared (a Verdict is frozen).
    unchecked = Verdict(EXPLAINED, f"not cross-checked ({unchecked_reason})", None)
    return [_verdict(row, tfprof, unchecked) for row in rows]


def _verdict(row: NodeCount, tfprof: TfprofResult | None, unchecked: Verdict) -> Verdict:
    actual = None if tfprof is None else tfprof.per_node.get(row.name, 0)
    notes = []
    if row.phase == INIT:  # what tf.profiler does with it, only where it ran
        notes.append(
            "init phase, not in flops"
            if tfprof is None
            else "init phase: counted by tf.profiler before freezing, not in flops"
        )
    if row.note:  # a call node: its function bodies, counted by tfflops alone
        notes.append(row.note)
    if row.runs != 1:
        notes.append(runs_note(row.runs))
    if row.cost is None:
        notes.insert(0, row.problem or "not counted")
        if actual:
            notes.append(f"tf.profiler counts {actual}")
        return Verdict(UNSUPPORTED, "; ".join(notes), actual)
    if tfprof is None:
        return Verdict(EXPLAINED, "; ".join([unchecked.note, *notes]), None) if notes else unchecked
    expected = row.cost.tfprof
    if expected >= TFPROF_INT64_LIMIT:
        notes.insert(0, f"tf.profiler's int64 arithmetic cannot hold {expected} (2^63 or more)")
        return Verdict(EXPLAINED, "; ".join(notes), actual)
    if expected == actual:
        return Verdict(MATCH, "; ".join(notes), actual)
    if actual == 0 and row.note is not None:
        # A call node (If, While, PartitionedCall, ...): tf.profiler never looks inside a
        # function; tfflops counts the bodies as tf.profiler does once they are lowered.
        if row.call:
            notes.append(
                "function body counted by tfflops; tf.profiler sees none of it "
                f"(lowered, it would count {expected})"
            )
        return Verdict(EXPLAINED, "; ".join(notes), actual)
    if actual == 0 and row.name in tfprof.incomplete:
        notes.insert(0, f"tf.profiler saw an incomplete shape and counted 0 (tfflops: {expected})")
        return Verdict(EXPLAINED, "; ".join(notes), actual)
    notes.insert(0, f"tfflops (tfprof convention) {expected} != tf.profiler {actual}")
    return Verdict(MISMATCH, "; ".join(notes), actual)
