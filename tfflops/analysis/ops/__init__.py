"""The op table: per op family, each op's shape function and cost side by side.

``OPS[op]`` is an OpSpec (shape function or WALKER; formula, ZERO or VIEW). An op not in
the table is unsupported: the counter reports it as data, never as a silent 0. How to add
an op: docs/architecture.md. The families:

views        sources, identities, variables, control flow, checkpoints, summaries
elementwise  arithmetic, comparisons, activations and their gradients, AddN, Select, Cast
contraction  MatMul, BatchMatMul, convolutions and their gradients, Einsum, fused forms
pooling      max/average pooling, 2-D and 3-D, fractional, and gradients
reduce       reductions, scans, softmax, batch norm, LRN, losses
image        resizing
quantized    eight-bit kernels: integer multiply-accumulates, (de)quantization
training     optimizer updates: Apply*, ResourceApply*, SparseApply* (per gradient element)
array        shapes and data movement: reshape, slice, gather, concat, pad, tile, fill
lists        TensorLists (tf.TensorArray, Keras RNN steps): element shapes through handles
calls        function calls and functional control flow (shapes by the walker)
"""

from __future__ import annotations

from tfflops.analysis.ops import (  # noqa: F401  (each module registers its ops)
    array,
    calls,
    contraction,
    elementwise,
    image,
    lists,
    pooling,
    quantized,
    reduce,
    training,
    views,
)
from tfflops.analysis.ops.base import (
    MAX_VALUE_ELEMENTS,
    OPS,
    REGISTRY,
    VIEW,
    VIEW_OPS,
    WALKER,
    ZERO,
    ZERO_COST,
    Cost,
    Formula,
    ListItems,
    OpSpec,
    OpView,
    ShapeCtx,
    TensorInfo,
    UnknownShape,
    register,
)

__all__ = [
    "MAX_VALUE_ELEMENTS",
    "OPS",
    "REGISTRY",
    "VIEW",
    "VIEW_OPS",
    "WALKER",
    "ZERO",
    "ZERO_COST",
    "Cost",
    "Formula",
    "ListItems",
    "OpSpec",
    "OpView",
    "ShapeCtx",
    "TensorInfo",
    "UnknownShape",
    "lookup",
    "register",
]


def lookup(op: str) -> Formula | None:
    """The formula registered for ``op``, or None (zero-cost or unsupported)."""
    return REGISTRY.get(op)
