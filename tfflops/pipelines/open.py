"""Open a model of any format, once, for every command: its graph, outputs and input shapes.

* a GraphDef (binary or text) — as it is; the outputs are guessed from its sinks;
* a SavedModel (a directory or its ``saved_model.pb``) — the MetaGraph of ``tag_set``
  and the graph of ``signature``, whose SignatureDef names the inputs and outputs (read
  with tfflops' own schema, no TensorFlow);
* a MetaGraphDef (``.meta``) — its graph, its saver, and the checkpoint beside it;
* a Keras file (``.keras``, ``.h5``) — loaded by Keras in safe mode, traced at batch 1 (or
  ``input_shapes``) and frozen, with TensorFlow (``tfflops.tf.keras``).

Everything else is refused with a reason (``tfflops.graph.loader``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tfflops.analysis.devices import device_file
from tfflops.analysis.shapes import ShapeResult
from tfflops.errors import TfflopsError
from tfflops.files import check_writable
from tfflops.graph import proto
from tfflops.graph.index import Graph, parse_tensor_name
from tfflops.graph.loader import checkpoint_files, model_files
from tfflops.graph.model import Model, keras_format, open_model_file
from tfflops.graph.phases import default_outputs, resolve_outputs


def open_model(
    model: str | os.PathLike,
    *,
    signature: str | None = None,
    tag_set: Sequence[str] | str | None = None,
    input_shapes: Mapping[str, Sequence[int | None]] | None = None,
    weights: bool = True,
    outputs_given: bool = False,
) -> Model:
    """Open ``model`` in whatever format it is (see the module doc).

    ``signature`` None picks ``serving_default``, else the only signature; when there are
    several and none is the default, a TfflopsError lists them. With ``outputs_given``
    (the caller names the outputs) only an explicit ``signature`` is taken: the graph is
    then the MetaGraph's as it is.
    ``tag_set`` (``"serve"`` or ``["serve", "gpu"]``) picks a SavedModel's MetaGraph.
    ``input_shapes`` matter for Keras only here (the shapes its model is traced at).
    """
    path = Path(model)
    source = str(model)
    if isinstance(tag_set, str):
        tag_set = [t for t in tag_set.split(",") if t.strip()]
    keras_kind = keras_format(path)
    if keras_kind is not None:
        for option, value in (("signature", signature), ("tag_set", tag_set)):
            if value:
                raise TfflopsError(f"`{option}`: {source} is a Keras file, not a SavedModel")
        from tfflops.tf.keras import open_keras

        return open_keras(path, source, keras_kind, input_shapes or {})
    return open_model_file(
        path,
        source,
        signature=signature,
        tag_set=tag_set,
        weights=weights,
        outputs_given=outputs_given,
    )


def input_files(
    *models: str | os.PathLike | proto.GraphDef, checkpoint: str | os.PathLike | None = None
) -> list[Path]:
    """Every file a command reads for ``models`` (and a ``checkpoint`` prefix): no output
    may be one of them (``tfflops.files.check_writable`` tells them by identity). A GraphDef
    object, or ``-`` (stdin), is no file."""
    files = [f for m in models if not _in_memory(m) for f in model_files(m)]
    if checkpoint is not None:
        files += checkpoint_files(checkpoint)
    return files


def option_files(
    formulas: Iterable[str | os.PathLike] = (),
    device=None,
    config: str | os.PathLike | None = None,
) -> list[Path]:
    """The files a command reads besides its models: the ``formulas`` files, a
    ``device`` file (not a built-in profile's name, not a Device), the settings file
    (``config``) — no output may be one of them either."""
    files = [Path(f) for f in formulas]
    if isinstance(device, (str, os.PathLike)) and (path := device_file(device)) is not None:
        files.append(path)
    return files + ([Path(config)] if config is not None else [])


def check_report_paths(
    models: Sequence[str],
    baseline: str | None,
    reports: Mapping[str, str | None],
    update_baseline: bool = False,
    also_read: Sequence[str | os.PathLike] = (),
) -> list:
    """The files ``check`` reads — the models' (``input_files``), the baseline, and
    ``also_read`` (``option_files``) — which no report may be; each report
    (``{"summary": path, ...}``) and, when it is rewritten, the baseline checked against
    them before any model is measured."""
    files = [("baseline", baseline), *reports.items()]
    files = [(argument, path) for argument, path in files if path]
    for k, (argument, path) in enumerate(files):  # no two of them one file
        for other, other_path in files[k + 1 :]:
            if Path(path).resolve() == Path(other_path).resolve():
                raise TfflopsError(f"`{argument}` and `{other}`: both name {other_path}")
    inputs = [*input_files(*models), *also_read]
    protect = [*inputs, *([baseline] if baseline else [])]
    for argument, path in files:
        if argument != "baseline":
            check_writable(path, protect, argument)
        elif update_baseline:
            check_writable(path, inputs, argument)
    return protect


def _in_memory(model) -> bool:
    return proto.is_graph_def(model) or model == "-"


@dataclass
class Target:
    """A model opened for counting or freezing: its graph, the outputs chosen, its input
    shapes (a signature's input keys become placeholder names), notes on how it was read,
    and what its format says (``model``; None for a GraphDef given as an object).

    ``output_tensors`` are the outputs as named (``logits:1``, a signature's tensors),
    for ``check_output_indices``."""

    graph: Graph
    outputs: list[str]
    input_shapes: dict[str, Sequence[int | None]] | None
    notes: list[str]
    model: Model | None = None
    output_tensors: list[str] = field(default_factory=list)


def open_target(
    model: str | os.PathLike | proto.GraphDef,
    outputs: Sequence[str] | str | None = None,
    input_shapes: dict[str, Sequence[int | None]] | None = None,
    signature: str | None = None,
    tag_set: Sequence[str] | str | None = None,
    *,
    weights: bool = False,
    guess_outputs: bool = True,
    name: str | None = None,
) -> Target:
    """Open ``model`` and choose its outputs: those given, else its signature's (a
    SavedModel's, a Keras model's), else (``guess_outputs``) the graph's sinks that do not
    initialize, train or save; without a guess the outputs may be empty.

    ``model`` may be a GraphDef object, tfflops' or TensorFlow's; ``name`` is what errors
    and reports call it (default ``<GraphDef>``)."""
    notes = []
    if isinstance(outputs, str):
        outputs = [o for o in outputs.split(",") if o.strip()]
    opened = None
    graph_def = proto.as_graph_def(model)
    if graph_def is not None:
        source = name or "<GraphDef>"
        for argument, value in (("signature", signature), ("tag_set", tag_set)):
            if value:
                raise TfflopsError(f"`{argument}`: needs a SavedModel, not a GraphDef")
    else:
        opened = open_model(
            model,
            signature=signature,
            tag_set=tag_set,
            input_shapes=input_shapes,
            weights=weights,
            outputs_given=bool(outputs),
        )
        graph_def, source = opened.graph_def, opened.source
        notes.extend(opened.notes)
        input_shapes = opened.input_shapes(input_shapes)
    graph = Graph(graph_def, source)
    if outputs:
        output_names = resolve_outputs(graph, outputs)
    elif opened is not None and opened.outputs:
        output_names = opened.outputs
    elif guess_outputs:
        output_names = guessed_outputs(graph, opened)
        notes.append(f"outputs not given; chose the graph's sinks: {', '.join(output_names)}")
    else:
        output_names = []
    tensors = list(outputs or [])
    if not outputs and opened is not None and opened.signature is not None:
        tensors = [t.name for t in opened.signature.outputs]
    return Target(graph, output_names, input_shapes, notes, opened, tensors)


def guessed_outputs(graph: Graph, opened: Model | None = None) -> list[str]:
    """The graph's sinks that do not initialize, train or save, nor belong to its saver."""
    not_outputs = opened.not_outputs if opened is not None else frozenset()
    return [n for n in default_outputs(graph) if n not in not_outputs] or default_outputs(graph)


def check_output_indices(
    graph: Graph, shapes: ShapeResult, tensors: Iterable[str] = (), argument: str = "outputs"
) -> None:
    """Every edge of ``graph``, and every tensor of ``tensors`` (``logits:1``), reads an
    output its node has; else a TfflopsError naming the node.

    A node's outputs are counted where the shape inference analysed its op (a shape
    function, a placeholder, a function call's declared outputs); where it did not (an
    op it does not know), any index passes.
    """
    names, ops, by_id, unknown = graph.names, graph.op_list, shapes.by_id, shapes.unknown

    def past_the_end(j: int, k: int) -> bool:
        return k >= len(by_id[j]) and names[j] not in unknown

    def outputs_of(j: int) -> str:
        return f"{names[j]} ({ops[j]}) has {len(by_id[j])} output(s)"

    for i, data in enumerate(graph.data_in):
        for j, k in data:
            if k >= len(by_id[j]) and past_the_end(j, k):  # (the first test inline: hot)
                raise TfflopsError(
                    f"{graph.source}: node {names[i]!r} reads {names[j]}:{k}, but {outputs_of(j)}"
                )
    for tensor in tensors:
        ref = parse_tensor_name(tensor.strip().lstrip("^"))
        j = graph.index.get(ref.node)
        if j is not None and past_the_end(j, ref.index):
            raise TfflopsError(f"`{argument}` {tensor.strip()}: {outputs_of(j)} in {graph.source}")
