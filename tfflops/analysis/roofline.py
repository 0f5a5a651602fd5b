"""The roofline: arithmetic intensity, and a node's time on a device as the largest of
its compute, its memory traffic and its launch overhead.

A node that launches a kernel takes ``max(FLOPs / peak, bytes / bandwidth) + overhead``
(FLOPs under ``full``: what the device computes; bytes: inputs + weights + outputs). Its
``bound`` names the largest of the three terms. A contraction (MatMul, Conv2D, Einsum)
gets the device's matrix units where it has them for the dtype (tensor cores: float32 as
TF32, TensorFlow's default); a depthwise convolution and elementwise ops get the vector
units. Views, constants and control (Identity, Reshape, Const, NoOp) launch nothing: 0 s.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from tfflops.analysis.devices import Device
from tfflops.analysis.ops import VIEW_OPS
from tfflops.analysis.shapes import TensorInfo
from tfflops.graph.tensors import DT, base_dtype

COMPUTE, MEMORY, OVERHEAD = "compute", "memory", "overhead"
BOUNDS = (COMPUTE, MEMORY, OVERHEAD)

# Contractions that run on matrix units (tensor cores, AMX); a depthwise convolution does
# not (one input channel per output channel: no matrix to tile).
MATRIX_OPS = frozenset(
    {
        "MatMul",
        "_FusedMatMul",
        "BatchMatMul",
        "BatchMatMulV2",
        "BatchMatMulV3",
        "Conv2D",
        "_FusedConv2D",
        "Conv3D",
        "Conv2DBackpropInput",
        "Conv2DBackpropFilter",
        "Einsum",
    }
)
_DTYPE_NAMES = {
    DT["DT_FLOAT"]: "float32",
    DT["DT_HALF"]: "float16",
    DT["DT_BFLOAT16"]: "bfloat16",
    DT["DT_DOUBLE"]: "float64",
    DT["DT_INT8"]: "int8",
}


class Estimate(NamedTuple):
    """A node's estimated time on a device, and which term bounds it (None: no kernel)."""

    seconds: float
    bound: str | None


NO_KERNEL = Estimate(0.0, None)


def intensity(flops: int, moved: int) -> float | None:
    """FLOPs per byte moved; None when nothing is moved."""
    return flops / moved if moved else None


def launches_kernel(op: str) -> bool:
    """Whether running ``op`` launches work (views, constants and control do not)."""
    return op not in VIEW_OPS


def compute_dtype(outputs: Iterable[TensorInfo | None]) -> str:
    """The dtype a node computes in, by a device's names: its first output's that a
    device profile can name (float32, float16, ...), else float32."""
    for info in outputs:
        if info is not None and (name := _DTYPE_NAMES.get(base_dtype(info.dtype))):
            return name
    return "float32"


def estimate(flops: int, moved: int, dtype: str, op: str, device: Device) -> Estimate:
    """``max(flops / peak, moved / bandwidth) + overhead``, bound by the largest term."""
    if not launches_kernel(op):
        return NO_KERNEL
    compute = flops / device.peak(dtype, matrix=op in MATRIX_OPS)
    memory = moved / device.bandwidth
    terms = {COMPUTE: compute, MEMORY: memory, OVERHEAD: device.overhead}
    bound = max(terms, key=terms.__getitem__)  # a tie goes to the first: compute, memory
    return Estimate(max(compute, memory) + device.overhead, bound)


def combine(estimates: Sequence[Estimate]) -> Estimate:
    """Several kernels as one (a call node's bodies): their seconds summed, bound by what
    bounds most of that time."""
    shares = time_by_bound(estimates)
    seconds = sum(shares.values())
    bound = max(shares, key=shares.__getitem__) if seconds else None
    return Estimate(seconds, bound) if estimates else NO_KERNEL


def time_by_bound(estimates: Iterable[Estimate]) -> dict[str, float]:
    """Estimated seconds summed per bound (every bound present, 0.0 when none)."""
    shares = dict.fromkeys(BOUNDS, 0.0)
    for e in estimates:
        if e.bound is not None:
            shares[e.bound] += e.seconds
    return shares


def top_by_bound(
    groups: Sequence[str], estimates: Sequence[Estimate], bound: str, top: int
) -> list[tuple[str, float]]:
    """The ``top`` groups (layers) by estimated seconds of their nodes bound by ``bound``."""
    seconds: dict[str, float] = {}
    for group, e in zip(groups, estimates, strict=True):
        if e.bound == bound:
            seconds[group] = seconds.get(group, 0.0) + e.seconds
    return sorted(seconds.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
