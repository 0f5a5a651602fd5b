"""Ops that compute nothing: sources, identities, variables, control flow, checkpoints,
summaries. Their cost is VIEW (no arithmetic, no bytes moved), except the variable
updates, which add."""

from __future__ import annotations

import math

from tfflops.analysis.ops.base import (
    VIEW,
    WALKER,
    Cost,
    OpView,
    ShapeCtx,
    TensorInfo,
    UnknownShape,
    info,
    no_outputs,
    output_count,
    register,
    same_as_input,
)
from tfflops.graph.families import FRAME_OPS, PLACEHOLDER_OPS, SUMMARY_OPS
from tfflops.graph.tensors import DT, FLOAT_DTYPES, base_dtype, tensor_shape, tensor_value

# Shape arithmetic runs on integers; a float constant's value matters only as a scalar (a
# Fill value, a Range bound), so float tensors of more elements are never decoded.
_FLOAT_VALUE_ELEMENTS = 8


def const_shape(c: ShapeCtx) -> list[TensorInfo]:
    tensor = c.node.attr["value"].tensor
    shape = tensor_shape(tensor)
    if shape and min(shape) < 0:
        raise UnknownShape(f"a constant of shape {list(shape)}: a negative dimension")
    count = math.prod(shape)
    value = None
    if count <= _FLOAT_VALUE_ELEMENTS or (
        count <= 1024 and base_dtype(tensor.dtype) not in FLOAT_DTYPES
    ):
        value = tensor_value(tensor)
    return [info(shape, base_dtype(tensor.dtype), value)]


def variable_shape(c: ShapeCtx) -> list[TensorInfo]:
    # A VarHandleOp's output is a resource handle; tfflops tracks the variable's shape
    # through it so that ReadVariableOp knows what it reads.
    shape = c.attr("shape")
    dtype = c.node.attr["dtype"].type if c.has_attr("dtype") else DT["DT_FLOAT"]
    return [TensorInfo(shape if isinstance(shape, tuple) else None, dtype)]


def read_variable_shape(c: ShapeCtx) -> list[TensorInfo]:
    if c.dtype(0) == DT["DT_RESOURCE"]:
        # A bare handle (a resource Placeholder or argument): its shape is the handle's.
        raise UnknownShape("reads a resource handle whose variable's shape is not known")
    return [TensorInfo(c.shape(0), c.attr("dtype", c.dtype(0)))]


def identity_n_shape(c: ShapeCtx) -> list[TensorInfo]:
    return [i if i is not None else TensorInfo(None, DT["DT_INVALID"]) for i in c.ins]


def ensure_shape_shape(c: ShapeCtx) -> list[TensorInfo]:
    return [TensorInfo(c.attr("shape") or c.shape(0), c.dtype(0), c.maybe_value(0))]


def bool_scalar(c: ShapeCtx) -> list[TensorInfo]:
    return [TensorInfo((), DT["DT_BOOL"])]


def string_scalar(c: ShapeCtx) -> list[TensorInfo]:
    return [TensorInfo((), DT["DT_STRING"])]


def switch_shape(c: ShapeCtx) -> list[TensorInfo]:
    same = c.ins[0] or TensorInfo(None, DT["DT_INVALID"])
    return [same, same]


def switch_n_shape(c: ShapeCtx) -> list[TensorInfo]:
    """_SwitchN(data, output_index), a lowered Case: ``num_outs`` outputs, each the data
    (only the one the index picks is written)."""
    same = c.ins[0] or TensorInfo(None, DT["DT_INVALID"])
    return [same] * output_count(c.attr("num_outs"))


def merge_shape(c: ShapeCtx) -> list[TensorInfo]:
    infos = [i for i in c.ins if i is not None]
    known = [i for i in infos if i.shape is not None and None not in i.shape]
    chosen = known[0] if known else (infos[0] if infos else TensorInfo(None, DT["DT_INVALID"]))
    # A loop's Merge: its value changes from iteration to iteration; a TensorList's
    # element shape does not.
    return [
        TensorInfo(chosen.shape, chosen.dtype, None, chosen.items),
        TensorInfo((), DT["DT_INT32"]),
    ]


def restore_shape(c: ShapeCtx) -> list[TensorInfo]:
    """One tensor per restored dtype, shapes unknown until run."""
    dtypes = c.attr("dtypes") or [c.attr("dt", DT["DT_INVALID"])]
    return [TensorInfo(None, dtype) for dtype in dtypes]


register(*PLACEHOLDER_OPS, shape=WALKER, cost=VIEW)
register("Const", "HostConst", shape=const_shape, cost=VIEW)
register(
    "VariableV2", "Variable", "VarHandleOp", "TemporaryVariable", shape=variable_shape, cost=VIEW
)
register("ReadVariableOp", shape=read_variable_shape, cost=VIEW)
register(
    "Identity",
    "RefIdentity",
    "Snapshot",
    "StopGradient",
    "PreventGradient",
    "CheckNumerics",
    "DebugIdentity",
    *FRAME_OPS,
    "Print",
    "Assign",
    shape=same_as_input,
    cost=VIEW,
)
register("IdentityN", shape=identity_n_shape, cost=VIEW)
register("EnsureShape", shape=ensure_shape_shape, cost=VIEW)
register("Switch", "RefSwitch", shape=switch_shape, cost=VIEW)
register("_SwitchN", shape=switch_n_shape, cost=VIEW)
register("Merge", "RefMerge", shape=merge_shape, cost=VIEW)
register("VarIsInitializedOp", "IsVariableInitialized", shape=bool_scalar, cost=VIEW)
register(
    "NoOp",
    "ControlTrigger",
    "AssignVariableOp",
    "DestroyResourceOp",
    "SaveV2",
    "Save",
    "SaveSlices",
    "MergeV2Checkpoints",
    "Assert",
    "PrintV2",
    shape=no_outputs,
    cost=VIEW,
)
register("RestoreV2", "Restore", "RestoreSlice", shape=restore_shape, cost=VIEW)
register(
    "ShardedFilename",
    "StringJoin",
    *SUMMARY_OPS,
    shape=string_scalar,
    cost=VIEW,
)


@register("AssignAdd", "AssignSub", shape=same_as_input)
def assign_update(v: OpView) -> Cost:
    """N(out) adds or subtracts; tf.profiler: N(in0)."""
    return Cost(arith=v.n_out(), tfprof=v.n_in(0))


@register("AssignAddVariableOp", "AssignSubVariableOp", shape=no_outputs)
def resource_assign_update(v: OpView) -> Cost:
    """N(value) adds or subtracts to a resource variable; tf.profiler has no formula."""
    return Cost(arith=v.n_in(1))
