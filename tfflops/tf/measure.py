"""Run a frozen graph with TensorFlow and read how long each kernel took.

Only what the caller vetted runs (``tfflops.pipelines.measure`` checks the graph with the
freeze allow-list first). The graph runs in a ``tf.compat.v1.Session`` with TensorFlow's
optimizations on (what a deployed model gets), kernels one at a time (inter-op
parallelism 1: the estimate adds kernels up too), each on ``threads`` threads. Per-node
times come from TensorFlow's own step statistics (``RunOptions.FULL_TRACE``): the
kernel's compute time, the median over the traced runs; on a GPU the device stream's
kernel times. The wall time is the median of as many untraced runs.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tfflops.analysis.kernels import Kernel
from tfflops.errors import TfflopsError
from tfflops.graph.tensors import DTYPE_SIZE, FLOAT_DTYPES, base_dtype
from tfflops.tf import import_tensorflow
from tfflops.tf.values import first_line

# A run slower than this is no model to time repeatedly; TensorFlow cancels it.
RUN_TIMEOUT_S = 120
# All the runs together: past it, no new run starts (at least one timed pair is kept), and
# the report says how many ran. Without it, 100 warm-up and 2 × 1,000 runs of 120 s each.
BUDGET_S = 600
THREADS = (1, 1024)  # bounds of the threads a kernel may use


@dataclass
class Timing:
    """What a measured run found: kernels with median seconds, wall time, where it ran."""

    kernels: list[Kernel]
    wall_seconds: float
    device: str
    runs: int
    warmup: int
    threads: int | None


def time_graph(
    graph_def: bytes,
    fetches: Sequence[str],
    inputs: Mapping[str, tuple[tuple[int, ...], int]],
    runs: int,
    warmup: int,
    threads: int | None,
    source: str,
    budget_s: float = BUDGET_S,
) -> Timing:
    """Run ``graph_def`` (serialized) ``warmup`` + 2·``runs`` times on random ``inputs``
    (name → (shape, dtype enum)) and time it; ``fetches`` are node names. No run starts
    once ``budget_s`` seconds have gone by since the first (one timed pair always runs):
    ``Timing.runs`` and ``warmup`` say how many did."""
    tf = import_tensorflow("measure")
    graph = tf.Graph()
    try:
        with graph.as_default():
            tf.compat.v1.import_graph_def(tf.compat.v1.GraphDef.FromString(graph_def), name="")
            targets = [graph.get_tensor_by_name(f"{name}:0") for name in fetches]
            feed = {
                graph.get_tensor_by_name(f"{name}:0"): random_input(name, shape, dtype)
                for name, (shape, dtype) in inputs.items()
            }
    except (ValueError, TypeError, KeyError, tf.errors.OpError) as e:
        reason = first_line(e)
        raise TfflopsError(f"{source}: TensorFlow cannot import this graph: {reason}") from None
    config = tf.compat.v1.ConfigProto(
        intra_op_parallelism_threads=threads or 0,
        inter_op_parallelism_threads=1,
        allow_soft_placement=True,
    )
    traced = tf.compat.v1.RunOptions(
        trace_level=tf.compat.v1.RunOptions.FULL_TRACE, timeout_in_ms=RUN_TIMEOUT_S * 1000
    )
    plain = tf.compat.v1.RunOptions(timeout_in_ms=RUN_TIMEOUT_S * 1000)
    gpus = tf.config.list_physical_devices("GPU")
    per_run: list[dict[str, tuple[str, float]]] = []
    wall = []
    warmed = 0
    with tf.compat.v1.Session(graph=graph, config=config) as session:
        deadline = time.perf_counter() + budget_s
        try:
            while warmed < warmup and time.perf_counter() < deadline:
                session.run(targets, feed, options=plain)
                warmed += 1
            while len(wall) < runs and (not wall or time.perf_counter() < deadline):
                # traced and plain in turn, so that both see the same conditions
                metadata = tf.compat.v1.RunMetadata()
                session.run(targets, feed, options=traced, run_metadata=metadata)
                per_run.append(kernel_times(metadata.step_stats))
                start = time.perf_counter()
                session.run(targets, feed, options=plain)
                wall.append(time.perf_counter() - start)
        except tf.errors.DeadlineExceededError:
            raise TfflopsError(f"{source}: one run took over {RUN_TIMEOUT_S} s") from None
        except tf.errors.OpError as e:
            raise TfflopsError(f"{source}: running the graph failed: {first_line(e)}") from None
    device = "GPU: " + ", ".join(g.name for g in gpus) if gpus else "CPU"
    return Timing(_medians(per_run), statistics.median(wall), device, len(wall), warmed, threads)


def random_input(name: str, shape: tuple[int, ...], dtype: int):
    """Standard normal floats, zeros for integers (valid indices), False for booleans."""
    import numpy as np

    tf = import_tensorflow("measure")
    np_dtype = tf.as_dtype(base_dtype(dtype)).as_numpy_dtype
    if base_dtype(dtype) in FLOAT_DTYPES:
        return np.random.default_rng(0).standard_normal(shape).astype(np_dtype)
    if DTYPE_SIZE.get(base_dtype(dtype)):
        return np.zeros(shape, np_dtype)
    raise TfflopsError(
        f"input {name}: dtype {tf.as_dtype(base_dtype(dtype)).name}; measure feeds random "
        "numbers only"
    )


def kernel_times(step_stats) -> dict[str, tuple[str, float]]:
    """node → (op, seconds) of one traced run: the kernel's compute time; on a GPU, its
    kernels' time on the device's streams (``stream:all``) in place of the launch's."""
    host: dict[str, tuple[str, float]] = {}
    streams: dict[str, float] = {}
    for device in step_stats.dev_stats:
        on_stream = device.device.endswith("stream:all")
        for ns in device.node_stats:
            if ns.all_start_nanos:
                seconds = (ns.op_end_rel_nanos - ns.op_start_rel_nanos) * 1e-9
            else:
                seconds = (ns.op_end_rel_micros - ns.op_start_rel_micros) * 1e-6
            if on_stream:  # "name:Op" or "name" per kernel a node launched
                name = ns.node_name.split(":")[0]
                streams[name] = streams.get(name, 0.0) + seconds
                continue
            label = ns.timeline_label  # "name = Op(inputs)"
            op = label.split(" = ", 1)[1].split("(", 1)[0] if " = " in label else ""
            previous = host.get(ns.node_name, (op, 0.0))[1]
            host[ns.node_name] = (op, previous + seconds)
    for name, seconds in streams.items():
        op = host.get(name, ("", 0.0))[0]
        host[name] = (op, seconds)
    return host


def _medians(per_run: list[dict[str, tuple[str, float]]]) -> list[Kernel]:
    """Each kernel's median time over the runs it appeared in, in first-run order."""
    names = list(dict.fromkeys(name for run in per_run for name in run))
    kernels = []
    for name in names:
        times = [run[name][1] for run in per_run if name in run]
        op = next(run[name][0] for run in per_run if name in run)
        kernels.append(Kernel(name, op, statistics.median(times)))
    return kernels
