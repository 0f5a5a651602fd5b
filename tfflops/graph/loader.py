"""Bytes or a path → GraphDef, without importing TensorFlow.

The format is told from the content, not the extension: a binary GraphDef, a text
GraphDef (``.pbtxt``), a SavedModel (its directory or ``saved_model.pb``) or a
MetaGraphDef (``.meta``); anything else is refused with a reason. Keras files are
recognized here and loaded by ``formats`` (that needs TensorFlow).
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf import message, text_format

from tfflops.errors import TfflopsError
from tfflops.files import check_regular
from tfflops.graph import proto
from tfflops.graph.wire import strip_large_tensors

# Protobuf cannot parse a message of 2 GiB or more.
PROTOBUF_LIMIT = 2**31 - 1

_MAGIC = {
    b"TFL3": "a TensorFlow Lite model",
    b"\x89HDF": "a Keras HDF5 file",
    b"PK\x03\x04": "a zip archive (a .keras file?)",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
}


@dataclass
class ModelFile:
    """What a GraphDef, SavedModel or MetaGraphDef file holds.

    ``meta_graph`` is the chosen MetaGraph of a SavedModel (``tag_sets`` lists them all,
    in order), or the MetaGraphDef of a ``.meta``; None for a GraphDef. Its ``graph_def``
    is ``graph_def``.
    """

    path: Path | None
    kind: str  # "GraphDef", "GraphDef (text)", "SavedModel" or "MetaGraphDef"
    graph_def: proto.GraphDef
    meta_graph: proto.MetaGraphDef | None = None
    tag_sets: list[tuple[str, ...]] = field(default_factory=list)


def load_graph_def(path: str | os.PathLike) -> proto.GraphDef:
    """Read a GraphDef from ``path``; raise TfflopsError naming the file."""
    return load_model(path)[0]


def load_model(path: str | os.PathLike, weights: bool = True) -> tuple[proto.GraphDef, str]:
    """Read ``path`` → (GraphDef, what it was read from).

    A binary or text GraphDef is read as it is. For a SavedModel (its directory or its
    ``saved_model.pb``) and a MetaGraphDef (``.meta``), the graph of its MetaGraph (a
    SavedModel's tagged ``serve``, else its first) is read, un-frozen: its variables count
    as parameters, their values are not needed.

    ``weights=False`` leaves out the values of large floating-point constants (their
    dtype and shape stay): all that counting needs, at a fraction of the time and memory.
    """
    model = read_model(path, weights)
    return model.graph_def, model.kind


def read_model(
    path: str | os.PathLike, weights: bool = True, tag_set: Sequence[str] | None = None
) -> ModelFile:
    """Read ``path`` → ModelFile; ``tag_set`` picks a SavedModel's MetaGraph (see
    ``select_meta_graph``). Errors are TfflopsErrors naming the file."""
    path = model_file_path(path)
    try:
        size = check_regular(path, str(path)).st_size
        if size > PROTOBUF_LIMIT:
            raise TfflopsError(
                f"{path}: {size} bytes is over protobuf's 2 GiB message limit "
                f"({PROTOBUF_LIMIT} bytes); a GraphDef that large cannot be parsed"
            )
        if not weights and size >= _STRIP_FROM_SIZE and tag_set is None and _graph_def_first(path):
            stripped = _read_without_weights(path)
            if stripped is not None:
                return ModelFile(path, "GraphDef", stripped)
        data = path.read_bytes()
    except OSError as e:
        raise TfflopsError(f"{path}: cannot read: {e.strerror or e}") from None
    model = _parse(data, str(path), tag_set)
    model.path = path
    return model


def _graph_def_first(path: Path) -> bool:
    """Whether the file is tried as a GraphDef first (not a SavedModel or ``.meta``)."""
    return not path.name.endswith(("saved_model.pb", ".meta"))


def model_file_path(path: str | os.PathLike) -> Path:
    """The file to read for ``path``: a SavedModel directory's ``saved_model.pb``.

    A directory that holds no SavedModel is a TfflopsError that says what it does hold.
    """
    path = Path(path)
    if not path.is_dir():
        return path
    if (path / "saved_model.pb").is_file():
        return path / "saved_model.pb"
    if (path / "saved_model.pbtxt").is_file():
        raise TfflopsError(
            f"{path}: is a directory with a text SavedModel (saved_model.pbtxt), which "
            "tfflops does not read; save it in binary form (saved_model.pb)"
        )
    raise TfflopsError(f"{path}: is a directory without a saved_model.pb: {_what_dir_holds(path)}")


def is_saved_model(model) -> bool:
    """A SavedModel's directory or ``saved_model.pb``: what ``--signature`` and ``--tag-set``
    apply to among the models of ``compare`` and ``check``."""
    if not isinstance(model, (str, os.PathLike)):
        return False
    try:
        return model_file_path(model).name == "saved_model.pb"
    except TfflopsError:
        return False


def model_files(model: str | os.PathLike) -> list[Path]:
    """Every file opening ``model`` may read — what no output may overwrite.

    A file is itself (a GraphDef, a Keras file). A SavedModel (its directory or its
    ``saved_model.pb``) is its ``saved_model.pb`` and every file under ``variables/``; a
    ``.meta`` is itself and the checkpoint beside it (``model.meta`` → ``model.index``,
    ``model.data-*``). Files that do not exist are listed too: they are harmless.
    """
    path = Path(model)
    if path.is_dir() or path.name == "saved_model.pb":
        root = path if path.is_dir() else path.parent
        return [root / "saved_model.pb", *_files_below(root / "variables")]
    if path.suffix == ".meta":
        return [path, *checkpoint_files(path.with_suffix(""))]
    return [path]


def _files_below(folder: Path) -> list[Path]:
    """Every file below ``folder``, sorted; symlinked folders are not followed, and the
    walk keeps a stack, not a recursion (a hostile tree may nest thousands deep)."""
    found, stack = [], [folder]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:  # missing, not a folder, unreadable
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))
            else:
                found.append(Path(entry.path))
    return sorted(found)


def checkpoint_files(prefix: str | os.PathLike) -> list[Path]:
    """The files of the checkpoint ``prefix``: ``.index``, every ``.data-*`` shard, the
    ``.meta`` graph, and ``prefix`` itself (a TensorFlow 1 V1 checkpoint is one file)."""
    prefix = Path(prefix)
    folder = prefix.parent if str(prefix.parent) else Path(".")
    try:
        shards = sorted(p for p in folder.iterdir() if p.name.startswith(f"{prefix.name}.data-"))
    except OSError:
        shards = []
    return [prefix, Path(f"{prefix}.index"), Path(f"{prefix}.meta"), *shards]


def _what_dir_holds(path: Path) -> str:
    try:
        names = sorted(p.name for p in path.iterdir())
    except OSError:
        names = []
    metas = [n for n in names if n.endswith(".meta")]
    if metas:
        return f"not a SavedModel; it holds a checkpoint: give its {metas[0]}"
    keras = [n for n in names if n.endswith((".keras", ".h5", ".hdf5"))]
    if keras:
        return f"not a SavedModel; it holds a Keras file: give {keras[0]}"
    if "config.json" in names:
        return "not a SavedModel (a Keras or Hugging Face directory? give a .keras file)"
    if any(n.endswith(".index") for n in names):
        return "not a SavedModel; it holds a checkpoint without a .meta graph"
    return "not a SavedModel"


# Below this size, reading the weights costs less than walking the wire format.
_STRIP_FROM_SIZE = 8 << 20


def _read_without_weights(path: Path) -> proto.GraphDef | None:
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
        return _parse_binary("GraphDef", data, str(path)).graph_def
    except TfflopsError:
        return None


def parse_model(data: bytes, source: str = "<bytes>") -> tuple[proto.GraphDef, str]:
    """Bytes of a GraphDef, SavedModel or MetaGraphDef → (GraphDef, format description)."""
    model = _parse(data, source, None)
    return model.graph_def, model.kind


def _parse(data: bytes, source: str, tag_set: Sequence[str] | None) -> ModelFile:
    if not data:
        raise TfflopsError(f"{source}: file is empty")
    for magic, what in _MAGIC.items():
        if data.startswith(magic) or data[4:8] == magic == b"TFL3":
            raise TfflopsError(f"{source}: this is {what}, not a TensorFlow GraphDef")
    if _looks_like_onnx(data):
        raise TfflopsError(
            f"{source}: this is an ONNX model, not a TensorFlow GraphDef "
            "(tfflops counts TensorFlow graphs only)"
        )
    if _looks_like_text(data):
        model = ModelFile(None, "GraphDef (text)", _parse_text(data, source))
        _check_no_tag_set(model, source, tag_set)
        return model
    if source.endswith("saved_model.pb"):
        order = ("SavedModel", "MetaGraphDef", "GraphDef")
    elif source.endswith(".meta"):
        order = ("MetaGraphDef", "GraphDef", "SavedModel")
    else:
        order = ("GraphDef", "SavedModel", "MetaGraphDef")
    if tag_set is not None:
        order = ("SavedModel", *(k for k in order if k != "SavedModel"))
    first_error = None
    for kind in order:
        try:
            model = _parse_binary(kind, data, source, tag_set)
        except TfflopsError as e:
            if e.argument == "tag_set":
                raise  # a SavedModel without that MetaGraph
            first_error = first_error or e
            continue
        _check_no_tag_set(model, source, tag_set)
        return model
    # Told only now: a binary GraphDef may open with a newline and a "{" (a length byte).
    if data[:64].lstrip()[:1] in (b"{", b"[") and _is_text(data[:64]):
        raise TfflopsError(
            f"{source}: this is a JSON file (a Keras or TF.js model.json?), not a GraphDef"
        )
    raise first_error


def _looks_like_onnx(data: bytes) -> bool:
    """An ONNX ModelProto opens with ir_version (field 1, >= 3), then another field.

    A SavedModel opens the same way with schema version 1; a GraphDef or MetaGraphDef
    opens with a length-delimited field.
    """
    return (
        len(data) > 2
        and data[0] == 0x08
        and 3 <= data[1] < 0x80
        and data[2] in (0x12, 0x1A, 0x22, 0x2A, 0x32, 0x3A, 0x42)
    )


def _parse_binary(kind: str, data: bytes, source: str, tag_set=None) -> ModelFile:
    message_class = getattr(proto, kind)
    parsed = message_class()
    try:
        parsed.ParseFromString(data)
    except (message.DecodeError, RuntimeError, ValueError):
        raise TfflopsError(
            f"{source}: not a GraphDef: the protobuf is truncated or corrupt, "
            "or the file is in another format"
        ) from None
    tag_sets = []
    if kind == "SavedModel":
        if not parsed.meta_graphs:
            raise TfflopsError(f"{source}: not a GraphDef (no nodes found)")
        tag_sets = [tuple(m.meta_info_def.tags) for m in parsed.meta_graphs]
        meta_graph = parsed.meta_graphs[select_meta_graph(tag_sets, tag_set, source)]
        graph_def = meta_graph.graph_def
    elif kind == "MetaGraphDef":
        meta_graph, graph_def = parsed, parsed.graph_def
    else:
        meta_graph, graph_def = None, parsed
    _check_structure(graph_def, source)
    return ModelFile(None, kind, graph_def, meta_graph, tag_sets)


def _check_no_tag_set(model: ModelFile, source: str, tag_set: Sequence[str] | None) -> None:
    if tag_set is not None and model.kind != "SavedModel":
        raise TfflopsError(
            f"`tag_set`: {source} is a {model.kind}, which has no tag sets (a SavedModel has)"
        )


def select_meta_graph(
    tag_sets: list[tuple[str, ...]], tag_set: Sequence[str] | None, source: str
) -> int:
    """The index of the MetaGraph whose tags are ``tag_set`` (in any order).

    Without ``tag_set``: the one tagged just ``serve``, else the first.
    """
    if tag_set is None:
        return next((i for i, tags in enumerate(tag_sets) if set(tags) == {"serve"}), 0)
    wanted = {t.strip() for t in tag_set if t.strip()}
    for i, tags in enumerate(tag_sets):
        if set(tags) == wanted:
            return i
    have = "; ".join(",".join(tags) or "(no tags)" for tags in tag_sets)
    raise TfflopsError(
        f"`tag_set` {','.join(sorted(wanted))}: {source} has no MetaGraph with these tags "
        f"(its tag sets: {have})"
    )


def _looks_like_text(data: bytes) -> bool:
    head = data[:4096]
    return _is_text(head) and head.lstrip().startswith((b"node", b"versions", b"library", b"#"))


def _is_text(head: bytes) -> bool:
    """Printable UTF-8 (a character cut at the end aside). A binary GraphDef opens with a
    newline byte (field 1's tag) and a length that may be any byte: ``{``, ``#``, ``n``."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start < len(head) - 3:
            return False
        text = head[: e.start].decode("utf-8")
    return all(c.isprintable() or c in "\t\n\r\f\v" for c in text)


def _parse_text(data: bytes, source: str) -> proto.GraphDef:
    graph_def = proto.GraphDef()
    try:
        text_format.Parse(data.decode("utf-8"), graph_def, allow_unknown_field=True)
        # Binary readers (protobuf's, TensorFlow's) refuse a message nested deeper than
        # 100 levels; the text parser only recurses in Python until it overflows. Hold a
        # text graph to the binary rule, so that nothing downstream meets a deeper one.
        proto.GraphDef.FromString(graph_def.SerializeToString())
    except (text_format.ParseError, UnicodeDecodeError) as e:
        reason = str(e)  # it may quote the whole line: a one-line file, all of it
        if len(reason) > _MAX_REASON:
            reason = reason[: _MAX_REASON // 2] + " … " + reason[-_MAX_REASON // 2 :]
        raise TfflopsError(f"{source}: not a valid text GraphDef: {reason}") from None
    except (RecursionError, message.DecodeError):
        raise TfflopsError(
            f"{source}: not a valid text GraphDef: nested deeper than protobuf allows "
            f"({_MAX_NESTING} levels)"
        ) from None
    _check_structure(graph_def, source)
    return graph_def


# Protobuf's nesting limit for binary messages (upb's and TensorFlow's default).
_MAX_NESTING = 100
# The most of a parser's message an error line quotes.
_MAX_REASON = 300


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
