"""The analytic counter's op table: one registry of pure per-op formulas.

Every TensorFlow op type is exactly one of: registered (a formula ``fn(view) -> Cost``,
in the family modules of this package), zero-cost (``ZERO_COST``, on purpose), or
unsupported (anything else, reported as data by the counter, never a silent 0). See
``tfflops.analysis.ops.base``.
"""

from __future__ import annotations

from tfflops.analysis.ops import calls, contraction, elementwise, pooling, reduce  # noqa: F401
from tfflops.analysis.ops.base import (
    REGISTRY,
    VIEW_OPS,
    ZERO_COST,
    Cost,
    Formula,
    OpView,
    Shape,
    UnknownShape,
    register,
)

__all__ = [
    "REGISTRY",
    "VIEW_OPS",
    "ZERO_COST",
    "Cost",
    "Formula",
    "OpView",
    "Shape",
    "UnknownShape",
    "lookup",
    "register",
]


def lookup(op: str) -> Formula | None:
    """The formula registered for ``op``, or None."""
    return REGISTRY.get(op)
