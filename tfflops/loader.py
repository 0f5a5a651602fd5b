"""Bytes or a path → GraphDef, without importing TensorFlow.

The format is told from the content, not the extension: a binary GraphDef, a text
GraphDef (``.pbtxt``); anything else is refused with a reason.
"""

from __future__ import annotations

import mmap
import os
from pathlib import Path

from google.protobuf import message, text_format

from tfflops import proto
from tfflops.errors import TfflopsError
from tfflops.wire import strip_large_tensors

# Protobuf cannot parse a message of 2 GiB or more.
PROTOBUF_LIMIT = 2**31 - 1

_MAGIC = {
    b"TFL3": "a TensorFlow Lite model",
    b"\x89HDF": "a Keras HDF5 file",
    b"PK\x03\x04": "a zip archive (a .keras file?)",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
}


def load_graph_def(path: str | os.PathLike) -> proto.GraphDef:
    """Read a GraphDef from ``path``; raise TfflopsError naming the file."""
    return load_model(path)[0]


def load_model(path: str | os.PathLike, weights: bool = True) -> tuple[proto.GraphDef, str]:
    """Read ``path`` → (GraphDef, what it was read from).

    A binary or text GraphDef is read as it is. For a SavedModel (its directory or its
    ``saved_model.pb``) and a MetaGraphDef (``.meta``), the graph of the first MetaGraph
    is read, un-frozen: its variables count as parameters, their values are not needed.

    ``weights=False`` leaves out the values of large floating-point constants (their
    dtype and shape stay): all that counting needs, at a fraction of the time and memory.
    """
    path = Path(path)
    if path.is_dir():
        if (path / "saved_model.pb").is_file():
            path = path / "saved_model.pb"
        else:
            raise TfflopsError(f"{path}: is a directory without a saved_model.pb: not a SavedModel")
    try:
        size = path.stat().st_size
        if size > PROTOBUF_LIMIT:
            raise TfflopsError(
                f"{path}: {size} bytes is over protobuf's 2 GiB message limit; "
                "a GraphDef that large cannot be parsed"
            )
        if not weights and size >= _STRIP_FROM_SIZE:
            stripped = _read_without_weights(path)
            if stripped is not None:
                return stripped
        data = path.read_bytes()
    except OSError as e:
        raise TfflopsError(f"{path}: cannot read: {e.strerror or e}") from None
    return parse_model(data, str(path))


# Below this size, reading the weights costs less than walking the wire format.
_STRIP_FROM_SIZE = 8 << 20


def _read_without_weights(path: Path) -> tuple[proto.GraphDef, str] | None:
    """A binary GraphDef file, memory-mapped, parsed without its large weights."""
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        view = memoryview(mapped)
        try:
            if _looks_like_text(bytes(view[:4096])):
                return None
            data = strip_large_tensors(view)
        finally:
            view.release()
    if data is None:
        return None
    try:
        return _parse_binary("GraphDef", data, str(path)), "GraphDef"
    except TfflopsError:
        return None


def parse_graph_def(data: bytes, source: str = "<bytes>") -> proto.GraphDef:
    """Parse GraphDef bytes (binary or text format); ``source`` names them in errors."""
    return parse_model(data, source)[0]


def parse_model(data: bytes, source: str = "<bytes>") -> tuple[proto.GraphDef, str]:
    """Bytes of a GraphDef, SavedModel or MetaGraphDef → (GraphDef, format description)."""
    if not data:
        raise TfflopsError(f"{source}: file is empty")
    for magic, what in _MAGIC.items():
        if data.startswith(magic) or data[4:8] == magic == b"TFL3":
            raise TfflopsError(f"{source}: this is {what}, not a TensorFlow GraphDef")
    if data[:64].lstrip()[:1] in (b"{", b"["):
        raise TfflopsError(
            f"{source}: this is a JSON file (a Keras or TF.js model.json?), not a GraphDef"
        )
    if _looks_like_text(data):
        return _parse_text(data, source), "GraphDef (text)"
    if source.endswith("saved_model.pb"):
        order = ("SavedModel", "MetaGraphDef", "GraphDef")
    elif source.endswith(".meta"):
        order = ("MetaGraphDef", "GraphDef", "SavedModel")
    else:
        order = ("GraphDef", "SavedModel", "MetaGraphDef")
    first_error = None
    for kind in order:
        try:
            return _parse_binary(kind, data, source), kind
        except TfflopsError as e:
            first_error = first_error or e
    raise first_error


def _parse_binary(kind: str, data: bytes, source: str) -> proto.GraphDef:
    message_class = getattr(proto, kind)
    parsed = message_class()
    try:
        parsed.ParseFromString(data)
    except (message.DecodeError, RuntimeError, ValueError):
        raise TfflopsError(
            f"{source}: not a GraphDef: the protobuf is truncated or corrupt, "
            "or the file is in another format"
        ) from None
    if kind == "SavedModel":
        if not parsed.meta_graphs:
            raise TfflopsError(f"{source}: not a GraphDef (no nodes found)")
        graph_def = parsed.meta_graphs[0].graph_def
    elif kind == "MetaGraphDef":
        graph_def = parsed.graph_def
    else:
        graph_def = parsed
    _check_structure(graph_def, source)
    return graph_def


def _looks_like_text(data: bytes) -> bool:
    head = data[:4096].lstrip()
    return head.startswith((b"node", b"versions", b"library", b"#")) and b"\x00" not in head


def _parse_text(data: bytes, source: str) -> proto.GraphDef:
    graph_def = proto.GraphDef()
    try:
        text_format.Parse(data.decode("utf-8"), graph_def, allow_unknown_field=True)
    except (text_format.ParseError, UnicodeDecodeError) as e:
        raise TfflopsError(f"{source}: not a valid text GraphDef: {e}") from None
    _check_structure(graph_def, source)
    return graph_def


def _check_structure(graph_def: proto.GraphDef, source: str) -> None:
    """Random bytes often parse as a protobuf; a GraphDef also names its nodes and ops."""
    if not graph_def.node and not graph_def.library.function:
        raise TfflopsError(f"{source}: not a GraphDef (no nodes found)")
    seen: set[str] = set()
    for node in graph_def.node:
        if not node.name or not node.op:
            raise TfflopsError(f"{source}: not a valid GraphDef: a node without a name or op")
        if node.name in seen:
            raise TfflopsError(f"{source}: not a valid GraphDef: node {node.name!r} twice")
        seen.add(node.name)
