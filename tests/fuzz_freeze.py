"""The freeze path under fuzzing: a ``WriteFile`` to a marker file, planted at a random
place of a graph whose variables ``freeze`` must initialize or restore. Without
``allow_unsafe_ops`` the marker never appears, whatever the place:

* a control input of a node the run needs (the variable, its Assign, the initial value,
  a node between them; a MetaGraph's restore op, its saver's nodes, ...);
* inside a function on the way, reached by a call's ``f`` attr, an attr placeholder
  resolved at the call site (one or two levels deep), a ``list(func)`` of a Case, an
  If's branches, or only through the library's gradient table;
* a call of such a function, as a control input.

``plant`` is a plain function of those choices: the strategies draw them, and
``tests/test_fuzz.py`` checks with ``allow_unsafe_ops=True`` that each place is live
(the marker then does appear), so that the fuzzing proves something.
"""

from __future__ import annotations

import atexit
import itertools
import shutil
import tempfile
import warnings
from pathlib import Path

from fuzz_cases import I32, B, F, S, time_limit
from hypothesis import strategies as st

import tfflops
from tfflops.graph import proto

# How a value passes through a layer between the initial value and the Assign.
LAYERS = ("identity", "direct", "placeholder", "placeholder2", "case", "case-placeholder", "if")
MARKER_TEXT = b"@MARKER@"  # the marker's path, set by the property (a fresh one each time)
_MARKERS = Path(tempfile.mkdtemp(prefix="tfflops-fuzz-markers-"))
atexit.register(shutil.rmtree, _MARKERS, ignore_errors=True)
_serial = itertools.count()


def _function(library, name: str, *, evil: bool = False, attr: str | None = None):
    """f(x: float) -> x; ``evil``: writing the marker on the way; ``attr``: a func (or
    list(func)) attr the body calls through a placeholder."""
    f = library.function.add()
    f.signature.name = name
    f.signature.input_arg.add(name="x", type=F)
    f.signature.output_arg.add(name="y", type=F)
    f.signature.is_stateful = True
    result = "x"
    if attr == "func":
        f.signature.attr.add(name="g", type="func")
        call = _call(f.node_def, "call", ["x"], "StatefulPartitionedCall")
        call.attr["f"].placeholder = "g"
        result = "call:output:0"
    elif attr == "list(func)":
        f.signature.attr.add(name="g", type="list(func)")
        _const(f.node_def, "idx", I32, int_val=0)
        call = _call(f.node_def, "call", ["idx:output:0", "x"], "Case")
        call.attr["branches"].placeholder = "g"
        result = "call:output:0"
    controls = []
    if evil:
        controls.append(f"^{_write(f.node_def, 'w', inside_function=True)}")
    identity = f.node_def.add(name="id", op="Identity", input=[result, *controls])
    identity.attr["T"].type = F
    f.ret["y"] = "id:output:0"
    return f


def _const(nodes, name, dtype, **values):
    node = nodes.add(name=name, op="Const")
    node.attr["dtype"].type = dtype
    tensor = node.attr["value"].tensor
    tensor.dtype = dtype
    for field, value in values.items():
        getattr(tensor, field).append(value)
    return node


def _write(nodes, prefix: str, inside_function: bool = False) -> str:
    """Const path + Const data → WriteFile; the WriteFile's name."""
    _const(nodes, f"{prefix}_path", S, string_val=MARKER_TEXT)
    _const(nodes, f"{prefix}_data", S, string_val=b"an unvetted WriteFile ran\n")
    out = ":output:0" if inside_function else ""
    nodes.add(name=f"{prefix}_write", op="WriteFile",
              input=[f"{prefix}_path{out}", f"{prefix}_data{out}"])  # fmt: skip
    return f"{prefix}_write"


def _call(nodes, name, inputs, op):
    node = nodes.add(name=name, op=op, input=inputs)
    node.attr["Tin"].list.type.extend([F])
    node.attr["Tout"].list.type.extend([F])
    if op == "Case":
        node.attr["Tin"].list.type[:] = [F]
        node.attr["output_shapes"].list.SetInParent()
    return node


def _layer(g, kind: str, i: int, value: str, call_op: str) -> tuple[str, list[str]]:
    """A node passing ``value`` on by way of ``kind``; (its name, the functions it runs)."""
    name, lib = f"layer{i}", g.library
    if kind == "identity":
        g.node.add(name=name, op="Identity", input=[value]).attr["T"].type = F
        return name, []
    inner = f"inner{i}"
    _function(lib, inner)
    if kind == "direct":
        _call(g.node, name, [value], call_op).attr["f"].func.name = inner
        return name, [inner]
    if kind in ("placeholder", "case-placeholder"):
        outer = f"outer{i}"
        _function(lib, outer, attr="func" if kind == "placeholder" else "list(func)")
        node = _call(g.node, name, [value], call_op)
        node.attr["f"].func.name = outer
        target = node.attr["f"].func.attr["g"]
        if kind == "placeholder":
            target.func.name = inner
        else:
            target.list.func.add(name=inner)
        return name, [outer, inner]
    if kind == "placeholder2":  # outer{g: inner} → middle{g: placeholder g} → inner
        outer, middle = f"outer{i}", f"middle{i}"
        f = _function(lib, outer)
        del f.node_def[:]
        call = _call(f.node_def, "call", ["x"], "StatefulPartitionedCall")
        call.attr["f"].func.name = middle
        call.attr["f"].func.attr["g"].placeholder = "g"
        f.signature.attr.add(name="g", type="func")
        f.node_def.add(name="id", op="Identity", input=["call:output:0"]).attr["T"].type = F
        _function(lib, middle, attr="func")
        # TensorFlow keeps in a function's library what the gradient table names, too.
        lib.gradient.add(function_name=middle, gradient_func=inner)
        node = _call(g.node, name, [value], call_op)
        node.attr["f"].func.name = outer
        node.attr["f"].func.attr["g"].func.name = inner
        return name, [outer, middle, inner]
    if kind == "case":
        _const(g.node, f"{name}_idx", I32, int_val=0)
        node = _call(g.node, name, [f"{name}_idx", value], "Case")
        node.attr["branches"].list.func.add(name=inner)
        return name, [inner]
    # "if": both branches are functions that may run
    other = f"other{i}"
    _function(lib, other)
    _const(g.node, f"{name}_cond", B, bool_val=True)
    node = _call(g.node, name, [f"{name}_cond", value], "If")
    node.attr["Tcond"].type = B
    node.attr["then_branch"].func.name = inner
    node.attr["else_branch"].func.name = other
    return name, [inner, other]


def plant(layers, call_op: str, spot: tuple[str, int]) -> proto.GraphDef:
    """``v = init_val`` through ``layers``, output = v·2, and one WriteFile at ``spot``:
    ("function", k) makes the k-th function on the way write; ("control", k) and
    ("call", k) give the k-th node on the way a control input from a WriteFile, or from a
    call of a writing function."""
    g = proto.GraphDef()
    variable = g.node.add(name="v", op="VariableV2")
    variable.attr["dtype"].type = F
    variable.attr["shape"].shape.SetInParent()
    _const(g.node, "init_val", F, float_val=3.0)
    value, path, functions = "init_val", ["init_val"], []
    for i, kind in enumerate(layers):
        value, called = _layer(g, kind, i, value, call_op)
        path.append(value)
        functions += called
    g.node.add(name="v/Assign", op="Assign", input=["v", value]).attr["T"].type = F
    g.node.add(name="v/read", op="Identity", input=["v"]).attr["T"].type = F
    _const(g.node, "two", F, float_val=2.0)
    g.node.add(name="output", op="Mul", input=["v/read", "two"]).attr["T"].type = F
    path += ["v", "v/Assign"]
    where, k = spot
    nodes = {n.name: n for n in g.node}
    if where == "function" and functions:
        evil = functions[k % len(functions)]
        body = next(f for f in g.library.function if f.signature.name == evil)
        write = _write(body.node_def, "w", inside_function=True)
        next(n for n in body.node_def if n.name == "id").input.append(f"^{write}")
    elif where == "call":
        _function(g.library, "evil", evil=True)
        _const(g.node, "evil_x", F, float_val=1.0)
        _call(g.node, "evil_call", ["evil_x"], call_op).attr["f"].func.name = "evil"
        nodes[path[k % len(path)]].input.append("^evil_call")
    else:
        nodes[path[k % len(path)]].input.append(f"^{_write(g.node, 'evil')}")
    return g


def set_marker(graph_def: proto.GraphDef, marker: str) -> None:
    """Every planted path Const (in the graph and its functions) → ``marker``."""
    nodes = [*graph_def.node, *(n for f in graph_def.library.function for n in f.node_def)]
    for node in nodes:
        if node.op == "Const" and list(node.attr["value"].tensor.string_val) == [MARKER_TEXT]:
            node.attr["value"].tensor.string_val[:] = [marker.encode()]


def fresh_marker() -> Path:
    return _MARKERS / f"marker{next(_serial)}"


def planted_graphs():
    """The choices ``plant`` takes (a failure then reads as a short, rebuildable case)."""
    return st.tuples(
        st.lists(st.sampled_from(LAYERS), min_size=1, max_size=3),
        st.sampled_from(["StatefulPartitionedCall", "PartitionedCall"]),
        # functions are where the hiding places are: half the draws
        st.tuples(st.sampled_from(["function", "function", "control", "call"]), st.integers(0, 9)),
    )


def freeze_never_writes_the_marker(choices) -> None:
    graph_def = plant(*choices)
    marker = fresh_marker()
    set_marker(graph_def, str(marker))
    try:
        with time_limit(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tfflops.freeze(graph_def, ["output"])
    except tfflops.TfflopsError as e:
        assert str(e)
    finally:
        ran = marker.exists()
        marker.unlink(missing_ok=True)
    assert not ran, "freeze ran the planted WriteFile without allow_unsafe_ops"


# ---------------------------------------------------------------- a MetaGraph's restore


_CHECKPOINT: list[Path] = []  # the .meta of a TF1 checkpoint model, built on first use


def checkpoint_model() -> Path:
    """x [1, 2] @ a [2, 2] + b → output, a saved by tf.compat.v1.train.Saver (.meta,
    .index, .data) in a temporary folder, once per process; b is a local variable the
    saver leaves out, whose value a restore never gives (what runs to read it must be
    vetted all the same)."""
    if not _CHECKPOINT:
        from tfflops.tf import import_tensorflow

        tf = import_tensorflow()
        folder = Path(tempfile.mkdtemp(prefix="tfflops-fuzz-checkpoint-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        graph = tf.Graph()
        with graph.as_default():
            x = tf.compat.v1.placeholder(tf.float32, [1, 2], name="x")
            a = tf.compat.v1.Variable(tf.ones([2, 2]), name="a")
            local = [tf.compat.v1.GraphKeys.LOCAL_VARIABLES]
            b = tf.compat.v1.Variable(tf.zeros([2]), name="b", collections=local)
            tf.identity(tf.matmul(x, a) + b, name="output")
            saver = tf.compat.v1.train.Saver([a])
            with tf.compat.v1.Session(graph=graph) as session:
                session.run(tf.compat.v1.global_variables_initializer())
                session.run(tf.compat.v1.local_variables_initializer())
                saver.save(session, str(folder / "model"), write_state=False)
        _CHECKPOINT.append(folder / "model.meta")
    return _CHECKPOINT[0]


@st.composite
def planted_restores(draw):
    """(a node's number in the MetaGraph, "control" or "call"): where the WriteFile goes."""
    return draw(st.integers(0, 10**6)), draw(st.sampled_from(["control", "call"]))


def restore_never_writes_the_marker(case) -> None:
    index, how = case
    target, ran = restore_planted(index, how)
    assert not ran, f"freeze ran a WriteFile planted on {target!r} ({how})"


def restore_planted(index: int | str, how: str, allow_unsafe_ops: bool = False):
    """Freeze the checkpoint model with a WriteFile planted on its node ``index`` (a
    number, or a name): (that node's name, whether the marker was written)."""
    source = checkpoint_model()
    meta = proto.MetaGraphDef.FromString(source.read_bytes())
    g = meta.graph_def
    if isinstance(index, str):
        target = next(n for n in g.node if n.name == index)
    else:
        target = g.node[index % len(g.node)]
    if how == "call":
        _function(g.library, "evil", evil=True)
        _const(g.node, "evil_x", F, float_val=1.0)
        call = _call(g.node, "evil_call", ["evil_x"], "StatefulPartitionedCall")
        call.attr["f"].func.name = "evil"
        target.input.append("^evil_call")
    else:
        target.input.append(f"^{_write(g.node, 'evil')}")
    marker = fresh_marker()
    set_marker(g, str(marker))
    with tempfile.TemporaryDirectory() as tmp:
        for path in source.parent.iterdir():
            if path.name.startswith("model.") and path.suffix != ".meta":
                shutil.copy(path, Path(tmp) / path.name)
        (Path(tmp) / "model.meta").write_bytes(meta.SerializeToString())
        try:
            with time_limit(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tfflops.freeze(
                    str(Path(tmp) / "model.meta"), ["output"], allow_unsafe_ops=allow_unsafe_ops
                )
        except tfflops.TfflopsError as e:
            assert str(e)
        finally:
            ran = marker.exists()
            marker.unlink(missing_ok=True)
    return target.name, ran
