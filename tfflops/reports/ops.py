"""``tfflops ops``: every supported op, grouped by formula, and the zero-cost ones."""

from __future__ import annotations

from tfflops.analysis.ops import REGISTRY, ZERO_COST
from tfflops.reports.layout import PLAIN, Screen, wrap, wrap_items


def render_ops(screen: Screen = PLAIN) -> str:
    """Each formula's ops (continued two columns in), then its rule (four columns in)."""
    by_formula: dict = {}
    for op, fn in sorted(REGISTRY.items()):
        by_formula.setdefault(fn, []).append(op)
    out = []
    for fn, ops in by_formula.items():
        doc = (fn.__doc__ or "").strip().splitlines()
        out += wrap_items(ops, screen.width, "", "  ")
        out += wrap(doc[0] if doc else "", screen.width, "    ", "      ")
    zero = sorted(ZERO_COST)
    out += ["", *wrap_items(zero, screen.width, f"zero cost ({len(zero)}): ", "  ")]
    return "\n".join(out) + "\n"
