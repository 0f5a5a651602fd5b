"""``tfflops.profile``: open → phases → shapes → analytic count ∥ tf.profiler → cross-check."""

from __future__ import annotations

import gc
import os
from collections.abc import Mapping, Sequence

from tfflops.analysis.conventions import check_convention
from tfflops.analysis.counter import count_graph
from tfflops.analysis.crosscheck import crosscheck
from tfflops.analysis.devices import Device, load_device
from tfflops.analysis.layers import DEFAULT_DEPTH
from tfflops.analysis.memory import memory_of
from tfflops.analysis.profile import Profile, findings
from tfflops.analysis.shapes import infer_shapes
from tfflops.errors import TfflopsError
from tfflops.graph import proto
from tfflops.graph.library import calls_functions
from tfflops.graph.phases import INFERENCE, phase_list
from tfflops.pipelines.open import Target, check_output_indices, open_target


def profile(
    model: str | os.PathLike | proto.GraphDef,
    outputs: Sequence[str] | str | None = None,
    input_shapes: dict[str, Sequence[int | None]] | None = None,
    convention: str = "tfprof",
    tfprof: bool = True,
    *,
    signature: str | None = None,
    tag_set: Sequence[str] | str | None = None,
    name: str | None = None,
    training: bool = False,
    device: Device | str | os.PathLike | None = None,
    depth: int = DEFAULT_DEPTH,
    loop_iterations: Mapping[str, int] | None = None,
) -> Profile:
    """Profile a model file (GraphDef, SavedModel, ``.meta``, Keras) or a parsed GraphDef.

    ``outputs`` None takes a SavedModel's ``signature`` outputs (default
    ``serving_default``, else its only one) or a Keras model's; else the graph's sinks
    that do not initialize, train or save. ``tag_set`` picks a SavedModel's MetaGraph.
    ``input_shapes`` maps placeholder names (or a signature's input keys) to shapes; an
    unknown batch defaults to 1. ``tfprof=False`` skips tf.profiler: TensorFlow is then
    never imported (a Keras file needs it to be loaded). ``name`` is what the report and
    errors call a GraphDef given as an object (default ``<GraphDef>``). ``training=True``
    adds one training step, forward + backward (``totals["train_flops"]``): the one the
    graph holds, else an estimate from its forward pass (``tfflops.analysis.training``).
    ``device`` (a ``Device``, a built-in profile's name or a device file) adds the
    roofline estimates; ``depth`` is how many name scope components make a layer.
    ``loop_iterations`` gives loops their trip counts by name (a While node,
    ``function/node`` inside a function, a TF1 frame), where the graph does not fix them.
    """
    convention = check_convention(convention)
    device = resolve_device(device)
    depth = check_depth(depth)
    # The pipeline allocates a few objects per node and frees none until it ends: the
    # cyclic garbage collector would only rescan them, growing superlinearly.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        target = open_target(model, outputs, input_shapes, signature, tag_set, name=name)
        return _profile(target, convention, tfprof, training, device, depth, loop_iterations)
    finally:
        if gc_was_enabled:
            gc.enable()


def resolve_device(device: Device | str | os.PathLike | None) -> Device | None:
    """A Device as it is; a name or path through ``load_device``; None stays None."""
    if device is None or isinstance(device, Device):
        return device
    return load_device(device)


def check_depth(depth: int) -> int:
    """A layer is at least one name scope component deep."""
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise TfflopsError(f"`depth` {depth!r}: a layer is at least 1 name scope component")
    return depth


def _profile(
    target: Target,
    convention: str,
    tfprof: bool,
    training: bool,
    device,
    depth: int,
    loop_iterations: Mapping[str, int] | None,
) -> Profile:
    graph, output_names = target.graph, target.outputs
    notes = [*_unfrozen_note(target), *target.notes]
    source, input_shapes = graph.source, target.input_shapes
    phases = phase_list(graph, output_names)
    shapes = infer_shapes(graph, input_shapes)
    check_output_indices(graph, shapes, target.output_tensors)
    for name in shapes.defaulted_batch:
        if phases[graph.index[name]] != INFERENCE:
            continue  # an input the outputs do not read (another signature's)
        notes.append(f"input {name}: unknown batch dimension set to 1 (use --input-shape)")
    counted = count_graph(graph, shapes, phases, loop_iterations)
    rows = counted.rows
    notes.extend(counted.notes)
    step = None
    if training:
        from tfflops.analysis.training import estimate_training  # (start-up: --training only)

        step = estimate_training(graph, shapes, rows, output_names)
    memory = memory_of(graph, shapes, phases, output_names, rows)

    tfprof_result = None
    unchecked_reason = "--no-tfprof"
    if tfprof:
        from tfflops.tf.tfprof import TfprofUnavailable, run_tfprof

        try:
            tfprof_result = run_tfprof(graph, shapes)
        except TfprofUnavailable as e:
            unchecked_reason = f"tf.profiler could not run: {e}"
            notes.append(f"not cross-checked: {unchecked_reason}")
    if tfprof_result is not None:  # what tf.profiler misses, only where it ran
        notes += _calls_note(target)
    verdicts = crosscheck(rows, tfprof_result, unchecked_reason)
    result = Profile(
        model=source,
        outputs=output_names,
        convention=convention,
        rows=rows,
        verdicts=verdicts,
        shapes=shapes,
        tfprof_total=None if tfprof_result is None else tfprof_result.total,
        notes=notes,
        training=step,
        memory=memory,
        device=device,
        depth=depth,
        loops=counted.loops,
    )
    result.notes.extend(findings(result))
    return result


def _unfrozen_note(target: Target) -> list[str]:
    opened = target.model
    if opened is None or opened.kind not in ("SavedModel", "MetaGraphDef"):
        return []
    return [
        f"{opened.description}: profiled un-frozen (variables count as parameters; "
        "`tfflops freeze` makes a frozen graph)"
    ]


def _calls_note(target: Target) -> list[str]:
    opened = target.model
    if opened is None or not opened.outputs:
        return []
    if not calls_functions(target.graph.graph_def, opened.outputs):
        return []
    return [
        "the signature calls functions: tf.profiler counts 0 for them, tfflops counts "
        "their bodies as tf.profiler does once they are inlined (`tfflops freeze` "
        "writes that flat graph)"
    ]
