"""Keras files → a frozen graph: loaded by Keras in safe mode, traced, frozen.

``keras.models.load_model(..., safe_mode=True)`` refuses the Python code of ``Lambda``
layers, so loading runs Keras' own layer code only; tracing builds a graph and freezing
reads the variables' values: nothing of the model runs.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

from tfflops.errors import TfflopsError
from tfflops.graph import proto
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
    graph_def, inputs, outputs = _trace_and_freeze(tf, model, specs, source)
    names = list(getattr(model, "output_names", None) or [])
    if len(names) != len(outputs):
        names = [t.node for t in outputs]
    outputs = tuple(
        TensorSpec(key, t.name, t.dtype, t.shape) for key, t in zip(names, outputs, strict=True)
    )
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
    return opened


def _keras_reason(error: Exception) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    if "safe_mode" in text or "Lambda" in text:
        first = text.split(". ")[0].rstrip(".")
        return f"{first} (tfflops loads Keras files in safe mode only)"
    return text if len(text) <= 300 else text[:297] + "..."


def _trace_specs(tf, model, input_shapes: Mapping, source: str):
    """A TensorSpec per Keras input: batch 1, or the shape ``input_shapes`` gives."""
    names = [t.name for t in model.inputs]
    unknown = sorted(set(input_shapes) - set(names) - {f"{n}:0" for n in names})
    if unknown:
        raise TfflopsError(
            f"`input_shapes`: the Keras model has no input {unknown[0]!r} (its inputs: "
            f"{', '.join(names)})"
        )
    specs, shown = [], []
    for tensor in model.inputs:
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
            raise TfflopsError(
                f"{source}: Keras input {tensor.name!r} has the shape {shape_text(declared)}; "
                f"give its unknown dimensions with `input_shapes` {tensor.name}=1,..."
            )
        specs.append(tf.TensorSpec(shape, tensor.dtype, name=_op_name(tensor.name)))
        shown.append(f"{tensor.name} {shape_text(shape)}")
    return specs, ", ".join(shown)


def _trace_and_freeze(tf, model, specs, source: str):
    """Trace ``model`` (inference mode) at ``specs``; freeze its variables into constants.

    → (GraphDef, input TensorSpecs, output TensorSpecs). Nothing of the model runs:
    tracing builds a graph, freezing reads the variables' values.
    """
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    def call(*tensors):
        return model(list(tensors) if len(tensors) > 1 else tensors[0], training=False)

    try:
        concrete = tf.function(call).get_concrete_function(*specs)
        frozen = convert_variables_to_constants_v2(concrete)
    except (ValueError, TypeError, NotImplementedError, tf.errors.OpError) as e:
        reason = " ".join(str(e).split())[:300] or type(e).__name__
        raise TfflopsError(f"{source}: tracing the Keras model failed: {reason}") from None
    graph_def = proto.GraphDef.FromString(frozen.graph.as_graph_def().SerializeToString())
    _drop_control_noops(graph_def)

    def spec(key, tensor):
        shape = None if tensor.shape.rank is None else tuple(tensor.shape.as_list())
        return TensorSpec(key, tensor.name, dtype_name(tensor.dtype.as_datatype_enum), shape)

    placeholders = [t for t in frozen.inputs if t.dtype != tf.resource]
    inputs = tuple(spec(k.name, t) for k, t in zip(model.inputs, placeholders, strict=True))
    outputs = tuple(spec(parse_tensor_name(t.name).node, t) for t in frozen.outputs)
    return graph_def, inputs, outputs


def _drop_control_noops(graph_def: proto.GraphDef) -> None:
    """Drop the NoOp a traced function groups its variable reads in, and the control edges
    to it: once the variables are constants it orders nothing."""
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
