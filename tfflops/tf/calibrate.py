"""Measure this machine for the roofline, with TensorFlow's own kernels, as ``measure``
runs them (one kernel at a time, ``threads`` threads each; on the GPU when there is one).

* ``matrix_flops`` per dtype: 2·n³ / t of a chain of n×n MatMuls, the best of a few
  sizes n (the one whose matrices suit the caches);
* ``peak_flops`` per dtype: what the vector units achieve on a 3×3 depthwise
  convolution, the commonest contraction that has no matrix to tile;
* ``bandwidth``: bytes read + written / t of a chain of elementwise multiplies on a
  tensor the size of a large activation (16 MiB on a CPU, 1 GiB on a GPU);
* ``overhead``: (t(K adds) − t(1 add)) / K for a chain of K dependent scalar adds.

Each figure is the median of ``repeats`` runs after warm-up, less the same graph's
time without the op measured. Graph optimizations are off: they would fold the chains.
"""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import time

from tfflops.analysis.devices import Device
from tfflops.numbers import check_count
from tfflops.tf import import_tensorflow
from tfflops.tf.measure import THREADS

REPEATS = (3, 50)  # bounds of ``repeats``
_DTYPES = ("float32", "float16", "bfloat16")


def calibrate(threads: int | None = None, repeats: int = 7) -> Device:
    """This machine's device profile (see the module doc)."""
    check_count("repeats", repeats, *REPEATS)
    if threads is not None:
        check_count("threads", threads, *THREADS)
    tf = import_tensorflow("calibrate")
    gpus = tf.config.list_physical_devices("GPU")
    big = bool(gpus)  # a GPU needs larger problems to be busy
    sizes = (2048, 4096, 8192) if big else (256, 512, 1024)
    runner = _Runner(tf, threads, repeats)
    matrix = {dtype: max(runner.matmul_rate(n, dtype) for n in sizes) for dtype in _DTYPES}
    vector = {dtype: runner.depthwise_rate(dtype, big) for dtype in _DTYPES}
    size = (1 << 30) if big else (16 << 20)  # a large activation; bigger ones page-fault
    bandwidth = runner.bandwidth(size)
    overhead = runner.overhead(1000)
    where = "GPU " + ", ".join(g.name for g in gpus) if gpus else f"CPU {_cpu_model()}"
    threads_text = f"{threads} thread(s)" if threads else "all threads"
    day = datetime.date.today().isoformat()
    source = (
        f"tfflops calibrate on {day}: TensorFlow {tf.__version__}, {where}, {threads_text}, "
        f"one kernel at a time; medians of {repeats} runs: MatMul n x n, n in "
        f"{', '.join(map(str, sizes))}, the best (matrix), 3x3 "
        f"depthwise conv (vector), elementwise multiply on {size >> 20} MiB (bandwidth), "
        "1000 dependent scalar adds (overhead)"
    )
    name = f"calibrated {'GPU' if gpus else 'CPU'} ({threads_text})"
    return Device(
        name=name,
        source=_printable(source)[:1000],
        peak_flops=vector,
        bandwidth=bandwidth,
        overhead=overhead,
        matrix_flops=matrix,
    )


class _Runner:
    """Times small graphs as ``measure`` runs models, minus what surrounds the op."""

    def __init__(self, tf, threads: int | None, repeats: int):
        self.tf, self.repeats = tf, repeats
        config = tf.compat.v1.ConfigProto(
            intra_op_parallelism_threads=threads or 0,
            inter_op_parallelism_threads=1,
            allow_soft_placement=True,
        )
        config.graph_options.rewrite_options.disable_meta_optimizer = True
        config.graph_options.optimizer_options.opt_level = tf.compat.v1.OptimizerOptions.L0
        self.config = config

    def seconds(self, build) -> float:
        """Median seconds of one run of the graph ``build()`` makes (returns its fetch)."""
        tf = self.tf
        graph = tf.Graph()
        with graph.as_default():
            fetch = build()
            init = tf.compat.v1.global_variables_initializer()
        with tf.compat.v1.Session(graph=graph, config=self.config) as session:
            session.run(init)
            for _ in range(2):
                session.run(fetch)
            times = []
            for _ in range(self.repeats):
                start = time.perf_counter()
                session.run(fetch)
                times.append(time.perf_counter() - start)
        return statistics.median(times)

    def _variable(self, shape, dtype, scale: float = 1.0):
        """A variable (a constant would be folded) of normal values, ``scale`` their
        deviation: chosen so that a chain of products neither grows nor vanishes."""
        tf = self.tf
        value = tf.random.stateless_normal(shape, seed=[1, 2]) * scale
        return tf.cast(tf.compat.v1.Variable(value, trainable=False), dtype)

    def _rate(self, work: float, k: int, first, step) -> float:
        """``work`` per step / the seconds a step adds (at least 1 ns): a chain of ``k``
        dependent ``step(y, w)`` from ``(y, w) = first()``, less the chain of none."""
        tf = self.tf

        def chain(length):
            def build():
                y, w = first()
                for _ in range(length):
                    y = step(y, w)
                return tf.reshape(y, [-1])[:1]

            return build

        return work / max((self.seconds(chain(k)) - self.seconds(chain(0))) / k, 1e-9)

    def matmul_rate(self, n: int, dtype: str) -> float:
        def first():
            a = self._variable([n, n], dtype, n**-0.5)
            return a, a

        return self._rate(2.0 * n**3, 4, first, self.tf.linalg.matmul)

    def depthwise_rate(self, dtype: str, big: bool) -> float:
        batch, h, c = (32, 112, 256) if big else (1, 56, 96)

        def first():
            x = self._variable([batch, h, h, c], dtype)
            return x, self._variable([3, 3, c, 1], dtype, 1 / 3)

        def step(y, w):
            return self.tf.nn.depthwise_conv2d(y, w, [1, 1, 1, 1], "SAME")

        return self._rate(2.0 * 9 * batch * h * h * c, 4, first, step)

    def bandwidth(self, size: int) -> float:
        """Bytes read and written per second by an elementwise multiply."""

        def first():
            return self._variable([size // 4], "float32"), None

        return self._rate(2.0 * size, 4, first, lambda y, _: y * 1.0001)

    def overhead(self, k: int) -> float:
        """Seconds one more tiny kernel adds to a run (0 to 1)."""

        def first():
            return self.tf.constant([1.0]), None

        per_op = 1.0 / self._rate(1.0, k, first, lambda y, _: y + 1.0)
        return min(per_op, 1.0)


def _cpu_model() -> str:
    """The CPU's model name (Linux), else the platform's word for it; and its cores."""
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{name[:100]}, {os.cpu_count()} core(s)"


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else " " for c in text)
