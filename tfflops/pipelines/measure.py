"""``tfflops measure``: freeze a model, vet what will run, run it, join the times to the
estimates.

Running a model is executing a program: everything the run executes (the outputs'
subgraph over data and control edges, and every function it calls) must be in the freeze
allow-list, and the activations it will hold at once must fit a bound, unless the user
passes ``allow_unsafe_ops``. Freezing first vets its own runs (initializers, restores).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tfflops.analysis.devices import Device
from tfflops.analysis.kernels import Attribution, attribute, measured_seconds
from tfflops.analysis.profile import Profile
from tfflops.errors import TfflopsError
from tfflops.files import check_writable, write_atomic
from tfflops.freeze.plan import vetted_subgraph
from tfflops.graph.index import Graph
from tfflops.graph.loader import is_saved_model
from tfflops.graph.model import keras_format
from tfflops.graph.phases import INFERENCE
from tfflops.graph.tensors import DT, base_dtype
from tfflops.numbers import check_count
from tfflops.pipelines.freeze import freeze_model
from tfflops.pipelines.open import open_target
from tfflops.pipelines.profile import profile, resolve_device
from tfflops.tf.calibrate import calibrate
from tfflops.tf.measure import BUDGET_S, THREADS, time_graph

LIMITS = {"runs": (1, 1000), "warmup": (0, 100), "threads": THREADS}
# What a measured run may hold in activations at once (its peak_activation_bytes).
MAX_ACTIVATION_BYTES = 16 << 30


@dataclass
class Measured:
    """A measured model: its profile (``measured_seconds`` filled), the kernels TensorFlow
    ran and the nodes each stands for, the wall time."""

    profile: Profile
    attribution: Attribution
    wall_seconds: float
    device: str  # where it ran: "CPU", or the GPUs TensorFlow saw
    runs: int
    warmup: int
    threads: int | None
    notes: list[str] = field(default_factory=list)

    @property
    def kernel_seconds(self) -> float:
        """The kernels' medians summed (attributed or not)."""
        attributed = sum(g.seconds for g in self.attribution.groups)
        return attributed + sum(k.seconds for k in self.attribution.unattributed)

    def groups(self) -> list[dict]:
        """Per anchor: its kernels, the nodes they cover, measured and estimated seconds,
        the achieved FLOP/s (FLOPs under full) — slowest first."""
        p, names = self.profile, [r.name for r in self.profile.rows]
        estimates = p.estimates()
        out = []
        for g in self.attribution.groups:
            covered = [p.rows[i] for i in g.covers]
            full = sum(p.flops_of(r, "full") for r in covered)
            known = [estimates[i] for i in g.covers if estimates[i] is not None]
            est = sum(e.seconds for e in known) if p.device is not None else None
            out.append(
                {
                    "anchor": names[g.anchor],
                    "kernels": [
                        {"name": k.name, "op": k.op, "seconds": k.seconds} for k in g.kernels
                    ],
                    "covers": [names[i] for i in g.covers],
                    "ops": [r.op for r in covered],
                    "fused": g.fused,
                    "flops": full,
                    "seconds": g.seconds,
                    "est_seconds": est,
                    "achieved_flops_per_s": full / g.seconds if g.seconds else None,
                }
            )
        return sorted(out, key=lambda g: (-g["seconds"], g["anchor"]))

    def to_dict(self) -> dict:
        """The ``measure --format json`` document."""
        p = self.profile
        est = p.totals["est_seconds"]
        full = p.total_flops("full")
        return {
            "model": p.model,
            "outputs": list(p.outputs),
            "ran_on": self.device,
            "runs": self.runs,
            "warmup": self.warmup,
            "threads": self.threads,
            "totals": {
                "wall_seconds": self.wall_seconds,
                "measured_seconds": self.kernel_seconds,
                "est_seconds": est,
                "est_over_measured": None if est is None else est / self.wall_seconds,
                "flops": full,
                "achieved_flops_per_s": full / self.wall_seconds if self.wall_seconds else None,
                "device": p.totals["device"],
            },
            "groups": self.groups(),
            "unattributed": [_kernel(k) for k in self.attribution.unattributed],
            "folded": [p.rows[i].name for i in self.attribution.folded],
            "profile": p.to_dict(),
            "notes": list(self.notes),
        }


def calibrate_device(
    path: str | os.PathLike | None = None,
    threads: int | None = None,
    repeats: int = 7,
    protect: Sequence[str | os.PathLike] = (),
) -> Device:
    """This machine's device profile (``tfflops.tf.calibrate``), written to ``path`` as a
    device file (atomically) when given, never over a file of ``protect`` (the settings
    file the command read)."""
    if path is not None:
        check_writable(path, protect)
    device = calibrate(threads=threads, repeats=repeats)
    if path is not None:
        write_atomic(path, device.to_json(), protect)
    return device


def _kernel(k) -> dict:
    return {"name": k.name, "op": k.op, "seconds": k.seconds}


def check_limits(**values: int | None) -> None:
    """``runs``, ``warmup`` and ``threads`` within ``LIMITS`` (threads may be None)."""
    for name, value in values.items():
        if value is not None or name != "threads":
            check_count(name, value, *LIMITS[name])


def measure(
    model: str | os.PathLike,
    outputs: Sequence[str] | str | None = None,
    input_shapes: dict[str, Sequence[int | None]] | None = None,
    *,
    runs: int = 10,
    warmup: int = 3,
    threads: int | None = None,
    device: Device | str | os.PathLike | None = None,
    allow_unsafe_ops: bool = False,
    signature: str | None = None,
    tag_set: Sequence[str] | str | None = None,
) -> Measured:
    """Run ``model`` with TensorFlow on random inputs of its resolved shapes and time each
    node (see the module doc); ``device`` adds the estimates the times are set beside."""
    check_limits(runs=runs, warmup=warmup, threads=threads)
    device = resolve_device(device)
    keras = keras_format(Path(model)) is not None
    if not outputs and not keras and not is_saved_model(model):
        outputs = open_target(model, None, None, signature, tag_set).outputs  # the sinks
    frozen = freeze_model(
        model,
        outputs,
        allow_unsafe_ops=allow_unsafe_ops,
        signature=signature,
        tag_set=tag_set,
        input_shapes=input_shapes if keras else None,
    )
    graph = Graph(frozen.graph_def, str(model))
    run_outputs = list(frozen.outputs)
    subgraph = vetted_subgraph(
        graph, [(run_outputs, "measuring the model", None)], allow_unsafe_ops
    )
    p = profile(
        frozen.graph_def,
        run_outputs,
        None if keras else input_shapes,
        "full",
        tfprof=False,
        device=device,
    )
    p.model = str(model)
    inputs = _inputs(graph, p)
    if not allow_unsafe_ops:
        check_held(p, str(model))
    data = subgraph.SerializeToString()
    timing = time_graph(data, run_outputs, inputs, runs, warmup, threads, str(model))
    attribution = attribute(graph, timing.kernels)
    weights = [0.0 if e is None else e.seconds for e in p.estimates()]
    if p.device is None:  # no estimates to split a fused kernel's time by: FLOPs
        weights = [float(p.flops_of(r, "full")) for r in p.rows]
    p.measured = measured_seconds(attribution, weights, len(p.rows))
    notes = [*frozen.notes, *_notes(attribution, timing)]
    if (timing.runs, timing.warmup) != (runs, warmup):
        notes.append(
            f"stopped after {timing.warmup} of {warmup} warm-up and {timing.runs} of {runs} "
            f"timed runs: together they took over {BUDGET_S} s (no run starts after that)"
        )
    return Measured(
        p,
        attribution,
        timing.wall_seconds,
        timing.device,
        timing.runs,
        timing.warmup,
        threads,
        notes,
    )


def check_held(p: Profile, source: str) -> None:
    """A TfflopsError unless what running ``p``'s graph holds at once — its peak of
    activations, and what TensorFlow computes from constants when it loads the graph
    (``Memory.folded_bytes``) — is known to fit MAX_ACTIVATION_BYTES.

    A tensor whose size is not known statically (a Fill whose dimensions come from a
    value tfflops cannot compute, any string) could be of any size: the bound cannot be
    checked, and the run is refused. (A string Const is what the file holds.)"""
    memory, why = p.memory, "refusing to run it (`allow_unsafe_ops` runs it anyway)"
    strings = [
        f"{r.name}:{k}"
        for r in p.rows
        if r.phase == INFERENCE and r.op != "Const"
        for k, info in enumerate(r.outputs)
        if info is not None and base_dtype(info.dtype) == DT["DT_STRING"]
    ]
    unknown = [*memory.unknown_tensors, *memory.folded_unknown, *strings]
    if unknown:
        raise TfflopsError(
            f"{source}: running it would hold {unknown[0]}, a tensor whose size is not known "
            f"statically (and {len(unknown) - 1} more): the bound of "
            f"{MAX_ACTIVATION_BYTES:,} bytes at once cannot be checked; {why}"
        )
    held = memory.peak_activation_bytes + memory.folded_bytes
    if held > MAX_ACTIVATION_BYTES:
        raise TfflopsError(
            f"{source}: running it would hold {held:,} bytes of activations at once, over "
            f"{MAX_ACTIVATION_BYTES:,}; {why}"
        )


def _inputs(graph: Graph, p: Profile) -> dict[str, tuple[tuple[int, ...], int]]:
    """The placeholders the run reads: name → (resolved shape, dtype)."""
    inputs = {}
    for i, r in enumerate(p.rows):
        if r.op not in ("Placeholder", "PlaceholderV2") or r.phase != INFERENCE:
            continue
        info = r.outputs[0] if r.outputs else None
        if info is None or info.shape is None or None in info.shape:
            raise TfflopsError(
                f"input {r.name}: shape {info.shape if info else 'unknown'} is not fully "
                "known; give it with --input-shape NAME=D1,D2,..."
            )
        inputs[r.name] = (tuple(info.shape), info.dtype or graph.defs[i].attr["dtype"].type)
    return inputs


def _notes(attribution: Attribution, timing) -> list[str]:
    """What the kernel times rest on: fusions, folded nodes, time no node stands for."""
    notes = [
        f"ran on {timing.device}, kernels one at a time (inter-op 1), "
        f"{f'{timing.threads} thread(s)' if timing.threads else 'all threads'} each; medians "
        f"of {timing.runs} runs after {timing.warmup} warm-up runs"
    ]
    fused = [g for g in attribution.groups if len(g.covers) > 1]
    if fused:
        notes.append(
            f"{len(fused)} kernel(s) cover several nodes (TensorFlow fused or rewrote them): "
            "each group's time is split over its nodes by their estimates"
        )
    if attribution.folded:
        notes.append(
            f"{len(attribution.folded)} node(s) ran no kernel (folded into constants or "
            "another kernel): measured 0"
        )
    if attribution.unattributed:
        seconds = sum(k.seconds for k in attribution.unattributed)
        notes.append(
            f"{len(attribution.unattributed)} kernel(s) stand for no node of the graph "
            f"({seconds * 1e3:.3f} ms), e.g. {attribution.unattributed[0].name}"
        )
    return notes
