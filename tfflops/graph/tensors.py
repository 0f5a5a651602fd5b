"""Data types, TensorProto values and attribute values as plain Python."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from tfflops.graph import proto

DT = proto.DATA_TYPES

# A static shape: a tuple with None for an unknown dimension, or None for an unknown rank.
Shape = tuple[int | None, ...] | None

# Bytes per element, for the bytes-moved figure. Strings, resources and variants move
# an unknown amount: 0.
DTYPE_SIZE = {
    DT["DT_FLOAT"]: 4,
    DT["DT_DOUBLE"]: 8,
    DT["DT_INT32"]: 4,
    DT["DT_UINT8"]: 1,
    DT["DT_INT16"]: 2,
    DT["DT_INT8"]: 1,
    DT["DT_COMPLEX64"]: 8,
    DT["DT_INT64"]: 8,
    DT["DT_BOOL"]: 1,
    DT["DT_QINT8"]: 1,
    DT["DT_QUINT8"]: 1,
    DT["DT_QINT32"]: 4,
    DT["DT_BFLOAT16"]: 2,
    DT["DT_QINT16"]: 2,
    DT["DT_QUINT16"]: 2,
    DT["DT_UINT16"]: 2,
    DT["DT_COMPLEX128"]: 16,
    DT["DT_HALF"]: 2,
    DT["DT_UINT32"]: 4,
    DT["DT_UINT64"]: 8,
    DT["DT_FLOAT8_E5M2"]: 1,
    DT["DT_FLOAT8_E4M3FN"]: 1,
    DT["DT_FLOAT8_E4M3FNUZ"]: 1,
    DT["DT_FLOAT8_E4M3B11FNUZ"]: 1,
    DT["DT_FLOAT8_E5M2FNUZ"]: 1,
}

FLOAT_DTYPES = frozenset(
    DT[n]
    for n in (
        "DT_FLOAT",
        "DT_DOUBLE",
        "DT_HALF",
        "DT_BFLOAT16",
        "DT_FLOAT8_E5M2",
        "DT_FLOAT8_E4M3FN",
        "DT_FLOAT8_E4M3FNUZ",
        "DT_FLOAT8_E4M3B11FNUZ",
        "DT_FLOAT8_E5M2FNUZ",
    )
)

QUANTIZED_DTYPES = frozenset(
    DT[n] for n in ("DT_QINT8", "DT_QUINT8", "DT_QINT16", "DT_QUINT16", "DT_QINT32")
)
# The dtypes of weights: a constant or variable of one of these with a dimension is a
# parameter, and its values are never needed to count.
WEIGHT_DTYPES = FLOAT_DTYPES | QUANTIZED_DTYPES
INTEGER_DTYPES = frozenset(
    DT[f"DT_{sign}INT{bits}"] for sign in ("", "U") for bits in (2, 4, 8, 16, 32, 64)
)
# A variable's weights may be integers too: a Keras model quantized to int8 keeps its
# kernels in int8 variables (a graph's own integer constants are shapes and indices).
VARIABLE_WEIGHT_DTYPES = WEIGHT_DTYPES | INTEGER_DTYPES

# dtype -> (numpy dtype of tensor_content, TensorProto field of the typed values)
_NUMPY = {
    DT["DT_FLOAT"]: (np.float32, "float_val"),
    DT["DT_DOUBLE"]: (np.float64, "double_val"),
    DT["DT_INT32"]: (np.int32, "int_val"),
    DT["DT_UINT8"]: (np.uint8, "int_val"),
    DT["DT_INT16"]: (np.int16, "int_val"),
    DT["DT_INT8"]: (np.int8, "int_val"),
    DT["DT_INT64"]: (np.int64, "int64_val"),
    DT["DT_BOOL"]: (np.bool_, "bool_val"),
    DT["DT_UINT16"]: (np.uint16, "int_val"),
    DT["DT_HALF"]: (np.float16, "half_val"),
    DT["DT_UINT32"]: (np.uint32, "uint32_val"),
    DT["DT_UINT64"]: (np.uint64, "uint64_val"),
}


def base_dtype(dtype: int) -> int:
    """DT_FLOAT_REF → DT_FLOAT."""
    return dtype - 100 if dtype > 100 else dtype


def dtype_name(dtype: int) -> str:
    for name, number in DT.items():
        if number == base_dtype(dtype):
            return name[3:].lower()
    return f"dtype{dtype}"


def shape_text(shape: Shape, unknown_rank: str = "unknown") -> str:
    """``(1, ?, 3)`` for a shape with an unknown dimension; ``unknown_rank`` for no rank."""
    if shape is None:
        return unknown_rank
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"


# The most elements a tensor may have: TensorFlow counts them in an int64.
MAX_ELEMENTS = 2**63 - 1
# The most dimensions a TensorFlow shape may have.
MAX_RANK = 254


def invalid_shape(shape: Shape) -> str | None:
    """Why TensorFlow would refuse a static shape, or None: more than ``MAX_RANK``
    dimensions, a negative one, or more elements than ``MAX_ELEMENTS`` (its unknown
    dimensions left aside)."""
    if not shape:  # unknown rank, or a scalar
        return None
    if len(shape) > MAX_RANK:
        return f"a shape of {len(shape)} dimensions (TensorFlow's limit: {MAX_RANK})"
    known = shape if None not in shape else [d for d in shape if d is not None]
    if known and min(known) < 0:
        return f"shape {shape_text(shape)} has a negative dimension"
    if math.prod(known) > MAX_ELEMENTS:
        return f"shape {shape_text(shape)} has more than 2^63-1 elements, TensorFlow's limit"
    return None


def valid_elements(shape: Shape) -> int | None:
    """The elements of a fully known shape TensorFlow accepts (``invalid_shape``); None
    when a dimension is unknown or TensorFlow would refuse it. Asked per tensor per use:
    the answers for the few shapes a graph holds are kept."""
    try:
        return _valid_elements(shape)
    except TypeError:  # a shape given as a list: not kept
        return _valid_elements.__wrapped__(shape)


@functools.lru_cache(maxsize=4096)
def _valid_elements(shape: Shape) -> int | None:
    if shape is None or None in shape or invalid_shape(shape) is not None:
        return None
    return math.prod(shape)


def shape_from_proto(shape: proto.TensorShapeProto) -> tuple[int | None, ...] | None:
    """TensorShapeProto → tuple with None for unknown dims, or None for unknown rank."""
    if shape.unknown_rank:
        return None
    return tuple(d.size if d.size >= 0 else None for d in shape.dim)


def tensor_shape(tensor: proto.TensorProto) -> tuple[int, ...]:
    return tuple([d.size for d in tensor.tensor_shape.dim])


def tensor_value(tensor: proto.TensorProto) -> np.ndarray | None:
    """The value of a TensorProto as a numpy array, or None for dtypes not decoded.

    A typed value list shorter than the shape is padded with its last value (TensorFlow's
    rule for splat constants).
    """
    dtype = base_dtype(tensor.dtype)
    if dtype not in _NUMPY:
        return None
    np_dtype, field = _NUMPY[dtype]
    shape = tensor_shape(tensor)
    count = 1
    for d in shape:
        count *= d
    if tensor.tensor_content:
        flat = np.frombuffer(tensor.tensor_content, dtype=np_dtype)
    else:
        values = getattr(tensor, field)
        if dtype == DT["DT_HALF"]:
            flat = np.array(values, dtype=np.uint16).view(np.float16)
        else:
            flat = np.array(values, dtype=np_dtype)
        if 0 < len(flat) < count:
            flat = np.concatenate([flat, np.full(count - len(flat), flat[-1], dtype=np_dtype)])
        elif len(flat) == 0:
            flat = np.zeros(count, dtype=np_dtype)
    if flat.size != count:
        return None
    return flat.reshape(shape)


def attr_value(value: proto.AttrValue) -> Any:
    """AttrValue → int, float, bool, str, dtype int, shape tuple, list of those, or None."""
    kind = value.WhichOneof("value")
    if kind == "s":
        return value.s.decode("utf-8", "replace")
    if kind in ("i", "f", "b", "type"):
        return getattr(value, kind)
    if kind == "shape":
        return shape_from_proto(value.shape)
    if kind == "list":
        lst = value.list
        for field in ("i", "f", "b", "type"):
            if getattr(lst, field):
                return list(getattr(lst, field))
        if lst.s:
            return [s.decode("utf-8", "replace") for s in lst.s]
        if lst.shape:
            return [shape_from_proto(s) for s in lst.shape]
        return []
    if kind == "func":
        return value.func.name
    return None


class NodeAttrs(Mapping):
    """A node's attributes as plain values, decoded when read (see ``attr_value``); the
    NodeDef's attr map is not touched until one is."""

    __slots__ = ("_node",)

    def __init__(self, node: proto.NodeDef):
        self._node = node

    def __getitem__(self, key: str) -> Any:
        attr = self._node.attr
        return attr_value(attr[key]) if key in attr else _missing(key)

    def __iter__(self):
        return iter(self._node.attr)

    def __len__(self) -> int:
        return len(self._node.attr)


def _missing(key: str):
    raise KeyError(key)
