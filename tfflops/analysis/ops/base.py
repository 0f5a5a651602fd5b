"""The op table: for each TensorFlow op, its shape function and its cost, side by side.

``register("Conv2D", shape=conv2d_shape)`` over a formula (or ``cost=ZERO``/``VIEW``) puts
an op in the table; a name registered twice is an error, and an op cannot be registered
with one decision and not the other. Every op type is then exactly one of:

* **counted** — a formula ``fn(view: OpView) -> Cost``;
* **zero** — no arithmetic under any convention, but it reads and writes data (a copy, a
  gather, a cast, random numbers); **view** — neither arithmetic nor bytes moved
  (constants, identities, reshapes, control flow, variables);
* **unsupported** — not in the table: reported as data by the counter, never a silent 0.

A shape function ``fn(ctx: ShapeCtx) -> list[TensorInfo]`` sees the node's attributes and
its inputs' TensorInfo (shape, dtype and, for small tensors, the value). A formula sees an
OpView (shapes and attributes as plain values). Neither touches a TensorFlow object, file
or logger: tests call them with tuples. A formula returns the primitive counts —
multiply-accumulates apart from other arithmetic — plus what tf.profiler reports for the
node (quirks included, see ../shared/TFPROF.md); ``tfflops.analysis.conventions`` turns
them into one number.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np

from tfflops.graph import proto
from tfflops.graph.tensors import (
    DT,
    DTYPE_SIZE,
    Shape,
    attr_value,
    base_dtype,
    shape_text,
    valid_elements,
)


class UnknownShape(Exception):
    """A shape function or formula needs something the inference could not determine."""


class OpView(NamedTuple):
    """What a formula sees of one node: shapes of data inputs and outputs, attributes.

    ``num_raw_inputs`` is ``len(node.input)``, control inputs included: tf.profiler's
    AddN formula reads that. ``bodies`` are the Costs of the functions a call node runs
    (If, While, PartitionedCall, ...). ``values`` holds the inputs' values known statically
    (small integer tensors: an axis, a size), as flat tuples of ints, else None.
    """

    op: str
    inputs: tuple[Shape, ...] = ()
    outputs: tuple[Shape, ...] = ()
    attrs: Mapping[str, Any] = MappingProxyType({})
    num_raw_inputs: int | None = None
    name: str = ""
    bodies: tuple[Cost, ...] = ()
    values: tuple[Any, ...] = ()

    def value(self, i: int) -> tuple[int, ...]:
        """Input ``i``'s value as flat ints; UnknownShape when it is not known statically
        (or not integers)."""
        value = self.values[i] if i < len(self.values) else None
        array = None if value is None else np.asarray(value)
        if array is None or array.dtype.kind not in "iub":
            raise UnknownShape(f"value of input {i} is not known statically")
        return tuple(int(v) for v in array.reshape(-1))

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


# ---------------------------------------------------------------- what shape functions see

# Values are kept for tensors up to this many elements: enough for any shape vector,
# small enough that no weight is ever decoded. A shape function checks the size of a value
# before it computes it (never materialize, then drop).
MAX_VALUE_ELEMENTS = 1024


def bounded(count: int) -> bool:
    """Whether a value of ``count`` elements may be computed."""
    return 0 <= count <= MAX_VALUE_ELEMENTS


class ListItems(NamedTuple):
    """What is known of a TensorList's elements: their shape and dtype, and how many."""

    shape: Shape
    dtype: int
    length: int | None = None


class _NotYet:
    """A figure not computed yet (one object: a pickled or copied TensorInfo keeps it)."""

    def __reduce__(self) -> str:
        return "_NOT_YET"


_NOT_YET = _NotYet()


@dataclass(slots=True)
class TensorInfo:
    """What is known of one tensor before running the graph. Never modified once made (its
    size aside, kept when first asked): an op whose output is its input's shape and dtype
    shares the input's TensorInfo.

    ``items``: a TensorList handle's elements (the handle itself is a variant scalar).
    """

    shape: Shape
    dtype: int
    value: np.ndarray | None = None
    items: ListItems | None = None
    # nbytes, once asked (every reader of the tensor asks: its size is computed once)
    _nbytes: int | _NotYet | None = field(default=_NOT_YET, init=False, compare=False, repr=False)

    def nbytes(self) -> int | None:
        """Elements × dtype size (strings: 0); None when the shape is not fully known, or
        is one TensorFlow would refuse (``invalid_shape``: no such tensor exists)."""
        size = self._nbytes
        if size is _NOT_YET:
            elements = valid_elements(self.shape)
            itemsize = DTYPE_SIZE.get(base_dtype(self.dtype), 0)
            size = self._nbytes = None if elements is None else elements * itemsize
        return size

    def reshaped(self, shape: Shape) -> TensorInfo:
        """This tensor with ``shape`` (refined or joined): its value only if unchanged."""
        if shape == self.shape:
            return self
        return TensorInfo(shape, self.dtype, None, self.items)


def info(shape: Shape, dtype: int, value: np.ndarray | None = None) -> TensorInfo:
    """A TensorInfo; a value over MAX_VALUE_ELEMENTS is dropped, a kept one fixes the shape."""
    if value is not None:
        value = np.asarray(value)
        if value.size > MAX_VALUE_ELEMENTS:
            value = None
        else:
            shape = tuple(value.shape)
    elif type(shape) is tuple:
        return TensorInfo(shape, dtype)
    return TensorInfo(None if shape is None else tuple(shape), dtype, value)


class ShapeCtx:
    """What a shape function sees: the node, its data inputs' TensorInfo, its attrs."""

    __slots__ = ("ins", "node", "op")

    def __init__(self, node: proto.NodeDef, op: str, ins: list[TensorInfo | None]):
        self.node = node
        self.op = op
        self.ins = ins

    def attr(self, key: str, default=None):
        """The attribute ``key`` as a plain value (``attr_value``), else ``default``; one of
        another kind than ``default`` (a dtype given as a string) is a malformed graph: a
        ValueError, which leaves the node's shapes unknown, not a str where a dtype goes."""
        value = self.node.attr.get(key)
        if value is None:
            return default
        decoded = attr_value(value)
        if default is not None and not isinstance(decoded, type(default)):
            raise ValueError(f"attr {key} is {decoded!r}, not a {type(default).__name__}")
        return decoded

    def has_attr(self, key: str) -> bool:
        return key in self.node.attr

    def shape(self, i: int) -> Shape:
        info = self.ins[i] if i < len(self.ins) else None
        return None if info is None else info.shape

    def known_shape(self, i: int) -> tuple[int, ...]:
        shape = self.shape(i)
        if shape is None or None in shape:
            raise UnknownShape(f"shape of input {i} is {shape_text(shape)}")
        return shape

    def rank_known(self, i: int) -> tuple[int | None, ...]:
        """Input ``i``'s shape, whose rank must be known."""
        shape = self.shape(i)
        if shape is None:
            raise UnknownShape(f"rank of input {i} is unknown")
        return shape

    def dtype(self, i: int = 0) -> int:
        info = self.ins[i] if i < len(self.ins) else None
        return DT["DT_INVALID"] if info is None else info.dtype

    def value(self, i: int) -> np.ndarray:
        info = self.ins[i] if i < len(self.ins) else None
        if info is None or info.value is None:
            raise UnknownShape(f"value of input {i} is not known statically")
        return info.value

    def ints(self, i: int) -> list[int]:
        """Input ``i``'s value as a flat list of ints (a shape, axes, paddings)."""
        return [int(v) for v in np.asarray(self.value(i)).reshape(-1)]

    def maybe_value(self, i: int) -> np.ndarray | None:
        info = self.ins[i] if i < len(self.ins) else None
        return None if info is None else info.value

    def out_dtype(self, *keys: str) -> int:
        """The dtype the first of ``keys`` names, else input 0's."""
        for key in keys:
            value = self.attr(key)
            if value is not None:
                if not isinstance(value, int):
                    raise ValueError(f"attr {key} is {value!r}, not a dtype")
                return value
        return self.dtype(0)


ShapeFn = Callable[[ShapeCtx], list[TensorInfo]]


def same_as_input(c: ShapeCtx) -> list[TensorInfo]:
    """One output: input 0's TensorInfo, shared."""
    info = c.ins[0] if c.ins else None
    if info is None:
        raise UnknownShape("input 0 is unknown")
    return [info]


def no_outputs(c: ShapeCtx) -> list[TensorInfo]:
    return []


def output_count(num) -> int:
    """An op's declared number of outputs, refused when a malformed graph makes it absurd."""
    if not isinstance(num, int) or not 0 < num <= 1 << 16:
        raise UnknownShape(f"implausible number of outputs: {num!r}")
    return num


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

    def repeated(self, runs: int) -> Cost:
        """``runs`` executions (a loop's iterations; 0: a branch not taken); ``tfprof``
        stays tf.profiler's figure, which counts every node once."""
        if runs == 1:
            return self
        return Cost(
            self.macs * runs,
            self.mac_outputs * runs,
            self.arith * runs,
            self.other * runs,
            self.tfprof,
        )

    @staticmethod
    def total(costs: Iterable[Cost]) -> Cost:
        """The sum of ``costs``, field by field (nothing: a zero Cost)."""
        costs = list(costs)
        return Cost(*map(sum, zip(*costs, strict=True))) if costs else Cost()


Formula = Callable[[OpView], Cost]

# Cost decisions other than a formula.
ZERO = "zero"  # no arithmetic; reads and writes data
VIEW = "view"  # no arithmetic, no bytes moved
# Shape "function" of ops whose outputs the shape walker itself computes (graph inputs, whose
# shapes the user may pin; function calls, whose bodies it analyses).
WALKER = "walker"
_UNSET = object()


@dataclass(frozen=True, slots=True)
class OpSpec:
    """An op's two decisions: its shape function (or WALKER) and its cost (a formula, ZERO
    or VIEW)."""

    shape: ShapeFn | str
    cost: Formula | str


OPS: dict[str, OpSpec] = {}
# Views of OPS, kept by ``register``: the formulas, the zero-cost ops, the view ops.
REGISTRY: dict[str, Formula] = {}
ZERO_COST: set[str] = set()
VIEW_OPS: set[str] = set()


def register(*ops: str, shape=_UNSET, cost=_UNSET):
    """Put ``ops`` in the table with their shape function and cost.

    ``register(*ops, shape=fn, cost=ZERO)`` registers at once; without ``cost`` it returns
    a decorator for the formula. A name already in the table, or a missing decision, is a
    ValueError.
    """

    def add(cost_decision):
        for op in ops:
            if op in OPS:
                raise ValueError(f"op {op} is already in the op table")
        if shape is _UNSET:
            raise ValueError(f"ops {', '.join(ops)}: no shape function given")
        if not (callable(cost_decision) or cost_decision in (ZERO, VIEW)):
            raise ValueError(f"ops {', '.join(ops)}: cost must be a formula, ZERO or VIEW")
        if not (callable(shape) or shape == WALKER):
            raise ValueError(f"ops {', '.join(ops)}: shape must be a function or WALKER")
        for op in ops:
            OPS[op] = OpSpec(shape, cost_decision)
            if callable(cost_decision):
                REGISTRY[op] = cost_decision
            else:
                ZERO_COST.add(op)
                if cost_decision == VIEW:
                    VIEW_OPS.add(op)
        return cost_decision

    if cost is not _UNSET:
        add(cost)
        return cost
    if any(op in OPS for op in ops):  # refuse a duplicate before anything else
        raise ValueError(f"op {next(op for op in ops if op in OPS)} is already in the op table")
    return add


def unregister(op: str) -> OpSpec:
    """Take ``op`` out of the table (and its views); returns what it was. KeyError if absent."""
    spec = OPS.pop(op)
    REGISTRY.pop(op, None)
    ZERO_COST.discard(op)
    VIEW_OPS.discard(op)
    return spec
