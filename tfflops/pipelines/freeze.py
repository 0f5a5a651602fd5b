"""``tfflops freeze``: open a model, plan the freeze, read the values, write the graph."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from google.protobuf import text_format

from tfflops.analysis.shapes import infer_shapes
from tfflops.errors import TfflopsError
from tfflops.files import write_atomic
from tfflops.freeze.plan import apply_freeze, plan_freeze
from tfflops.graph import proto
from tfflops.graph.library import calls_functions
from tfflops.pipelines.open import (
    check_output_indices,
    guessed_outputs,
    input_files,
    open_target,
)
from tfflops.tf import to_tensorflow


class FreezeWarning(UserWarning):
    """Something the freeze changed that the user should know (``tfflops.freeze``)."""


@dataclass
class Frozen:
    """A frozen graph and its story: what was kept, where the values came from."""

    graph_def: proto.GraphDef
    source: str
    outputs: list[str]
    variables: list[str]
    nodes_before: int
    values_from: str | None
    notes: list[str]


def freeze_model(
    model: str | os.PathLike | proto.GraphDef,
    outputs: Sequence[str] | str | None = None,
    checkpoint: str | os.PathLike | None = None,
    allow_unsafe_ops: bool = False,
    lower_control_flow: bool = False,
    *,
    signature: str | None = None,
    tag_set: Sequence[str] | str | None = None,
    input_shapes: dict | None = None,
    name: str | None = None,
) -> Frozen:
    """``freeze`` without writing; the notes say what happened (the CLI prints them).

    ``name`` is what errors call a GraphDef given as an object (default ``<GraphDef>``).
    """
    if proto.is_graph_def(model) and input_shapes:
        raise TfflopsError("`input_shapes`: a freeze changes no shape (Keras models only)")
    target = open_target(
        model,
        outputs,
        input_shapes,
        signature,
        tag_set,
        weights=True,
        guess_outputs=False,
        name=name,
    )
    graph, outputs, notes, opened = target.graph, target.outputs, list(target.notes), target.model
    source = graph.source
    saver, kind, path = None, "GraphDef", None
    if opened is not None:
        saver, kind, path = opened.saver, opened.kind, opened.path
        if input_shapes and not opened.input_shapes_applied:
            raise TfflopsError(
                "`input_shapes`: a freeze changes no shape; it only picks the shapes a Keras "
                f"model is traced at, and {source} is a {kind}"
            )
        if checkpoint is None and opened.checkpoint is not None:
            checkpoint = opened.checkpoint
            notes.append(f"values from the checkpoint beside the graph: {checkpoint}")
        if opened.frozen and checkpoint is not None:
            notes.append(f"--checkpoint {checkpoint}: not read, the Keras file holds the weights")
            checkpoint = None
    if not outputs:
        try:
            sinks = guessed_outputs(graph, opened)
        except TfflopsError:
            sinks = []
        hint = f"its sinks are {', '.join(sinks[:5])}" if sinks else "e.g. `outputs` logits"
        raise TfflopsError(f"`outputs`: name the output nodes to freeze {source} to ({hint})")
    # The shape inference counts each node's outputs: an edge or an output past them is
    # refused here, as TensorFlow would refuse the frozen graph.
    check_output_indices(graph, infer_shapes(graph), target.output_tensors)
    plan = plan_freeze(graph, outputs)
    notes.extend(plan.notes)
    values, values_from = {}, None
    if plan.variables:
        from tfflops.tf.values import read_values

        values, values_from, value_notes = read_values(
            graph,
            plan.variables,
            path=path,
            kind=kind,
            checkpoint=checkpoint,
            allow_unsafe_ops=allow_unsafe_ops,
            saver=saver,
        )
        notes.extend(value_notes)
    elif checkpoint is not None:
        notes.append(f"--checkpoint {checkpoint}: not read, the outputs read no variable")
    frozen = apply_freeze(plan, values)
    if plan.pruned:
        notes.append(f"{plan.pruned} node(s) of function bodies dropped: no call runs them")
    # A TensorFlow 2 SavedModel's signature calls functions: inlined, the graph is flat.
    flatten = kind == "SavedModel" and calls_functions(frozen, kind="call")
    if (lower_control_flow or flatten) and calls_functions(frozen):
        from tfflops.tf.lowering import lower_control_flow as lower

        frozen = lower(frozen, plan.outputs, source)
        notes.append(
            "function calls inlined and If/While lowered to Switch/Merge"
            + ("" if lower_control_flow else " (the SavedModel's signature calls functions)")
        )
    return Frozen(frozen, source, plan.outputs, plan.variables, len(graph), values_from, notes)


def freeze(
    model: str | os.PathLike | proto.GraphDef,
    outputs: Sequence[str] | str | None = None,
    output_path: str | os.PathLike | None = None,
    checkpoint: str | os.PathLike | None = None,
    allow_unsafe_ops: bool = False,
    lower_control_flow: bool = False,
    *,
    signature: str | None = None,
    tag_set: Sequence[str] | str | None = None,
    input_shapes: dict | None = None,
):
    """Freeze ``model`` to ``outputs``: every variable they read becomes a Const of its value.

    ``outputs`` None takes a SavedModel's ``signature`` outputs (``serving_default``, else
    its only one; ``tag_set`` picks the MetaGraph) or a Keras model's. The values come
    from ``checkpoint`` (a checkpoint prefix) if given, else from a SavedModel's
    variables or the checkpoint beside a ``.meta``, else from running the graph's
    initializers — after checking that they hold only pure ops (``allow_unsafe_ops=True``
    skips that check). Training, saving and summary nodes are dropped. A TensorFlow 2
    SavedModel's function calls are inlined (a flat graph); ``lower_control_flow=True``
    does that for any graph and lowers v2 If/While to Switch/Merge (TensorFlow's
    grappler), so that what they compute counts. A Keras file is traced at batch 1 (or
    ``input_shapes``) and frozen by TensorFlow. ``output_path`` (``.pbtxt``: text
    format) is written atomically and never over the model. Notes come as FreezeWarning
    warnings. Returns TensorFlow's ``tf.compat.v1.GraphDef``, which
    ``tf.import_graph_def`` takes (tfflops' own wire-compatible class where TensorFlow is
    not installed).
    """
    frozen = freeze_model(
        model,
        outputs,
        checkpoint,
        allow_unsafe_ops,
        lower_control_flow,
        signature=signature,
        tag_set=tag_set,
        input_shapes=input_shapes,
    )
    for note in frozen.notes:
        warnings.warn(note, FreezeWarning, stacklevel=2)
    if output_path is not None:
        inputs = input_files(model, checkpoint=checkpoint)
        write_graph_def(output_path, frozen.graph_def, protect=inputs)
    return to_tensorflow(frozen.graph_def)


def write_graph_def(path, graph_def: proto.GraphDef, protect: Iterable = ()) -> None:
    """Binary GraphDef, or text format for a ``.pbtxt``, written atomically."""
    if str(path).lower().endswith((".pbtxt", ".txt")):
        data = text_format.MessageToString(graph_def).encode()
    else:
        data = graph_def.SerializeToString(deterministic=True)
    write_atomic(path, data, protect=list(protect))
