"""Keras files → a frozen graph: loaded by Keras in safe mode, traced, frozen.

``keras.models.load_model(..., safe_mode=True)`` refuses the Python code of ``Lambda``
layers, so loading runs Keras' own layer code only; tracing builds a graph and freezing
reads the variables' values: nothing of the model runs.
"""

from __future__ import annotations

import math
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

from tfflops.errors import TfflopsError
from tfflops.graph import proto
from tfflops.graph.families import V1_CONTROL_FLOW_OPS
from tfflops.graph.index import parse_tensor_name
from tfflops.graph.model import Model, Signature, TensorSpec
from tfflops.graph.tensors import dtype_name, shape_text
from tfflops.tf import import_tensorflow


def open_keras(path: Path, source: str, kind: str, input_shapes: Mapping) -> Model:
    tf = import_tensorflow(f"{source}: loading a Keras file")
    import keras

    suffix = ".keras" if kind == "keras" else ".h5"
    with tempfile.TemporaryDirectory(prefix="tfflops-") as tmp:
        # Keras tells formats by the extension: a file named otherwise gets one, by a link.
        target = path
        if path.suffix.lower() not in (suffix, ".hdf5"):
            target = Path(tmp) / f"model{suffix}"
            target.symlink_to(path.resolve())
        try:
            model = keras.models.load_model(target, compile=False, safe_mode=True)
        except Exception as e:  # Keras raises ValueError, TypeError, KeyError, OSError, ...
            raise TfflopsError(f"{source}: Keras cannot load it: {_keras_reason(e)}") from None
    if not isinstance(model, keras.Model) or not getattr(model, "inputs", None):
        raise TfflopsError(
            f"{source}: the Keras file holds no model with defined inputs (a subclassed or "
            "unbuilt model?); save a functional or Sequential model with an Input"
        )
    specs, shown = _trace_specs(tf, model, input_shapes, source)
    graph_def, inputs, outputs, names, unread = _trace_and_freeze(tf, model, specs, source)
    outputs = tuple(
        TensorSpec(key, t.name, t.dtype, t.shape) for key, t in zip(names, outputs, strict=True)
    )
    unread_note = _unread_note(model, unread)
    keras.backend.clear_session()  # keras' global state would grow with every model
    signature = Signature("keras", "call", inputs, outputs)
    opened = Model(
        source,
        "Keras",
        f"Keras ({'.keras' if kind == 'keras' else 'HDF5 .h5'}, Keras {keras.__version__})",
        graph_def,
        path,
        signatures={"keras": signature},
        signature=signature,
        frozen=True,
        input_shapes_applied=True,
    )
    outputs_shown = ", ".join(f"{t.key} ({t.name})" for t in outputs)
    opened.notes.append(
        f"Keras model traced at {shown} and frozen; outputs {outputs_shown}"
        + ("" if input_shapes else " (--input-shape NAME=D1,... traces other shapes)")
    )
    if unread_note:
        opened.notes.append(unread_note)
    return opened


def _unread_note(model, unread: list) -> str | None:
    """Keras' ``count_params()`` counts every weight; the traced graph holds only those
    its call reads (a backbone's untied output embedding, which only its task's head
    reads, is not among them): say which, so that the two counts are told apart."""
    if not unread:
        return None
    elements = sum(math.prod(w.shape) for w in unread)
    shown = ", ".join(f"{w.path} {shape_text(list(w.shape))}" for w in unread[:3])
    more = f" and {len(unread) - 3} more" if len(unread) > 3 else ""
    return (
        f"Keras' count_params() is {model.count_params():,}: it counts {elements:,} in "
        f"{len(unread)} weight(s) the model's call never reads, which are no parameters "
        f"of this graph: {shown}{more}"
    )


# The longest reason from Keras or TensorFlow an error line quotes (a model's own text).
_REASON = 1000


def _keras_reason(error: Exception) -> str:
    text = " ".join(_printable(str(error)).split()) or type(error).__name__
    if "safe_mode" in text or "Lambda" in text:
        first = text.split(". ")[0].rstrip(".")
        return f"{first} (tfflops loads Keras files in safe mode only)"
    return text if len(text) <= _REASON else text[: _REASON - 3] + "..."


def _trace_reason(error: Exception) -> str:
    """What went wrong in a trace, without the traceback TensorFlow puts before it (``in
    user code: File "…", line N, in f`` and the code)."""
    lines = _printable(str(error)).splitlines()
    last = max((i for i, line in enumerate(lines) if line.strip().startswith('File "')), default=-2)
    text = " ".join(" ".join(lines[last + 2 :]).split()) or " ".join(str(error).split())
    text = text or type(error).__name__
    return text if len(text) <= _REASON else text[: _REASON - 3] + "..."


_ESCAPES = re.compile(r"\x1b\[[0-9;]*[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f]")


def _printable(text: str) -> str:
    """``text`` without terminal escapes (Keras bolds its messages) or control characters."""
    return _ESCAPES.sub("", text)


def _trace_specs(tf, model, input_shapes: Mapping, source: str):
    """TensorSpecs for the Keras model's inputs, in the structure it takes them (a tensor,
    a list, a dict: keras_hub's backbones take one), each at batch 1 or the shape
    ``input_shapes`` gives; → (the structure, how it was traced)."""
    flat = tf.nest.flatten(model.input)
    names = [t.name for t in flat]
    unknown = sorted(set(input_shapes) - set(names) - {f"{n}:0" for n in names})
    if unknown:
        raise TfflopsError(
            f"`input_shapes`: the Keras model has no input {unknown[0]!r} (its inputs: "
            f"{', '.join(names)})"
        )
    specs, shown, missing = [], [], []
    for tensor in flat:
        declared = list(tensor.shape)
        given = input_shapes.get(tensor.name, input_shapes.get(f"{tensor.name}:0"))
        if given is not None:
            given = list(given)
            if len(given) != len(declared) or any(
                d is not None and g is not None and d != g for d, g in zip(declared, given)
            ):
                raise TfflopsError(
                    f"`input_shapes` {tensor.name}: {shape_text(given)} contradicts the Keras "
                    f"input's shape {shape_text(declared)}"
                )
            shape = [g if g is not None else d for g, d in zip(given, declared)]
        else:
            shape = [1 if i == 0 and d is None else d for i, d in enumerate(declared)]
        if None in shape:
            missing.append(f"{tensor.name} {shape_text(declared)}")
        specs.append(tf.TensorSpec(shape, tensor.dtype, name=_op_name(tensor.name)))
        shown.append(f"{tensor.name} {shape_text(shape)}")
    if missing:
        example = missing[0].split()[0]
        raise TfflopsError(
            f"{source}: Keras input(s) with unknown dimensions: {', '.join(missing)}; give "
            f"each its shape with `input_shapes` {example}=1,..."
        )
    return tf.nest.pack_sequence_as(model.input, specs), ", ".join(shown)


def _trace_and_freeze(tf, model, specs, source: str):
    """Trace ``model`` (inference mode) at ``specs``; freeze its variables into constants.

    → (GraphDef, input TensorSpecs, output TensorSpecs, output keys, the model's weights
    the trace never read). Nothing of the model runs: tracing builds a graph, freezing
    reads the variables' values.
    """
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    def call(inputs):
        return model(inputs, training=False)

    try:
        concrete = tf.function(call).get_concrete_function(specs)
        frozen = convert_variables_to_constants_v2(concrete)
    except (ValueError, TypeError, NotImplementedError, tf.errors.OpError) as e:
        reason = _trace_reason(e)
        raise TfflopsError(f"{source}: tracing the Keras model failed: {reason}") from None
    graph_def = proto.GraphDef.FromString(frozen.graph.as_graph_def().SerializeToString())
    _drop_control_noops(graph_def)

    def spec(key, tensor):
        shape = None if tensor.shape.rank is None else tuple(tensor.shape.as_list())
        return TensorSpec(key, tensor.name, dtype_name(tensor.dtype.as_datatype_enum), shape)

    # Both flatten a structure alike (a dict by sorted key): inputs pair with their tensors.
    placeholders = [t for t in frozen.inputs if t.dtype != tf.resource]
    keras_inputs = tf.nest.flatten(model.input)
    inputs = tuple(spec(k.name, t) for k, t in zip(keras_inputs, placeholders, strict=True))
    outputs = tuple(spec(parse_tensor_name(t.name).node, t) for t in frozen.outputs)
    read = {v.ref() for v in concrete.variables}
    unread = [w for w in model.weights if _tf_variable(w).ref() not in read]
    keys = _output_keys(concrete.structured_outputs, model, outputs)
    return graph_def, inputs, outputs, keys, unread


def _tf_variable(weight):
    """The tf.Variable a Keras 3 variable holds (its ``value``), or the weight itself."""
    value = getattr(weight, "value", None)
    return value if hasattr(value, "ref") else weight


def _output_keys(structure, model, outputs) -> list[str]:
    """Each output's name: its key in a dict the model returns, else Keras' output name."""
    if isinstance(structure, dict) and len(structure) == len(outputs):
        return sorted(str(key) for key in structure)
    names = list(getattr(model, "output_names", None) or [])
    return names if len(names) == len(outputs) else [t.node for t in outputs]


def _drop_control_noops(graph_def: proto.GraphDef) -> None:
    """Drop the NoOp a traced function groups its variable reads in, and the control edges
    to it: once the variables are constants it orders nothing. A graph with a lowered loop
    keeps its NoOps: the control edges from them put its constants in the loop's frame,
    without which TensorFlow refuses to run it ("inputs from different frames")."""
    if any(n.op in V1_CONTROL_FLOW_OPS for n in graph_def.node):
        return
    noops = {
        n.name
        for n in graph_def.node
        if n.op == "NoOp" and all(raw.startswith("^") for raw in n.input)
    }
    for node in graph_def.node:
        kept = [raw for raw in node.input if not (raw.startswith("^") and raw[1:] in noops)]
        if len(kept) != len(node.input):
            del node.input[:]
            node.input.extend(kept)
    for i in reversed(range(len(graph_def.node))):
        if graph_def.node[i].name in noops:
            del graph_def.node[i]


def _op_name(name: str) -> str:
    """A Keras input name as a valid TensorFlow op name."""
    cleaned = re.sub(r"[^A-Za-z0-9_.\-/]", "_", name)
    return cleaned if re.match(r"[A-Za-z0-9.]", cleaned) else f"input_{cleaned}"
