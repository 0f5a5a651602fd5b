"""The op table's vocabulary: Cost, OpView, the registry and the zero-cost sets.

Every TensorFlow op type is exactly one of:

* **registered** — a formula ``fn(view: OpView) -> Cost`` (modules of this package);
* **zero-cost** — in ``ZERO_COST`` on purpose: no arithmetic under any convention
  (``VIEW_OPS``, its subset, also moves no bytes: identities, reshapes, constants);
* **unsupported** — anything else, reported as data by the counter, never a silent 0.

A formula touches no TensorFlow object, file or logger: tests call it with tuples.
It returns the primitive counts — multiply-accumulates apart from other arithmetic —
plus what tf.profiler reports for the node (quirks included, see ../shared/TFPROF.md);
``tfflops.analysis.conventions`` turns them into one number.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

Shape = tuple[int | None, ...] | None


class UnknownShape(Exception):
    """A formula needs a shape the inference could not determine."""


class OpView(NamedTuple):
    """What a formula sees of one node: shapes of data inputs and outputs, attributes.

    ``num_raw_inputs`` is ``len(node.input)``, control inputs included: tf.profiler's
    AddN formula reads that. ``bodies`` are the Costs of the functions a call node runs
    (If, While, PartitionedCall, ...: see ``tfflops.graph.library``).
    """

    op: str
    inputs: tuple[Shape, ...] = ()
    outputs: tuple[Shape, ...] = ()
    attrs: Mapping[str, Any] = MappingProxyType({})
    num_raw_inputs: int | None = None
    name: str = ""
    bodies: tuple[Cost, ...] = ()

    def in_shape(self, i: int = 0) -> tuple[int, ...]:
        return _known(self.inputs[i] if i < len(self.inputs) else None, f"input {i}")

    def out_shape(self, i: int = 0) -> tuple[int, ...]:
        return _known(self.outputs[i] if i < len(self.outputs) else None, f"output {i}")

    def n_in(self, i: int = 0) -> int:
        """Number of elements of data input i."""
        return math.prod(self.in_shape(i))

    def n_out(self, i: int = 0) -> int:
        """Number of elements of output i."""
        return math.prod(self.out_shape(i))

    def attr(self, key: str, default: Any = None) -> Any:
        return self.attrs.get(key, default)

    def is_nchw(self) -> bool:
        return str(self.attrs.get("data_format", "NHWC")).startswith("NC")


def _known(shape: Shape, what: str) -> tuple[int, ...]:
    if shape is None or None in shape:
        text = "unknown" if shape is None else str(tuple("?" if d is None else d for d in shape))
        raise UnknownShape(f"shape of {what} is {text}")
    return shape  # type: ignore[return-value]


class Cost(NamedTuple):
    """Primitive counts of one node, and tf.profiler's figure for it.

    macs        multiply-accumulates of a contraction (conv, matmul, einsum, ...)
    mac_outputs output elements of that contraction: each sums its products with one
                add fewer than it has products (the ``-1`` of the exact convention)
    arith       other adds, subtracts, multiplies, divides (bias add, Add, Mul, Mean...)
    other       non-arithmetic scalar ops: comparisons, max, exp, rsqrt, tanh, ...
    tfprof      what tf.profiler's float_operation reports for this node
    """

    macs: int = 0
    mac_outputs: int = 0
    arith: int = 0
    other: int = 0
    tfprof: int = 0


Formula = Callable[[OpView], Cost]
REGISTRY: dict[str, Formula] = {}


def register(*ops: str) -> Callable[[Formula], Formula]:
    """Register a formula under TensorFlow op names; a name registered twice is an error."""

    def wrap(fn: Formula) -> Formula:
        for op in ops:
            if op in REGISTRY or op in ZERO_COST:
                raise ValueError(f"op {op} is already in the op table")
            REGISTRY[op] = fn
        return fn

    return wrap


# Ops that read and write nothing worth counting: metadata, views, control, variables.
VIEW_OPS = frozenset(
    {
        "Const",
        "HostConst",
        "Placeholder",
        "PlaceholderV2",
        "PlaceholderWithDefault",
        "Identity",
        "IdentityN",
        "RefIdentity",
        "Snapshot",
        "StopGradient",
        "PreventGradient",
        "CheckNumerics",
        "EnsureShape",
        "Reshape",
        "Squeeze",
        "ExpandDims",
        "Shape",
        "ShapeN",
        "Size",
        "Rank",
        "NoOp",
        "ControlTrigger",
        "VariableV2",
        "Variable",
        "VarHandleOp",
        "TemporaryVariable",
        "ReadVariableOp",
        "VarIsInitializedOp",
        "IsVariableInitialized",
        "Assign",
        "AssignVariableOp",
        "DestroyResourceOp",
        "Switch",
        "RefSwitch",
        "Merge",
        "RefMerge",
        "Enter",
        "RefEnter",
        "Exit",
        "RefExit",
        "NextIteration",
        "RefNextIteration",
        "LoopCond",
        "Print",
        "PrintV2",
        "Assert",
        "SaveV2",
        "RestoreV2",
        "Save",
        "Restore",
        "RestoreSlice",
        "MergeV2Checkpoints",
        "ShardedFilename",
        "StringJoin",
        "ScalarSummary",
        "HistogramSummary",
        "MergeSummary",
        "ImageSummary",
        "TensorSummary",
        "TensorSummaryV2",
    }
)

# No arithmetic under any convention, but data is read and written: movement ops,
# random number generation, integer index bookkeeping.
_MOVEMENT_OPS = frozenset(
    {
        "Pad",
        "PadV2",
        "MirrorPad",
        "ConcatV2",
        "Concat",
        "Pack",
        "Unpack",
        "Split",
        "SplitV",
        "Slice",
        "StridedSlice",
        "Transpose",
        "Tile",
        "Fill",
        "GatherV2",
        "Gather",
        "ResourceGather",
        "GatherNd",
        "OneHot",
        "BroadcastTo",
        "BroadcastArgs",
        "BroadcastGradientArgs",
        "ZerosLike",
        "OnesLike",
        "Range",
        "Cast",
        "Reverse",
        "ReverseV2",
        "DepthToSpace",
        "SpaceToDepth",
        "SpaceToBatchND",
        "BatchToSpaceND",
        "RandomStandardNormal",
        "RandomUniform",
        "RandomUniformInt",
        "TruncatedNormal",
        "RandomShuffle",
        "StatelessRandomNormal",
        "StatelessRandomUniform",
        "StatelessTruncatedNormal",
        "StatelessRandomNormalV2",
        "StatelessRandomUniformV2",
        "StatelessTruncatedNormalV2",
        "Empty",
        "Where",
        "TopKV2",
        "TopK",
    }
)

ZERO_COST = VIEW_OPS | _MOVEMENT_OPS
