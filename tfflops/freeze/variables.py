"""Variables → constants, in a GraphDef and in the functions it calls. Nothing is executed.

A variable node becomes a ``Const`` of the same name holding its value, and what takes the
variable follows (the rules of TensorFlow's ``convert_to_constants``):

* ``ReadVariableOp`` → ``Identity``, ``ResourceGather`` → ``GatherV2`` (axis 0),
  ``ResourceGatherNd`` → ``GatherNd``, ``VariableShape`` → ``Shape``;
* the ops a variable flows through — ``Identity``, ``Switch``, ``Enter``, ``Merge``,
  ``Exit``, ``NextIteration`` and their ``Ref`` twins — carry the value's dtype instead
  of a resource or a reference;
* a resource handed to a function (``If``, ``While``, ``Case``, ``PartitionedCall``,
  ``StatefulPartitionedCall``) turns that argument into a tensor, in a copy of the
  function named ``<name>_frozen``, and so on down nested calls.

Anything else that takes a resource variable — an update, an initialization check —
cannot survive freezing: a TfflopsError names the node.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tfflops.errors import TfflopsError
from tfflops.graph import proto
from tfflops.graph.families import CALL_OPS, MERGE_OPS, VARIABLE_OPS
from tfflops.graph.library import functions_by_name
from tfflops.graph.tensors import dtype_name, tensor_shape

_REF_TWINS = {
    "RefIdentity": "Identity",
    "RefSwitch": "Switch",
    "RefEnter": "Enter",
    "RefExit": "Exit",
    "RefMerge": "Merge",
    "RefNextIteration": "NextIteration",
}
# Ops that hand their input on unchanged; a resource or reference flows through them.
_PASS_THROUGH = frozenset(
    {"Identity", "Snapshot", "Switch", "Enter", "Exit", "Merge", "NextIteration", *_REF_TWINS}
)


@dataclass(frozen=True, slots=True)
class _Value:
    """A frozen variable's value as it flows: what it replaces and what it now is."""

    variable: str
    kind: str  # "resource" (VarHandleOp) or "ref" (VariableV2, Variable)
    dtype: int
    shape: tuple[int, ...]


def convert_variables(
    graph_def: proto.GraphDef, values: dict[str, proto.TensorProto], source: str = "<graph>"
) -> None:
    """Turn every variable named in ``values`` into a Const, in place (see the module doc)."""
    _Converter(graph_def, source).convert(values)


def declared_shape(node: proto.NodeDef) -> tuple[int | None, ...] | None:
    """A variable node's ``shape`` attr: None when absent or of unknown rank; -1 → None."""
    if "shape" not in node.attr:
        return None
    shape = node.attr["shape"].shape
    if shape.unknown_rank:
        return None
    return tuple(d.size if d.size >= 0 else None for d in shape.dim)


class _Scope:
    """The nodes of the graph or of one function, with a lookup of who reads what.

    Inputs name outputs differently in the two: ``node`` / ``node:2`` in a graph,
    ``arg`` / ``node:output_arg:0`` in a function body.
    """

    def __init__(self, nodes, args: list[str] | None, name: str):
        self.nodes = nodes
        self.by_name = {n.name: n for n in nodes}
        self.args = args
        self.name = name
        self.readers: dict[str, list[tuple[proto.NodeDef, int, str]]] = {}
        for node in nodes:
            for position, raw in enumerate(node.input):
                if raw.startswith("^"):
                    continue
                producer, output = self.split(raw)
                self.readers.setdefault(producer, []).append((node, position, output))

    @property
    def in_function(self) -> bool:
        return self.args is not None

    def split(self, raw: str) -> tuple[str, str]:
        """An input → (producer, which output): ``"0"``, ``"2"`` or ``"output:0"``."""
        if self.in_function:
            producer, _, output = raw.partition(":")
            return producer, output
        base, sep, index = raw.rpartition(":")
        if sep and index.isdigit():
            return base, index
        return raw, "0"

    def output_key(self, index: int) -> str:
        return f"output:{index}" if self.in_function else str(index)

    def where(self) -> str:
        return f" in function {self.name}" if self.in_function else ""


@dataclass
class _Walk:
    """The state of following flows through one scope."""

    pending: list  # (producer, outputs to follow or None, _Value)
    seen: set[str] = field(default_factory=set)  # pass-through nodes already converted
    calls: dict[str, dict[int, _Value]] = field(default_factory=dict)  # call → args to freeze
    done_calls: set[str] = field(default_factory=set)


class _Converter:
    """Rewrites a GraphDef in place; copies of functions go into its library."""

    def __init__(self, graph_def: proto.GraphDef, source: str):
        self.graph_def = graph_def
        self.source = source
        self.functions = functions_by_name(graph_def)
        self.frozen_functions: dict[tuple, str] = {}

    def convert(self, values: dict[str, proto.TensorProto]) -> None:
        flows = []
        for node in self.graph_def.node:
            if node.name in values and node.op in VARIABLE_OPS:
                flows.append((node.name, None, self._to_const(node, values[node.name])))
        self._run(_Scope(self.graph_def.node, None, "<graph>"), flows)

    def _to_const(self, node: proto.NodeDef, tensor: proto.TensorProto) -> _Value:
        dtype = node.attr["dtype"].type
        if tensor.dtype != dtype:
            raise TfflopsError(
                f"{self.source}: variable {node.name!r}: the value has dtype "
                f"{dtype_name(tensor.dtype)}, the variable {dtype_name(dtype)}"
            )
        shape = tuple(tensor_shape(tensor))
        declared = declared_shape(node)
        if declared is not None and (
            len(declared) != len(shape)
            or any(d is not None and d != s for d, s in zip(declared, shape))
        ):
            raise TfflopsError(
                f"{self.source}: variable {node.name!r}: the value has shape {list(shape)}, "
                f"the variable {[d if d is not None else -1 for d in declared]}"
            )
        kind = "resource" if node.op == "VarHandleOp" else "ref"
        control = [raw for raw in node.input if raw.startswith("^")]
        name, device = node.name, node.device
        node.Clear()
        node.name, node.op, node.device = name, "Const", device
        node.input.extend(control)
        node.attr["dtype"].type = dtype
        node.attr["value"].tensor.CopyFrom(tensor)
        return _Value(name, kind, dtype, shape)

    def _run(self, scope: _Scope, flows: list) -> None:
        """Follow every flow through ``scope``, then convert the function calls it reached.

        A flow is (producer, its outputs to follow or None for all, _Value). A call is
        converted once, after every flow into it is known, since all of its converted
        arguments go into one copy of the function.
        """
        walk = _Walk(pending=list(flows))
        while walk.pending:
            while walk.pending:
                producer, outputs, value = walk.pending.pop()
                for reader, position, output in scope.readers.get(producer, ()):
                    if outputs is not None and output not in outputs:
                        continue
                    if output in ("1", "value_index:0") and self._is_merge(scope, producer):
                        continue  # Merge's second output is the branch index
                    self._take(scope, reader, position, value, walk)
            for name in list(walk.calls):
                self._convert_call(scope, scope.by_name[name], walk.calls.pop(name), walk)
                walk.done_calls.add(name)

    @staticmethod
    def _is_merge(scope: _Scope, name: str) -> bool:
        return name in scope.by_name and scope.by_name[name].op in MERGE_OPS

    def _take(
        self, scope: _Scope, reader: proto.NodeDef, position: int, value: _Value, walk: _Walk
    ) -> None:
        """``reader`` takes ``value`` (in place of a variable) as input ``position``."""
        op = reader.op
        if value.kind == "ref":
            # A reference is read as a value by any op that is not a Ref* twin.
            if op in _REF_TWINS and reader.name not in walk.seen:
                walk.seen.add(reader.name)
                reader.op = _REF_TWINS[op]
                _drop_attr(reader, "_output_shapes")
                walk.pending.append((reader.name, None, value))
            return
        if op == "ReadVariableOp":
            self._read_to_identity(scope, reader)
        elif op in _PASS_THROUGH:
            if reader.name in walk.seen:
                return
            walk.seen.add(reader.name)
            reader.op = _REF_TWINS.get(op, op)
            reader.attr["T"].type = value.dtype
            _drop_attr(reader, "_output_shapes")
            walk.pending.append((reader.name, None, value))
        elif op == "ResourceGather" and position == 0:
            self._gather(scope, reader, value)
        elif op == "ResourceGatherNd" and position == 0:
            _rewrite(reader, "GatherNd", Tparams=value.dtype, Tindices=reader.attr["Tindices"].type)
        elif op == "VariableShape" and position == 0:
            _rewrite(reader, "Shape", T=value.dtype, out_type=reader.attr["out_type"].type)
        elif op in CALL_OPS and position >= CALL_OPS[op].first_input:
            if reader.name in walk.done_calls:
                raise TfflopsError(
                    f"{self.source}: node {reader.name!r}{scope.where()} takes variable "
                    f"{value.variable!r} by a path tfflops cannot freeze"
                )
            walk.calls.setdefault(reader.name, {})[position - CALL_OPS[op].first_input] = value
        else:
            raise TfflopsError(
                f"{self.source}: node {reader.name!r} ({op}){scope.where()} takes variable "
                f"{value.variable!r} as a resource (to update or check it); a frozen graph "
                "has no variables — leave it out of `outputs`"
            )

    def _read_to_identity(self, scope: _Scope, reader: proto.NodeDef) -> None:
        _rewrite(reader, "Identity", T=reader.attr["dtype"].type)
        if scope.in_function:
            # A function body names a ReadVariableOp's output "value", an Identity's "output".
            old, new = f"{reader.name}:value:", f"{reader.name}:output:"
            for node in scope.nodes:
                for i, raw in enumerate(node.input):
                    if raw.startswith(old):
                        node.input[i] = new + raw[len(old) :]
            function = self.functions[scope.name]
            for key, raw in function.ret.items():
                if raw.startswith(old):
                    function.ret[key] = new + raw[len(old) :]

    def _gather(self, scope: _Scope, reader: proto.NodeDef, value: _Value) -> None:
        if reader.attr["batch_dims"].i != 0:
            raise TfflopsError(
                f"{self.source}: node {reader.name!r}{scope.where()}: ResourceGather with "
                "batch_dims != 0 cannot be frozen"
            )
        index_type = reader.attr["Tindices"].type
        axis = proto.NodeDef(name=f"{reader.name}/axis", op="Const", device=reader.device)
        axis.attr["dtype"].type = index_type
        tensor = axis.attr["value"].tensor  # a scalar 0 of the indices' type
        tensor.dtype = index_type
        is_int64 = index_type == proto.DATA_TYPES["DT_INT64"]
        (tensor.int64_val if is_int64 else tensor.int_val).append(0)
        inputs = list(reader.input)
        _rewrite(reader, "GatherV2", Tparams=value.dtype, Tindices=index_type, Taxis=index_type)
        reader.attr["batch_dims"].i = 0
        del reader.input[:]
        axis_ref = f"{axis.name}:output:0" if scope.in_function else axis.name
        reader.input.extend([*inputs[:2], axis_ref, *inputs[2:]])
        scope.nodes.append(axis)

    def _convert_call(self, scope: _Scope, node: proto.NodeDef, args: dict, walk: _Walk) -> None:
        call = CALL_OPS[node.op]
        types = node.attr[call.type_attr].list.type
        for index, value in args.items():
            if index >= len(types):
                raise TfflopsError(
                    f"{self.source}: node {node.name!r}{scope.where()}: input {index} has no "
                    f"type in attr {call.type_attr}"
                )
            types[index] = value.dtype
        for attr_name in call.function_attrs:
            attr = node.attr[attr_name]
            body = call.kind == "while" and attr_name == "body"
            if attr.WhichOneof("value") == "func":
                attr.func.name = self._frozen_function(attr.func.name, args, body)
            else:
                for func in attr.list.func:
                    func.name = self._frozen_function(func.name, args, body)
        if call.kind == "while":
            shapes = node.attr["output_shapes"].list.shape
            for index, value in args.items():
                if index < len(shapes):
                    _set_shape(shapes[index], value.shape)
                # A loop variable leaves the loop as it entered: follow it to the readers.
                walk.pending.append((node.name, {scope.output_key(index)}, value))

    def _frozen_function(self, name: str, args: dict[int, _Value], while_body: bool) -> str:
        key = (name, tuple(sorted(args.items())), while_body)
        if key in self.frozen_functions:
            return self.frozen_functions[key]
        if name not in self.functions:
            raise TfflopsError(f"{self.source}: function {name!r} is not in the graph's library")
        copy = self.graph_def.library.function.add()
        copy.CopyFrom(self.functions[name])
        new_name = f"{name}_frozen"
        suffix = 1
        while new_name in self.functions:
            suffix += 1
            new_name = f"{name}_frozen_{suffix}"
        copy.signature.name = new_name
        self.frozen_functions[key] = new_name
        for index, value in args.items():
            if index >= len(copy.signature.input_arg):
                raise TfflopsError(
                    f"{self.source}: function {name!r} has no argument {index} to freeze"
                )
            copy.signature.input_arg[index].type = value.dtype
            if "_input_shapes" in copy.attr:
                shapes = copy.attr["_input_shapes"].list.shape
                if index < len(shapes):
                    _set_shape(shapes[index], value.shape)
            if index in copy.arg_attr and "_output_shapes" in copy.arg_attr[index].attr:
                shapes = copy.arg_attr[index].attr["_output_shapes"].list.shape
                if shapes:
                    _set_shape(shapes[0], value.shape)
            if while_body and index < len(copy.signature.output_arg):
                copy.signature.output_arg[index].type = value.dtype
        self.functions[new_name] = copy
        arg_names = [a.name for a in copy.signature.input_arg]
        scope = _Scope(copy.node_def, arg_names, new_name)
        self._run(scope, [(arg_names[i], None, v) for i, v in args.items()])
        return new_name


def _rewrite(node: proto.NodeDef, op: str, **types: int) -> None:
    """Make ``node`` an ``op`` with these type attrs, keeping name, inputs, device, _class."""
    colocation = proto.AttrValue()
    if "_class" in node.attr:
        colocation.CopyFrom(node.attr["_class"])
    for key in list(node.attr):
        del node.attr[key]
    node.op = op
    for key, dtype in types.items():
        node.attr[key].type = dtype
    if colocation.list.s:
        node.attr["_class"].CopyFrom(colocation)


def _drop_attr(node: proto.NodeDef, key: str) -> None:
    if key in node.attr:
        del node.attr[key]


def _set_shape(shape: proto.TensorShapeProto, dims: tuple[int, ...]) -> None:
    shape.Clear()
    for d in dims:
        shape.dim.add(size=d)
