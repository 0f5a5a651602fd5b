"""Custom ops: formulas a user registers for ops tfflops does not know.

``register_op("MyOp", shape=fn, cost=fn)`` puts an op in the op table like a built-in one.
A name already in the table is refused unless ``replace=True``, and a replacement is then
named in every profile's notes: a built-in formula is never replaced silently. The user's
functions are guarded: one that raises, or returns something other than what it must (a
Cost of non-negative Python ints; a list of TensorInfo), leaves that node uncounted —
unsupported, with the reason in its note — instead of crashing or counting garbage.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from tfflops.analysis.ops.base import (
    OPS,
    WALKER,
    ZERO,
    Cost,
    OpSpec,
    OpView,
    ShapeCtx,
    TensorInfo,
    UnknownShape,
    info,
    register,
    unregister,
)
from tfflops.errors import TfflopsError

# TensorFlow's op names: a letter or underscore, then letters, digits, underscores.
_OP_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class CustomOp:
    """Where a custom op was registered, and the table entry it replaced (if any)."""

    origin: str
    replaced: OpSpec | None = None


CUSTOM: dict[str, CustomOp] = {}
_origin = ["register_op"]  # what registers now: a --formulas file while it is imported


@contextmanager
def registering_from(origin: str) -> Iterator[None]:
    """Ops registered inside the block are said to come from ``origin`` (a file)."""
    _origin.append(origin)
    try:
        yield
    finally:
        _origin.pop()


def register_op(
    name: str,
    shape: Callable[[ShapeCtx], list[TensorInfo]] | None = None,
    cost: Callable[[OpView], Cost] | str | None = None,
    *,
    replace: bool = False,
) -> None:
    """Count op ``name`` with ``cost`` (and infer its outputs with ``shape``).

    ``cost(view: OpView) -> Cost`` gets the node's input and output shapes and its
    attributes, and returns its primitive counts as Python ints: ``macs`` (and
    ``mac_outputs``, the outputs they sum into), ``arith``, ``other``, and ``tfprof``
    (what tf.profiler reports for it: 0 for an op it does not know). ``cost="zero"`` is an
    op that only moves data. ``shape(ctx: ShapeCtx) -> list[TensorInfo]`` gives each
    output's shape and dtype; None takes the shapes the graph declares (``_output_shapes``).
    A name already in the op table is an error unless ``replace=True``, which every
    profile's notes then state. A function that raises, or returns anything else, leaves
    the node uncounted (unsupported), with the reason in its note.
    """
    if not isinstance(name, str) or not _OP_NAME.fullmatch(name):
        raise TfflopsError(f"register_op({name!r}): not an op name (like MyOp, My_Op2)")
    if shape is not None and not callable(shape):
        raise TfflopsError(f"register_op({name!r}): shape must be a function or None")
    if cost != ZERO and not callable(cost):
        raise TfflopsError(f"register_op({name!r}): cost must be a function, or 'zero'")
    existing = OPS.get(name)
    if existing is not None and not replace:
        where = CUSTOM[name].origin if name in CUSTOM else "a built-in formula"
        raise TfflopsError(
            f"register_op({name!r}): already in the op table ({where}); "
            "register_op(..., replace=True) replaces it"
        )
    replaced = None
    if existing is not None:
        unregister(name)
        previous = CUSTOM.get(name)
        replaced = existing if previous is None else previous.replaced
    register(
        name,
        shape=WALKER if shape is None else _guarded_shape(name, shape),
        cost=ZERO if cost == ZERO else _guarded_cost(name, cost, _origin[-1]),
    )
    CUSTOM[name] = CustomOp(_origin[-1], replaced)


def unregister_op(name: str) -> None:
    """Take a custom op out of the op table, putting back the built-in one it replaced."""
    custom = CUSTOM.pop(name, None)
    if custom is None:
        raise TfflopsError(f"unregister_op({name!r}): not a custom op (see register_op)")
    unregister(name)
    if custom.replaced is not None:
        register(name, shape=custom.replaced.shape, cost=custom.replaced.cost)


def is_custom(op: str) -> bool:
    return op in CUSTOM


def replaced_ops() -> dict[str, str]:
    """Built-in ops whose formula a custom one replaces, with where it was registered."""
    return {op: c.origin for op, c in sorted(CUSTOM.items()) if c.replaced is not None}


# ---------------------------------------------------------------- guards


def _guarded_cost(name: str, fn: Callable[[OpView], Cost], origin: str):
    """``fn``, whose failures and malformed results become UnknownShape (the node is not
    counted, the reason is its note)."""

    def formula(v: OpView) -> Cost:
        try:
            cost = fn(v)
        except UnknownShape:
            raise
        except Exception as e:  # the user's code: any failure leaves the node uncounted
            raise UnknownShape(f"custom formula for {name} raised {_text(e)}") from None
        problem = _cost_problem(cost)
        if problem:
            raise UnknownShape(f"custom formula for {name} returned {problem}")
        return cost

    doc = (fn.__doc__ or "").strip().splitlines()
    formula.__doc__ = f"{doc[0] if doc else 'a custom formula'} [custom: {origin}]"
    return formula


def _cost_problem(cost) -> str | None:
    """What is wrong with a custom formula's result, None if it is a valid Cost."""
    if not isinstance(cost, Cost):
        return f"a {type(cost).__name__}, not a Cost"
    for field, value in zip(Cost._fields, cost, strict=True):
        if type(value) is not int:
            return f"{field}={value!r}, a {type(value).__name__}, not a Python int"
        if value < 0:
            return f"{field}={value}, a negative count"
    return None


def _guarded_shape(name: str, fn: Callable[[ShapeCtx], list[TensorInfo]]):
    """``fn``, whose failures and malformed results become UnknownShape."""

    def shape(c: ShapeCtx) -> list[TensorInfo]:
        try:
            outs = fn(c)
        except UnknownShape:
            raise
        except Exception as e:  # the user's code: any failure leaves the shapes unknown
            raise UnknownShape(f"custom shape function for {name} raised {_text(e)}") from None
        checked = _checked_outputs(outs)
        if isinstance(checked, str):
            raise UnknownShape(f"custom shape function for {name} returned {checked}")
        return checked

    return shape


def _checked_outputs(outs) -> list[TensorInfo] | str:
    """The outputs as fresh TensorInfo (shapes as tuples), or what is wrong with them."""
    if not isinstance(outs, (list, tuple)):
        return f"a {type(outs).__name__}, not a list of TensorInfo"
    checked = []
    for i, out in enumerate(outs):
        if not isinstance(out, TensorInfo):
            return f"output {i}: a {type(out).__name__}, not a TensorInfo"
        shape, dtype, value = out.shape, out.dtype, out.value
        if shape is not None:
            if not isinstance(shape, (list, tuple)) or not all(
                d is None or (type(d) is int and d >= 0) for d in shape
            ):
                return f"output {i}: shape {shape!r} (dimensions are ints ≥ 0 or None)"
            shape = tuple(shape)
        if type(dtype) is not int:
            return f"output {i}: dtype {dtype!r}, not a DataType number"
        if value is not None and not isinstance(value, np.ndarray):
            return f"output {i}: value of type {type(value).__name__}, not a numpy array"
        checked.append(info(shape, dtype, value))  # a large value is dropped, as for built-ins
    return checked


def _text(e: Exception) -> str:
    message = str(e)
    return f"{type(e).__name__}: {message}" if message else type(e).__name__
