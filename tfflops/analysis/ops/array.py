"""Shapes and data movement: reshapes, slices, gathers, concatenation, padding, tiling,
filling, random numbers. No arithmetic under any convention; reshapes and shape queries
move no bytes either (VIEW), the rest read and write their data (ZERO).

Their values are computed when small (the ``Shape → StridedSlice → Pack → Reshape`` chains
Keras and TF1 graphs are made of), always after checking the result's size.
"""

from __future__ import annotations

import math

import numpy as np

from tfflops.analysis.ops.base import (
    VIEW,
    ZERO,
    ShapeCtx,
    TensorInfo,
    UnknownShape,
    bounded,
    info,
    output_count,
    register,
)
from tfflops.analysis.ops.dims import broadcast_shapes, indexed_shape, strided_slice_index
from tfflops.analysis.ops.elementwise import unary_shape
from tfflops.graph.tensors import DT, MAX_RANK, shape_text


def _known(shape) -> bool:
    return shape is not None and None not in shape


# ---------------------------------------------------------------- views


def shape_shape(c: ShapeCtx) -> list[TensorInfo]:
    shape = c.shape(0)
    dtype = c.attr("out_type", DT["DT_INT32"])
    if shape is None:
        return [TensorInfo((None,), dtype)]
    value = np.array(shape, dtype=np.int64) if _known(shape) else None
    return [info((len(shape),), dtype, value)]


def shape_n_shape(c: ShapeCtx) -> list[TensorInfo]:
    dtype = c.attr("out_type", DT["DT_INT32"])
    outs = []
    for i in c.ins:
        shape = None if i is None else i.shape
        value = np.array(shape, dtype=np.int64) if _known(shape) else None
        outs.append(info(None if shape is None else (len(shape),), dtype, value))
    return outs


def size_shape(c: ShapeCtx) -> list[TensorInfo]:
    shape = c.shape(0)
    value = np.array(math.prod(shape), dtype=np.int64) if _known(shape) else None
    return [info((), c.attr("out_type", DT["DT_INT32"]), value)]


def rank_shape(c: ShapeCtx) -> list[TensorInfo]:
    shape = c.shape(0)
    value = None if shape is None else np.array(len(shape), dtype=np.int64)
    return [info((), DT["DT_INT32"], value)]


def reshape_shape(c: ShapeCtx) -> list[TensorInfo]:
    if c.maybe_value(1) is None:
        size_shape = c.shape(1)
        if _known(size_shape) and len(size_shape) == 1:
            if size_shape[0] > MAX_RANK:  # (None,) * 2**31 would take 16 GB
                raise ValueError(
                    f"a target shape of {size_shape[0]} dimensions (at most {MAX_RANK})"
                )
            return [TensorInfo((None,) * size_shape[0], c.dtype(0))]
        raise UnknownShape("the target shape is not known statically")
    dims = c.ints(1)
    total = math.prod(c.shape(0)) if _known(c.shape(0)) else None
    if -1 in dims:
        rest = math.prod(d for d in dims if d != -1)
        if total is None or rest == 0:
            out = tuple(None if d == -1 else d for d in dims)
        else:
            out = tuple(total // rest if d == -1 else d for d in dims)
    else:
        out = tuple(dims)
    value = c.maybe_value(0)
    if value is not None and _known(out):
        return [info(out, c.dtype(0), value.reshape(out))]
    return [info(out, c.dtype(0))]


def squeeze_shape(c: ShapeCtx) -> list[TensorInfo]:
    shape = c.rank_known(0)
    dims = {d % len(shape) for d in (c.attr("squeeze_dims") or c.attr("axis") or [])}
    if dims:
        out = tuple(d for i, d in enumerate(shape) if i not in dims)
    else:
        if not _known(shape):
            raise UnknownShape(f"squeezing all size-1 dims of {shape_text(shape)}")
        out = tuple(d for d in shape if d != 1)
    value = c.maybe_value(0)
    return [info(out, c.dtype(0), None if value is None else value.reshape(out))]


def expand_dims_shape(c: ShapeCtx) -> list[TensorInfo]:
    shape = c.rank_known(0)
    axis = c.ints(1)[0]
    if axis < 0:
        axis += len(shape) + 1
    out = (*shape[:axis], 1, *shape[axis:])
    value = c.maybe_value(0)
    return [info(out, c.dtype(0), None if value is None else value.reshape(out))]


register("Shape", shape=shape_shape, cost=VIEW)
register("ShapeN", shape=shape_n_shape, cost=VIEW)
register("Size", shape=size_shape, cost=VIEW)
register("Rank", shape=rank_shape, cost=VIEW)
register("Reshape", shape=reshape_shape, cost=VIEW)
register("Squeeze", shape=squeeze_shape, cost=VIEW)
register("ExpandDims", shape=expand_dims_shape, cost=VIEW)

# ---------------------------------------------------------------- reordering and padding


def transpose_shape(c: ShapeCtx) -> list[TensorInfo]:
    shape = c.shape(0)
    perm = c.ints(1)
    if shape is None:
        return [TensorInfo((None,) * len(perm), c.dtype(0))]
    value = c.maybe_value(0)
    out = tuple(shape[p] for p in perm)
    return [info(out, c.dtype(0), None if value is None else np.transpose(value, perm))]


def pad_shape(c: ShapeCtx) -> list[TensorInfo]:
    shape = c.shape(0)
    pads = np.asarray(c.value(1)).reshape(-1, 2)
    if shape is None:
        shape = (None,) * len(pads)
    out = tuple(None if d is None else d + int(p[0]) + int(p[1]) for d, p in zip(shape, pads))
    return [TensorInfo(out, c.dtype(0))]


def tile_shape(c: ShapeCtx) -> list[TensorInfo]:
    shape = c.shape(0)
    multiples = c.ints(1)
    if shape is None:
        shape = (None,) * len(multiples)
    out = tuple(None if d is None else d * m for d, m in zip(shape, multiples))
    value = c.maybe_value(0)
    # np.tile repeats one axis at a time: every partial product must be small, not only the
    # result (a zero multiple after a huge one makes an empty result from a huge array).
    nonzero = math.prod(m for m in multiples if m)
    if value is not None and all(m >= 0 for m in multiples) and bounded(value.size * nonzero):
        return [info(out, c.dtype(0), np.tile(value, multiples))]
    return [info(out, c.dtype(0))]


def depth_space_shape(c: ShapeCtx) -> list[TensorInfo]:
    n, h, w, ch = c.known_shape(0)
    b = c.attr("block_size")
    if c.op == "DepthToSpace":
        return [TensorInfo((n, h * b, w * b, ch // (b * b)), c.dtype(0))]
    return [TensorInfo((n, h // b, w // b, ch * b * b), c.dtype(0))]


def space_to_batch_shape(c: ShapeCtx) -> list[TensorInfo]:
    shape = c.known_shape(0)
    block = c.ints(1)
    pads = c.value(2).reshape(-1, 2)
    spatial = [(shape[1 + i] + int(pads[i][0]) + int(pads[i][1])) // b for i, b in enumerate(block)]
    out = (shape[0] * math.prod(block), *spatial, *shape[1 + len(block) :])
    return [TensorInfo(out, c.dtype(0))]


def batch_to_space_shape(c: ShapeCtx) -> list[TensorInfo]:
    shape = c.known_shape(0)
    block = c.ints(1)
    crops = c.value(2).reshape(-1, 2)
    spatial = [shape[1 + i] * b - int(crops[i][0]) - int(crops[i][1]) for i, b in enumerate(block)]
    out = (shape[0] // math.prod(block), *spatial, *shape[1 + len(block) :])
    return [TensorInfo(out, c.dtype(0))]


register("Transpose", "ConjugateTranspose", shape=transpose_shape, cost=ZERO)
register("Pad", "PadV2", "MirrorPad", shape=pad_shape, cost=ZERO)
register("Tile", shape=tile_shape, cost=ZERO)
register("Reverse", "ReverseV2", "RandomShuffle", shape=unary_shape, cost=ZERO)
register("DepthToSpace", "SpaceToDepth", shape=depth_space_shape, cost=ZERO)
register("SpaceToBatchND", shape=space_to_batch_shape, cost=ZERO)
register("BatchToSpaceND", shape=batch_to_space_shape, cost=ZERO)

# ---------------------------------------------------------------- making tensors


def fill_shape(c: ShapeCtx) -> list[TensorInfo]:
    dims = tuple(c.ints(0))
    value = c.maybe_value(1)
    full = None
    if value is not None and all(d >= 0 for d in dims) and bounded(math.prod(dims)):
        full = np.full(dims, value)
    return [info(dims, c.dtype(1), full)]


def random_shape(c: ShapeCtx) -> list[TensorInfo]:
    dtype = c.attr("dtype", c.attr("Tout", DT["DT_FLOAT"]))
    return [TensorInfo(tuple(c.ints(0)), dtype)]


def range_shape(c: ShapeCtx) -> list[TensorInfo]:
    start, limit, delta = (c.maybe_value(i) for i in range(3))
    dtype = c.attr("Tidx", c.dtype(0))
    if start is None or limit is None or delta is None:
        return [TensorInfo((None,), dtype)]
    start, limit, delta = start.item(), limit.item(), delta.item()
    if delta == 0:
        raise UnknownShape("Range with delta 0")
    length = max(0, math.ceil((limit - start) / delta))
    # Never materialize a large range: only its length matters then.
    value = np.arange(start, limit, delta) if bounded(length) else None
    return [info((length,), dtype, value)]


register("Fill", shape=fill_shape, cost=ZERO)
register(
    "RandomStandardNormal",
    "RandomUniform",
    "TruncatedNormal",
    "RandomUniformInt",
    "StatelessRandomNormal",
    "StatelessRandomUniform",
    "StatelessTruncatedNormal",
    "StatelessRandomNormalV2",
    "StatelessRandomUniformV2",
    "StatelessTruncatedNormalV2",
    "Empty",
    shape=random_shape,
    cost=ZERO,
)
register("Range", shape=range_shape, cost=ZERO)

# ---------------------------------------------------------------- joining and splitting


def pack_shape(c: ShapeCtx) -> list[TensorInfo]:
    shapes = [i.shape if i else None for i in c.ins]
    base = next((s for s in shapes if _known(s)), next((s for s in shapes if s), None))
    if base is None:
        raise UnknownShape("ranks of the packed inputs are unknown")
    axis = c.attr("axis", 0)
    if axis < 0:
        axis += len(base) + 1
    out = (*base[:axis], len(c.ins), *base[axis:])
    values = [c.maybe_value(i) for i in range(len(c.ins))]
    if any(v is None for v in values) or not bounded(sum(v.size for v in values)):
        return [info(out, c.dtype(0))]
    return [info(out, c.dtype(0), np.stack(values, axis=axis))]


def unpack_shape(c: ShapeCtx) -> list[TensorInfo]:
    shape = c.rank_known(0)
    axis = c.attr("axis", 0) % len(shape)
    num = output_count(c.attr("num") or shape[axis])
    out = shape[:axis] + shape[axis + 1 :]
    value = c.maybe_value(0)
    if value is not None:
        return [info(out, c.dtype(0), np.take(value, i, axis=axis)) for i in range(num)]
    return [TensorInfo(out, c.dtype(0)) for _ in range(num)]


def _concat(inputs: list[TensorInfo | None], axis_value) -> list[TensorInfo]:
    shapes = [i.shape if i else None for i in inputs]
    ranked = [s for s in shapes if s is not None]
    if not ranked:
        raise UnknownShape("ranks of the concatenated inputs are unknown")
    rank = len(ranked[0])
    axis = int(axis_value) % rank
    out = []
    for d in range(rank):
        if d == axis:
            sizes = [None if s is None else s[d] for s in shapes]
            out.append(None if None in sizes else sum(sizes))
        else:
            out.append(next((s[d] for s in ranked if s[d] is not None), None))
    values = [i.value if i else None for i in inputs]
    dtype = next((i.dtype for i in inputs if i), DT["DT_INVALID"])
    if any(v is None for v in values) or not bounded(sum(v.size for v in values)):
        return [info(tuple(out), dtype)]
    return [info(tuple(out), dtype, np.concatenate(values, axis=axis))]


def concat_v2_shape(c: ShapeCtx) -> list[TensorInfo]:
    return _concat(c.ins[:-1], c.value(len(c.ins) - 1).item())


def concat_shape(c: ShapeCtx) -> list[TensorInfo]:
    return _concat(c.ins[1:], c.value(0).item())


def split_shape(c: ShapeCtx) -> list[TensorInfo]:
    shape = c.shape(1)
    num = output_count(c.attr("num_split"))
    if shape is None:
        return [TensorInfo(None, c.dtype(1)) for _ in range(num)]
    axis = int(c.value(0).item()) % len(shape)
    size = None if shape[axis] is None else shape[axis] // num
    out = (*shape[:axis], size, *shape[axis + 1 :])
    return [TensorInfo(out, c.dtype(1)) for _ in range(num)]


def split_v_shape(c: ShapeCtx) -> list[TensorInfo]:
    shape = c.shape(0)
    sizes = c.ints(1)
    output_count(len(sizes))
    if shape is None:
        return [TensorInfo(None, c.dtype(0)) for _ in sizes]
    axis = int(c.value(2).item()) % len(shape)
    if -1 in sizes and shape[axis] is not None:
        sizes[sizes.index(-1)] = shape[axis] - (sum(sizes) + 1)
    return [
        TensorInfo((*shape[:axis], s if s >= 0 else None, *shape[axis + 1 :]), c.dtype(0))
        for s in sizes
    ]


register("Pack", shape=pack_shape, cost=ZERO)
register("Unpack", shape=unpack_shape, cost=ZERO)
register("ConcatV2", shape=concat_v2_shape, cost=ZERO)
register("Concat", shape=concat_shape, cost=ZERO)
register("Split", shape=split_shape, cost=ZERO)
register("SplitV", shape=split_v_shape, cost=ZERO)

# ---------------------------------------------------------------- indexing


def slice_shape(c: ShapeCtx) -> list[TensorInfo]:
    shape = c.shape(0)
    begin, size = c.ints(1), c.ints(2)
    if shape is None:
        shape = (None,) * len(begin)
    out = tuple(
        (None if d is None else d - b) if s == -1 else s
        for d, b, s in zip(shape, begin, size, strict=True)
    )
    value = c.maybe_value(0)
    if value is not None:
        value = value[tuple(slice(b, None if s == -1 else b + s) for b, s in zip(begin, size))]
    return [info(out, c.dtype(0), value)]


def strided_slice_shape(c: ShapeCtx) -> list[TensorInfo]:
    shape = c.rank_known(0)
    begin, end, strides = (c.ints(i) for i in (1, 2, 3))
    index = strided_slice_index(
        begin,
        end,
        strides,
        c.attr("begin_mask", 0),
        c.attr("end_mask", 0),
        c.attr("ellipsis_mask", 0),
        c.attr("new_axis_mask", 0),
        c.attr("shrink_axis_mask", 0),
    )
    out = indexed_shape(shape, index)
    value = c.maybe_value(0)
    if value is not None:
        value = value[tuple(index)]
    return [info(out, c.dtype(0), value)]


def gather_shape(c: ShapeCtx) -> list[TensorInfo]:
    params, indices = c.shape(0), c.shape(1)
    if params is None or indices is None:
        raise UnknownShape("rank of an input is unknown")
    axis = 0 if c.op != "GatherV2" else int(c.value(2).item()) % len(params)
    batch_dims = c.attr("batch_dims", 0)
    out = params[:axis] + indices[batch_dims:] + params[axis + 1 :]
    p, i = c.maybe_value(0), c.maybe_value(1)
    value = None
    if p is not None and i is not None and batch_dims == 0 and bounded(math.prod(out)):
        value = np.take(p, i, axis=axis)
    return [info(out, c.attr("dtype", c.dtype(0)), value)]


def gather_nd_shape(c: ShapeCtx) -> list[TensorInfo]:
    """indices.shape[:-1] + params.shape[indices.shape[-1]:]."""
    params, indices = c.rank_known(0), c.rank_known(1)
    depth = indices[-1] if indices else None
    if depth is None:
        raise UnknownShape("the index depth (last dim of the indices) is unknown")
    return [TensorInfo((*indices[:-1], *params[depth:]), c.dtype(0))]


def one_hot_shape(c: ShapeCtx) -> list[TensorInfo]:
    shape = c.rank_known(0)
    depth = int(c.value(1).item())
    axis = c.attr("axis", -1)
    axis = len(shape) if axis == -1 else axis
    return [TensorInfo((*shape[:axis], depth, *shape[axis:]), c.dtype(2))]


def top_k_shape(c: ShapeCtx) -> list[TensorInfo]:
    shape = c.rank_known(0)
    k = c.attr("k") if c.op == "TopK" else int(c.value(1))
    out = (*shape[:-1], k)
    return [TensorInfo(out, c.dtype(0)), TensorInfo(out, DT["DT_INT32"])]


def where_shape(c: ShapeCtx) -> list[TensorInfo]:
    """One row of coordinates per true element: (?, rank)."""
    shape = c.shape(0)
    return [TensorInfo((None, None if shape is None else len(shape)), DT["DT_INT64"])]


register("Slice", shape=slice_shape, cost=ZERO)
register("StridedSlice", shape=strided_slice_shape, cost=ZERO)
register("GatherV2", "Gather", "ResourceGather", shape=gather_shape, cost=ZERO)
register("GatherNd", shape=gather_nd_shape, cost=ZERO)
register("OneHot", shape=one_hot_shape, cost=ZERO)
register("TopKV2", "TopK", shape=top_k_shape, cost=ZERO)
register("Where", shape=where_shape, cost=ZERO)

# ---------------------------------------------------------------- broadcasting


def broadcast_to_shape(c: ShapeCtx) -> list[TensorInfo]:
    return [TensorInfo(tuple(c.ints(1)), c.dtype(0))]


def broadcast_args_shape(c: ShapeCtx) -> list[TensorInfo]:
    out = broadcast_shapes(tuple(c.ints(0)), tuple(c.ints(1)))
    return [info((len(out),), c.dtype(0), np.array(out, dtype=np.int64))]


def broadcast_gradient_args_shape(c: ShapeCtx) -> list[TensorInfo]:
    """The axes each operand was broadcast along: two vectors of unknown length."""
    return [TensorInfo((None,), c.dtype(0)), TensorInfo((None,), c.dtype(0))]


register("BroadcastTo", shape=broadcast_to_shape, cost=ZERO)
register("BroadcastArgs", shape=broadcast_args_shape, cost=ZERO)
register("BroadcastGradientArgs", shape=broadcast_gradient_args_shape, cost=ZERO)
