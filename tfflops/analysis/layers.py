"""Layers: a node's name scope below the prefix every scoped node shares, N components deep.

A Keras model's graph scopes every node by the model's name, then the layer's
(``mobilenetv2_1.00_224/block_1_expand/Conv2D``): ``--by scope`` folds it all into one
row, while the layer is what a user thinks in. The shared prefix is found from the names
alone, so any graph works, function bodies' rows (``call/function/node``) included.
"""

from __future__ import annotations

from collections.abc import Sequence

DEFAULT_DEPTH = 1


def shared_prefix(names: Sequence[str]) -> list[str]:
    """The leading scope components every scoped name shares, short of the deepest scope:
    a model of one layer keeps that layer.

    Only names with a scope (a ``/``) count: inputs and outputs at the top (``input``,
    ``Identity``) do not break the prefix.
    """
    prefix: list[str] | None = None
    deepest = 0
    for name in names:
        scope = name.split("/")[:-1]
        if not scope:
            continue
        if prefix is None:
            prefix = scope
        else:
            k = 0
            while k < min(len(prefix), len(scope)) and prefix[k] == scope[k]:
                k += 1
            prefix = prefix[:k]
        deepest = max(deepest, len(scope))
    if prefix is None:
        return []
    return prefix[: deepest - 1]


def below(name: str, prefix: Sequence[str]) -> list[str]:
    """``name``'s components after ``prefix``, when it starts with it and goes on (a node
    named as the prefix itself — TensorFlow's dilated ``convolution`` beside its
    ``convolution/SpaceToBatchND`` — keeps its name)."""
    parts = name.split("/")
    if len(parts) > len(prefix) and parts[: len(prefix)] == list(prefix):
        return parts[len(prefix) :]
    return parts


def layer_of(name: str, prefix: Sequence[str], depth: int = DEFAULT_DEPTH) -> str:
    """``name``'s scope after ``prefix`` (when it starts with it), its first ``depth``
    components; a node with no scope left is a layer of its own name."""
    parts = below(name, prefix)
    scope = parts[:-1]
    return "/".join(scope[:depth]) if scope else parts[-1]


def layer_names(
    names: Sequence[str], grouped: Sequence[bool] | None = None, depth: int = DEFAULT_DEPTH
) -> list[str]:
    """Every node's layer; the shared prefix is that of the names ``grouped`` marks (the
    inference phase: what the views show), or of all names."""
    chosen = names if grouped is None else [n for n, g in zip(names, grouped, strict=True) if g]
    prefix = shared_prefix(chosen)
    return [layer_of(name, prefix, depth) for name in names]
