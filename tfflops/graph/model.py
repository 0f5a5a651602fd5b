"""Every format users ship → one graph to count, with its inputs and outputs.

``open_model`` is what ``profile``, ``freeze``, ``check`` and ``inspect`` open:

* a GraphDef (binary or text) — as it is; the outputs are guessed from its sinks;
* a SavedModel (a directory or its ``saved_model.pb``) — the MetaGraph of ``tag_set``
  and the graph of ``signature``, whose SignatureDef names the inputs and outputs (read
  with tfflops' own schema, no TensorFlow). TensorFlow 1 ones hold ``VariableV2`` nodes
  and a ``variables/`` checkpoint; TensorFlow 2 ones call functions that read resource
  variables. Un-frozen: variables count as parameters, their values are not needed;
* a MetaGraphDef (``.meta``) — its graph, its saver, and the checkpoint beside it
  (``model.meta`` → ``model``), which ``freeze`` reads;
* a Keras file (``.keras``, ``.h5``) — loaded by Keras with ``safe_mode=True`` (which
  refuses the Python code of ``Lambda`` layers; loading then runs Keras' own layer code
  only), traced at batch 1 (or ``input_shapes``) and frozen, with TensorFlow.

Everything else is refused with a reason (``loader``).
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tfflops.errors import TfflopsError
from tfflops.graph import proto
from tfflops.graph.families import PLACEHOLDER_OPS
from tfflops.graph.index import parse_tensor_name
from tfflops.graph.loader import ModelFile, read_model
from tfflops.graph.tensors import dtype_name, shape_from_proto

DEFAULT_SIGNATURE = "serving_default"
# The signature a TensorFlow 2 SavedModel keeps for its initializers: not a model entry.
_INIT_SIGNATURE = "__saved_model_init_op"

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class TensorSpec:
    """One input or output: its key (the signature's, or Keras' name), tensor, dtype, shape."""

    key: str
    name: str  # the tensor in the graph: "serving_default_x:0"
    dtype: str
    shape: tuple[int | None, ...] | None  # None: unknown rank

    @property
    def node(self) -> str:
        return parse_tensor_name(self.name).node

    def to_dict(self) -> dict:
        return {
            "key": self.key,
            "name": self.name,
            "dtype": self.dtype,
            "shape": None if self.shape is None else list(self.shape),
        }


@dataclass(frozen=True)
class Signature:
    """A SignatureDef (or a Keras model's inputs and outputs), as plain data."""

    name: str
    method: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "method": self.method,
            "inputs": [t.to_dict() for t in self.inputs],
            "outputs": [t.to_dict() for t in self.outputs],
        }


@dataclass
class Model:
    """A model file opened for counting: its graph, and what its format says about it.

    ``kind`` is the format ("GraphDef", "GraphDef (text)", "SavedModel", "MetaGraphDef",
    "Keras"); ``description`` says more for people (TF1 or TF2, tags, the file's writer).
    ``signature`` is the one chosen, if any; its outputs are the default outputs.
    ``saver`` is a MetaGraph's (filename tensor, restore op); ``checkpoint`` the prefix
    beside a ``.meta``; ``not_outputs`` nodes never guessed as outputs (the saver's).
    ``frozen`` is true when the graph has no variables left (a traced Keras model).
    """

    source: str
    kind: str
    description: str
    graph_def: proto.GraphDef
    path: Path | None = None
    signatures: dict[str, Signature] = field(default_factory=dict)
    signature: Signature | None = None
    tags: tuple[str, ...] = ()
    tag_sets: list[tuple[str, ...]] = field(default_factory=list)
    saver: tuple[str, str] | None = None
    checkpoint: str | None = None
    not_outputs: frozenset[str] = frozenset()
    frozen: bool = False
    input_shapes_applied: bool = False  # the shapes are in the graph already (Keras)
    notes: list[str] = field(default_factory=list)

    @property
    def outputs(self) -> list[str] | None:
        """The chosen signature's output nodes, in key order; None without a signature."""
        if self.signature is None:
            return None
        return list(dict.fromkeys(t.node for t in self.signature.outputs))

    def use_signature(self, name: str) -> None:
        """Take the signature ``name``: its outputs become the outputs, its inputs inputs."""
        _check_signature(self, self.signatures[name])
        self.signature = self.signatures[name]
        self.notes.append(_signature_note(self))
        fed = feed_signature_inputs(self.graph_def, self.signature)
        if fed:
            self.notes.append(
                f"signature {name} feeds {', '.join(fed)}, which the graph computes: made "
                "an input, as in serving; what computed it is not counted"
            )

    def input_shapes(
        self, input_shapes: Mapping[str, Sequence[int | None]] | None
    ) -> dict[str, Sequence[int | None]]:
        """``input_shapes`` with signature keys (``x``) turned into graph inputs
        (``serving_default_x``); graph names pass as they are."""
        if not input_shapes or self.input_shapes_applied:
            return {}
        by_key = {}
        for signature in ([self.signature] if self.signature else []) + list(
            self.signatures.values()
        ):
            for t in signature.inputs:
                by_key.setdefault(t.key, t.node)
        nodes = {n.name for n in self.graph_def.node}
        resolved = {}
        for name, shape in input_shapes.items():
            node = parse_tensor_name(name).node
            resolved[name if node in nodes else by_key.get(name, name)] = shape
        return resolved


def open_model_file(
    path: Path,
    source: str,
    *,
    signature: str | None = None,
    tag_set: Sequence[str] | None = None,
    weights: bool = True,
    outputs_given: bool = False,
) -> Model:
    """Open a GraphDef, SavedModel or MetaGraphDef file (not Keras: see ``keras_format``).

    ``signature`` None picks ``serving_default``, else the only signature; when there are
    several and none is the default, a TfflopsError lists them. With ``outputs_given``
    (the caller names the outputs) only an explicit ``signature`` is taken: the graph is
    then the MetaGraph's as it is. ``tag_set`` picks a SavedModel's MetaGraph.
    """
    file = read_model(path, weights=weights, tag_set=tag_set)
    opened = Model(source, file.kind, file.kind, file.graph_def, path)
    if file.meta_graph is None:
        if signature:
            raise TfflopsError(f"`signature`: {source} is a {file.kind}, which has no signatures")
        return opened
    _describe_meta_graph(opened, file)
    opened.signatures = read_signatures(file.meta_graph)
    wanted = None
    if signature or not outputs_given:
        wanted = select_signature(opened.signatures, signature, source)
    if wanted is not None:
        opened.use_signature(wanted)
    return opened


def feed_signature_inputs(graph_def: proto.GraphDef, signature: Signature) -> list[str]:
    """Make every input of ``signature`` a Placeholder of its dtype and shape, in place.

    A signature may feed a tensor the graph computes (half_plus_two's ``x``, an Identity
    of a ParseExample output): serving feeds it, so its producer does not run. The node
    itself becomes the Placeholder when the tensor is its only output, else a new
    Placeholder takes the tensor's readers. Returns the tensors fed so.
    """
    nodes = {n.name: n for n in graph_def.node}
    fed = []
    for spec in signature.inputs:
        ref = parse_tensor_name(spec.name)
        node = nodes[ref.node]
        if node.op in PLACEHOLDER_OPS:
            continue
        fed.append(f"{spec.name} ({node.op})")
        dtype = proto.DATA_TYPES.get(f"DT_{spec.dtype.upper()}", 0) or _output_dtype(node)
        readers = [
            (reader, i)
            for reader in graph_def.node
            for i, raw in enumerate(reader.input)
            if not raw.startswith("^") and parse_tensor_name(raw).node == ref.node
        ]
        other_outputs = any(parse_tensor_name(r.input[i]).index != ref.index for r, i in readers)
        if ref.index == 0 and not other_outputs:
            target = node
            target.Clear()
            target.name, target.op = ref.node, "Placeholder"
        else:
            name = f"{ref.node}_{ref.index}/fed"
            while name in nodes:
                name += "_"
            target = graph_def.node.add(name=name, op="Placeholder")
            nodes[name] = target
            for reader, i in readers:
                if parse_tensor_name(reader.input[i]).index == ref.index:
                    reader.input[i] = name
        target.attr["dtype"].type = dtype
        shape = target.attr["shape"].shape
        shape.SetInParent()
        if spec.shape is None:
            shape.unknown_rank = True
        for d in spec.shape or ():
            shape.dim.add(size=-1 if d is None else d)
    return fed


def _output_dtype(node: proto.NodeDef) -> int:
    for key in ("T", "dtype", "out_type"):
        if key in node.attr and node.attr[key].WhichOneof("value") == "type":
            return node.attr[key].type
    return proto.DATA_TYPES["DT_FLOAT"]


def _describe_meta_graph(opened: Model, file: ModelFile) -> None:
    meta_graph = file.meta_graph
    opened.tags = tuple(meta_graph.meta_info_def.tags)
    opened.tag_sets = list(file.tag_sets)
    saver = meta_graph.saver_def
    if saver.restore_op_name and saver.filename_tensor_name:
        opened.saver = (saver.filename_tensor_name, saver.restore_op_name)
    saver_nodes = (saver.save_tensor_name, saver.restore_op_name)
    opened.not_outputs = frozenset(parse_tensor_name(n).node for n in saver_nodes if n)
    details = []
    if file.kind == "SavedModel":
        # A SavedObjectGraph is written by TensorFlow 2's tf.saved_model.save only.
        details.append(
            "TF2: functions, resource variables" if meta_graph.object_graph_def else "TF1"
        )
        details.append(f"tags {','.join(opened.tags) or '(none)'}")
        if len(file.tag_sets) > 1:
            details[-1] += f" (of {len(file.tag_sets)} MetaGraphs)"
            opened.notes.append(
                f"SavedModel: chose the MetaGraph tagged {','.join(opened.tags) or '(none)'} "
                f"of {len(file.tag_sets)} ("
                + "; ".join(",".join(t) or "(none)" for t in file.tag_sets)
                + "); --tag-set picks another"
            )
    else:
        if file.path is not None and file.path.suffix == ".meta":
            prefix = file.path.with_suffix("")
            if Path(f"{prefix}.index").is_file():
                opened.checkpoint = str(prefix)
                details.append(f"checkpoint {prefix} beside it")
    version = meta_graph.meta_info_def.tensorflow_version
    if version:
        details.append(f"written by TensorFlow {version}")
    opened.description = f"{file.kind} ({'; '.join(details)})" if details else file.kind


def read_signatures(meta_graph: proto.MetaGraphDef) -> dict[str, Signature]:
    """A MetaGraph's SignatureDefs by name (sorted), without its initializer signature."""
    signatures = {}
    for name in sorted(meta_graph.signature_def):
        if name == _INIT_SIGNATURE:
            continue
        signature_def = meta_graph.signature_def[name]
        signatures[name] = Signature(
            name,
            signature_def.method_name,
            _tensor_specs(signature_def.inputs),
            _tensor_specs(signature_def.outputs),
        )
    return signatures


def _tensor_specs(infos) -> tuple[TensorSpec, ...]:
    specs = []
    for key in sorted(infos):
        info = infos[key]
        shape = shape_from_proto(info.tensor_shape) if info.HasField("tensor_shape") else None
        specs.append(TensorSpec(key, info.name, dtype_name(info.dtype), shape))
    return tuple(specs)


def select_signature(
    signatures: Mapping[str, Signature], wanted: str | None, source: str
) -> str | None:
    """The signature to use: ``wanted``, else ``serving_default``, else the only one.

    Several and none of them the default: a TfflopsError listing them. None when the
    model has no signatures.
    """
    names = ", ".join(signatures) or "none"
    if wanted:
        if wanted not in signatures:
            raise TfflopsError(f"`signature` {wanted}: {source} has no such signature ({names})")
        return wanted
    if DEFAULT_SIGNATURE in signatures:
        return DEFAULT_SIGNATURE
    if len(signatures) == 1:
        return next(iter(signatures))
    if len(signatures) > 1:
        raise TfflopsError(
            f"{source}: {len(signatures)} signatures and none is {DEFAULT_SIGNATURE}: "
            f"{names}; choose one with `signature` NAME (or name `outputs`)"
        )
    return None


def _check_signature(opened: Model, signature: Signature) -> None:
    nodes = {n.name for n in opened.graph_def.node}
    if not signature.outputs:
        raise TfflopsError(f"`signature` {signature.name}: {opened.source}: it has no outputs")
    for t in (*signature.inputs, *signature.outputs):
        if not t.name:
            raise TfflopsError(
                f"`signature` {signature.name}: {opened.source}: {t.key!r} is a sparse or "
                "composite tensor, which tfflops cannot follow; name `outputs` instead"
            )
        if t.node not in nodes:
            raise TfflopsError(
                f"`signature` {signature.name}: {opened.source}: its tensor {t.name!r} "
                f"({t.key}) is not in the graph"
            )


def _signature_note(opened: Model) -> str:
    s = opened.signature

    def listing(specs):
        return ", ".join(t.key if t.key == t.node else f"{t.key} ({t.name})" for t in specs)

    inputs = listing(s.inputs) or "none"
    return f"{opened.kind} signature {s.name}: inputs {inputs}; outputs {listing(s.outputs)}"


# ---------------------------------------------------------------- Keras


def keras_format(path: Path) -> str | None:
    """ "h5" or "keras" when ``path`` is a Keras file, told by its content; else None.

    A zip archive is a ``.keras`` file when it holds Keras' ``config.json``; an HDF5 file
    is taken for a Keras ``.h5`` (Keras itself then says if it holds no model).
    """
    if not path.is_file():
        return None
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return None
    if head == _HDF5_MAGIC:
        return "h5"
    if head[:4] == _ZIP_MAGIC:
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, OSError, ValueError):
            raise TfflopsError(f"{path}: a zip archive that cannot be read (truncated?)") from None
        if "config.json" in names:
            return "keras"
        raise TfflopsError(
            f"{path}: a zip archive without a Keras config.json (a PyTorch file?), "
            "not a TensorFlow or Keras model"
        )
    return None
