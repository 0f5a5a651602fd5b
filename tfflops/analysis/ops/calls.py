"""Function calls and functional control flow: the cost of the bodies they run."""

from __future__ import annotations

from tfflops.analysis.ops.base import WALKER, Cost, OpView, register
from tfflops.graph.families import CALL_OPS


@register(*CALL_OPS, shape=WALKER)
def function_call(v: OpView) -> Cost:
    """The called functions' nodes summed: If/Case every branch, While cond + body once.

    ``v.bodies`` holds one Cost per function run. Its ``tfprof`` figure is what tf.profiler
    counts for the bodies once the graph is lowered to Switch/Merge; on the graph as loaded
    tf.profiler counts 0 (it never looks inside a function), which the cross-check explains.
    """
    if not v.bodies:
        raise ValueError("no function body to count")
    return Cost.total(v.bodies)
