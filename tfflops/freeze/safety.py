"""What tfflops agrees to execute: pure ops only, unless the user says otherwise.

A GraphDef is a program, and ops like ``WriteFile``, ``PyFunc`` or ``SaveV2`` touch the
outside world. ``freeze`` runs parts of a graph — its initializers or a saver's restore op,
then a fetch of the variables — and ``measure`` runs a model's outputs; ``vet_run`` checks
what one such Session.run executes
before TensorFlow sees the graph: the fetches' data and control ancestors, and every
function they can run (``function_closure``: named anywhere, through attr placeholders
too; a reference that cannot be resolved is refused). Every op must be in ``PURE_OPS``,
plus ``CHECKPOINT_READ_OPS`` when restoring, each of which must read the fed filename
tensor, traced tensor by tensor. Nothing here imports TensorFlow.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from tfflops.errors import TfflopsError
from tfflops.graph import proto
from tfflops.graph.families import (
    ASSIGN_OPS,
    CALL_OPS,
    CHECKPOINT_READ_OPS,
    INIT_CHECK_OPS,
    V1_CONTROL_FLOW_OPS,
    VARIABLE_OPS,
)
from tfflops.graph.index import Graph, TensorRef, parse_tensor_name
from tfflops.graph.library import (
    MAX_DEPTH,
    FunctionClosure,
    FunctionError,
    Library,
    function_closure,
    functions_by_name,
)
from tfflops.graph.phases import ancestors

_CONSTANTS = {
    "Const",
    "HostConst",
    "Placeholder",
    "PlaceholderV2",
    "PlaceholderWithDefault",
    "Fill",
    "ZerosLike",
    "OnesLike",
    "Range",
    "LinSpace",
}
_VARIABLES = VARIABLE_OPS | ASSIGN_OPS | INIT_CHECK_OPS | {"ReadVariableOp"}
_RANDOM = {
    "RandomStandardNormal",
    "RandomUniform",
    "RandomUniformInt",
    "TruncatedNormal",
    "ParameterizedTruncatedNormal",
    "RandomGamma",
    "RandomPoisson",
    "RandomPoissonV2",
    "RandomShuffle",
    "Multinomial",
    "StatelessRandomNormal",
    "StatelessRandomUniform",
    "StatelessRandomUniformInt",
    "StatelessTruncatedNormal",
    "StatelessRandomNormalV2",
    "StatelessRandomUniformV2",
    "StatelessRandomUniformIntV2",
    "StatelessRandomUniformFullIntV2",
    "StatelessTruncatedNormalV2",
    "StatelessRandomGetKeyCounter",
    "StatelessRandomGetKeyCounterAlg",
    "StatelessRandomGetAlg",
}
_MATH = {
    "Abs",
    "Acos",
    "Add",
    "AddN",
    "AddV2",
    "All",
    "Any",
    "ArgMax",
    "ArgMin",
    "Asin",
    "Atan",
    "Atan2",
    "BatchMatMul",
    "BatchMatMulV2",
    "BatchMatMulV3",
    "BiasAdd",
    "Cast",
    "Ceil",
    "Cholesky",
    "ClipByValue",
    "Cos",
    "Cosh",
    "Cumprod",
    "Cumsum",
    "Diag",
    "DiagPart",
    "Digamma",
    "Div",
    "DivNoNan",
    "Einsum",
    "Elu",
    "Equal",
    "Erf",
    "Erfc",
    "Exp",
    "Expm1",
    "Floor",
    "FloorDiv",
    "FloorMod",
    "Greater",
    "GreaterEqual",
    "Inv",
    "IsFinite",
    "IsInf",
    "IsNan",
    "L2Loss",
    "Less",
    "LessEqual",
    "Lgamma",
    "Log",
    "Log1p",
    "LogicalAnd",
    "LogicalNot",
    "LogicalOr",
    "MatMul",
    "MatrixBandPart",
    "MatrixDiag",
    "MatrixDiagPart",
    "MatrixDiagPartV2",
    "MatrixDiagPartV3",
    "MatrixDiagV2",
    "MatrixDiagV3",
    "MatrixInverse",
    "MatrixSetDiag",
    "MatrixSetDiagV2",
    "MatrixSetDiagV3",
    "Max",
    "Maximum",
    "Mean",
    "Min",
    "Minimum",
    "Mod",
    "Mul",
    "MulNoNan",
    "Neg",
    "NotEqual",
    "Pow",
    "Prod",
    "Qr",
    "RealDiv",
    "Reciprocal",
    "Relu",
    "Relu6",
    "Rint",
    "Round",
    "Rsqrt",
    "Select",
    "SelectV2",
    "Sigmoid",
    "Sign",
    "Sin",
    "Sinh",
    "Softmax",
    "Softplus",
    "Sqrt",
    "Square",
    "SquaredDifference",
    "Sub",
    "Sum",
    "Svd",
    "Tan",
    "Tanh",
    "TruncateDiv",
    "TruncateMod",
}
_SHAPES = {
    "Bitcast",
    "BroadcastArgs",
    "BroadcastGradientArgs",
    "BroadcastTo",
    "CheckNumerics",
    "Concat",
    "ConcatOffset",
    "ConcatV2",
    "DynamicStitch",
    "EnsureShape",
    "ExpandDims",
    "Gather",
    "GatherNd",
    "GatherV2",
    "Identity",
    "IdentityN",
    "InvertPermutation",
    "MirrorPad",
    "NoOp",
    "OneHot",
    "Pack",
    "Pad",
    "PadV2",
    "PreventGradient",
    "Rank",
    "Reshape",
    "Reverse",
    "ReverseV2",
    "Shape",
    "ShapeN",
    "Size",
    "Slice",
    "Snapshot",
    "Split",
    "SplitV",
    "Squeeze",
    "StopGradient",
    "StridedSlice",
    "Tile",
    "TopKV2",
    "Transpose",
    "Unique",
    "Unpack",
    "Where",
}
# Control flow, and calls whose function bodies are checked op by op.
_CONTROL_FLOW = V1_CONTROL_FLOW_OPS | {"Assert", "RefIdentity"}
_STRINGS = {"AsString", "ShardedFilename", "StringJoin"}
# A network's forward pass (what ``measure`` runs): arithmetic on tensors, nothing else.
_NEURAL = {
    "AccumulateNV2",
    "Acosh",
    "ApproximateEqual",
    "Asinh",
    "Atanh",
    "AvgPool",
    "AvgPool3D",
    "BatchToSpaceND",
    "BiasAddV1",
    "Conv2D",
    "Conv2DBackpropInput",
    "Conv3D",
    "DepthToSpace",
    "DepthwiseConv2dNative",
    "Dilation2D",
    "EuclideanNorm",
    "FusedBatchNorm",
    "FusedBatchNormV2",
    "FusedBatchNormV3",
    "Gelu",
    "LeakyRelu",
    "LogSoftmax",
    "MaxPool",
    "MaxPool3D",
    "ResizeBilinear",
    "ResizeNearestNeighbor",
    "Selu",
    "Softsign",
    "SpaceToBatchND",
    "SpaceToDepth",
    "Xdivy",
    "Xlogy",
    "_FusedConv2D",
    "_FusedDepthwiseConv2dNative",
    "_FusedMatMul",
}

PURE_OPS = frozenset(
    _CONSTANTS
    | _VARIABLES
    | _RANDOM
    | _MATH
    | _SHAPES
    | _CONTROL_FLOW
    | set(CALL_OPS)
    | _STRINGS
    | _NEURAL
)


@dataclass
class Execution:
    """What running some fetches executes: ``nodes``, the fetches' data and control
    ancestors (graph order), and ``closure``, every function those can run."""

    nodes: list[str]
    closure: FunctionClosure

    def ops(self, graph: Graph) -> Iterator[tuple[str, str, str | None]]:
        """(node, op, function or None) of every node that may run, bodies included."""
        for name in self.nodes:
            yield name, graph.nodes[name].op, None
        library = functions_by_name(graph.graph_def)
        for function in self.closure.functions:
            for node in library[function].node_def:
                yield node.name, node.op, function


def executed(graph: Graph, fetches: Iterable[str]) -> Execution:
    """What ``session.run(fetches)`` executes (a superset: feeds are not subtracted)."""
    needed = ancestors(graph, fetches)
    nodes = [name for name in graph.names if name in needed]
    library = functions_by_name(graph.graph_def)
    return Execution(nodes, function_closure((graph.nodes[n] for n in nodes), library))


def vet_run(
    graph: Graph, fetches: Iterable[str], purpose: str, filename: str | None = None
) -> Execution:
    """What running ``fetches`` executes, once checked: TfflopsError unless every function
    it can run resolves, every op is in ``PURE_OPS`` and, when ``filename`` (the tensor
    fed the user's checkpoint path) is given, every checkpoint read reads that tensor.

    Call it on the exact fetches of a Session.run, before TensorFlow sees the graph.
    """
    execution = executed(graph, fetches)
    refuse = "refusing to run it (`allow_unsafe_ops` runs it anyway)"
    problems = execution.closure.problems()
    if problems:
        raise TfflopsError(
            f"{graph.source}: {purpose}: cannot tell what would run: {problems[0]}; {refuse}"
        )
    allowed = PURE_OPS | CHECKPOINT_READ_OPS if filename is not None else PURE_OPS
    library = functions_by_name(graph.graph_def)
    unsafe = [
        (name, op, function)
        for name, op, function in execution.ops(graph)
        if op not in allowed and op not in library
    ]
    if unsafe:
        name, op, function = unsafe[0]
        where = f" in function {function}" if function else ""
        others = f" (and {len(unsafe) - 1} more unsafe node(s))" if len(unsafe) > 1 else ""
        raise TfflopsError(
            f"{graph.source}: {purpose} would execute {op} (node {name!r}{where}){others}, "
            f"which is not a pure op; {refuse}"
        )
    if filename is not None:
        tracer = _PrefixTracer(graph, execution, parse_tensor_name(filename))
        for name, op, function in execution.ops(graph):
            if op in CHECKPOINT_READ_OPS and not tracer.reads_filename(name, function):
                where = f" in function {function}" if function else ""
                raise TfflopsError(
                    f"{graph.source}: {purpose} would run {op} (node {name!r}{where}) on a "
                    f"checkpoint path of the graph's own, not the one given; {refuse}"
                )
    return execution


class _Frame(NamedTuple):
    """A function being traced; ``call`` the node that called it (in frame ``caller``),
    None when any of its calls may have."""

    function: str
    call: proto.NodeDef | None
    caller: _Frame | None
    depth: int


class _PrefixTracer:
    """Follows a checkpoint read's prefix, tensor by tensor, to where it comes from.

    It passes through Identity and Snapshot, IdentityN output i to input i, a function's
    argument to what its call passes, a call's output to what its functions return. The
    prefix must end at the fed ``filename`` tensor itself (node and output index).
    """

    def __init__(self, graph: Graph, execution: Execution, filename: TensorRef):
        self.graph = graph
        self.filename = filename
        self.library = Library(graph.graph_def.library)
        self.call_sites: dict[str, list[tuple[str | None, proto.NodeDef]]] = {}
        passed_on = set()  # functions named other than by a call that runs them
        for reference in execution.closure.references:
            if reference.call:
                sites = self.call_sites.setdefault(reference.function, [])
                sites.append((reference.context, reference.node))
            else:
                passed_on.add(reference.function)
        for function in passed_on:
            self.call_sites.pop(function, None)
        self.expanding: set[tuple[str, int]] = set()

    def reads_filename(self, node: str, function: str | None) -> bool:
        """Whether checkpoint read ``node`` (in ``function``; None: the graph) reads the
        fed filename as its prefix (input 0)."""
        frame = None if function is None else _Frame(function, None, None, 1)
        inputs = self._graph(frame).inputs.get(node)
        return bool(inputs) and self._traces(inputs[0], frame)

    def _graph(self, frame: _Frame | None) -> Graph:
        return self.graph if frame is None else self.library.body(frame.function).graph

    def _traces(self, ref: TensorRef, frame: _Frame | None) -> bool:
        try:
            graph = self._graph(frame)
        except FunctionError:
            return False
        for _ in range(len(graph) + 1):  # a chain of pass-through nodes, at most
            if frame is None and ref == self.filename:
                return True
            node = graph.nodes.get(ref.node)
            if node is None:
                return False
            inputs = graph.inputs[ref.node]
            if node.op in _PASS_THROUGH and ref.index == 0 and inputs:
                ref = inputs[0]
            elif node.op == "IdentityN" and ref.index < len(inputs):
                ref = inputs[ref.index]
            elif frame is not None and ref.node in self.library.body(frame.function).args:
                return self._argument(frame, self.library.body(frame.function).args.index(ref.node))
            else:
                return self._call_output(node, ref.index, frame)
        return False

    def _argument(self, frame: _Frame, index: int) -> bool:
        """Whether argument ``index`` of the traced function is the fed filename."""
        if frame.call is not None:
            return self._call_input(frame.call, index, frame.caller)
        key = (frame.function, index)
        sites = self.call_sites.get(frame.function)
        if not sites or key in self.expanding:  # passed on as a value, or recursive
            return False
        self.expanding.add(key)
        try:
            return all(
                self._call_input(node, index, _frame(context, frame.depth))
                for context, node in sites
            )
        finally:
            self.expanding.discard(key)

    def _call_input(self, call: proto.NodeDef, index: int, frame: _Frame | None) -> bool:
        spec = self.library.call_spec(call)
        if spec is None or spec.kind == "while":  # a loop's arguments change each turn
            return False
        inputs = self._graph(frame).inputs[call.name]
        k = spec.first_input + index
        return k < len(inputs) and self._traces(inputs[k], frame)

    def _call_output(self, node: proto.NodeDef, index: int, frame: _Frame | None) -> bool:
        """Whether output ``index`` of call ``node`` is the filename, whatever it runs."""
        spec = self.library.call_spec(node)
        depth = 1 if frame is None else frame.depth + 1
        if spec is None or spec.kind == "while" or depth > MAX_DEPTH:
            return False
        try:
            called = [name for _, name in self.library.called(node, spec)]
            bodies = [self.library.body(name) for name in called]
        except FunctionError:
            return False
        return bool(bodies) and all(
            index < len(body.rets)
            and body.rets[index] is not None
            and not body.list_args
            and self._traces(body.rets[index], _Frame(body.name, node, frame, depth))
            for body in bodies
        )


def _frame(function: str | None, depth: int) -> _Frame | None:
    return None if function is None else _Frame(function, None, None, depth + 1)


_PASS_THROUGH = frozenset({"Identity", "Snapshot"})
