"""A profile → a table, JSON, CSV, Markdown or HTML."""

from __future__ import annotations

import csv
import io
import json
import textwrap

from tfflops.analysis.conventions import unit
from tfflops.analysis.profile import NODE_COLUMNS, Profile
from tfflops.numbers import humanize
from tfflops.reports.html import render_html
from tfflops.reports.text import (
    WIDTH,
    clip,
    clip_end,
    group_rows,
    text_grid,
    totals_lines,
)

FORMATS = ("table", "json", "csv", "markdown", "html")


def render(p: Profile, fmt: str = "table", by: str | None = None, top: int | None = None) -> str:
    """The report in ``fmt``; ``by`` groups rows (node, op, scope), ``top`` keeps the largest."""
    if fmt == "json":
        return json.dumps(p.to_dict(), indent=1) + "\n"
    if fmt == "csv":
        return _csv(p, by or "node", top)
    if fmt == "markdown":
        return _markdown(p, by or "op", top)
    if fmt == "html":
        return render_html(p)
    return _table(p, by, top)


def _sorted(rows: list[dict], top: int | None) -> list[dict]:
    rows = sorted(rows, key=lambda r: (-r["flops"], -r["params"], r["name"]))
    return rows[:top] if top else rows


def _csv(p: Profile, by: str, top: int | None) -> str:
    out = io.StringIO()
    if by == "node":
        rows = p.leaf_records()
        if top:
            rows = _sorted(rows, top)
        fields = [*NODE_COLUMNS, "function"]
        writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow({**r, "output_shapes": json.dumps(r["output_shapes"])})
        return out.getvalue()
    cols = [by, "count", "flops", "tfprof_flops", "params", "bytes"]
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(cols)
    for r in _sorted(group_rows(p, by), top):
        writer.writerow(
            [r["name"], r["count"], r["flops"], r["tfprof_flops"], r["params"], r["bytes"]]
        )
    return out.getvalue()


def _table(p: Profile, by: str | None, top: int | None) -> str:
    top = 10 if top is None else top
    u = unit(p.convention)
    out = [_header(p), ""]
    width = max(len(k) for k, _ in totals_lines(p))
    out += [f"  {k:<{width}}  {v}" for k, v in totals_lines(p)]
    groupings = [by] if by else ["op", "node"]
    shown = False
    for grouping in groupings:
        rows = [
            r for r in group_rows(p, grouping) if r["flops"] or r["tfprof_flops"] or r["params"]
        ]
        rows = _sorted(rows, None if grouping == "op" and not by else top)
        if rows:
            out += ["", _grid(rows, grouping, u, p.totals["flops"])]
            shown = True
    if not shown:
        out += ["", "  no node the outputs need has FLOPs or parameters"]
    if p.notes:
        out += ["", "notes:"] + [
            textwrap.fill(n, WIDTH, initial_indent="  - ", subsequent_indent="    ")
            for n in p.notes
        ]
    return "\n".join(out) + "\n"


def _header(p: Profile) -> str:
    """'MODEL  →  OUTPUTS   [convention: C]' in WIDTH columns, the convention always shown."""
    tail = f"   [convention: {p.convention}]"
    room = WIDTH - len(tail) - 5  # for the model and the outputs
    outputs = ", ".join(p.outputs)
    more = f" (+{len(p.outputs) - 1} more)" if len(p.outputs) > 1 else ""
    if more and len(p.model) + len(outputs) > room:
        outputs = p.outputs[0] + more
    model = clip(p.model, max(room - len(outputs), min(len(p.model), room // 2)))
    if len(model) + len(outputs) > room:  # names keep their end, as in the grid
        outputs = clip(p.outputs[0], room - len(model) - len(more)) + more
    return f"{model}  →  {outputs}{tail}"


def _grid(rows: list[dict], by: str, u: str, total: int) -> str:
    head = {"node": "node", "op": "op type", "scope": "scope"}[by]
    cols = [head, "n" if by != "node" else "op", u, "%", "tf.profiler", "params"]
    body = []
    for r in rows:
        share = f"{100 * r['flops'] / total:.1f}" if total else "-"
        second = r["op"] if by == "node" else str(r["count"])
        body.append(
            [
                r["name"],
                second,
                humanize(r["flops"]),
                share,
                humanize(r["tfprof_flops"]),
                humanize(r["params"]),
            ]
        )
    widths = [
        max(len(c), *(len(b[i]) for b in body)) if body else len(c) for i, c in enumerate(cols)
    ]
    # Long names give way first (kept: their end), then long op types (kept: their start).
    excess = sum(widths) + 2 * (len(widths) - 1) - WIDTH
    for i, least, shorten in ((0, 16, clip), (1, 10, clip_end)):
        cut = min(max(excess, 0), max(widths[i] - least, 0))
        widths[i] -= cut
        excess -= cut
        for b in body:
            b[i] = shorten(b[i], widths[i])
    return text_grid(cols, body, "llrrrr")


def _markdown(p: Profile, by: str, top: int | None) -> str:
    u = unit(p.convention)
    out = [
        f"# {p.model}",
        "",
        f"Outputs: `{', '.join(p.outputs)}` · convention: `{p.convention}`",
        "",
    ]
    out += ["| figure | value |", "|---|---:|"] + [f"| {k} | {v} |" for k, v in totals_lines(p)]
    head = {"node": "node", "op": "op type", "scope": "scope"}[by]
    out += [
        "",
        f"| {head} | count | {u} | tf.profiler | params | bytes |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in _sorted(group_rows(p, by), top):
        tf = "-" if r["tfprof_flops"] is None else f"{r['tfprof_flops']:,}"
        figures = f"{r['flops']:,} | {tf} | {r['params']:,} | {r['bytes']:,}"
        out.append(f"| `{r['name']}` | {r['count']} | {figures} |")
    if p.notes:
        out += ["", *[f"- {n}" for n in p.notes]]
    return "\n".join(out) + "\n"
