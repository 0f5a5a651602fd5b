"""How often a node may run per run of the graph: past MAX_RUNS, nested loops are a bomb.

A node's runs multiply down the loops around it (v1 frames, and v2 While bodies calling
further loops). Python ints never wrap, but each level more makes every count bigger: a
few thousand nested frames made ints of megabytes on every node (1.5 GB, then a traceback
at Python's 4300-digit limit). No model comes near two nested loops over int64's whole
range, so a count past that is refused, naming the loops.
"""

from __future__ import annotations

from collections.abc import Iterable

from tfflops.errors import TfflopsError

MAX_RUNS = 2**128
_NAMED = 3  # loops an error names before it only counts them


def check_runs(runs: int, where: str, loops: Iterable) -> None:
    """A TfflopsError naming ``where`` and the ``loops`` (``analysis.loops.Loop``s,
    innermost first) that nest to run a node more than MAX_RUNS times."""
    if runs <= MAX_RUNS:
        return
    nested = [f"{loop.name} ×{loop.trips}" for loop in loops if loop.trips]
    more = len(nested) - _NAMED
    shown = ", ".join(nested[:_NAMED]) + (f" and {more} more" if more > 0 else "")
    raise TfflopsError(
        f"{where}: nested loops ({shown}) run a node more than 2^128 times per run of the "
        "graph; no model does, refusing to count it"
    )
