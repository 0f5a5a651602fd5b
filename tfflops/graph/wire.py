"""Reading a GraphDef without its weights: a walk over the protobuf wire format.

Counting needs every constant's dtype and shape, never its values, yet a frozen model is
mostly weight bytes (VGG16: 528 of 528 MB). ``strip_large_tensors`` copies a serialized
GraphDef except the ``tensor_content`` of large floating-point constants, walking only
the path GraphDef.node → NodeDef.attr → AttrValue.tensor → TensorProto; the weight bytes
are skipped, never read (with a memory-mapped file they are not even paged in).
"""

from __future__ import annotations

from tfflops.graph.tensors import WEIGHT_DTYPES, base_dtype

# Field numbers down to a constant's tensor: GraphDef.node = 1, NodeDef.attr = 5,
# attr map entry value = 2, AttrValue.tensor = 8; then TensorProto.dtype = 1 and
# TensorProto.tensor_content = 4.
_PATH = (1, 5, 2, 8)
_DTYPE, _CONTENT = 1, 4


class _Malformed(Exception):
    pass


def _varint(buf, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise _Malformed
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _fields(buf, start: int, end: int):
    """(field number, wire type, field start, value start, value end) of each field."""
    pos = start
    while pos < end:
        field_start = pos
        key, pos = _varint(buf, pos)
        wire_type = key & 7
        if wire_type == 0:
            _, value_end = _varint(buf, pos)
        elif wire_type == 1:
            value_end = pos + 8
        elif wire_type == 2:
            length, pos = _varint(buf, pos)
            value_end = pos + length
        elif wire_type == 5:
            value_end = pos + 4
        else:
            raise _Malformed
        if value_end > end:
            raise _Malformed
        yield key >> 3, wire_type, field_start, pos, value_end
        pos = value_end


def _strip(buf, start: int, end: int, depth: int, min_bytes: int) -> list | None:
    """The message's content as pieces, without large float tensor contents; None if
    nothing was removed."""
    pieces: list = []
    copied = start  # buf[copied:here] is still to be copied verbatim
    changed = False
    dtype = None
    for field, wire_type, field_start, value_start, value_end in _fields(buf, start, end):
        if depth == len(_PATH):
            if field == _DTYPE and wire_type == 0:
                dtype = _varint(buf, value_start)[0]
            elif (
                field == _CONTENT
                and wire_type == 2
                and value_end - value_start >= min_bytes
                and dtype is not None
                and base_dtype(dtype) in WEIGHT_DTYPES
            ):
                pieces.append(buf[copied:field_start])
                copied = value_end
                changed = True
            continue
        if field != _PATH[depth] or wire_type != 2 or value_end - value_start < min_bytes:
            continue
        inner = _strip(buf, value_start, value_end, depth + 1, min_bytes)
        if inner is None:
            continue
        pieces.append(buf[copied:field_start])
        content = b"".join(inner)
        pieces.append(_encode_varint(field << 3 | 2) + _encode_varint(len(content)) + content)
        copied = value_end
        changed = True
    if not changed:
        return None
    pieces.append(buf[copied:end])
    return pieces


def strip_large_tensors(buf, min_bytes: int = 1 << 16) -> bytes | None:
    """A serialized GraphDef without float tensor contents of ``min_bytes`` or more.

    Returns None when nothing was removed or the bytes are not a well-formed message
    (the caller then parses them whole and reports any error).
    """
    try:
        pieces = _strip(buf, 0, len(buf), 0, min_bytes)
    except (_Malformed, IndexError):
        return None
    return None if pieces is None else b"".join(pieces)
