"""TensorLists: the variant handles tf.TensorArray and Keras' RNN loops keep their steps in.

A handle is a variant scalar; what tfflops knows of its elements rides on its TensorInfo
(``items``: element shape, dtype and count). The element shape comes from the op's own
``element_shape`` input (a constant: ``-1`` is an unknown dimension, a scalar ``-1`` an
unknown rank), refined by what the handle already says — ``TensorListFromTensor`` makes
elements of its tensor's shape without the first dimension, and as many as that
dimension. ``TensorListStack`` gives ``[count] + element shape``. Nothing here computes:
reading or writing elements moves data (ZERO), making or measuring a handle does not
(VIEW).

TF1's TensorArrays (``TensorArrayV3``, and V2 in graphs of TensorFlow 1.0–1.2; TF1's
``dynamic_rnn`` keeps its steps in them) are the same idea with a resource handle
(V2: a string pair) that the reads and writes take: the handle's TensorInfo carries what
``TensorArrayV3``'s attributes say of the elements (``element_shape``, and ``size`` unless
``dynamic_size``), and every op that takes the handle reads it there.
"""

from __future__ import annotations

import numpy as np

from tfflops.analysis.ops.base import (
    VIEW,
    ZERO,
    ListItems,
    ShapeCtx,
    TensorInfo,
    UnknownShape,
    info,
    no_outputs,
    register,
)
from tfflops.graph.tensors import DT, Shape

_HANDLE = DT["DT_VARIANT"]


def _declared(c: ShapeCtx, i: int) -> Shape:
    """The element shape an ``element_shape`` input gives: None (rank unknown) if unknown."""
    value = c.maybe_value(i)
    if value is None or value.ndim == 0:
        return None  # not known statically, or the scalar -1 (any rank)
    return tuple(None if d < 0 else int(d) for d in value.reshape(-1))


def _join(a: Shape, b: Shape) -> Shape:
    """What two descriptions of one shape say together; UnknownShape if they contradict."""
    if a is None or b is None:
        return b if a is None else a
    if len(a) != len(b) or any(x is not None and y is not None and x != y for x, y in zip(a, b)):
        raise UnknownShape(f"element shapes {a} and {b} contradict")
    return tuple(x if x is not None else y for x, y in zip(a, b))


def _items(c: ShapeCtx, i: int = 0) -> ListItems:
    """The elements of the handle input ``i`` (unknown ones if the handle says nothing)."""
    handle = c.ins[i] if i < len(c.ins) else None
    if handle is None or handle.items is None:
        return ListItems(None, c.attr("element_dtype", DT["DT_INVALID"]))
    return handle.items


def _handle(items: ListItems) -> list[TensorInfo]:
    return [TensorInfo((), _HANDLE, items=items)]


def _count(value: np.ndarray | None) -> int | None:
    """A number of elements given as a value: None when unknown or negative (any)."""
    if value is None or value.size != 1:
        return None
    count = int(value.reshape(-1)[0])
    return count if count >= 0 else None


def reserve_shape(c: ShapeCtx) -> list[TensorInfo]:
    """EmptyTensorList / TensorListReserve(element_shape, count): count elements."""
    length = 0 if c.op == "EmptyTensorList" else _count(c.maybe_value(1))
    dtype = c.attr("element_dtype", DT["DT_INVALID"])
    return _handle(ListItems(_declared(c, 0), dtype, length))


def from_tensor_shape(c: ShapeCtx) -> list[TensorInfo]:
    """TensorListFromTensor(tensor, element_shape): one element per row of the tensor."""
    shape = c.shape(0)
    rows, element = (None, None) if not shape else (shape[0], shape[1:])
    return _handle(ListItems(_join(element, _declared(c, 1)), c.dtype(0), rows))


def get_item_shape(c: ShapeCtx) -> list[TensorInfo]:
    """TensorListGetItem(handle, index, element_shape): one element."""
    items = _items(c)
    return [info(_join(items.shape, _declared(c, 2)), c.attr("element_dtype", items.dtype))]


def set_item_shape(c: ShapeCtx) -> list[TensorInfo]:
    """TensorListSetItem(handle, index, item): the handle, its elements as the item says."""
    items = _items(c)
    return _handle(items._replace(shape=_join(items.shape, c.shape(2))))


def push_back_shape(c: ShapeCtx) -> list[TensorInfo]:
    """TensorListPushBack(handle, item): one element more."""
    items = _items(c)
    length = None if items.length is None else items.length + 1
    return _handle(ListItems(_join(items.shape, c.shape(1)), items.dtype, length))


def pop_back_shape(c: ShapeCtx) -> list[TensorInfo]:
    """TensorListPopBack(handle, element_shape): the handle, one element fewer; the element."""
    items = _items(c)
    element = _join(items.shape, _declared(c, 1))
    length = None if not items.length else items.length - 1
    dtype = c.attr("element_dtype", items.dtype)
    return [*_handle(ListItems(element, dtype, length)), info(element, dtype)]


def resize_shape(c: ShapeCtx) -> list[TensorInfo]:
    """TensorListResize(handle, size)."""
    return _handle(_items(c)._replace(length=_count(c.maybe_value(1))))


def stack_shape(c: ShapeCtx) -> list[TensorInfo]:
    """TensorListStack(handle, element_shape): [count] + element shape."""
    items = _items(c)
    element = _join(items.shape, _declared(c, 1))
    count = c.attr("num_elements", -1)
    length = items.length if count is None or count < 0 else count
    shape = None if element is None else (length, *element)
    return [info(shape, c.attr("element_dtype", items.dtype))]


def gather_shape(c: ShapeCtx) -> list[TensorInfo]:
    """TensorListGather(handle, indices, element_shape): [len(indices)] + element shape."""
    element = _join(_items(c).shape, _declared(c, 2))
    indices = c.shape(1)
    rows = indices[0] if indices else None
    shape = None if element is None else (rows, *element)
    return [info(shape, c.attr("element_dtype", DT["DT_INVALID"]))]


def length_shape(c: ShapeCtx) -> list[TensorInfo]:
    """TensorListLength(handle): an int32 scalar, known when the count is."""
    length = _items(c).length
    return [info((), DT["DT_INT32"], None if length is None else np.int32(length))]


def element_shape_shape(c: ShapeCtx) -> list[TensorInfo]:
    """TensorListElementShape(handle): the element shape as a vector (-1 where unknown)."""
    shape = _items(c).shape
    dtype = c.attr("shape_type", DT["DT_INT32"])
    if shape is None:
        return [info((None,), dtype)]
    return [info((len(shape),), dtype, np.array([-1 if d is None else d for d in shape]))]


register("EmptyTensorList", "TensorListReserve", shape=reserve_shape, cost=VIEW)
register("TensorListFromTensor", shape=from_tensor_shape, cost=ZERO)
register("TensorListGetItem", shape=get_item_shape, cost=ZERO)
register("TensorListSetItem", shape=set_item_shape, cost=ZERO)
register("TensorListPushBack", shape=push_back_shape, cost=ZERO)
register("TensorListPopBack", shape=pop_back_shape, cost=ZERO)
register("TensorListResize", shape=resize_shape, cost=VIEW)
register("TensorListStack", shape=stack_shape, cost=ZERO)
register("TensorListGather", shape=gather_shape, cost=ZERO)
register("TensorListLength", shape=length_shape, cost=VIEW)
register("TensorListElementShape", shape=element_shape_shape, cost=VIEW)


# ---------------------------------------------------------------- TF1 TensorArrays


def _tensor_array_handle(c: ShapeCtx, items: ListItems) -> TensorInfo:
    if c.op.endswith("V2"):
        return TensorInfo((2,), DT["DT_STRING"], items=items)
    return TensorInfo((), DT["DT_RESOURCE"], items=items)


def tensor_array_shape(c: ShapeCtx) -> list[TensorInfo]:
    """TensorArrayV3(size) → (handle, flow): ``size`` elements of ``element_shape``."""
    length = None if c.attr("dynamic_size", False) else _count(c.maybe_value(0))
    items = ListItems(c.attr("element_shape"), c.attr("dtype", DT["DT_INVALID"]), length)
    handle = _tensor_array_handle(c, items)
    return [handle] if c.op == "TensorArrayV2" else [handle, _FLOW]


def tensor_array_grad_shape(c: ShapeCtx) -> list[TensorInfo]:
    """TensorArrayGradV3(handle, flow_in) → (a handle like the forward one's, flow)."""
    handle = _tensor_array_handle(c, _items(c))
    return [handle] if c.op == "TensorArrayGradV2" else [handle, _FLOW]


def tensor_array_read_shape(c: ShapeCtx) -> list[TensorInfo]:
    """TensorArrayReadV3(handle, index, flow_in): one element."""
    return [info(_items(c).shape, c.attr("dtype", DT["DT_INVALID"]))]


def tensor_array_gather_shape(c: ShapeCtx) -> list[TensorInfo]:
    """TensorArrayGatherV3(handle, indices, flow_in): [len(indices)] + element shape."""
    element = _join(_items(c).shape, c.attr("element_shape"))
    indices = c.shape(1)
    rows = indices[0] if indices else None
    shape = None if element is None else (rows, *element)
    return [info(shape, c.attr("dtype", DT["DT_INVALID"]))]


def tensor_array_concat_shape(c: ShapeCtx) -> list[TensorInfo]:
    """TensorArrayConcatV3(handle, flow_in) → (the elements joined on their first
    dimension, their lengths)."""
    items = _items(c)
    rest = _join(None if not items.shape else items.shape[1:], c.attr("element_shape_except0"))
    rows = None
    if items.shape and items.shape[0] is not None and items.length is not None:
        rows = items.shape[0] * items.length
    shape = None if rest is None else (rows, *rest)
    return [info(shape, c.attr("dtype", DT["DT_INVALID"])), info((items.length,), DT["DT_INT64"])]


def tensor_array_size_shape(c: ShapeCtx) -> list[TensorInfo]:
    """TensorArraySizeV3(handle, flow_in): an int32 scalar, known when the size is."""
    length = _items(c).length
    return [info((), DT["DT_INT32"], None if length is None else np.int32(length))]


def flow_shape(c: ShapeCtx) -> list[TensorInfo]:
    """TensorArrayWriteV3 / ScatterV3 / SplitV3: the flow out, a float scalar."""
    return [_FLOW]


_FLOW = TensorInfo((), DT["DT_FLOAT"])

for _v in ("V2", "V3"):
    register(f"TensorArray{_v}", shape=tensor_array_shape, cost=VIEW)
    register(f"TensorArrayGrad{_v}", shape=tensor_array_grad_shape, cost=VIEW)
    register(f"TensorArrayRead{_v}", shape=tensor_array_read_shape, cost=ZERO)
    register(f"TensorArrayGather{_v}", shape=tensor_array_gather_shape, cost=ZERO)
    register(f"TensorArrayConcat{_v}", shape=tensor_array_concat_shape, cost=ZERO)
    register(
        f"TensorArrayWrite{_v}",
        f"TensorArrayScatter{_v}",
        f"TensorArraySplit{_v}",
        shape=flow_shape,
        cost=ZERO,
    )
    register(f"TensorArraySize{_v}", shape=tensor_array_size_shape, cost=VIEW)
    register(f"TensorArrayClose{_v}", shape=no_outputs, cost=VIEW)
