"""The values of the variables ``freeze`` turns into constants, read with TensorFlow.

TensorFlow is imported inside the functions that need it. The values come from, in order:

1. ``--checkpoint PREFIX`` — through the model's own saver when it has one (a SavedModel
   or ``.meta`` names its restore op), else by variable name (also ``<name>/.ATTRIBUTES/
   VARIABLE_VALUE``, the key of an object-based checkpoint);
2. a SavedModel's own ``variables/``, through its saver;
3. the graph's initializers, run in a tf.compat.v1.Session.

Running a restore op or initializers executes part of the graph. Each Session.run is a
``_Run`` with its fetches named, and ``safety.vet_run`` checks what each one executes
before TensorFlow sees any of the graph (importing a graph already evaluates parts of
it). Reading a checkpoint by name runs nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tfflops.errors import TfflopsError
from tfflops.freeze.plan import vetted_subgraph
from tfflops.graph import proto
from tfflops.graph.families import CHECKPOINT_READ_OPS, INITIALIZER_OPS
from tfflops.graph.index import Graph, parse_tensor_name
from tfflops.graph.phases import ancestors
from tfflops.tf import import_tensorflow

FREEZING = "reading the variables' values to freeze them"


def read_values(
    graph: Graph,
    variables: list[str],
    *,
    path: Path | None,
    kind: str,
    checkpoint: str | os.PathLike | None = None,
    allow_unsafe_ops: bool = False,
    saver: tuple[str, str] | None = None,
) -> tuple[dict[str, proto.TensorProto], str, list[str]]:
    """(variable name → value, where the values came from, notes) for ``variables``.

    ``saver`` is a SavedModel's or MetaGraphDef's (filename tensor, restore op), if any.
    """
    if checkpoint is not None:
        prefix = str(checkpoint)
        reader = _open_checkpoint(prefix, f"`checkpoint` {prefix}")
        if saver is not None:
            values = _restore(graph, variables, saver, prefix, allow_unsafe_ops)
        else:
            values = _read_by_name(graph, variables, reader, f"`checkpoint` {prefix}")
        return values, f"checkpoint {prefix}", []
    if kind == "SavedModel":
        export_dir = path if path.is_dir() else path.parent
        prefix = str(export_dir / "variables" / "variables")
        if not Path(f"{prefix}.index").is_file():
            raise TfflopsError(
                f"{graph.source}: the SavedModel has no variables/variables.index to read "
                f"{variables[0]!r} from; give the values with `checkpoint` PREFIX"
            )
        if saver is not None:
            values = _restore(graph, variables, saver, prefix, allow_unsafe_ops)
        else:
            reader = _open_checkpoint(prefix, graph.source)
            values = _read_by_name(graph, variables, reader, prefix)
        return values, "the SavedModel's variables", []
    initializers = [_initializer(graph, name) for name in variables]
    run = _Run(initializers, "initializing the variables")
    values = _run_and_read(graph, run, variables, allow_unsafe_ops)
    note = (
        f"values of {len(variables)} variable(s) from running their initializers, not "
        "trained values (--checkpoint PREFIX reads those)"
    )
    return values, "initializers", [note]


def _open_checkpoint(prefix: str, what: str):
    tf = import_tensorflow(FREEZING)
    try:
        return tf.train.load_checkpoint(prefix)
    except (ValueError, tf.errors.OpError) as e:
        raise TfflopsError(f"{what}: not a readable checkpoint: {first_line(e)}") from None


def _restore(graph, variables, saver, prefix: str, allow_unsafe_ops: bool) -> dict:
    filename_tensor, restore_op = saver
    restore_node = parse_tensor_name(restore_op.lstrip("^")).node
    if restore_node not in graph.nodes:
        raise TfflopsError(f"{graph.source}: the saver's restore op {restore_op!r} is missing")
    run = _Run(
        [restore_node], f"restoring the variables (op {restore_node})", filename_tensor, prefix
    )
    return _run_and_read(graph, run, variables, allow_unsafe_ops)


def _read_by_name(graph: Graph, variables: list[str], reader, what: str) -> dict:
    tf = import_tensorflow(FREEZING)
    keys = reader.get_variable_to_shape_map()
    values = {}
    for name in variables:
        node = graph.nodes[name]
        names = [name]
        shared = node.attr["shared_name"].s.decode() if "shared_name" in node.attr else ""
        if shared and shared != name:
            names.append(shared)
        candidates = names + [f"{n}/.ATTRIBUTES/VARIABLE_VALUE" for n in names]
        key = next((c for c in candidates if c in keys), None)
        if key is None:
            have = ", ".join(sorted(keys)[:4])
            raise TfflopsError(
                f"{what}: no value for variable {name!r} (looked for {', '.join(candidates)}; "
                f"the checkpoint has {have}{', …' if len(keys) > 4 else ''})"
            )
        values[name] = _to_proto(tf, reader.get_tensor(key), node)
    return values


def _initializer(graph: Graph, variable: str) -> str:
    """The Assign that initializes ``variable`` (not one that restores it)."""
    candidates = [
        name
        for name in graph.consumers[variable]
        if graph.nodes[name].op in INITIALIZER_OPS
        and graph.inputs[name]
        and graph.inputs[name][0].node == variable
        and not any(graph.nodes[a].op in CHECKPOINT_READ_OPS for a in ancestors(graph, [name]))
    ]
    if f"{variable}/Assign" in candidates:
        return f"{variable}/Assign"
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise TfflopsError(
            f"{graph.source}: variable {variable!r} has no initializer; "
            "give its value with `checkpoint` PREFIX"
        )
    raise TfflopsError(
        f"{graph.source}: variable {variable!r} is assigned by {', '.join(candidates[:3])}; "
        "which one initializes it is unclear: give its value with `checkpoint` PREFIX"
    )


@dataclass(frozen=True)
class _Run:
    """One Session.run: its fetches, and the checkpoint path fed to ``filename`` (the
    saver's filename tensor) if it restores."""

    fetches: list[str]
    purpose: str
    filename: str | None = None
    prefix: str | None = None

    @property
    def feeds(self) -> dict[str, str]:
        return {} if self.filename is None else {self.filename: self.prefix}


def _run_and_read(graph: Graph, run: _Run, variables: list[str], allow_unsafe_ops: bool):
    """Run ``run`` in a fresh Session, then read ``variables`` in a second run.

    Both runs are vetted first, and TensorFlow gets only what they execute: importing a
    graph evaluates constant subgraphs already.
    """
    # Fetching a variable runs what it depends on too (a control input, say): vetted alike.
    runs = [run, _Run(variables, "reading the variables", run.filename, run.prefix)]
    subgraph = vetted_subgraph(
        graph, [(r.fetches, r.purpose, r.filename) for r in runs], allow_unsafe_ops
    )
    data = subgraph.SerializeToString()
    tf = import_tensorflow(FREEZING)
    tf_graph = tf.Graph()
    try:
        with tf_graph.as_default():
            tf.compat.v1.import_graph_def(tf.compat.v1.GraphDef.FromString(data), name="")
            fetches = []
            for name in variables:
                node = graph.nodes[name]
                tensor = tf_graph.get_tensor_by_name(f"{name}:0")
                if node.op == "VarHandleOp":
                    dtype = tf.as_dtype(node.attr["dtype"].type)
                    tensor = tf.raw_ops.ReadVariableOp(resource=tensor, dtype=dtype)
                fetches.append(tensor)
    except (ValueError, TypeError, tf.errors.OpError) as e:
        raise TfflopsError(
            f"{graph.source}: TensorFlow cannot import this graph: {first_line(e)}"
        ) from None
    operations = [tf_graph.get_operation_by_name(name) for name in run.fetches]
    with tf.compat.v1.Session(graph=tf_graph) as session:
        try:
            session.run(operations, feed_dict=run.feeds)
            arrays = session.run(fetches, feed_dict=runs[1].feeds)
        except tf.errors.OpError as e:
            what = f"restoring from {run.prefix}" if run.prefix else "running the initializers"
            raise TfflopsError(f"{graph.source}: {what} failed: {first_line(e)}") from None
    return {
        name: _to_proto(tf, array, graph.nodes[name])
        for name, array in zip(variables, arrays, strict=True)
    }


def _to_proto(tf, array, node: proto.NodeDef) -> proto.TensorProto:
    tensor = tf.make_tensor_proto(array, dtype=tf.as_dtype(node.attr["dtype"].type))
    return proto.TensorProto.FromString(tensor.SerializeToString())


def first_line(error: Exception) -> str:
    """The line of a TensorFlow error that says what went wrong.

    A Session's errors read "Graph execution error:", "Detected at node 'n' defined at",
    a Python traceback, "Node: 'n'", the cause, "[[{{node n}}]]": that gives "node 'n':
    the cause".
    """
    text = getattr(error, "message", None) or str(error)
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    for i, line in enumerate(lines):
        if line.startswith("Node: ") and i + 1 < len(lines):
            return f"node {line[len('Node: ') :]}: {lines[i + 1]}"
    lines = [line for line in lines if line != "Graph execution error:"] or lines
    return lines[0] if lines else type(error).__name__
