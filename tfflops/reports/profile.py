"""A profile → a table, JSON, CSV, Markdown or HTML."""

from __future__ import annotations

import csv
import io
import json

from tfflops.analysis.conventions import unit
from tfflops.analysis.profile import NODE_COLUMNS, Profile
from tfflops.numbers import humanize, seconds_text
from tfflops.reports.jsontext import json_text
from tfflops.reports.layout import (
    PLAIN,
    Column,
    Screen,
    fit_pair,
    grid,
    markdown_code,
    more_line,
    printable,
    wrap,
)
from tfflops.reports.text import group_rows, roofline_summary, totals_lines

FORMATS = ("table", "json", "csv", "markdown", "html")


def render(
    p: Profile,
    fmt: str = "table",
    by: str | None = None,
    top: int | None = None,
    screen: Screen = PLAIN,
) -> str:
    """The report in ``fmt``; ``by`` groups rows (node, op, scope, layer), ``top`` keeps the
    largest (0: all); a table fits ``screen``."""
    if fmt == "json":
        return json_text(p.to_dict())
    if fmt == "csv":
        return _csv(p, by or "node", top)
    if fmt == "markdown":
        return _markdown(p, by or "op", top)
    if fmt == "html":
        from tfflops.reports.html import render_html  # (start-up: html only)

        return render_html(p)
    return _table(p, by, top, screen)


def _sorted(rows: list[dict], top: int | None, by_time: bool = False) -> list[dict]:
    """The largest first: by FLOPs (then params), or by estimated time with a device."""
    rows = sorted(
        rows,
        key=lambda r: (
            -(r["est_seconds"] or 0) if by_time else 0,
            -r["flops"],
            -r["params"],
            r["name"],
        ),
    )
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
    cols = [by, "count", "flops", "tfprof_flops", "params", "bytes", "est_seconds"]
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(cols)
    for r in _sorted(group_rows(p, by), top):
        writer.writerow([r["name"], *(r[c] for c in cols[1:])])
    return out.getvalue()


# How a grouping's rows are named, one and many.
_NOUNS = {
    "node": ("node", "nodes"),
    "op": ("op type", "op types"),
    "scope": ("scope", "scopes"),
    "layer": ("layer", "layers"),
}
_DEFAULT_TOP = 10  # rows of a table when --top is not given (the op types: all of them)


def _table(p: Profile, by: str | None, top: int | None, screen: Screen) -> str:
    u = unit(p.convention)
    out = [_header(p, screen.width), ""]
    totals = totals_lines(p, screen.paint)
    width = max(len(k) for k, _ in totals)
    for k, v in totals:  # a long value (the loops, what tf.profiler skips) wraps
        out += wrap(v, screen.width, first=f"  {k:<{width}}  ")
    out += _roofline(p, screen.width)
    shown = False
    for grouping in [by] if by else ["op", "node"]:
        rows = _sorted([r for r in group_rows(p, grouping) if _costs(r)], None, bool(p.device))
        limit = None if grouping == "op" and not by else top
        limit = _DEFAULT_TOP if limit is None and (by or grouping == "node") else limit
        kept = rows[:limit] if limit else rows
        if kept:
            out += ["", *grid(_columns(p, grouping), kept, screen.width)]
            shown = True
        if len(kept) < len(rows):
            figures = [("flops", u), ("params", "params")]
            figures += [("est_seconds", "estimated time")] if p.device else []
            more = more_line(rows[len(kept) :], rows, _NOUNS[grouping], figures, "--top 0 for all")
            out += wrap(more, screen.width, "", "  ")
    if not shown:
        out += ["", "  no node the outputs need has FLOPs or parameters"]
    if p.notes:
        out += ["", "notes:"]
        for note in p.notes:
            out += wrap(note, screen.width, "  - ", "    ")
    return "\n".join(out) + "\n"


def _costs(row: dict) -> bool:
    """Whether a row costs anything a grid shows (rows that cost nothing are left out)."""
    return bool(row["flops"] or row["tfprof_flops"] or row["params"] or row["est_seconds"])


def _roofline(p: Profile, width: int) -> list[str]:
    """The estimated time by bound and the layers most memory-bound (with a device)."""
    summary = roofline_summary(p)
    if summary is None:
        return []
    shares = ", ".join(f"{b}-bound {100 * s:.1f}%" for b, s in summary["shares"].items())
    out = ["", *wrap(f"roofline on {summary['device'].name}: {shares}", width, "  ", "    ")]
    layers = summary["memory_layers"]
    if layers:
        named = ", ".join(f"{name} ({seconds_text(s)})" for name, s in layers)
        out += wrap(f"most time memory-bound: {named}", width, "  ", "    ")
    return out


def _header(p: Profile, width: int) -> str:
    """'MODEL  →  OUTPUTS   [convention: C]' in ``width`` columns, the convention always shown."""
    tail = f"   [convention: {p.convention}]"
    room = width - len(tail) - 5  # for the model and the outputs
    outputs = ", ".join(p.outputs)
    more = f" (+{len(p.outputs) - 1} more)" if len(p.outputs) > 1 else ""
    if not more or len(p.model) + len(outputs) <= room:
        model, outputs = fit_pair(p.model, outputs, room)
    else:  # the first output, shortened if need be, and how many more
        model, first = fit_pair(p.model, p.outputs[0], room - len(more))
        outputs = first + more
    return f"{model}  →  {outputs}{tail}"


def _columns(p: Profile, by: str) -> list[Column]:
    """The one place that decides a profile grid's columns, in order.

    Names give way first when the grid is too wide; the tf.profiler column is there only
    when tf.profiler ran.
    """
    total = p.totals["flops"]
    columns = [Column(_NOUNS[by][0], lambda r: r["name"], "l", shrink=True, least=16)]
    if by == "node":
        columns.append(Column("op", lambda r: r["op"], "l", shrink=True, least=10))
    else:
        columns.append(Column("n", lambda r: str(r["count"]), "l"))
    columns += [
        Column(unit(p.convention), lambda r: humanize(r["flops"])),
        Column("%", lambda r: f"{100 * r['flops'] / total:.1f}" if total else "-"),
    ]
    if p.tfprof_total is not None:
        columns.append(Column("tf.profiler", lambda r: humanize(r["tfprof_flops"])))
    columns.append(Column("params", lambda r: humanize(r["params"])))
    if p.device is not None:
        columns.append(Column("est. time", lambda r: seconds_text(r["est_seconds"])))
    return columns


def _markdown(p: Profile, by: str, top: int | None) -> str:
    u = unit(p.convention)
    out = [
        f"# {printable(p.model)}",
        "",
        f"Outputs: `{markdown_code(', '.join(p.outputs))}` · convention: `{p.convention}`",
        "",
    ]
    out += ["| figure | value |", "|---|---:|"] + [f"| {k} | {v} |" for k, v in totals_lines(p)]
    timed = p.device is not None
    out += [
        "",
        f"| {_NOUNS[by][0]} | count | {u} | tf.profiler | params | bytes |"
        + (" est. time |" if timed else ""),
        "|---|---:|---:|---:|---:|---:|" + ("---:|" if timed else ""),
    ]
    rows = _sorted(group_rows(p, by), None)
    kept = rows[:top] if top else rows
    for r in kept:
        tf = "-" if r["tfprof_flops"] is None else f"{r['tfprof_flops']:,}"
        figures = f"{r['flops']:,} | {tf} | {r['params']:,} | {r['bytes']:,}"
        if timed:
            figures += f" | {seconds_text(r['est_seconds'])}"
        out.append(f"| `{markdown_code(r['name'])}` | {r['count']} | {figures} |")
    if len(kept) < len(rows):
        figures = [("flops", u), ("params", "params")]
        out += ["", more_line(rows[len(kept) :], rows, _NOUNS[by], figures, "`--top 0` for all")]
    if p.notes:
        out += ["", *[f"- {printable(n)}" for n in p.notes]]
    return "\n".join(out) + "\n"
