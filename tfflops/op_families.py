"""Families of TensorFlow op types that several stages recognise, named once.

(The counting formulas have their own registry in ``tfflops.ops``; these sets say what an
op *is*: a variable, an input, a function call, a checkpoint read or write.)
"""

VARIABLE_OPS = frozenset({"VariableV2", "Variable", "VarHandleOp"})

PLACEHOLDER_OPS = frozenset({"Placeholder", "PlaceholderV2", "PlaceholderWithDefault"})

SAVE_RESTORE_OPS = frozenset(
    {"Save", "SaveV2", "SaveSlices", "Restore", "RestoreV2", "RestoreSlice", "MergeV2Checkpoints"}
)

# TF2 functional control flow and function calls: their work is in the library's bodies.
CALL_OPS = frozenset(
    {
        "If",
        "StatelessIf",
        "While",
        "StatelessWhile",
        "Case",
        "StatelessCase",
        "PartitionedCall",
        "StatefulPartitionedCall",
    }
)
