"""A measured model → a table (the slowest kernels beside their estimates) or JSON."""

from __future__ import annotations

from tfflops.analysis.layers import below, shared_prefix
from tfflops.numbers import exact_number, rate_text, seconds_text
from tfflops.pipelines.measure import Measured
from tfflops.reports.jsontext import json_text
from tfflops.reports.layout import PLAIN, Column, Screen, fit_pair, grid, more_line, wrap


def render_measured(m: Measured, fmt: str = "table", top: int = 15, screen: Screen = PLAIN) -> str:
    """``json``: every kernel group; ``table``: totals and the ``top`` slowest groups
    (0: all)."""
    if fmt == "json":
        return json_text(m.to_dict())
    doc = m.to_dict()
    t, p = doc["totals"], m.profile
    tail = f"   [ran on {m.device}]"
    model, outputs = fit_pair(p.model, ", ".join(p.outputs), screen.width - len(tail) - 5)
    threads = f"{m.threads} thread(s)" if m.threads else "all threads"
    lines = [
        ("wall time", f"{seconds_text(t['wall_seconds'])} (median of {m.runs} runs, {threads})"),
        ("kernel time", f"{seconds_text(t['measured_seconds'])} (per-kernel medians, summed)"),
    ]
    if t["est_seconds"] is not None:
        ratio = f"{t['est_over_measured']:.2f}× the wall time"
        lines.append(("est. time", f"{seconds_text(t['est_seconds'])} on {t['device']} ({ratio})"))
    lines += [
        ("FLOPs (full)", exact_number(t["flops"])),
        ("achieved", rate_text(t["achieved_flops_per_s"])),
    ]
    width = max(len(k) for k, _ in lines)
    out = [f"{model}  →  {outputs}{tail}", ""]
    for k, v in lines:
        out += wrap(v, screen.width, f"  {k:<{width}}  ", " " * (width + 4))
    groups = doc["groups"]
    kept = groups[:top] if top else groups
    if kept:
        out += ["", *grid(_columns(p), kept, screen.width)]
    if len(kept) < len(groups):
        figures = [("seconds", "measured time"), ("flops", "FLOPs")]
        more = more_line(
            groups[len(kept) :], groups, ("kernel", "kernels"), figures, "--top 0 for all"
        )
        out += wrap(more, screen.width, "", "  ")
    out += wrap("kernel (n): it covers n nodes (TensorFlow fused or rewrote them)", screen.width)
    notes = [*m.notes, *p.notes]
    if notes:
        out += ["", "notes:"]
        for note in notes:
            out += wrap(note, screen.width, "  - ", "    ")
    return "\n".join(out) + "\n"


def _columns(p) -> list[Column]:
    """A kernel group's row: the node its kernels stand for (below the model's own name),
    their ops, measured and estimated time, their ratio, the FLOP/s achieved."""
    prefix = shared_prefix([r.name for r in p.rows])

    def ops(g: dict) -> str:
        kernel_ops = "+".join(dict.fromkeys(k["op"] for k in g["kernels"]))
        return kernel_ops + (f" ({len(g['covers'])})" if g["fused"] else "")

    def ratio(g: dict) -> str:
        est, seconds = g["est_seconds"], g["seconds"]
        return "-" if est is None or not seconds else f"{est / seconds:.2f}"

    def achieved(g: dict) -> str:
        rate = g["achieved_flops_per_s"]
        return rate_text(rate, "").strip() if rate else "-"

    return [
        Column("node", lambda g: "/".join(below(g["anchor"], prefix)), "l", True, least=28),
        Column("kernel (nodes)", ops, "l", shrink=True, least=12),
        Column("measured", lambda g: seconds_text(g["seconds"])),
        Column("est.", lambda g: seconds_text(g["est_seconds"])),
        Column("est/m", ratio),
        Column("FLOP/s", achieved),
    ]
