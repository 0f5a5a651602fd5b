"""The counting conventions: the one place that turns a Cost into a number.

=========== ===================================== ==========================================
name        conv2d, per graph node                meaning
=========== ===================================== ==========================================
tfprof      2·Kh·Kw·Cin·Hout·Wout·Cout            what tf.profiler reports, quirks included;
                                                  bias on its own BiasAdd node; ops it has
                                                  no formula for count 0
macs        Kh·Kw·Cin·Hout·Wout·Cout              multiply-accumulates only; bias adds,
                                                  activations, pooling count 0
exact       (2·Kh·Kw·Cin − 1)·Hout·Wout·Cout      every scalar multiply and add (a bias add
                                                  counts on its own node)
exact-bias  (2·Kh·Kw·Cin + 1)·Hout·Wout·Cout      exact, with a contraction's bias add folded
                                                  into it (the bias node counts 0); the
                                                  "+1" form papers use, equal to tf.profiler's
                                                  conv + BiasAdd
full        2·MACs + all other arithmetic + all   what a device computes: tfprof plus what
            non-arithmetic ops (max, exp, ...)    tf.profiler skips (activations, BN, ...)
=========== ===================================== ==========================================
"""

from __future__ import annotations

from tfflops.analysis.ops import Cost
from tfflops.errors import TfflopsError

CONVENTIONS = ("tfprof", "macs", "exact", "exact-bias", "full")

_UNIT = {"macs": "MACs"}


def unit(convention: str) -> str:
    """What the numbers count: MACs under ``macs``, FLOPs otherwise — never confused."""
    return _UNIT.get(convention, "FLOPs")


def check_convention(name: str) -> str:
    if name not in CONVENTIONS:
        raise TfflopsError(f"`convention` {name!r}: choose one of {', '.join(CONVENTIONS)}")
    return name


def node_flops(cost: Cost, convention: str, bias: str | None = None) -> int:
    """One node's figure under ``convention``.

    ``bias`` matters only for ``exact-bias``: ``"folded-here"`` for a contraction whose
    bias add was folded into it, ``"folded-away"`` for that bias add node, ``"fused-in"``
    for a fused contraction (_FusedConv2D, ...) whose own fused ops begin with its bias
    add (already in its ``arith``): all three give the (2·K + 1)·N form.
    """
    if convention == "tfprof":
        return cost.tfprof
    if convention == "macs":
        return cost.macs
    if convention == "full":
        return 2 * cost.macs + cost.arith + cost.other
    exact = 2 * cost.macs - cost.mac_outputs + cost.arith
    if convention == "exact-bias":
        if bias == "folded-away":
            return 0
        if bias == "folded-here":
            return exact + 2 * cost.mac_outputs
        if bias == "fused-in":
            return exact + cost.mac_outputs
    return exact
