"""What ``freeze`` agrees to run: hostile graphs built here, a marker file that must never appear.

Three classes, each for every variant of it:

* every function that can run is vetted — named in a func attr, a list of funcs, a
  NameAttrList nested in another's attrs, through an attr placeholder bound where the
  function is named (one or two levels down), by a node's op, by an attr default — and
  one that cannot be resolved is refused, named;
* every Session.run is vetted for what it executes: the initializers or the restore,
  and then the fetch of the variables, whose own control inputs run too;
* a restore reads only the checkpoint given: its prefix is traced tensor by tensor
  (IdentityN output i is input i; a call's output is what its function returns).
"""

import re

import pytest
import tensorflow as tf

import tfflops
from tfflops.freeze.safety import vet_run
from tfflops.graph import proto
from tfflops.graph.index import Graph
from tfflops.graph.library import function_closure, functions_by_name, used_functions
from tfflops.pipelines.freeze import freeze_model

tf1 = tf.compat.v1
tf.get_logger().setLevel("ERROR")

DT = proto.DATA_TYPES
FLOAT, INT32, STRING = DT["DT_FLOAT"], DT["DT_INT32"], DT["DT_STRING"]


# ---------------------------------------------------------------- builders


def node(container, name, op, inputs=(), **types):
    """A node of a GraphDef or a FunctionDef; ``types`` are dtype attrs (T=FLOAT)."""
    nodes = container.node_def if isinstance(container, proto.FunctionDef) else container.node
    n = nodes.add(name=name, op=op)
    n.input.extend(inputs)
    for key, dtype in types.items():
        if isinstance(dtype, list):
            n.attr[key].list.type.extend(dtype)
        else:
            n.attr[key].type = dtype
    return n


def const(container, name, value, dtype=FLOAT):
    n = node(container, name, "Const", dtype=dtype)
    tensor = n.attr["value"].tensor
    tensor.dtype = dtype
    if dtype == STRING:
        tensor.string_val.append(value.encode())
    elif dtype == INT32:
        tensor.int_val.append(value)
    else:
        tensor.float_val.append(value)
    return n


def function(name, attrs=()):
    """f(x: float) -> float; ``attrs`` its attr placeholders' (name, type)."""
    f = proto.FunctionDef()
    f.signature.name = name
    f.signature.input_arg.add(name="x", type=FLOAT)
    f.signature.output_arg.add(name="y", type=FLOAT)
    for attr, kind in attrs:
        f.signature.attr.add(name=attr, type=kind)
    return f


def evil(marker, name="Evil"):
    """Evil(x) = x, writing ``marker`` on the way."""
    f = function(name)
    const(f, "path", str(marker), STRING)
    const(f, "text", "ran", STRING)
    node(f, "w", "WriteFile", ["path:output:0", "text:output:0"])
    node(f, "y", "Identity", ["x", "^w"], T=FLOAT)
    f.ret["y"] = "y:output:0"
    return f


def double(name="Double"):
    """Double(x) = 2x, pure."""
    f = function(name)
    const(f, "two", 2.0)
    node(f, "y", "Mul", ["x", "two:output:0"], T=FLOAT)
    f.ret["y"] = "y:z:0"
    return f


def call(container, name, inputs, f=None, placeholder=None, op="StatefulPartitionedCall"):
    """A call op running ``f`` (a name, or (name, {attr: AttrValue})) or a placeholder's."""
    n = node(container, name, op, inputs, Tin=[FLOAT], Tout=[FLOAT])
    if placeholder is not None:
        n.attr["f"].placeholder = placeholder
    else:
        name, attrs = (f, {}) if isinstance(f, str) else f
        n.attr["f"].func.name = name
        for key, value in attrs.items():
            n.attr["f"].func.attr[key].CopyFrom(value)
    return n


def func(name, **attrs) -> proto.AttrValue:
    value = proto.AttrValue()
    value.func.name = name
    for key, inner in attrs.items():
        value.func.attr[key].CopyFrom(inner)
    return value


def funcs(*names) -> proto.AttrValue:
    value = proto.AttrValue()
    value.list.SetInParent()
    for name in names:
        value.list.func.add(name=name)
    return value


def placeholder_attr(name) -> proto.AttrValue:
    return proto.AttrValue(placeholder=name)


def calls_through(name, attr):
    """name(x) runs the function its attr placeholder ``attr`` stands for."""
    f = function(name, [(attr, "func")])
    call(f, "c", ["x"], placeholder=attr)
    f.ret["y"] = "c:output:0"
    return f


def initialized_by(library, value):
    """A variable v initialized by ``value(graph)`` (a node name); output = v * 2."""
    g = proto.GraphDef()
    g.versions.producer = 1994
    g.library.function.extend(library)
    v = node(g, "v", "VariableV2", dtype=FLOAT)
    v.attr["shape"].shape.SetInParent()
    initial = value(g)
    node(g, "v/Assign", "Assign", ["v", initial], T=FLOAT)
    node(g, "v/read", "Identity", ["v"], T=FLOAT)
    const(g, "two", 2.0)
    node(g, "output", "Mul", ["v/read", "two"], T=FLOAT)
    return g


# ---------------------------------------------------------------- every function that can run


def _func_attr(m):
    return initialized_by([evil(m)], lambda g: call(g, "call", ["three"], "Evil").name)


def _list_of_funcs(m):
    def value(g):
        const(g, "index", 1, INT32)
        case = node(g, "call", "Case", ["index", "three"], Tin=[FLOAT], Tout=[FLOAT])
        case.attr["branches"].CopyFrom(funcs("Double", "Evil"))
        case.attr["output_shapes"].list.SetInParent()
        return "call"

    return initialized_by([double(), evil(m)], value)


def _nested_three_deep(m):
    # Double is called; Evil is a value three NameAttrLists down in its attrs.
    nested = func("Double", a=func("Wrap", b=func("Wrap", c=func("Evil"))))
    return initialized_by(
        [double(), double("Wrap"), evil(m)],
        lambda g: call(g, "call", ["three"], ("Double", dict(nested.func.attr))).name,
    )


def _placeholder(m):
    return initialized_by(
        [evil(m), calls_through("Outer", "g")],
        lambda g: call(g, "call", ["three"], ("Outer", {"g": func("Evil")})).name,
    )


def _placeholder_two_levels(m):
    outer = function("Outer", [("g", "func")])
    call(outer, "c", ["x"], ("Middle", {"h": placeholder_attr("g")}))
    outer.ret["y"] = "c:output:0"
    return initialized_by(
        [evil(m), outer, calls_through("Middle", "h")],
        lambda g: call(g, "call", ["three"], ("Outer", {"g": func("Evil")})).name,
    )


def _placeholder_list_of_funcs(m):
    outer = function("Outer", [("bs", "list(func)")])
    const(outer, "index", 0, INT32)
    case = node(outer, "c", "Case", ["index:output:0", "x"], Tin=[FLOAT], Tout=[FLOAT])
    case.attr["branches"].placeholder = "bs"
    case.attr["output_shapes"].list.SetInParent()
    outer.ret["y"] = "c:output:0"
    return initialized_by(
        [evil(m), outer],
        lambda g: call(g, "call", ["three"], ("Outer", {"bs": funcs("Evil")})).name,
    )


def _op_is_the_function(m):
    return initialized_by([evil(m)], lambda g: node(g, "call", "Evil", ["three"]).name)


def _body_calls_by_op(m):
    outer = function("Outer")
    node(outer, "c", "Evil", ["x"])
    outer.ret["y"] = "c:y:0"
    return initialized_by([evil(m), outer], lambda g: call(g, "call", ["three"], "Outer").name)


def _attr_default(m):
    outer = calls_through("Outer", "g")
    outer.signature.attr[0].default_value.CopyFrom(func("Evil"))
    return initialized_by([evil(m), outer], lambda g: call(g, "call", ["three"], "Outer").name)


REFERENCES = {
    "func attr": _func_attr,
    "list of funcs": _list_of_funcs,
    "NameAttrList three deep": _nested_three_deep,
    "placeholder": _placeholder,
    "placeholder two levels": _placeholder_two_levels,
    "placeholder list of funcs": _placeholder_list_of_funcs,
    "op is the function": _op_is_the_function,
    "body calls by op": _body_calls_by_op,
    "attr default": _attr_default,
}


def with_three(make):
    """``make``'s graph, whose calls read a Const 3.0 named "three"."""

    def built(marker):
        graph_def = make(marker)
        three = proto.GraphDef()
        const(three, "three", 3.0)
        graph_def.node.insert(0, three.node[0])
        return graph_def

    return built


@pytest.mark.parametrize("kind", REFERENCES)
def test_every_function_that_can_run_is_vetted(tmp_path, kind):
    marker = tmp_path / "marker"
    graph_def = with_three(REFERENCES[kind])(marker)
    closure = function_closure(graph_def.node, functions_by_name(graph_def))
    assert "Evil" in closure.functions
    assert "Evil" in used_functions(graph_def)
    with pytest.raises(tfflops.TfflopsError) as error:
        tfflops.freeze(graph_def, ["output"])
    assert "would execute WriteFile (node 'w' in function Evil)" in str(error.value)
    assert not marker.exists()


def test_a_placeholder_bound_to_a_pure_function_runs():
    # The same mechanism, honest: Outer{g: Double}(3.0) initializes v to 6.
    graph_def = with_three(
        lambda m: initialized_by(
            [double(), calls_through("Outer", "g")],
            lambda g: call(g, "call", ["three"], ("Outer", {"g": func("Double")})).name,
        )
    )(None)
    with pytest.warns(tfflops.FreezeWarning):
        frozen = tfflops.freeze(graph_def, ["output"])
    v = next(n for n in frozen.node if n.name == "v")
    assert list(v.attr["value"].tensor.float_val) == [6.0]  # Double(3.0) = 2·3


def test_a_placeholder_no_call_binds_is_refused(tmp_path):
    graph_def = with_three(
        lambda m: initialized_by(
            [evil(m), calls_through("Outer", "g")],
            lambda g: call(g, "call", ["three"], "Outer").name,
        )
    )(tmp_path / "marker")
    with pytest.raises(tfflops.TfflopsError) as error:
        tfflops.freeze(graph_def, ["output"])
    assert str(error.value) == (
        "<GraphDef>: initializing the variables: cannot tell what would run: function Outer "
        "reads attr placeholder 'g', which node 'call' leaves unset; refusing to run it "
        "(`allow_unsafe_ops` runs it anyway)"
    )


def test_a_placeholder_in_a_graph_node_is_refused():
    graph_def = with_three(
        lambda m: initialized_by([], lambda g: call(g, "call", ["three"], placeholder="g").name)
    )(None)
    with pytest.raises(
        tfflops.TfflopsError, match="node 'call' reads attr placeholder 'g', which nothing sets"
    ):
        tfflops.freeze(graph_def, ["output"])


def test_a_missing_function_is_refused():
    graph_def = with_three(
        lambda m: initialized_by(
            [double()],
            lambda g: call(g, "call", ["three"], ("Double", {"a": func("Nowhere")})).name,
        )
    )(None)
    with pytest.raises(tfflops.TfflopsError) as error:
        tfflops.freeze(graph_def, ["output"])
    assert "node 'call' names function 'Nowhere', which is not in the graph's library" in str(
        error.value
    )


def test_closure_of_a_chain_of_placeholders_is_linear(monkeypatch):
    # F0{g: Evil} passes g on to F1{g: {placeholder g}} ... to F199, which calls it: each
    # function is scanned once, whatever the depth.
    import tfflops.graph.library as library_module

    scanned = []
    scan = library_module.node_references

    def counted(node, context, library):
        scanned.append((context, node.name))
        return scan(node, context, library)

    monkeypatch.setattr(library_module, "node_references", counted)
    library = [evil(None)]
    for i in range(200):
        f = function(f"F{i}", [("g", "func")])
        if i < 199:
            call(f, "c", ["x"], (f"F{i + 1}", {"g": placeholder_attr("g")}))
        else:
            call(f, "c", ["x"], placeholder="g")
        f.ret["y"] = "c:output:0"
        library.append(f)
    g = proto.GraphDef()
    g.library.function.extend(library)
    const(g, "three", 3.0)
    call(g, "call", ["three"], ("F0", {"g": func("Evil")}))
    closure = function_closure(g.node, functions_by_name(g))
    assert len(closure.functions) == 201  # F0..F199 and Evil
    assert closure.problems() == []
    # every node once: the graph's 2, F0..F199's call each, Evil's own
    assert len(scanned) == len(set(scanned)) == 2 + 200 + len(library[0].node_def)


# ---------------------------------------------------------------- what each run executes


def checkpointed(tmp_path, resource=False, local=True):
    """model.meta + checkpoint: output = x @ a (+ b, a variable the saver leaves out)."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf1.placeholder(tf.float32, [1, 2], name="x")
        a = tf1.Variable(tf.fill([2, 2], 1.0), name="a", use_resource=resource)
        out = tf.matmul(x, a)
        if local:
            b = tf1.Variable(tf.zeros([2]), name="b", use_resource=resource)
            out = out + b
        tf.identity(out, name="output")
        saver = tf1.train.Saver([a])
        with tf1.Session(graph=graph) as session:
            session.run(tf1.global_variables_initializer())
            saver.save(session, str(tmp_path / "model"), write_state=False)
    return tmp_path / "model.meta"


def edit_meta(path, edit):
    meta = proto.MetaGraphDef.FromString(path.read_bytes())
    edit(meta)
    path.write_bytes(meta.SerializeToString())


def write_before(graph_def, name, marker):
    """^WriteFile(marker) as a control input of node ``name``."""
    const(graph_def, "evil/path", str(marker), STRING)
    const(graph_def, "evil/text", "ran", STRING)
    node(graph_def, "evil/write", "WriteFile", ["evil/path", "evil/text"])
    next(n for n in graph_def.node if n.name == name).input.append("^evil/write")


@pytest.mark.parametrize("resource", [False, True], ids=["ref", "resource"])
@pytest.mark.parametrize("explicit", [False, True], ids=["beside", "--checkpoint"])
def test_fetching_the_variables_is_vetted(tmp_path, resource, explicit):
    # The restore runs the saver's ops only; fetching b then runs its control input.
    marker = tmp_path / "marker"
    meta = checkpointed(tmp_path, resource)
    edit_meta(meta, lambda m: write_before(m.graph_def, "b", marker))
    checkpoint = tmp_path / "model" if explicit else None
    with pytest.raises(tfflops.TfflopsError) as error:
        tfflops.freeze(meta, ["output"], checkpoint=checkpoint)
    assert "reading the variables would execute WriteFile (node 'evil/write')" in str(error.value)
    assert not marker.exists()


def test_an_initializer_reading_a_variable_with_a_control_input_is_vetted(tmp_path):
    marker = tmp_path / "marker"
    graph_def = initialized_by([], lambda g: const(g, "three", 3.0).name)
    write_before(graph_def, "v", marker)
    with pytest.raises(tfflops.TfflopsError, match=r"would execute WriteFile \(node 'evil/wr"):
        tfflops.freeze(graph_def, ["output"])
    assert not marker.exists()


def test_a_restore_before_a_variable_read_must_read_the_checkpoint_given(tmp_path):
    # A RestoreV2 of a path of the graph's own, as a control input of the variable b.
    meta = checkpointed(tmp_path)

    def edit(m):
        g = m.graph_def
        const(g, "evil/path", str(tmp_path / "model"), STRING)
        names = const(g, "evil/names", "a", STRING)
        names.attr["value"].tensor.tensor_shape.dim.add(size=1)
        const(g, "evil/slices", "", STRING).attr["value"].tensor.tensor_shape.dim.add(size=1)
        restore = node(g, "evil/restore", "RestoreV2", ["evil/path", "evil/names", "evil/slices"])
        restore.attr["dtypes"].list.type.append(FLOAT)
        next(n for n in g.node if n.name == "b").input.append("^evil/restore")

    edit_meta(meta, edit)
    with pytest.raises(tfflops.TfflopsError) as error:
        tfflops.freeze(meta, ["output"])
    assert (
        "reading the variables would run RestoreV2 (node 'evil/restore') on a checkpoint path "
        "of the graph's own, not the one given" in str(error.value)
    )


def test_vet_run_returns_what_the_run_executes():
    graph_def = initialized_by([double()], lambda g: call(g, "call", ["three"], "Double").name)
    const(graph_def, "three", 3.0)
    graph = Graph(graph_def)
    execution = vet_run(graph, ["v/Assign"], "initializing")
    assert execution.nodes == ["v", "call", "v/Assign", "three"]  # graph order
    assert execution.closure.functions == ["Double"]


# ---------------------------------------------------------------- a restore reads the user's file


def _prefix_through_identity_n(read_index, through_identity=False):
    """The saver feeds save/idn:0 = IdentityN(filename, '<other>/ckpt')[0]; the restore
    reads save/idn:``read_index`` (through an Identity, if asked)."""

    def edit(m, other):
        g = m.graph_def
        filename = m.saver_def.filename_tensor_name.split(":")[0]
        const(g, "save/other", other, STRING)
        node(g, "save/idn", "IdentityN", [filename, "save/other"], T=[STRING, STRING])
        source = f"save/idn:{read_index}"
        if through_identity:
            node(g, "save/idn_1", "Identity", [source], T=STRING)
            source = "save/idn_1"
        for n in g.node:
            if n.op == "RestoreV2":
                n.input[0] = source
        m.saver_def.filename_tensor_name = "save/idn:0"

    return edit


def _prefix_through_a_function(argument):
    """The restore reads Pass(<argument>), a function returning its argument."""

    def edit(m, other):
        g = m.graph_def
        f = g.library.function.add()
        f.signature.name = "Pass"
        f.signature.input_arg.add(name="p", type=STRING)
        f.signature.output_arg.add(name="q", type=STRING)
        f.ret["q"] = "p"
        const(g, "save/other", other, STRING)
        source = m.saver_def.filename_tensor_name if argument == "filename" else "save/other"
        c = node(g, "save/pass", "PartitionedCall", [source], Tin=[STRING], Tout=[STRING])
        c.attr["f"].func.name = "Pass"
        for n in g.node:
            if n.op == "RestoreV2":
                n.input[0] = "save/pass"

    return edit


PREFIXES = {
    "IdentityN output 1": (_prefix_through_identity_n(1), False),
    "Identity of IdentityN output 1": (_prefix_through_identity_n(1, True), False),
    "IdentityN output 0": (_prefix_through_identity_n(0), True),
    "a function returning a path": (_prefix_through_a_function("path"), False),
    "a function returning the filename": (_prefix_through_a_function("filename"), True),
}


@pytest.mark.parametrize("explicit", [False, True], ids=["beside", "--checkpoint"])
@pytest.mark.parametrize("kind", PREFIXES)
def test_a_restore_reads_only_the_checkpoint_given(tmp_path, kind, explicit):
    edit, allowed = PREFIXES[kind]
    meta = checkpointed(tmp_path, local=False)  # a = 1 in model
    # The same variable, a = 2, in a checkpoint nobody names.
    graph = tf.Graph()
    with graph.as_default():
        a = tf1.Variable(tf.fill([2, 2], 2.0), name="a")
        with tf1.Session(graph=graph) as session:
            session.run(a.initializer)
            other = tf1.train.Saver([a]).save(session, str(tmp_path / "other" / "ckpt"))
    edit_meta(meta, lambda m: edit(m, other))
    checkpoint = tmp_path / "model" if explicit else None
    if not allowed:
        with pytest.raises(tfflops.TfflopsError, match="checkpoint path of the graph's own"):
            tfflops.freeze(meta, ["output"], checkpoint=checkpoint)
        return
    frozen = freeze_model(meta, ["output"], checkpoint=checkpoint).graph_def
    a = next(n for n in frozen.node if n.name == "a")
    values = tf.make_ndarray(tf1.AttrValue.FromString(a.attr["value"].SerializeToString()).tensor)
    assert values.tolist() == [[1.0, 1.0], [1.0, 1.0]]  # the checkpoint given, not 2s


# ---------------------------------------------------------------- a TF2 SavedModel's restore


def tf2_saved_model(path, scale):
    class Model(tf.Module):
        def __init__(self):
            self.w = tf.Variable([[scale, 0.0], [0.0, scale]])

        @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32)])
        def __call__(self, x):
            return tf.matmul(x, self.w)

    tf.saved_model.save(Model(), str(path))
    return path


def _restore_function_calls_through_a_placeholder(meta, tmp_path):
    graph_def = meta.graph_def
    restore_call = next(n for n in graph_def.node if n.name == meta.saver_def.restore_op_name)
    body = next(
        f
        for f in graph_def.library.function
        if f.signature.name == restore_call.attr["f"].func.name
    )
    graph_def.library.function.extend([evil(tmp_path / "marker"), calls_through("Outer", "g")])
    const(body, "evil_x", 1.0)
    call(body, "evil_call", ["evil_x:output:0"], ("Outer", {"g": func("Evil")}))
    rets = {raw.split(":")[0] for raw in body.ret.values()}
    for n in body.node_def:
        if n.name in rets:
            n.input.append("^evil_call")


def _restore_call_reads_identity_n_output_1(meta, tmp_path):
    # The saver feeds idn:0; the restore call's filename argument is idn:1, a path.
    graph_def = meta.graph_def
    other = tf2_saved_model(tmp_path / "other", 2.0) / "variables" / "variables"
    const(graph_def, "default", "unused", STRING)
    const(graph_def, "other", str(other), STRING)
    node(graph_def, "idn", "IdentityN", ["default", "other"], T=[STRING, STRING])
    restore_call = next(n for n in graph_def.node if n.name == meta.saver_def.restore_op_name)
    restore_call.input[0] = "idn:1"
    meta.saver_def.filename_tensor_name = "idn:0"


TF2_RESTORES = {
    "restore function calls through a placeholder": (
        _restore_function_calls_through_a_placeholder,
        "would execute WriteFile (node 'w' in function Evil)",
    ),
    "restore call reads IdentityN output 1": (
        _restore_call_reads_identity_n_output_1,
        "checkpoint path of the graph's own",
    ),
}


@pytest.mark.parametrize("kind", TF2_RESTORES)
def test_a_tf2_saved_models_restore_is_vetted(tmp_path, kind):
    edit, message = TF2_RESTORES[kind]
    export = tf2_saved_model(tmp_path / "export", 1.0)
    saved_model = proto.SavedModel.FromString((export / "saved_model.pb").read_bytes())
    edit(saved_model.meta_graphs[0], tmp_path)
    (export / "saved_model.pb").write_bytes(saved_model.SerializeToString())
    with pytest.raises(tfflops.TfflopsError, match=re.escape(message)):
        freeze_model(export)
    assert not (tmp_path / "marker").exists()
