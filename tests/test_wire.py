"""Reading a GraphDef without its weights gives the same graph, minus float contents."""

from conftest import SAMPLES

import tfflops
from tfflops.graph import loader, proto, wire
from tfflops.graph.loader import load_model
from tfflops.graph.wire import strip_large_tensors


def test_strip_removes_only_large_float_contents():
    data = (SAMPLES / "small_cnn.pb").read_bytes()
    stripped = strip_large_tensors(data, min_bytes=1024)
    assert stripped is not None and len(stripped) < len(data)
    original, thin = proto.GraphDef.FromString(data), proto.GraphDef.FromString(stripped)
    assert [n.name for n in thin.node] == [n.name for n in original.node]
    for before, after in zip(original.node, thin.node, strict=True):
        if before.op != "Const":
            assert before == after
            continue
        t0, t1 = before.attr["value"].tensor, after.attr["value"].tensor
        assert (t0.dtype, t0.tensor_shape) == (t1.dtype, t1.tensor_shape)
        # the dense weights: 784*10 floats = 31360 bytes >= 1024, removed
        big = len(t0.tensor_content) >= 1024
        assert t1.tensor_content == (b"" if big else t0.tensor_content)
    emptied = [
        n.name for n in thin.node if n.op == "Const" and not n.attr["value"].tensor.tensor_content
    ]
    assert emptied == ["dense/kernel"]  # 784*10*4 = 31360 bytes; the rest are under 1024


def test_strip_leaves_nothing_to_strip_alone():
    data = (SAMPLES / "seed_frozen.pb").read_bytes()  # weights of 400 and 144 floats
    assert strip_large_tensors(data, min_bytes=1 << 16) is None


def test_strip_refuses_malformed_bytes():
    data = (SAMPLES / "small_cnn.pb").read_bytes()
    assert strip_large_tensors(data[: len(data) // 2], min_bytes=1024) is None
    assert strip_large_tensors(b"\x0f\xff\xff", min_bytes=1) is None


def test_profile_without_weights_counts_the_same(tmp_path, monkeypatch):
    monkeypatch.setattr(loader, "_STRIP_FROM_SIZE", 0)
    monkeypatch.setattr(wire.strip_large_tensors, "__defaults__", (1024,))
    thin, _ = load_model(SAMPLES / "small_cnn.pb", weights=False)
    full, _ = load_model(SAMPLES / "small_cnn.pb")
    assert thin.ByteSize() < full.ByteSize()
    p = tfflops.profile(SAMPLES / "small_cnn.pb")  # tf.profiler sees the stripped graph
    assert p.totals["tfprof_flops"] == 78460  # as in test_samples
    assert p.totals["params"] == 7906
    assert set(p.status_counts()) == {"match"}
