"""A comparison → a table, JSON or Markdown."""

from __future__ import annotations

import json

from tfflops.analysis.conventions import unit
from tfflops.errors import TfflopsError
from tfflops.pipelines.compare import Comparison, NodeDiff
from tfflops.reports.text import clip, text_grid

FORMATS = ("table", "json", "markdown")


def render_comparison(c: Comparison, fmt: str = "table", top: int | None = None) -> str:
    """The comparison as ``table``, ``json`` or ``markdown``; ``top`` caps the node rows."""
    if fmt == "json":
        return json.dumps(c.to_dict(), indent=1) + "\n"
    if fmt == "markdown":
        return _markdown(c, top)
    if fmt == "table":
        return _table(c, 20 if top is None else top)
    raise TfflopsError(f"`fmt` {fmt}: a comparison is written as {', '.join(FORMATS)}")


def _totals_rows(c: Comparison) -> list[tuple[str, str, str, str]]:
    u = unit(c.convention)
    names = {
        "flops": f"{u} ({c.convention})",
        "graph_flops": f"all-phase {u}",
        "tfprof_flops": "tf.profiler FLOPs",
        "init_flops": f"init-phase {u}",
        "params": "params",
        "bytes": "bytes moved",
        "nodes": "nodes",
    }
    return [
        (names[key], _n(f["before"]), _n(f["after"]), _signed(f["difference"]))
        for key, f in c.totals.items()
    ]


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


def _table(c: Comparison, top: int) -> str:
    u = unit(c.convention)
    out = [
        f"{c.before.model}  →  {c.after.model}   [convention: {c.convention}]",
        f"outputs: {', '.join(c.before.outputs)}  →  {', '.join(c.after.outputs)}",
        "",
        text_grid(["", "before", "after", "difference"], _totals_rows(c), "lrrr", "  "),
        "",
        _headline(c),
    ]
    causes = c.causes()
    if not causes:
        out.append("  (no difference)")
    else:
        rows = [
            (x["label"], str(len(x["nodes"])), _signed(x["flops"]), _signed(x["tfprof_flops"]))
            for x in causes
        ]
        lines = text_grid(["cause", "nodes", u, "tf.profiler"], rows, "lrrr", "  ").splitlines()
        out += lines[:2]
        for line, cause in zip(lines[2:], causes, strict=True):
            out.append(line)  # each cause's details go under its row
            out += [f"      {d}" for d in cause["details"]]
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
        out += ["", text_grid(["op type", "n", "before", "after", "difference"], rows, "llrrr")]
    changed = _changed_nodes(c)
    if changed:
        rows = [
            (
                clip(n.display_name, 48),
                _op_change(n),
                _n(n.flops_before),
                _n(n.flops_after),
                _signed(n.flops_difference),
                n.cause or "",
            )
            for n in changed[:top]
        ]
        head = ["node", "op", "before", "after", "difference", "cause"]
        out += ["", text_grid(head, rows, "llrrrl")]
        if len(changed) > top:
            out.append(f"… {len(changed) - top} more node(s) changed (--top N, --format json)")
    for side in ("before", "after"):
        only = [n.name for n in c.nodes if n.side == side]
        if only:
            more = f", … {len(only) - 4} more" if len(only) > 4 else ""
            out.append(f"only in {side}: {len(only)} node(s): {', '.join(only[:4])}{more}")
    if c.notes:
        out += ["", "notes:", *[f"  - {n}" for n in c.notes]]
    return "\n".join(out) + "\n"


def _markdown(c: Comparison, top: int | None) -> str:
    u = unit(c.convention)
    out = [
        f"# {c.before.model} → {c.after.model}",
        "",
        f"Outputs: `{', '.join(c.before.outputs)}` → `{', '.join(c.after.outputs)}` · "
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
            f"{_signed(x['tfprof_flops'])} | {'<br>'.join(x['details'])} |"
        )
    out += [
        "",
        "| op type | n before | n after | before | after | difference |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in _changed_ops(c):
        out.append(
            f"| `{r['op']}` | {r['count_before']} | {r['count_after']} | {r['flops_before']:,} | "
            f"{r['flops_after']:,} | {_signed(r['flops_after'] - r['flops_before'])} |"
        )
    out += [
        "",
        "| node | op | before | after | difference | cause |",
        "|---|---|---:|---:|---:|---|",
    ]
    changed = _changed_nodes(c)
    for n in changed[:top] if top else changed:
        out.append(
            f"| `{n.display_name}` | {_op_change(n)} | {n.flops_before:,} | {n.flops_after:,} | "
            f"{_signed(n.flops_difference)} | {n.cause} |"
        )
    for side in ("before", "after"):
        only = [n.name for n in c.nodes if n.side == side]
        if only:
            out += ["", f"Only in {side} ({len(only)}): " + ", ".join(f"`{n}`" for n in only)]
    if c.notes:
        out += ["", *[f"- {n}" for n in c.notes]]
    return "\n".join(out) + "\n"
