"""What tfflops agrees to execute: pure ops only, unless the user says otherwise.

A GraphDef is a program, and ops like ``WriteFile``, ``PyFunc`` or ``SaveV2`` touch the
outside world. Before ``freeze`` runs part of a graph (its initializers, or a SavedModel's
restore op), every op that would run — the subgraph the run needs over data and control
edges, and the whole body of every function it calls — must be in ``PURE_OPS`` (plus
``CHECKPOINT_READ_OPS`` when restoring). Nothing here imports TensorFlow.
"""

from __future__ import annotations

from collections.abc import Iterable

from tfflops.errors import TfflopsError
from tfflops.graph.families import CALL_OPS, CHECKPOINT_READ_OPS
from tfflops.graph.index import Graph, parse_tensor_name
from tfflops.graph.library import called_functions, functions_by_name
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
_VARIABLES = {
    "VariableV2",
    "Variable",
    "VarHandleOp",
    "ReadVariableOp",
    "VarIsInitializedOp",
    "IsVariableInitialized",
    "Assign",
    "AssignAdd",
    "AssignSub",
    "AssignVariableOp",
    "AssignAddVariableOp",
    "AssignSubVariableOp",
}
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
_CONTROL_FLOW = {
    "Assert",
    "ControlTrigger",
    "Enter",
    "Exit",
    "LoopCond",
    "Merge",
    "NextIteration",
    "RefEnter",
    "RefExit",
    "RefIdentity",
    "RefMerge",
    "RefNextIteration",
    "RefSwitch",
    "Switch",
}
_STRINGS = {"AsString", "ShardedFilename", "StringJoin"}

PURE_OPS = frozenset(
    _CONSTANTS | _VARIABLES | _RANDOM | _MATH | _SHAPES | _CONTROL_FLOW | set(CALL_OPS) | _STRINGS
)


def executed_nodes(graph: Graph, roots: Iterable[str]) -> list[tuple[str, str, str | None]]:
    """(node, op, function or None) of everything running ``roots`` would run.

    The subgraph over data and control edges, in graph order, then the whole body of each
    function it calls (a call op, or an op named after a library function), recursively.
    """
    library = functions_by_name(graph.graph_def)
    needed = ancestors(graph, roots)
    executed = []
    pending = []
    for name, node in graph.nodes.items():
        if name in needed:
            executed.append((name, node.op, None))
            pending.extend(called_functions(node, library))
    seen: set[str] = set()
    while pending:
        function = pending.pop()
        if function in seen:
            continue
        seen.add(function)
        for node in library[function].node_def:
            executed.append((node.name, node.op, function))
            pending.extend(called_functions(node, library))
    return executed


def check_executable(
    graph: Graph, roots: Iterable[str], purpose: str, allowed: frozenset[str] = PURE_OPS
) -> None:
    """TfflopsError naming the first op outside ``allowed`` that running ``roots`` would run."""
    library = functions_by_name(graph.graph_def)
    unsafe = [
        (name, op, function)
        for name, op, function in executed_nodes(graph, roots)
        if op not in allowed and op not in library
    ]
    if not unsafe:
        return
    name, op, function = unsafe[0]
    where = f" in function {function}" if function else ""
    others = f" (and {len(unsafe) - 1} more unsafe node(s))" if len(unsafe) > 1 else ""
    raise TfflopsError(
        f"{graph.source}: {purpose} would execute {op} (node {name!r}{where}){others}, "
        "which is not a pure op; refusing to run it (`allow_unsafe_ops` runs it anyway)"
    )


def check_restore_prefixes(graph: Graph, roots: Iterable[str], filename: str) -> None:
    """TfflopsError if a restore op that running ``roots`` would run reads a checkpoint
    path of the graph's own instead of ``filename``, the tensor fed the one the user gave.

    The prefix is followed up through Identity, and through function arguments to what
    every call of the function passes.
    """
    library = functions_by_name(graph.graph_def)
    executed = executed_nodes(graph, roots)
    nodes = {(None, name): graph.nodes[name] for name, _, function in executed if not function}
    for function in {function for _, _, function in executed if function}:
        nodes.update(((function, n.name), n) for n in library[function].node_def)
    tracer = _PrefixTracer(library, nodes, parse_tensor_name(filename).node)
    for name, op, function in executed:
        if op not in CHECKPOINT_READ_OPS:
            continue
        prefix = _data_inputs(nodes[function, name])[:1]
        if not prefix or not tracer.reads_filename(function, prefix[0]):
            where = f" in function {function}" if function else ""
            raise TfflopsError(
                f"{graph.source}: restoring would run {op} (node {name!r}{where}) on a "
                "checkpoint path of the graph's own, not the one given; refusing to run it "
                "(`allow_unsafe_ops` runs it anyway)"
            )


class _PrefixTracer:
    """Follows a restore's prefix input up to where it comes from."""

    def __init__(self, library: dict, nodes: dict, filename: str):
        self.library = library
        self.nodes = nodes  # (function or None, node name) → NodeDef, of what runs
        self.filename = filename
        self.seen: set[tuple[str, int]] = set()

    def reads_filename(self, function: str | None, raw: str) -> bool:
        """Whether input ``raw`` (in ``function``; None: the graph) is the fed filename."""
        signature = None if function is None else self.library[function].signature
        args = [] if signature is None else [a.name for a in signature.input_arg]
        for _ in range(len(self.nodes) + 1):  # a chain of Identity nodes, at most
            source = raw.split(":")[0]
            if function is None and source == self.filename:
                return True
            node = self.nodes.get((function, source))
            if node is None and source in args:
                return self._calls_pass_filename(function, args.index(source))
            data = [] if node is None or node.op not in _PASS_THROUGH else _data_inputs(node)
            if not data:
                return False
            raw = data[0]
        return False

    def _calls_pass_filename(self, function: str, index: int) -> bool:
        """Every call of ``function`` that runs passes the filename as argument ``index``."""
        if (function, index) in self.seen:
            return False
        self.seen.add((function, index))
        calls = [
            (context, node)
            for (context, _), node in self.nodes.items()
            if function in called_functions(node, self.library)
        ]
        for context, node in calls:
            data = _data_inputs(node)
            spec = CALL_OPS.get(node.op)
            k = index + (spec.first_input if spec else 0)  # If/Case: input 0 picks
            if k >= len(data) or not self.reads_filename(context, data[k]):
                return False
        return bool(calls)


def _data_inputs(node) -> list[str]:
    return [raw for raw in node.input if not raw.startswith("^")]


_PASS_THROUGH = frozenset({"Identity", "Snapshot"})
