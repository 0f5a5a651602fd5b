"""The graph's function library: each FunctionDef as a Graph, and who calls what.

``If``, ``Case``, ``While`` and ``PartitionedCall`` (and their stateful/stateless twins)
run functions of the graph's library; tf.profiler never looks inside them. ``function_body``
converts a FunctionDef into a ``Graph`` the shape inference and the counter walk like the
top level: an ``_Arg`` node per argument, the body's nodes with their inputs renamed to the
GraphDef form ``node:flat_index``, and the outputs (``ret``) as TensorRefs.

A FunctionDef names a node's output ``node:output_arg:i`` — the op's output argument and
an index within it. Without OpDefs the flat index is ``i`` for an op whose outputs are one
argument (a tensor or a list: the vast majority, with names such as ``output``, ``y``,
``z``, ``product``); ops with several output arguments are listed in ``OUTPUT_ARGS``; a
called library function's outputs come from its signature. An argument name tfflops
cannot place leaves that input unresolved: the reading node becomes unsupported, with the
reason, and never reads a wrong output.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from tfflops.errors import TfflopsError
from tfflops.graph import proto
from tfflops.graph.families import CALL_OPS, DIRECT_CALL, CallSpec
from tfflops.graph.index import Graph, TensorRef
from tfflops.graph.phases import is_update_op
from tfflops.graph.tensors import Shape, shape_from_proto

# How deep calls nest before tfflops stops following them (recursion is cut earlier).
MAX_DEPTH = 32

_ROLES = {"then_branch": "then", "else_branch": "else", "f": "f", "cond": "cond", "body": "body"}


def functions_by_name(graph_def: proto.GraphDef) -> dict[str, proto.FunctionDef]:
    """The library's functions by name."""
    return {f.signature.name: f for f in graph_def.library.function}


@dataclass(frozen=True)
class Reference:
    """A place that names ``function``: a node (in the graph when ``context`` is None, else
    in that function's body) whose op is the function, a NameAttrList among its attrs, or
    an attr default of function ``context``'s signature (``node`` None).

    ``attrs`` bind the function's attr placeholders; ``call`` is True when the node runs
    the function with its data inputs as the arguments (its op is the function, or it is
    a call op naming it in one of its function attrs), False when the function is only a
    value passed on (nested in another function's attrs, or through a placeholder).
    """

    function: str
    attrs: Mapping[str, proto.AttrValue]
    context: str | None
    node: proto.NodeDef | None
    call: bool

    @property
    def where(self) -> str:
        if self.node is None:
            return f"an attr default of function {self.context}"
        return f"node {self.node.name!r}" + (f" in function {self.context}" if self.context else "")


@dataclass
class FunctionClosure:
    """The library functions some nodes can run, and what cannot be resolved.

    ``functions``: every function named by the nodes or, in turn, by the bodies of those
    functions, in the order found; ``references``: every place that names one.
    ``missing``: references to no function of the library. ``unbound``: attr placeholders
    without a value, in words: one in a graph node, or one in a function's body that a
    reference to that function leaves unset (and its signature gives no default).
    """

    functions: list[str]
    references: list[Reference]
    missing: list[Reference]
    unbound: list[str]

    def problems(self) -> list[str]:
        """Each reference that cannot be resolved, in words."""
        missing = [
            f"{r.where} names function {r.function!r}, which is not in the graph's library"
            for r in self.missing
        ]
        return missing + self.unbound


def function_closure(
    nodes: Iterable[proto.NodeDef], library: Mapping[str, proto.FunctionDef]
) -> FunctionClosure:
    """Every library function that running ``nodes`` can run, and what stays unresolved.

    A function can run when a node names it — by its op, in a func or list(func) attr,
    inside the attrs of a NameAttrList at any depth — and a function named in the body of
    one that can run (or in its attr defaults) can run too. An attr *placeholder* in a
    body takes its value where the function is named, so every function it can stand for
    is named somewhere in the closure already: the closure needs no substitution, only
    that each placeholder is bound at every reference (or has a default).
    """
    functions: list[str] = []
    references: list[Reference] = []
    unbound: list[str] = []
    placeholders: dict[str, set[str]] = {}  # function reached → the placeholders it reads
    pending: list[tuple[str | None, proto.NodeDef]] = [(None, node) for node in nodes]
    while pending:
        context, node = pending.pop()
        found, used = node_references(node, context, library)
        if context is None:
            unbound.extend(
                f"node {node.name!r} reads attr placeholder {p!r}, which nothing sets"
                for p in sorted(used)
            )
        else:
            placeholders[context].update(used)
        while found:
            reference = found.pop()
            references.append(reference)
            name = reference.function
            if name not in library or name in placeholders:
                continue
            functions.append(name)  # reached first here: its defaults, then its body
            defaults = [(a.name, a.default_value) for a in library[name].signature.attr]
            more, placeholders[name] = _scan_attrs(defaults, (), name, None)
            found.extend(more)
            pending.extend((name, n) for n in library[name].node_def)
    for reference in references:
        if reference.function not in library:
            continue
        signature = library[reference.function].signature
        defaults = {a.name for a in signature.attr if a.HasField("default_value")}
        for placeholder in sorted(placeholders[reference.function]):
            if placeholder not in reference.attrs and placeholder not in defaults:
                unbound.append(
                    f"function {reference.function} reads attr placeholder {placeholder!r}, "
                    f"which {reference.where} leaves unset"
                )
    missing = [r for r in references if r.function not in library]
    return FunctionClosure(functions, references, missing, unbound)


def node_references(
    node: proto.NodeDef, context: str | None, library: Mapping[str, proto.FunctionDef]
) -> tuple[list[Reference], set[str]]:
    """The references ``node`` makes and the attr placeholders it reads, at any depth."""
    spec = CALL_OPS.get(node.op)
    found, placeholders = _scan_attrs(
        node.attr.items(), spec.function_attrs if spec else (), context, node
    )
    if node.op in library:
        found.insert(0, Reference(node.op, node.attr, context, node, True))
    return found, placeholders


def _scan_attrs(
    items: Iterable[tuple[str, proto.AttrValue]],
    call_attrs: tuple[str, ...],
    context: str | None,
    node: proto.NodeDef | None,
) -> tuple[list[Reference], set[str]]:
    """Every NameAttrList among the attr values, nested ones included, as References; and
    every placeholder among them. Those of ``call_attrs`` are the functions a call runs."""
    found = []
    placeholders: set[str] = set()
    stack = [
        (value, which, key in call_attrs)
        for key, value in items
        if (which := value.WhichOneof("value")) in _NAMING
    ]
    while stack:
        value, which, call = stack.pop()
        if which == "placeholder":
            placeholders.add(value.placeholder)
            continue
        for func in [value.func] if which == "func" else value.list.func:
            if func.name:
                found.append(Reference(func.name, func.attr, context, node, call))
            for inner in func.attr.values():
                if (kind := inner.WhichOneof("value")) in _NAMING:
                    stack.append((inner, kind, False))
    return found, placeholders


# The kinds of attr value that can name a function, or stand for one.
_NAMING = frozenset({"func", "list", "placeholder"})


def called_functions(node: proto.NodeDef, library: Mapping[str, proto.FunctionDef]) -> list[str]:
    """Library functions ``node`` names (see ``function_closure``), not those they call."""
    found, _ = node_references(node, None, library)
    return list(dict.fromkeys(r.function for r in found if r.function in library))


def used_functions(graph_def: proto.GraphDef) -> set[str]:
    """Library functions the graph's nodes can run, directly or through other functions."""
    return set(function_closure(graph_def.node, functions_by_name(graph_def)).functions)


def prune_library(graph_def: proto.GraphDef, keep: Iterable[str]) -> None:
    """Keep in ``graph_def``'s library only the functions ``keep`` names (and gradients
    between two of them)."""
    keep = set(keep)
    functions = [f for f in graph_def.library.function if f.signature.name in keep]
    gradients = [
        g for g in graph_def.library.gradient if g.function_name in keep and g.gradient_func in keep
    ]
    graph_def.ClearField("library")
    if functions:
        graph_def.library.function.extend(functions)
        graph_def.library.gradient.extend(gradients)


def calls_functions(
    graph_def: proto.GraphDef, names: Iterable[str] | None = None, kind: str | None = None
) -> bool:
    """Whether a node of the graph (of ``names`` only, if given) calls a library function;
    ``kind="call"`` counts plain calls only (not If, Case, While)."""
    library = {f.signature.name for f in graph_def.library.function}
    wanted = None if names is None else set(names)
    for n in graph_def.node:
        if wanted is not None and n.name not in wanted:
            continue
        spec = DIRECT_CALL if n.op in library else CALL_OPS.get(n.op)
        if spec is not None and (kind is None or spec.kind == kind):
            return True
    return False


# Output argument names, in order, of ops with several output arguments, each one tensor.
_BATCH_NORM = ("y", "batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2")
_BATCH_NORM_GRAD = ("x_backprop", "scale_backprop", "offset_backprop")
_QUANTIZED = ("output", "min_output", "max_output")
_QUANTIZED_RANGE = ("output", "output_min", "output_max")
_LSTM = ("i", "cs", "f", "o", "ci", "co", "h")
_CUDNN = ("output", "output_h", "output_c", "reserve_space")
OUTPUT_ARGS: dict[str, tuple[str, ...]] = {
    "FusedBatchNorm": _BATCH_NORM,
    "FusedBatchNormV2": _BATCH_NORM,
    "FusedBatchNormV3": (*_BATCH_NORM, "reserve_space_3"),
    "_FusedBatchNormEx": (*_BATCH_NORM, "reserve_space_3"),
    "FusedBatchNormGrad": (*_BATCH_NORM_GRAD, "reserve_space_3", "reserve_space_4"),
    "FusedBatchNormGradV2": (*_BATCH_NORM_GRAD, "reserve_space_3", "reserve_space_4"),
    "FusedBatchNormGradV3": (*_BATCH_NORM_GRAD, "reserve_space_4", "reserve_space_5"),
    "Switch": ("output_false", "output_true"),
    "RefSwitch": ("output_false", "output_true"),
    "Merge": ("output", "value_index"),
    "RefMerge": ("output", "value_index"),
    "TopK": ("values", "indices"),
    "TopKV2": ("values", "indices"),
    "ApproxTopK": ("values", "indices"),
    "Unique": ("y", "idx"),
    "UniqueV2": ("y", "idx"),
    "UniqueWithCounts": ("y", "idx", "count"),
    "UniqueWithCountsV2": ("y", "idx", "count"),
    "ListDiff": ("out", "idx"),
    "MaxPoolWithArgmax": ("output", "argmax"),
    "FractionalMaxPool": ("output", "row_pooling_sequence", "col_pooling_sequence"),
    "FractionalAvgPool": ("output", "row_pooling_sequence", "col_pooling_sequence"),
    "SoftmaxCrossEntropyWithLogits": ("loss", "backprop"),
    "SparseSoftmaxCrossEntropyWithLogits": ("loss", "backprop"),
    "BroadcastGradientArgs": ("r0", "r1"),
    "QuantizeV2": _QUANTIZED_RANGE,
    "QuantizedConcat": _QUANTIZED_RANGE,
    "QuantizedReshape": _QUANTIZED_RANGE,
    "Requantize": _QUANTIZED_RANGE,
    "QuantizeDownAndShrinkRange": _QUANTIZED_RANGE,
    "RequantizationRange": ("output_min", "output_max"),
    "QuantizedConv2D": _QUANTIZED,
    "QuantizedConv2DWithBias": _QUANTIZED,
    "QuantizedConv2DWithBiasAndRelu": _QUANTIZED,
    "QuantizedConv2DAndRequantize": _QUANTIZED,
    "QuantizedDepthwiseConv2D": _QUANTIZED,
    "QuantizedAvgPool": _QUANTIZED,
    "QuantizedMaxPool": _QUANTIZED,
    "QuantizedMatMul": ("out", "min_out", "max_out"),
    "QuantizedBiasAdd": ("output", "min_out", "max_out"),
    "QuantizedRelu": ("activations", "min_activations", "max_activations"),
    "QuantizedRelu6": ("activations", "min_activations", "max_activations"),
    "QuantizedAdd": ("z", "min_z", "max_z"),
    "QuantizedMul": ("z", "min_z", "max_z"),
    "FakeQuantWithMinMaxVarsGradient": (
        "backprops_wrt_input",
        "backprop_wrt_min",
        "backprop_wrt_max",
    ),
    "Svd": ("s", "u", "v"),
    "Qr": ("q", "r"),
    "SelfAdjointEigV2": ("e", "v"),
    "Eig": ("e", "v"),
    "Lu": ("lu", "p"),
    "NonMaxSuppressionV4": ("selected_indices", "valid_outputs"),
    "NonMaxSuppressionV5": ("selected_indices", "selected_scores", "valid_outputs"),
    "LSTMBlockCell": _LSTM,
    "BlockLSTM": _LSTM,
    "BlockLSTMV2": _LSTM,
    "GRUBlockCell": ("r", "u", "c", "h"),
    "CudnnRNN": _CUDNN,
    "CudnnRNNV2": (*_CUDNN, "host_reserved"),
    "CudnnRNNV3": (*_CUDNN, "host_reserved"),
    "ReaderRead": ("key", "value"),
    "ReaderReadV2": ("key", "value"),
    "TensorListPopBack": ("output_handle", "tensor"),
    "TensorArrayV3": ("handle", "flow"),
    "TensorArrayGradV3": ("grad_handle", "flow_out"),
    "TensorArrayGradWithShape": ("grad_handle", "flow_out"),
    "XlaRngBitGenerator": ("output_key", "output"),
    "StatelessRandomGetKeyCounter": ("key", "counter"),
    "StatelessRandomGetKeyCounterAlg": ("key", "counter", "alg"),
    "SampleDistortedBoundingBox": ("begin", "size", "bboxes"),
    "SampleDistortedBoundingBoxV2": ("begin", "size", "bboxes"),
    "StatelessSampleDistortedBoundingBox": ("begin", "size", "bboxes"),
}

# Names that ops with a single output argument give it. An op outside OUTPUT_ARGS read
# through another name may have several output arguments: that input stays unresolved.
# (No op of TensorFlow 2.21 has one of these names as a second output argument, except
# those OUTPUT_ARGS lists.)
SINGLE_OUTPUT_ARGS = frozenset(
    {
        "output",
        "outputs",
        "y",
        "z",
        "out",
        "product",
        "sum",
        "activations",
        "backprops",
        "softmax",
        "logsoftmax",
        "resized_images",
        "image",
        "result",
        "index",
        "r0",
        "value",
        "tensor",
        "tensors",
        "item",
        "length",
        "element_shape",
        "values",
        "handle",
        "output_handle",
        "flow_out",
        "resource",
        "ref",
        "output_ref",
        "is_initialized",
        "summary",
        "filename",
    }
)


class FunctionError(TfflopsError):
    """A function body tfflops cannot turn into a graph (missing, malformed)."""


# Ops a function body keeps whatever its outputs need (TensorFlow keeps every stateful op
# when it prunes a body; tfflops these, which hold or change state, or that a user sees
# run): calls and control flow that may hold state, variable updates, prints and
# assertions. Their Stateless* twins and every other op — another stateful op no output
# needs too (a WriteFile, a random draw nothing reads) — are dead code here: nothing an
# output reads, nothing counted.
_RUN_REGARDLESS = frozenset(
    {op for op, spec in CALL_OPS.items() if spec.stateless} | {"Print", "PrintV2", "Assert"}
)


@dataclass
class FunctionBody:
    """A FunctionDef as a Graph: ``_Arg`` nodes named after the arguments, then the body.

    ``rets[i]`` is the tensor output ``i`` returns (None when unresolved);
    ``unresolved[node]`` says why one of ``node``'s inputs has no known output index.
    """

    name: str
    graph: Graph
    args: list[str]
    arg_types: list[int]
    arg_shapes: list[Shape]  # declared in arg_attr ``_output_shapes``, else None
    rets: list[TensorRef | None]
    unresolved: dict[str, str] = field(default_factory=dict)
    list_args: bool = False  # an argument is a list: call inputs do not map one to one
    synthetic: frozenset[str] = frozenset()  # the _Arg nodes and the unresolved stand-in
    needed: frozenset[str] = frozenset()  # the nodes and arguments a call runs or reads

    @cached_property
    def pass_through(self) -> frozenset[int]:
        """The outputs that return their own argument (through Identity nodes): a While
        body's loop invariants."""
        graph, kept = self.graph, set()
        for i, ref in enumerate(self.rets[: len(self.args)]):
            if ref is None or ref.node not in graph:
                continue
            j, k = graph.index[ref.node], ref.index
            for _ in range(len(graph)):  # a chain of identities, never a cycle
                op = graph.op_list[j]
                if op not in _IDENTITIES or k >= len(graph.data_in[j]):
                    break
                j, k = graph.data_in[j][k if op == "IdentityN" else 0]
            if graph.names[j] == self.args[i] and k == 0:
                kept.add(i)
        return frozenset(kept)


_IDENTITIES = frozenset({"Identity", "IdentityN", "Snapshot"})


class Library:
    """The graph's function library, with each body converted once."""

    def __init__(self, library: proto.FunctionDefLibrary):
        self.functions = {f.signature.name: f for f in library.function}
        self._bodies: dict[str, FunctionBody | FunctionError] = {}

    def call_spec(self, node: proto.NodeDef) -> CallSpec | None:
        """How ``node`` calls functions, or None if it calls none."""
        spec = CALL_OPS.get(node.op)
        if spec is None and node.op in self.functions:
            return DIRECT_CALL
        return spec

    def called(self, node: proto.NodeDef, spec: CallSpec) -> list[tuple[str, str]]:
        """(role, function name) of every function ``node`` runs, in the order they count."""
        if spec is DIRECT_CALL:
            return [("f", node.op)]
        called = []
        for key in spec.function_attrs:
            attr = node.attr.get(key)
            if attr is None:
                raise FunctionError(f"{node.op} node {node.name!r} has no attr {key!r}")
            if attr.WhichOneof("value") == "func" and spec.kind != "case":
                called.append((_ROLES.get(key, key), attr.func.name))
            elif attr.WhichOneof("value") == "list" and attr.list.func and spec.kind == "case":
                called.extend((f"branch {i}", f.name) for i, f in enumerate(attr.list.func))
            else:  # (an If whose then_branch is no function would take its else for it)
                raise FunctionError(
                    f"{node.op} node {node.name!r}: attr {key!r} names no function"
                    + (" list" if spec.kind == "case" else "")
                )
        return called

    def body(self, name: str) -> FunctionBody:
        """The body of function ``name`` as a Graph; a FunctionError says why it cannot be."""
        cached = self._bodies.get(name)
        if cached is None:
            function = self.functions.get(name)
            try:
                if function is None:
                    raise FunctionError(f"function {name!r} is not in the graph's library")
                cached = function_body(function, self.functions)
            except FunctionError as e:
                cached = e
            self._bodies[name] = cached
        if isinstance(cached, FunctionError):
            raise cached
        return cached


def function_body(function: proto.FunctionDef, library: dict | None = None) -> FunctionBody:
    """``function`` as a Graph (see the module doc); ``library`` gives callees' outputs."""
    library = library or {}
    name = function.signature.name
    node_ops = {node.name: node.op for node in function.node_def}
    args, arg_types, arg_shapes = [], [], []
    list_args = False
    for i, arg in enumerate(function.signature.input_arg):
        if arg.name in node_ops:
            raise FunctionError(f"function {name!r}: argument {arg.name!r} is also a node")
        args.append(arg.name)
        arg_types.append(arg.type)
        list_args |= bool(arg.number_attr or arg.type_list_attr)
        declared = None
        if i in function.arg_attr and "_output_shapes" in function.arg_attr[i].attr:
            shapes = function.arg_attr[i].attr["_output_shapes"].list.shape
            declared = shape_from_proto(shapes[0]) if len(shapes) == 1 else None
        arg_shapes.append(declared)

    reads = [raw for node in function.node_def for raw in node.input if raw[:1] != "^"]
    resolver = _Resolver(name, set(args), node_ops, library, [*reads, *function.ret.values()])
    graph_def = proto.GraphDef()
    for index, (arg, dtype) in enumerate(zip(args, arg_types)):
        node = graph_def.node.add(name=arg, op="_Arg")
        node.attr["T"].type = dtype
        node.attr["index"].i = index
    for node in function.node_def:
        copy = graph_def.node.add()
        copy.CopyFrom(node)
        del copy.input[:]
        for raw in node.input:
            if raw.startswith("^"):
                if raw[1:] not in node_ops and raw[1:] not in resolver.args:
                    raise FunctionError(f"function {name!r}: node {node.name!r} reads {raw!r}")
                copy.input.append(raw)
                continue
            ref = resolver.resolve(raw, node.name)
            copy.input.append(resolver.stand_in if ref is None else _graph_input(ref))
    synthetic = set(args)
    if resolver.unresolved:
        graph_def.node.add(name=resolver.stand_in, op="_Unresolved")
        synthetic.add(resolver.stand_in)

    rets = []
    for out in function.signature.output_arg:
        raw = function.ret.get(out.name)
        rets.append(None if raw is None else resolver.resolve(raw, None))
    try:
        graph = Graph(graph_def, f"function {name}")
    except TfflopsError as e:
        raise FunctionError(str(e)) from None
    return FunctionBody(
        name=name,
        graph=graph,
        args=args,
        arg_types=arg_types,
        arg_shapes=arg_shapes,
        rets=rets,
        unresolved=resolver.unresolved,
        list_args=list_args,
        synthetic=frozenset(synthetic),
        needed=needed_nodes(function, library),
    )


def needed_nodes(function: proto.FunctionDef, library: dict | None = None) -> frozenset[str]:
    """The nodes (and arguments) a call of ``function`` counts: what its outputs and control
    outputs need, and what the ops it keeps regardless need (``_RUN_REGARDLESS``, variable
    updates, calls by name). The rest is dead code (Keras' RNNs trace a step outside their
    loop only to learn its output's shape); ``library`` names the functions its nodes may
    call by name."""
    library = library or {}
    inputs = {node.name: node.input for node in function.node_def}
    stack = [raw.partition(":")[0] for raw in function.ret.values()]
    stack += list(function.control_ret.values())
    stack += [
        node.name
        for node in function.node_def
        if node.op in _RUN_REGARDLESS or node.op in library or is_update_op(node.op)
    ]
    needed: set[str] = set()
    while stack:
        name = stack.pop()
        if name not in needed:
            needed.add(name)
            stack.extend(raw.lstrip("^").partition(":")[0] for raw in inputs.get(name, ()))
    return frozenset(needed)


def _graph_input(ref: TensorRef) -> str:
    return ref.node if ref.index == 0 else f"{ref.node}:{ref.index}"


class _Resolver:
    """``arg`` / ``node:output_arg:i`` → TensorRef, or None with the reason kept."""

    def __init__(self, function: str, args: set[str], node_ops: dict, library: dict, reads):
        self.function = function
        self.args = args
        self.node_ops = node_ops
        self.library = library
        self.unresolved: dict[str, str] = {}
        # producer → the output arg names it is read through: two, and it has two outputs.
        self.names_read: dict[str, set[str]] = {}
        for raw in reads:
            producer, _, rest = raw.partition(":")
            self.names_read.setdefault(producer, set()).add(rest.partition(":")[0])
        stand_in = "_tfflops/unresolved"
        while stand_in in node_ops or stand_in in args:
            stand_in += "_"
        self.stand_in = stand_in

    def resolve(self, raw: str, reader: str | None) -> TensorRef | None:
        producer, _, rest = raw.partition(":")
        if producer in self.args:
            if rest in ("", "0"):
                return TensorRef(producer, 0)
            return self._fail(reader, raw, f"argument {producer!r} read as {raw!r}")
        op = self.node_ops.get(producer)
        if op is None:
            return self._fail(reader, raw, f"no node or argument {producer!r}")
        arg, _, index_text = rest.partition(":")
        if not index_text.isdigit() and index_text:
            return self._fail(reader, raw, f"{raw!r} is not node:output_arg:index")
        index = int(index_text or 0)
        names = self.names_read.get(producer, ())
        if len(names) > 1 and op not in OUTPUT_ARGS and op not in self.library:
            read = ", ".join(repr(n) for n in sorted(names))
            reason = f"{op} node {producer!r} is read through output args {read}: which is which?"
            return self._fail(reader, raw, reason)
        flat = self._flat_index(op, arg, index)
        if isinstance(flat, str):
            return self._fail(reader, raw, flat)
        return TensorRef(producer, flat)

    def _flat_index(self, op: str, arg: str, index: int) -> int | str:
        """The flat output index, or why there is none."""
        if op in self.library:
            names = [a.name for a in self.library[op].signature.output_arg]
            if arg not in names:
                return f"function {op} has no output {arg!r}"
            return names.index(arg) if index == 0 else f"output {arg!r} of {op} is one tensor"
        names = OUTPUT_ARGS.get(op)
        if names is not None:
            if arg not in names:
                return f"{op} has no output arg {arg!r} (outputs: {', '.join(names)})"
            return names.index(arg) if index == 0 else f"output {arg!r} of {op} is one tensor"
        if arg in SINGLE_OUTPUT_ARGS:
            return index
        return (
            f"output arg {arg!r} of op {op}: not in tfflops' table of ops with several "
            "output args, and not a name single-output ops use"
        )

    def _fail(self, reader: str | None, raw: str, reason: str) -> None:
        if reader is not None:
            self.unresolved.setdefault(
                reader, f"input {raw!r} in function {self.function}: {reason}"
            )
        return None
