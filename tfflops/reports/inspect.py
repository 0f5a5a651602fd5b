"""``tfflops inspect``'s summary → text for a terminal."""

from __future__ import annotations

from tfflops.graph import tensors


def render_summary(summary: dict) -> str:
    """The summary as text for a terminal."""

    def shape_text(shape):
        return tensors.shape_text(shape, "unknown rank")

    out = [f"{summary['model']}: {summary['format_detail']}, {summary['nodes']} nodes", ""]
    if len(summary["tag_sets"]) > 1:
        sets = "; ".join(",".join(t) or "(no tags)" for t in summary["tag_sets"])
        out.append(f"tag sets: {sets} (showing {','.join(summary['tags']) or '(no tags)'})")
    if summary["signatures"]:
        out.append(f"signatures ({len(summary['signatures'])}):")
        for s in summary["signatures"]:
            chosen = "  (used)" if s["name"] == summary["signature"] else ""
            out.append(f"  {s['name']}  {s['method']}{chosen}")
            for role in ("inputs", "outputs"):
                for t in s[role]:
                    tensor = f"{t['key']} = {t['name']}" if t["key"] != t["name"] else t["name"]
                    out.append(
                        f"    {role[:-1]:6s} {tensor}  {t['dtype']}  {shape_text(t['shape'])}"
                    )
    out.append(f"inputs ({len(summary['inputs'])}):")
    out += [f"  {t['name']}  {t['dtype']}  {shape_text(t['shape'])}" for t in summary["inputs"]]
    if summary["outputs_from"] == "signature":
        out.append(f"outputs (signature {summary['signature']}): {', '.join(summary['outputs'])}")
    else:
        out.append(f"outputs (guessed): {', '.join(summary['outputs'])}")
    if summary["variables"]:
        out.append(f"variables ({len(summary['variables'])}):")
        out += [
            f"  {t['name']}  {t['dtype']}  {shape_text(t['shape'])}" for t in summary["variables"]
        ]
    out.append(f"params read by the outputs: {summary['params']:,}")
    out.append("op types: " + ", ".join(f"{op} {n}" for op, n in summary["op_types"].items()))
    if summary["functions"]:
        out.append(f"functions ({len(summary['functions'])}): {', '.join(summary['functions'])}")
        out.append(
            "  op types inside: "
            + ", ".join(f"{op} {n}" for op, n in summary["function_op_types"].items())
        )
    unknown = summary["unknown_shape_nodes"]
    if unknown:
        shown = ", ".join(unknown[:5]) + (", ..." if len(unknown) > 5 else "")
        out.append(f"nodes with unknown shapes ({len(unknown)}): {shown}")
    if summary["uncountable_ops"]:
        out.append("ops tfflops cannot count: " + ", ".join(summary["uncountable_ops"]))
    return "\n".join(out) + "\n"
