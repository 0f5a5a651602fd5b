"""Mutated and truncated sample graphs: every outcome is a Profile or a TfflopsError —
never another exception, never a hang (bounded by hypothesis' example count)."""

from conftest import SAMPLES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tfflops
from tfflops.graph.loader import parse_model

SAMPLE_BYTES = {p.name: p.read_bytes() for p in sorted(SAMPLES.glob("*.pb*"))}


@st.composite
def mutated(draw):
    name = draw(st.sampled_from(sorted(SAMPLE_BYTES)))
    data = bytearray(SAMPLE_BYTES[name])
    kind = draw(st.sampled_from(["truncate", "flip", "insert", "splice"]))
    if kind == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    elif kind == "flip":
        for _ in range(draw(st.integers(1, 8))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    elif kind == "insert":
        at = draw(st.integers(0, len(data)))
        data[at:at] = draw(st.binary(min_size=1, max_size=16))
    else:
        start = draw(st.integers(0, len(data) - 1))
        end = draw(st.integers(start, len(data)))
        data[start:end] = data[start:end][::-1]
    return name, bytes(data)


def _profile_or_error(name: str, data: bytes) -> None:
    try:
        graph_def, _ = parse_model(data, name)
        tfflops.profile(graph_def, tfprof=False).to_dict()
    except tfflops.TfflopsError as e:
        assert str(e)  # one message naming what is wrong


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_graphs_profile_or_fail_cleanly(case):
    _profile_or_error(*case)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=256))
def test_random_bytes_profile_or_fail_cleanly(data):
    _profile_or_error("random", data)
