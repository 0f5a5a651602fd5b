"""A profile's figures as every report shows them: grouped rows and the totals lines."""

from __future__ import annotations

from collections import defaultdict

from tfflops.analysis.conventions import unit
from tfflops.analysis.profile import Profile
from tfflops.analysis.roofline import MEMORY, Estimate, time_by_bound, top_by_bound
from tfflops.graph.phases import INFERENCE
from tfflops.numbers import exact_number, seconds_text

# tf.profiler leaving out one MAC in this many (or more) is said among the totals.
MISSED_SHARE = 100


def group_rows(p: Profile, by: str) -> list[dict]:
    """Inference-phase figures summed per node, op type, top-level name scope or layer
    (``tfflops.analysis.layers``), function bodies' nodes in place of the call nodes that
    run them (``Profile.leaf_records``); ``est_seconds`` stays None without a device."""
    records = p.leaf_records()
    if by == "node":
        return [
            {**r, "count": 1}
            for r in records
            if r["phase"] == INFERENCE
            and (r["flops"] or r["params"] or r["tfprof_flops"] or r["est_seconds"])
        ]
    timed = p.device is not None
    groups: dict[str, dict] = defaultdict(
        lambda: {
            "count": 0,
            "flops": 0,
            "tfprof_flops": 0,
            "params": 0,
            "bytes": 0,
            "est_seconds": 0.0 if timed else None,
        }
    )
    for r in records:
        if r["phase"] != INFERENCE:
            continue
        key = _group_key(r, by)
        g = groups[key]
        g["name"] = key
        g["count"] += 1
        for col in ("flops", "params", "bytes"):
            g[col] += r[col]
        g["tfprof_flops"] = (
            None if r["tfprof_flops"] is None else (g["tfprof_flops"] or 0) + r["tfprof_flops"]
        )
        if timed and r["est_seconds"] is not None:
            g["est_seconds"] += r["est_seconds"]
    return list(groups.values())


def _group_key(record: dict, by: str) -> str:
    if by == "op":
        return record["op"]
    if by == "layer":
        return record["layer"]
    name = record["name"]
    return name.split("/")[0] if "/" in name else "/"


def totals_lines(p: Profile, paint=None) -> list[tuple[str, str]]:
    """(label, value) pairs of the totals, every label naming its unit.

    ``paint(text, status)`` colours the node counts by status (a ``Screen``'s).
    """
    t = p.totals
    u = unit(p.convention)
    lines = [
        (f"{u} ({p.convention})", exact_number(t["flops"])),
        *_train_lines(p),
        (
            "tf.profiler FLOPs",
            "not run (--no-tfprof)"
            if t["tfprof_flops"] is None
            else exact_number(t["tfprof_flops"]),
        ),
        ("params", exact_number(t["params"])),
        ("bytes moved", exact_number(t["bytes"])),
    ]
    if t["weight_bytes"] is not None:
        lines.append(("weight bytes", exact_number(t["weight_bytes"])))
        lines.append(("peak activations", f"{exact_number(t['peak_activation_bytes'])} bytes"))
    if t["est_seconds"] is not None:
        lines.append(("est. time", f"{seconds_text(t['est_seconds'])} on {t['device']}"))
    if t["init_flops"]:
        lines.append((f"init-phase {u}", exact_number(t["init_flops"])))
    if p.loops:
        lines.append(("loops", loops_line(p)))
    missed = missed_line(p)
    if missed:
        lines.append(("tf.profiler skips", missed))
    paint = paint or (lambda text, status: text)
    counts = p.status_counts()
    if t["tfprof_flops"] is None:
        unsupported = counts.get("unsupported", 0)
        shown = f"{unsupported} unsupported"
        checked = "not cross-checked, " + (paint(shown, "unsupported") if unsupported else shown)
    else:
        checked = ", ".join(paint(f"{n} {s}", s) for s, n in sorted(counts.items()))
    lines.append(("nodes", f"{t['nodes']} ({checked})"))
    return lines


def _train_lines(p: Profile) -> list[tuple[str, str]]:
    """With ``training=True``: one training step, and the estimate when the graph holds
    its own; a figure that leaves nodes out says so."""
    t, step = p.totals, p.training
    if step is None:
        return []
    u = unit(p.convention)
    lines = [(f"train {u} ({p.convention})", t["train_flops"], len(p.train_uncounted()))]
    if step.held is not None and not step.inside:
        lines.append((f"train {u} estimate", t["train_flops_estimate"], len(step.skipped)))
    return [
        (label, exact_number(value) + (f" (leaves out {n} node(s), see notes)" if n else ""))
        for label, value, n in lines
    ]


def roofline_summary(p: Profile, top: int = 3) -> dict | None:
    """The estimated time by bound (seconds and shares) and the layers spending the most
    time memory-bound, over what the views show (``Profile.leaf_records``); None without
    a device."""
    if p.device is None:
        return None
    timed = [
        (r["layer"], Estimate(r["est_seconds"], r["bound"]))
        for r in p.leaf_records()
        if r["phase"] == INFERENCE and r["est_seconds"] is not None
    ]
    by_bound = time_by_bound(e for _, e in timed)
    total = sum(by_bound.values())
    return {
        "device": p.device,
        "seconds": by_bound,
        "shares": {b: (s / total if total else 0.0) for b, s in by_bound.items()},
        "memory_layers": top_by_bound([g for g, _ in timed], [e for _, e in timed], MEMORY, top),
    }


def loops_line(p: Profile) -> str:
    """The loops and their trip counts; one of unknown count says it is counted once, one
    whose variables change shape that its count is not exact."""
    shown = [_loop_text(loop) for loop in p.loops[:3]]
    more = f", and {len(p.loops) - 3} more" if len(p.loops) > 3 else ""
    unknown = sum(1 for loop in p.loops if loop.trips is None)
    tail = f" — {unknown} of unknown trip count, counted once: see notes" if unknown else ""
    return ", ".join(shown) + more + tail


def _loop_text(loop) -> str:
    if loop.trips is None:
        return f"{loop.name} ×? (once)"
    inexact = " (shapes change: not exact)" if loop.reshaped and loop.runs > 1 else ""
    return f"{loop.name} ×{loop.trips}{inexact}"


def missed_line(p: Profile) -> str | None:
    """What tf.profiler leaves out of the model's MACs (``Profile.tfprof_missed``), when
    that is one in MISSED_SHARE or more: its total hides it, so the totals say it."""
    missed, macs, where = p.tfprof_missed()
    if not macs or missed * MISSED_SHARE < macs:
        return None
    tenths = missed * 1000 // macs  # rounded down: never 100% unless all
    return f"{tenths / 10}% of the MACs: {where}"
