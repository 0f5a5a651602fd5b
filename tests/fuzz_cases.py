"""Hostile inputs for fuzzing, built by structure, and the promise each must keep.

``CASES`` maps a name to (hypothesis strategy, property): ``tests/test_fuzz.py`` runs
each briefly in CI, ``scripts/fuzz --minutes N`` for as long as asked. A property
returns normally or raises AssertionError (or ``Hang``); every outcome it allows is a
result or a TfflopsError: never another exception, a negative count, a hang, or — on
the freeze path, without ``allow_unsafe_ops`` — the marker file a planted ``WriteFile``
would write.
"""

from __future__ import annotations

import contextlib
import signal
import tempfile
from pathlib import Path

from hypothesis import strategies as st

import tfflops
from tfflops.graph import proto
from tfflops.graph.loader import parse_model
from tfflops.pipelines.inspect import inspect_model
from tfflops.reports.profile import render

DT = proto.DATA_TYPES
F, I32, I64, S, B = (DT[n] for n in ("DT_FLOAT", "DT_INT32", "DT_INT64", "DT_STRING", "DT_BOOL"))
SAMPLES = Path(__file__).resolve().parents[1] / "sample_graphs"
SAMPLE_BYTES = {p.name: p.read_bytes() for p in sorted(SAMPLES.glob("*.pb*"))}

# Seconds one example may take before it counts as a hang (SIGALRM in the main thread).
EXAMPLE_SECONDS = 60


class Hang(AssertionError):
    """An example ran past EXAMPLE_SECONDS."""


@contextlib.contextmanager
def time_limit(seconds: int = EXAMPLE_SECONDS):
    def expire(signum, frame):
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _counts_are_whole(doc: dict) -> None:
    """No count in a profile document is negative (or not an int)."""
    for key in ("flops", "params", "bytes", "init_flops", "nodes"):
        value = doc["totals"][key]
        assert type(value) is int and value >= 0, (key, value)
    for node in doc["nodes"]:
        for key in ("flops", "params", "bytes"):
            assert type(node[key]) is int and node[key] >= 0, (node["name"], key, node[key])


def profile_or_error(model, outputs=None, **options) -> None:
    """Profile ``model`` without tf.profiler: a Profile whose counts are whole and which
    renders, or a TfflopsError with a message."""
    try:
        with time_limit():
            p = tfflops.profile(model, outputs, tfprof=False, **options)
            _counts_are_whole(p.to_dict())
            render(p, "table")
    except tfflops.TfflopsError as e:
        assert str(e)


# ---------------------------------------------------------------- bytes


@st.composite
def mutated_bytes(draw):
    """A sample graph truncated, with bytes flipped, inserted or a span reversed."""
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


def parse_and_profile(case) -> None:
    name, data = case
    try:
        graph_def, _ = parse_model(data, name)
    except tfflops.TfflopsError as e:
        assert str(e)
        return
    profile_or_error(graph_def)


# ---------------------------------------------------------------- graphs by structure

# Dimensions a hostile shape is made of: small ones, unknown, negative, int64-sized.
DIMS = st.one_of(
    st.integers(0, 6),
    st.sampled_from([-1, -2, -1000, 2**31, 2**40, 2**62, 2**63 - 1]),
)
# dtypes: the usual, a string or a bool where a number belongs, numbers no dtype has.
DTYPES = st.one_of(st.sampled_from([F, F, F, I32, I64, S, B]), st.integers(-3, 130))
OPS = [
    "MatMul", "Conv2D", "AddV2", "Mul", "Relu", "BiasAdd", "Reshape", "Tile", "Fill",
    "ConcatV2", "Pack", "Unpack", "Split", "Identity", "IdentityN", "Shape", "Cast", "Mean",
    "StridedSlice", "MaxPool", "Softmax", "Einsum", "Range", "NoOp", "MyCustomOp",
]  # fmt: skip
CALL_OPS = ["PartitionedCall", "StatefulPartitionedCall", "If", "Case", "While"]


def shapes():
    """None (unknown rank) or a list of dimensions, rank 0 to 5."""
    return st.one_of(st.none(), st.lists(DIMS, max_size=5))


def _set_shape(shape_proto, shape) -> None:
    shape_proto.SetInParent()
    if shape is None:
        shape_proto.unknown_rank = True
        return
    for d in shape:
        shape_proto.dim.add(size=d)


@st.composite
def attr_values(draw, functions=("f0", "f1", "missing"), depth=3):
    """An AttrValue of any kind, NameAttrLists nested up to ``depth`` deep."""
    value = proto.AttrValue()
    kinds = ["i", "f", "b", "s", "type", "shape", "list", "placeholder"]
    kind = draw(st.sampled_from([*kinds, *(["func"] * 2 if depth else [])]))
    if kind == "i":
        value.i = draw(st.integers(-(2**63), 2**63 - 1))
    elif kind == "f":
        value.f = draw(st.floats(width=32))
    elif kind == "b":
        value.b = draw(st.booleans())
    elif kind == "s":
        value.s = draw(st.sampled_from([b"", b"SAME", b"VALID", b"NCHW", b"\xff\xfe"]))
    elif kind == "type":
        value.type = draw(DTYPES)
    elif kind == "shape":
        _set_shape(value.shape, draw(shapes()))
    elif kind == "list":
        value.list.SetInParent()
        value.list.i.extend(draw(st.lists(st.integers(-5, 2**40), max_size=5)))
        value.list.type.extend(draw(st.lists(DTYPES, max_size=3)))
        for name in draw(st.lists(st.sampled_from(functions), max_size=2)):
            value.list.func.add(name=name)
    elif kind == "placeholder":
        value.placeholder = draw(st.sampled_from(["g", "T", "missing"]))
    else:
        value.func.name = draw(st.sampled_from(functions))
        for key in draw(st.lists(st.sampled_from(["g", "h", "T"]), max_size=2, unique=True)):
            value.func.attr[key].CopyFrom(draw(attr_values(functions, depth - 1)))
    return value


@st.composite
def _const(draw, container, name):
    node = container.add(name=name, op="Const")
    dtype = draw(DTYPES)
    node.attr["dtype"].type = dtype
    tensor = node.attr["value"].tensor
    tensor.dtype = dtype
    _set_shape(tensor.tensor_shape, draw(st.lists(DIMS, max_size=4)))
    tensor.tensor_shape.unknown_rank = False
    values = draw(st.lists(st.integers(-5, 2**20), max_size=6))
    if dtype == F:
        tensor.float_val.extend(float(v) for v in values)
    elif dtype == I64:
        tensor.int64_val.extend(values)
    else:
        tensor.int_val.extend(v % 2**31 for v in values)
    return node


@st.composite
def _op_node(draw, container, name, producers, functions):
    """A node of a random op reading random outputs (ports past the end too) of
    ``producers``, with random attrs (calls: a function of ``functions``)."""
    op = draw(st.sampled_from(OPS + CALL_OPS if functions else OPS))
    functions = [*functions, "missing"]  # a call of a function the library lacks
    node = container.add(name=name, op=op)
    for _ in range(draw(st.integers(0, 3)) if producers else 0):
        source = draw(st.sampled_from(producers))
        port = draw(st.sampled_from([0, 0, 0, 1, 2, 999]))
        node.input.append(source if port == 0 else f"{source}:{port}")
    if producers and draw(st.booleans()):
        node.input.append("^" + draw(st.sampled_from(producers)))
    node.attr["T"].type = draw(st.sampled_from([F, F, F, I32, S]))
    for key in draw(st.lists(st.sampled_from(["N", "axis", "num_split", "padding",
                                              "strides", "ksize", "data_format",
                                              "equation", "Tidx", "extra"]),
                             max_size=3, unique=True)):  # fmt: skip
        node.attr[key].CopyFrom(draw(attr_values(functions)))
    if op in CALL_OPS:
        for key in {"If": ["then_branch", "else_branch"], "While": ["cond", "body"],
                    "Case": ["branches"]}.get(op, ["f"]):  # fmt: skip
            node.attr[key].CopyFrom(draw(attr_values(functions)))
        node.attr["Tin"].list.type.extend([F] * max(0, len(node.input) - 1))
        node.attr["Tout"].list.type.extend(draw(st.lists(st.just(F), min_size=1, max_size=2)))
    return node


@st.composite
def functions_library(draw, library):
    """0-4 functions that call each other (themselves: recursion; several: fan-out),
    through direct attrs, nested NameAttrLists and attr placeholders."""
    names = [f"f{i}" for i in range(draw(st.integers(0, 4)))]
    for name in names:
        function = library.function.add()
        function.signature.name = name
        function.signature.input_arg.add(name="x", type=F)
        function.signature.output_arg.add(name="y", type=F)
        if draw(st.booleans()):
            function.signature.attr.add(name="g", type="func")
        body = ["x"]
        for k in range(draw(st.integers(0, 4))):
            node = draw(_op_node(function.node_def, f"n{k}", body, names))
            body.append(f"{node.name}:output:0")
        function.ret["y"] = draw(st.sampled_from([*body, "nowhere:output:0"]))
    return names


@st.composite
def graph_defs(draw):
    """A GraphDef: placeholders and Consts of hostile shapes and dtypes, random ops, and
    a function library the call ops reach."""
    g = proto.GraphDef()
    functions = draw(functions_library(g.library))
    producers = []
    for i in range(draw(st.integers(1, 3))):
        node = g.node.add(name=f"in{i}", op="Placeholder")
        node.attr["dtype"].type = draw(DTYPES)
        if draw(st.booleans()):
            _set_shape(node.attr["shape"].shape, draw(shapes()))
        producers.append(node.name)
    for i in range(draw(st.integers(0, 2))):
        producers.append(draw(_const(g.node, f"c{i}")).name)
    for i in range(draw(st.integers(1, 8))):
        producers.append(draw(_op_node(g.node, f"op{i}", producers, functions)).name)
    return g


@st.composite
def graphs_and_outputs(draw):
    g = draw(graph_defs())
    names = [n.name for n in g.node]
    port = st.sampled_from(["", "", ":1", ":7"])
    outputs = draw(st.one_of(st.none(), st.lists(st.tuples(st.sampled_from(names), port),
                                                 min_size=1, max_size=2)))  # fmt: skip
    return g, None if outputs is None else [n + p for n, p in outputs]


def profile_graph(case) -> None:
    graph_def, outputs = case
    profile_or_error(graph_def, outputs)


# ---------------------------------------------------------------- SavedModel layouts


@st.composite
def saved_models(draw):
    """A SavedModel directory's parts: MetaGraphs (tags, signatures naming tensors that
    may not exist, past a node's outputs, or no tensor at all), and a layout: variables/
    missing, a file, or junk; saved_model.pb a folder; a text SavedModel only."""
    saved = proto.SavedModel()
    for _ in range(draw(st.integers(0, 3))):
        meta = saved.meta_graphs.add()
        meta.meta_info_def.tags.extend(draw(st.lists(st.sampled_from(["serve", "gpu", "train"]),
                                                     max_size=2)))  # fmt: skip
        meta.graph_def.CopyFrom(draw(graph_defs()))
        names = [n.name for n in meta.graph_def.node] + ["missing"]
        for key in draw(st.lists(st.sampled_from(["serving_default", "other"]), max_size=2)):
            signature = meta.signature_def[key]
            for side in ("inputs", "outputs"):
                for arg in draw(st.lists(st.sampled_from(["x", "y"]), max_size=2)):
                    info = getattr(signature, side)[arg]
                    port = draw(st.sampled_from([":0", ":0", ":3", ""]))
                    info.name = draw(st.sampled_from(names)) + port if port != "" else ""
                    info.dtype = draw(DTYPES)
        if draw(st.booleans()):
            meta.object_graph_def = b"\x0a\x00"  # kept as bytes: only its presence matters
    layout = {
        "variables": draw(st.sampled_from(["none", "folder", "file", "junk"])),
        "saved_model_pb": draw(st.sampled_from(["file", "file", "folder", "text"])),
    }
    return saved.SerializeToString(), layout


def open_saved_model(case) -> None:
    data, layout = case
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "export"
        export.mkdir()
        if layout["saved_model_pb"] == "file":
            (export / "saved_model.pb").write_bytes(data)
        elif layout["saved_model_pb"] == "folder":
            (export / "saved_model.pb").mkdir()
        else:
            (export / "saved_model.pbtxt").write_text("meta_graphs {}")
        if layout["variables"] == "file":
            (export / "variables").write_bytes(b"junk")
        elif layout["variables"] != "none":
            (export / "variables").mkdir()
            if layout["variables"] == "junk":
                (export / "variables" / "variables.index").write_bytes(b"\x00junk")
                (export / "variables" / "variables.data-00000-of-00001").write_bytes(b"")
        profile_or_error(str(export))
        try:
            with time_limit():
                inspect_model(str(export))
        except tfflops.TfflopsError as e:
            assert str(e)
