"""Fuzzing in CI: every strategy of ``fuzz_cases`` and ``fuzz_freeze``, briefly.

Mutated bytes, random bytes, graphs built by structure (function libraries with
recursion and fan-out, nested attrs, hostile shapes and dtypes, ports past the end),
SavedModel layouts, and the freeze path with a marker-writing op planted at random
places. ``scripts/fuzz --minutes N`` runs the same ``CASES`` for as long as asked.
"""

import pytest
from fuzz_cases import (
    graphs_and_outputs,
    mutated_bytes,
    open_saved_model,
    parse_and_profile,
    profile_graph,
    saved_models,
)
from fuzz_freeze import (
    LAYERS,
    freeze_never_writes_the_marker,
    fresh_marker,
    plant,
    planted_graphs,
    planted_restores,
    restore_never_writes_the_marker,
    restore_planted,
    set_marker,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tfflops

# name → (strategy, property, examples in CI). A property passes or raises.
CASES = {
    "mutated_bytes": (mutated_bytes(), parse_and_profile, 300),
    "random_bytes": (st.tuples(st.just("random"), st.binary(max_size=256)), parse_and_profile, 100),
    "graphs": (graphs_and_outputs(), profile_graph, 150),
    "saved_models": (saved_models(), open_saved_model, 40),
    "freeze_planted": (planted_graphs(), freeze_never_writes_the_marker, 60),
    "restore_planted": (planted_restores(), restore_never_writes_the_marker, 10),
}


def fuzz_test(strategy, prop, examples: int, derandomize: bool = True):
    """``prop`` over ``strategy`` as a hypothesis test of ``examples`` examples; in CI
    derandomized (the same examples every run: a failure is a change, not luck)."""
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=derandomize,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )(given(strategy)(prop))


@pytest.mark.parametrize("name", sorted(CASES))
def test_fuzz(name):
    strategy, prop, examples = CASES[name]
    fuzz_test(strategy, prop, examples)()


# ---------------------------------------------------------------- the fuzzing proves something


@pytest.mark.parametrize(
    ("layer", "where"),
    [*((layer, "function") for layer in LAYERS), ("direct", "control"), ("case", "call")],
)
def test_every_planted_write_runs_when_allowed(layer, where):
    """With allow_unsafe_ops the marker appears: each place freeze_planted plants its
    WriteFile is one TensorFlow runs, so its absence without the flag means vetting."""
    graph_def = plant([layer, "identity"], "StatefulPartitionedCall", (where, 0))
    marker = fresh_marker()
    set_marker(graph_def, str(marker))
    try:
        tfflops.freeze(graph_def, ["output"], allow_unsafe_ops=True)
        assert marker.exists()
    finally:
        marker.unlink(missing_ok=True)


@pytest.mark.parametrize("how", ["control", "call"])
def test_a_write_planted_on_the_restore_runs_when_allowed(how):
    """The same for restore_planted: a WriteFile on the saver's restore op runs."""
    assert restore_planted("save/restore_all", how, allow_unsafe_ops=True) == (
        "save/restore_all",
        True,
    )
