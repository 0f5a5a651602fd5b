"""Families of TensorFlow op types that several stages recognise, named once.

These sets say what an op *is* — a variable, an input, a function call, a checkpoint read
or write, a loop's Merge — not what it costs (that is ``tfflops.analysis.ops``).
"""

from __future__ import annotations

from dataclasses import dataclass

VARIABLE_OPS = frozenset({"VariableV2", "Variable", "VarHandleOp"})

PLACEHOLDER_OPS = frozenset({"Placeholder", "PlaceholderV2", "PlaceholderWithDefault"})

SAVE_RESTORE_OPS = frozenset(
    {"Save", "SaveV2", "SaveSlices", "Restore", "RestoreV2", "RestoreSlice", "MergeV2Checkpoints"}
)
# Restoring a checkpoint reads files; these are the ops that do.
CHECKPOINT_READ_OPS = frozenset({"RestoreV2", "Restore", "RestoreSlice"})

# What initializes a variable: the roots of the init phase.
INITIALIZER_OPS = frozenset({"Assign", "AssignVariableOp"})
# What writes a variable.
ASSIGN_OPS = frozenset(
    {
        "Assign",
        "AssignAdd",
        "AssignSub",
        "AssignVariableOp",
        "AssignAddVariableOp",
        "AssignSubVariableOp",
    }
)
UPDATE_OPS = ASSIGN_OPS | {"CountUpTo", "ResourceCountUpTo"}
INIT_CHECK_OPS = frozenset({"VarIsInitializedOp", "IsVariableInitialized"})
SUMMARY_OPS = frozenset(
    {
        "ScalarSummary",
        "HistogramSummary",
        "MergeSummary",
        "ImageSummary",
        "TensorSummary",
        "TensorSummaryV2",
    }
)

# TF1 control flow. A while loop's Merge reads its NextIteration: the one legal cycle in a
# GraphDef. A loop's frame: Enter, Exit, NextIteration, LoopCond; a cond's Switch and Merge.
MERGE_OPS = frozenset({"Merge", "RefMerge"})
BACK_EDGE_OPS = frozenset({"NextIteration", "RefNextIteration"})
SWITCH_OPS = frozenset({"Switch", "RefSwitch", "_SwitchN"})
ENTER_OPS = frozenset({"Enter", "RefEnter"})
EXIT_OPS = frozenset({"Exit", "RefExit"})
FRAME_OPS = BACK_EDGE_OPS | ENTER_OPS | EXIT_OPS | {"LoopCond"}
V1_CONTROL_FLOW_OPS = MERGE_OPS | SWITCH_OPS | FRAME_OPS | {"ControlTrigger"}


@dataclass(frozen=True, slots=True)
class CallSpec:
    """How an op runs functions of the graph's library.

    ``kind``: "call", "if", "case" or "while". The inputs before ``first_input`` are not
    function arguments (If's predicate, Case's branch index); ``type_attr`` is the list
    attr holding the arguments' dtypes; ``function_attrs`` name the functions (a func or
    a list of funcs); ``stateless`` is the twin without state, which grappler inlines.
    """

    kind: str
    first_input: int
    function_attrs: tuple[str, ...]
    type_attr: str = "Tin"
    stateless: str | None = None


# TF2 functional control flow and function calls: their work is in the library's bodies.
CALL_OPS: dict[str, CallSpec] = {
    "PartitionedCall": CallSpec("call", 0, ("f",)),
    "StatefulPartitionedCall": CallSpec("call", 0, ("f",), stateless="PartitionedCall"),
    "If": CallSpec("if", 1, ("then_branch", "else_branch"), stateless="StatelessIf"),
    "StatelessIf": CallSpec("if", 1, ("then_branch", "else_branch")),
    "Case": CallSpec("case", 1, ("branches",), stateless="StatelessCase"),
    "StatelessCase": CallSpec("case", 1, ("branches",)),
    "While": CallSpec("while", 0, ("cond", "body"), "T", stateless="StatelessWhile"),
    "StatelessWhile": CallSpec("while", 0, ("cond", "body"), "T"),
}
# A node whose op is the name of a library function calls it directly.
DIRECT_CALL = CallSpec("call", 0, ())
