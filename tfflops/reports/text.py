"""What every text report shares: totals lines, grouped rows, grids, clipped names."""

from __future__ import annotations

from collections import defaultdict

from tfflops.analysis.conventions import unit
from tfflops.analysis.profile import Profile
from tfflops.graph.phases import INFERENCE
from tfflops.numbers import exact_number

WIDTH = 80  # a table fits an 80-column terminal


def group_rows(p: Profile, by: str) -> list[dict]:
    """Inference-phase figures summed per node, op type or top-level name scope (function
    bodies' nodes in place of the call nodes that run them: ``Profile.leaf_records``)."""
    records = p.leaf_records()
    if by == "node":
        return [
            {**r, "count": 1}
            for r in records
            if r["phase"] == INFERENCE and (r["flops"] or r["params"] or r["tfprof_flops"])
        ]
    groups: dict[str, dict] = defaultdict(
        lambda: {"count": 0, "flops": 0, "tfprof_flops": 0, "params": 0, "bytes": 0}
    )
    for r in records:
        if r["phase"] != INFERENCE:
            continue
        key = r["op"] if by == "op" else (r["name"].split("/")[0] if "/" in r["name"] else "/")
        g = groups[key]
        g["name"] = key
        g["count"] += 1
        for col in ("flops", "params", "bytes"):
            g[col] += r[col]
        g["tfprof_flops"] = (
            None if r["tfprof_flops"] is None else (g["tfprof_flops"] or 0) + r["tfprof_flops"]
        )
    return list(groups.values())


def totals_lines(p: Profile) -> list[tuple[str, str]]:
    """(label, value) pairs of the totals, every label naming its unit."""
    t = p.totals
    u = unit(p.convention)
    lines = [
        (f"{u} ({p.convention})", exact_number(t["flops"])),
        (
            "tf.profiler FLOPs",
            "not run (--no-tfprof)"
            if t["tfprof_flops"] is None
            else exact_number(t["tfprof_flops"]),
        ),
        ("params", exact_number(t["params"])),
        ("bytes moved", exact_number(t["bytes"])),
    ]
    if t["init_flops"]:
        lines.append((f"init-phase {u}", exact_number(t["init_flops"])))
    if t["tfprof_flops"] is None:
        unsupported = p.status_counts().get("unsupported", 0)
        checked = f"not cross-checked, {unsupported} unsupported"
    else:
        checked = ", ".join(f"{n} {s}" for s, n in sorted(p.status_counts().items()))
    lines.append(("nodes", f"{t['nodes']} ({checked})"))
    return lines


def text_grid(head: list[str], rows: list, align: str, indent: str = "") -> str:
    """A text table: a header, a rule, the rows; ``align`` has an ``l`` or ``r`` per column."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(head)]

    def line(cells) -> str:
        padded = (
            cell.ljust(w) if a == "l" else cell.rjust(w)
            for cell, w, a in zip(cells, widths, align, strict=True)
        )
        return (indent + "  ".join(padded)).rstrip()

    rule = indent + "  ".join("-" * w for w in widths)
    return "\n".join([line(head), rule, *(line(r) for r in rows)])


def clip(text: str, width: int) -> str:
    """Keep the end of a long name (the part that tells nodes apart): '…conv1/BiasAdd'."""
    return text if len(text) <= width else "…" + text[-(width - 1) :]


def clip_end(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
