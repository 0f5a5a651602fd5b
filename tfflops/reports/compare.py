"""A comparison → a table, JSON or Markdown."""

from __future__ import annotations

from operator import itemgetter

from tfflops.analysis.conventions import unit
from tfflops.errors import TfflopsError
from tfflops.numbers import seconds_text
from tfflops.pipelines.compare import Comparison, NodeDiff
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
    wrap_items,
)

FORMATS = ("table", "json", "markdown")


def render_comparison(
    c: Comparison, fmt: str = "table", top: int | None = None, screen: Screen = PLAIN
) -> str:
    """The comparison as ``table``, ``json`` or ``markdown``; ``top`` caps the node rows
    (0: all); a table fits ``screen``."""
    if fmt == "json":
        return json_text(c.to_dict())
    if fmt == "markdown":
        return _markdown(c, top)
    if fmt == "table":
        return _table(c, 20 if top is None else top, screen)
    raise TfflopsError(f"`fmt` {fmt}: a comparison is written as {', '.join(FORMATS)}")


def _totals_rows(c: Comparison) -> list[tuple[str, str, str, str]]:
    u = unit(c.convention)
    names = {
        "flops": f"{u} ({c.convention})",
        "train_flops": f"train {u} ({c.convention})",
        "graph_flops": f"all-phase {u}",
        "tfprof_flops": "tf.profiler FLOPs",
        "init_flops": f"init-phase {u}",
        "params": "params",
        "bytes": "bytes moved",
        "nodes": "nodes",
    }
    rows = []
    for key, f in c.totals.items():
        if key == "est_seconds":
            device = c.before.totals["device"]
            b, a, d = f["before"], f["after"], f["difference"]
            sign = "+" if d and d > 0 else "-" if d else ""
            difference = "0" if d == 0 else f"{sign}{seconds_text(abs(d))}" if d else "-"
            rows.append((f"est. time ({device})", seconds_text(b), seconds_text(a), difference))
        else:
            rows.append((names[key], _n(f["before"]), _n(f["after"]), _signed(f["difference"])))
    return rows


def _n(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _signed(value: int | None) -> str:
    return "-" if value is None else f"{value:+,}" if value else "0"


def _headline(c: Comparison) -> str:
    graph = c.totals["graph_flops"]
    return (
        f"all-phase {unit(c.convention)} {graph['before']:,} → {graph['after']:,} "
        f"({_signed(graph['difference'])}), by cause:"
    )


def _op_change(n: NodeDiff) -> str:
    if n.op_before and n.op_after and n.op_before != n.op_after:
        return f"{n.op_before} → {n.op_after}"
    return n.op_before or n.op_after or ""


def _changed_nodes(c: Comparison) -> list[NodeDiff]:
    """Nodes whose count differs, largest change first."""
    changed = [n for n in c.nodes if n.flops_difference or n.tfprof_difference]
    return sorted(changed, key=lambda n: (-abs(n.flops_difference), n.name))


def _changed_ops(c: Comparison) -> list[dict]:
    return [
        r
        for r in c.ops()
        if r["flops_before"] != r["flops_after"] or r["count_before"] != r["count_after"]
    ]


def _table(c: Comparison, top: int, screen: Screen) -> str:
    u = unit(c.convention)
    width = screen.width
    out = [
        *_header(c, width),
        "",
        *grid(
            _columns(["", "before", "after", "difference"], "lrrr"), _totals_rows(c), width, "  "
        ),
        "",
        *wrap(_headline(c), width),
    ]
    causes = c.causes()
    if not causes:
        out.append("  (no difference)")
    else:
        rows = [
            (x["label"], str(len(x["nodes"])), _signed(x["flops"]), _signed(x["tfprof_flops"]))
            for x in causes
        ]
        heads = ["cause", "nodes", u, "tf.profiler"]
        if causes[0]["tfprof_flops"] is None:  # tf.profiler did not run: no column of its
            heads, rows = heads[:3], [row[:3] for row in rows]
        lines = grid(_columns(heads, "lrrr"[: len(heads)]), rows, width, "  ")
        out += lines[:2]
        for line, cause in zip(lines[2:], causes, strict=True):
            out.append(line)  # each cause's details go under its row
            for detail in cause["details"]:
                out += wrap(detail, width, "      ", "        ")
    ops = _changed_ops(c)
    if ops:
        rows = [
            (
                r["op"],
                f"{r['count_before']} → {r['count_after']}",
                _n(r["flops_before"]),
                _n(r["flops_after"]),
                _signed(r["flops_after"] - r["flops_before"]),
            )
            for r in ops
        ]
        head = ["op type", "n", "before", "after", "difference"]
        out += ["", *grid(_columns(head, "llrrr"), rows, width)]
    changed = _changed_nodes(c)
    kept = changed[:top] if top else changed
    if kept:
        rows = [
            (
                n.display_name,
                _op_change(n),
                _n(n.flops_before),
                _n(n.flops_after),
                _signed(n.flops_difference),
                n.cause or "",
            )
            for n in kept
        ]
        head = ["node", "op", "before", "after", "difference", "cause"]
        out += ["", *grid(_columns(head, "llrrrl"), rows, width)]
    if len(kept) < len(changed):
        out += wrap(_more_nodes(changed, kept, u, "--top 0 for all"), width, "", "  ")
    for side in ("before", "after"):
        only = [n.name for n in c.nodes if n.side == side]
        if only:
            shown = only[:_ONLY_SHOWN]
            if len(only) > len(shown):
                shown.append(f"… {len(only) - len(shown)} more (--format json lists all)")
            head = f"only in {side}: {len(only)} node(s): "
            out += wrap_items(shown, width, head, "  ")
    if c.notes:
        out += ["", "notes:"]
        for note in c.notes:
            out += wrap(note, width, "  - ", "    ")
    return "\n".join(out) + "\n"


_ONLY_SHOWN = 4  # nodes named of those only one side has


def _header(c: Comparison, width: int) -> list[str]:
    """'BEFORE  →  AFTER   [convention: C]' and the outputs; when the models' names leave
    no room for the convention, it ends the outputs' line instead."""
    tail = f"   [convention: {c.convention}]"
    models = (c.before.model, c.after.model)
    outputs = (", ".join(c.before.outputs), ", ".join(c.after.outputs))
    on_models, on_outputs = (
        (tail, "") if len("  →  ".join(models)) + len(tail) <= width else ("", tail)
    )
    before, after = fit_pair(*models, width - len(on_models) - len("  →  "))
    left, right = fit_pair(*outputs, width - len(on_outputs) - len("outputs:   →  "))
    return [f"{before}  →  {after}{on_models}", f"outputs: {left}  →  {right}{on_outputs}"]


def _more_nodes(changed: list[NodeDiff], kept: list[NodeDiff], u: str, hint: str) -> str:
    """'… 11 more changed nodes, 2.3% of FLOPs changed; --top 0 for all'."""
    moved = [{"flops": abs(n.flops_difference)} for n in changed]
    noun = ("changed node", "changed nodes")
    return more_line(moved[len(kept) :], moved, noun, [("flops", f"{u} changed")], hint)


def _columns(heads: list[str], align: str) -> list[Column]:
    """A comparison grid's columns: the text ones (names, op types, causes) give way."""
    return [
        Column(head, itemgetter(i), a, shrink=a == "l", least=16 if i == 0 else 10)
        for i, (head, a) in enumerate(zip(heads, align, strict=True))
    ]


def _markdown(c: Comparison, top: int | None) -> str:
    u = unit(c.convention)
    out = [
        f"# {printable(c.before.model)} → {printable(c.after.model)}",
        "",
        f"Outputs: `{markdown_code(', '.join(c.before.outputs))}` → "
        f"`{markdown_code(', '.join(c.after.outputs))}` · "
        f"convention: `{c.convention}`",
        "",
        "| figure | before | after | difference |",
        "|---|---:|---:|---:|",
        *(f"| {a} | {b} | {d} | {e} |" for a, b, d, e in _totals_rows(c)),
        "",
        _headline(c),
        "",
        f"| cause | nodes | {u} | tf.profiler | details |",
        "|---|---:|---:|---:|---|",
    ]
    for x in c.causes():
        out.append(
            f"| {x['label']} | {len(x['nodes'])} | {_signed(x['flops'])} | "
            f"{_signed(x['tfprof_flops'])} | {'<br>'.join(map(markdown_code, x['details']))} |"
        )
    out += [
        "",
        "| op type | n before | n after | before | after | difference |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in _changed_ops(c):
        out.append(
            f"| `{markdown_code(r['op'])}` | {r['count_before']} | {r['count_after']} | "
            f"{r['flops_before']:,} | {r['flops_after']:,} | "
            f"{_signed(r['flops_after'] - r['flops_before'])} |"
        )
    out += [
        "",
        "| node | op | before | after | difference | cause |",
        "|---|---|---:|---:|---:|---|",
    ]
    changed = _changed_nodes(c)
    kept = changed[:top] if top else changed
    for n in kept:
        out.append(
            f"| `{markdown_code(n.display_name)}` | {markdown_code(_op_change(n))} | "
            f"{n.flops_before:,} | {n.flops_after:,} | {_signed(n.flops_difference)} | "
            f"{markdown_code(n.cause)} |"
        )
    if len(kept) < len(changed):
        out += ["", _more_nodes(changed, kept, u, "`--top 0` for all")]
    for side in ("before", "after"):
        only = [n.name for n in c.nodes if n.side == side]
        if only:
            out += [
                "",
                f"Only in {side} ({len(only)}): "
                + ", ".join(f"`{markdown_code(n)}`" for n in only),
            ]
    if c.notes:
        out += ["", *[f"- {printable(n)}" for n in c.notes]]
    return "\n".join(out) + "\n"
