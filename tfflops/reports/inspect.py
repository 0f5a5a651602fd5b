"""``tfflops inspect``'s summary → text for a terminal."""

from __future__ import annotations

from tfflops.graph import tensors
from tfflops.reports.layout import PLAIN, Screen, wrap, wrap_items

_UNKNOWN_SHOWN = 5  # nodes with unknown shapes named before "… N more"


def render_summary(summary: dict, screen: Screen = PLAIN) -> str:
    """The summary as text for a terminal, every line within ``screen``'s width."""
    width = screen.width

    def shape_text(shape):
        return tensors.shape_text(shape, "unknown rank")

    def tensor_lines(indent: str, t: dict, label: str = "") -> list[str]:
        name = f"{t['key']} = {t['name']}" if "key" in t and t["key"] != t["name"] else t["name"]
        parts = [f"{label}{name}", t["dtype"], shape_text(t["shape"])]
        return wrap_items(parts, width, indent, indent + "    ", sep="  ")

    def listing(head: str, items: list[str]) -> list[str]:
        return wrap_items(items, width, head, "  ") if items else [head.rstrip()]

    out = [
        *wrap(f"{summary['model']}: {summary['format_detail']}, {summary['nodes']} nodes", width)
    ]
    out.append("")
    if len(summary["tag_sets"]) > 1:
        sets = "; ".join(",".join(t) or "(no tags)" for t in summary["tag_sets"])
        shown = ",".join(summary["tags"]) or "(no tags)"
        out += wrap(f"tag sets: {sets} (showing {shown})", width, "", "  ")
    if summary["signatures"]:
        out.append(f"signatures ({len(summary['signatures'])}):")
        for s in summary["signatures"]:
            chosen = "  (used)" if s["name"] == summary["signature"] else ""
            out += wrap(f"{s['name']}  {s['method']}{chosen}", width, "  ", "    ")
            for role in ("inputs", "outputs"):
                for t in s[role]:
                    out += tensor_lines("    ", t, f"{role[:-1]:6s} ")
    out.append(f"inputs ({len(summary['inputs'])}):")
    for t in summary["inputs"]:
        out += tensor_lines("  ", t)
    if summary["outputs_from"] == "signature":
        out += listing(f"outputs (signature {summary['signature']}): ", summary["outputs"])
    else:
        out += listing("outputs (guessed): ", summary["outputs"])
    if summary["variables"]:
        out.append(f"variables ({len(summary['variables'])}):")
        for t in summary["variables"]:
            out += tensor_lines("  ", t)
    out.append(f"params read by the outputs: {summary['params']:,}")
    out += listing("op types: ", [f"{op} {n}" for op, n in summary["op_types"].items()])
    if summary["functions"]:
        out += listing(f"functions ({len(summary['functions'])}): ", summary["functions"])
        inside = [f"{op} {n}" for op, n in summary["function_op_types"].items()]
        out += wrap_items(inside, width, "  op types inside: ", "    ")
    unknown = summary["unknown_shape_nodes"]
    if unknown:
        shown = unknown[:_UNKNOWN_SHOWN]
        if len(unknown) > len(shown):
            shown.append(f"… {len(unknown) - len(shown)} more (--format json lists all)")
        lines = listing(f"nodes with unknown shapes ({len(unknown)}): ", shown)
        out += [screen.paint(line, "unsupported") for line in lines]
    if summary["uncountable_ops"]:
        lines = listing("ops tfflops cannot count: ", summary["uncountable_ops"])
        out += [screen.paint(line, "unsupported") for line in lines]
    return "\n".join(out) + "\n"
