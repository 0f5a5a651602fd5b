"""Static analysis stays bounded on hostile graphs: no value is materialized before its
size is checked, and function analysis cannot take exponential time."""

import tracemalloc

from builders import ints, placeholder, weights

import tfflops
from tfflops.analysis.shapes import MAX_BODY_RUNS, infer_shapes
from tfflops.graph import proto
from tfflops.graph.index import Graph

DT_INT32 = proto.DATA_TYPES["DT_INT32"]
DT_FLOAT = proto.DATA_TYPES["DT_FLOAT"]
# A hostile graph may make shape inference allocate at most this much.
ALLOWED_BYTES = 64 << 20


def _int_const(g, name, values, dims):
    n = g.node.add(name=name, op="Const")
    n.attr["dtype"].type = DT_INT32
    t = n.attr["value"].tensor
    t.dtype = DT_INT32
    for d in dims:
        t.tensor_shape.dim.add(size=d)
    t.int_val.extend(values)
    return name


def _peak_bytes_of_inference(g) -> tuple[int, object]:
    graph = Graph(g)
    tracemalloc.start()
    try:
        result = infer_shapes(graph)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, result


def test_tile_with_a_zero_multiple_after_a_huge_one_allocates_nothing_big():
    # np.tile repeats axis by axis: [1024] tiled by [10**9, 0] would build 10**12 elements
    # before the zero multiple empties it.
    g = proto.GraphDef()
    _int_const(g, "v", list(range(1024)), [1, 1024])
    ints(g, "multiples", [10**9, 0])
    tile = g.node.add(name="tile", op="Tile", input=["v", "multiples"])
    tile.attr["T"].type = DT_INT32
    peak, result = _peak_bytes_of_inference(g)
    assert peak < ALLOWED_BYTES
    (out,) = result.tensors["tile"]
    assert out.shape == (10**9, 0)  # 1·10**9 rows, 1024·0 columns
    assert out.value is None


def test_concat_and_pack_of_many_references_to_one_constant_allocate_nothing_big():
    # 100,000 references to one 1024-element constant: 100,000 · 1024 elements if computed.
    g = proto.GraphDef()
    _int_const(g, "v", list(range(1024)), [1024])
    refs = ["v"] * 100_000
    ints(g, "axis", [0])
    concat = g.node.add(name="concat", op="ConcatV2", input=[*refs, "axis"])
    concat.attr["T"].type = DT_INT32
    concat.attr["N"].i = len(refs)
    pack = g.node.add(name="pack", op="Pack", input=refs)
    pack.attr["T"].type = DT_INT32
    peak, result = _peak_bytes_of_inference(g)
    assert peak < ALLOWED_BYTES
    assert result.tensors["concat"][0].shape == (102_400_000,)  # 100,000 · 1024
    assert result.tensors["pack"][0].shape == (100_000, 1024)
    assert result.tensors["concat"][0].value is None and result.tensors["pack"][0].value is None


def test_a_broadcast_of_two_small_values_is_not_computed_when_the_result_is_big():
    g = proto.GraphDef()
    _int_const(g, "a", list(range(1000)), [1000, 1])
    _int_const(g, "b", list(range(1000)), [1, 1000])
    add = g.node.add(name="add", op="AddV2", input=["a", "b"])
    add.attr["T"].type = DT_INT32
    _, result = _peak_bytes_of_inference(g)
    (out,) = result.tensors["add"]
    assert out.shape == (1000, 1000) and out.value is None


def test_a_negative_dimension_is_an_unknown_shape_not_a_negative_count(tmp_path):
    g = proto.GraphDef()
    placeholder(g, "x", (2, 3))
    w = g.node.add(name="w", op="Const")
    w.attr["dtype"].type = DT_FLOAT
    t = w.attr["value"].tensor
    t.dtype = DT_FLOAT
    t.tensor_shape.dim.add(size=3)
    t.tensor_shape.dim.add(size=-4)
    mm = g.node.add(name="mm", op="MatMul", input=["x", "w"])
    mm.attr["T"].type = DT_FLOAT
    p = tfflops.profile(g, outputs=["mm"], tfprof=False)
    assert p.totals["params"] == 0 and p.totals["flops"] == 0
    assert all(r.params >= 0 and r.bytes >= 0 for r in p.rows)
    assert "negative dimension" in p.shapes.unknown["w"]
    assert any("unknown shapes not counted" in n for n in p.notes)


def _chain_of_functions(depth: int) -> proto.GraphDef:
    """f0(a) = f1(2a + 1) + f1(2a + 2), f1 likewise ...: every call passes a value no other
    call passes, so analysing each call separately takes 2**depth body analyses."""
    g = proto.GraphDef()
    placeholder(g, "x", (), DT_INT32)
    for level in range(depth):
        f = g.library.function.add()
        f.signature.name = f"f{level}"
        f.signature.input_arg.add(name="a", type=DT_INT32)
        f.signature.output_arg.add(name="out", type=DT_INT32)
        if level == depth - 1:
            f.ret["out"] = "a"
            continue
        for k in (0, 1, 2):
            c = f.node_def.add(name=f"c{k}", op="Const")
            c.attr["dtype"].type = DT_INT32
            c.attr["value"].tensor.dtype = DT_INT32
            c.attr["value"].tensor.int_val.append(k or 2)
        double = f.node_def.add(name="double", op="Mul", input=["a", "c0:output:0"])
        double.attr["T"].type = DT_INT32
        for k in (1, 2):
            add = f.node_def.add(name=f"add{k}", op="AddV2", input=["double:z:0", f"c{k}:output:0"])
            add.attr["T"].type = DT_INT32
            call = f.node_def.add(name=f"call{k}", op=f"f{level + 1}", input=[f"add{k}:z:0"])
            call.attr["T"].type = DT_INT32
        total = f.node_def.add(name="sum", op="AddV2", input=["call1:out:0", "call2:out:0"])
        total.attr["T"].type = DT_INT32
        f.ret["out"] = "sum:z:0"
    call = g.node.add(name="call", op="f0", input=["x"])
    call.attr["T"].type = DT_INT32
    return g


def test_function_analysis_stays_bounded_and_says_so():
    # x has a value only when pinned; a value makes every call's arguments distinct.
    g = _chain_of_functions(30)
    x = g.node[0]
    x.op = "Const"
    x.ClearField("attr")
    x.attr["dtype"].type = DT_INT32
    x.attr["value"].tensor.dtype = DT_INT32
    x.attr["value"].tensor.int_val.append(0)
    p = tfflops.profile(g, outputs=["call"], tfprof=False)
    (row,) = [r for r in p.rows if r.name == "call"]
    said = f"budget of {MAX_BODY_RUNS:,} function bodies"
    assert said in str(row.problem) + str(row.note)  # the budget cut part of the chain off
    assert any("unknown shapes not counted" in n for n in p.notes)


def test_a_function_called_2_to_the_29_times_counts_fast_and_lists_boundedly():
    # x unknown: every call passes the same (unknown-valued) argument, so each body is
    # analysed once; the count multiplies, the views list a bounded number of rows.
    g = _chain_of_functions(30)
    p = tfflops.profile(g, outputs=["call"], tfprof=False)
    # f0..f28 each run Mul, AddV2, AddV2, AddV2 on scalars (4 FLOPs under tfprof), and f_k
    # runs 2**k times: 4·(2**29 − 1) = 2147483644
    assert p.totals["flops"] == 2147483644
    doc = p.to_dict()
    assert len(doc["function_nodes"]) <= 100_000
    assert sum(n["flops"] for n in doc["nodes"]) == 2147483644


def test_the_training_estimate_goes_through_each_body_once_however_many_calls_run_it():
    # The chain of 30 functions on float [2] tensors, fed x·w (w a weight: the gradient
    # flows into the chain): 2**29 − 1 calls of f0..f28, each body gone through once.
    g = _chain_of_functions(30)
    for node in [*g.node, *(n for f in g.library.function for n in f.node_def)]:
        for key in ("T", "dtype"):
            if key in node.attr and node.attr[key].type == DT_INT32:
                node.attr[key].type = DT_FLOAT
        if "value" in node.attr:
            tensor = node.attr["value"].tensor
            values = list(tensor.int_val)
            tensor.ClearField("int_val")
            tensor.dtype = DT_FLOAT
            tensor.float_val.extend(values)
    for f in g.library.function:
        for arg in [*f.signature.input_arg, *f.signature.output_arg]:
            arg.type = DT_FLOAT
    g.node[0].attr["shape"].shape.dim.add(size=2)
    weights(g, "w", (2,))
    g.node.add(name="xw", op="Mul", input=["x", "w"]).attr["T"].type = DT_FLOAT
    g.node[1].input[0] = "xw"  # the call
    p = tfflops.profile(g, outputs=["call"], tfprof=False, training=True)
    # Forward: x·w 2, then per call Mul 2 + AddV2 2·2 + the sum 2 = 8: 2 + 8·(2**29 − 1)
    assert p.totals["flops"] == 4294967290
    # Backward: per call Mul's dx 2 and the AddN of double's two gradients 2 (the AddV2s
    # pass theirs on); dw of x·w 2: 2 + 4·(2**29 − 1) = 2147483646
    assert p.totals["train_flops"] == 4294967290 + 2147483646
