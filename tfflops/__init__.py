"""tfflops: FLOPs, MACs, params and bytes of TensorFlow graphs, cross-checked with tf.profiler.

import tfflops
p = tfflops.profile("model.pb", outputs=["logits"], input_shapes={"x": [1, 224, 224, 3]})
p.totals, p.nodes, p.to_dict()
tfflops.freeze("model.pb", outputs=["logits"], output_path="frozen.pb")
tfflops.register_op("MyOp", shape=..., cost=...)  # an op tfflops does not know
tfflops.measure("model.pb", device="calibrated.json").to_dict()  # runs it (vetted)
"""

import importlib as _importlib

from tfflops.version import __version__

# The public API, each name imported from its module when first used (PEP 562): a command
# pays for the modules it runs, not for every pipeline (startup time). ``freeze`` names
# both the function and the ``tfflops.freeze`` subpackage: the subpackage is imported
# first, and its attribute removed, so that no later import of ``tfflops.freeze.*`` binds
# the package over the function.
_API = {
    "Cost": "tfflops.analysis.ops",
    "OpView": "tfflops.analysis.ops",
    "ShapeCtx": "tfflops.analysis.ops",
    "TensorInfo": "tfflops.analysis.ops",
    "register_op": "tfflops.analysis.ops.custom",
    "unregister_op": "tfflops.analysis.ops.custom",
    "Profile": "tfflops.analysis.profile",
    "TfflopsError": "tfflops.errors",
    "load_graph_def": "tfflops.graph.loader",
    "FreezeWarning": "tfflops.pipelines.freeze",
    "freeze": "tfflops.pipelines.freeze",
    "measure": "tfflops.pipelines.measure",
    "profile": "tfflops.pipelines.profile",
}
_importlib.import_module("tfflops.freeze")  # the subpackage, first
globals().pop("freeze")  # its attribute: tfflops.freeze.plan, ... stay importable


def __getattr__(name: str):
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'tfflops' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})


__all__ = [
    "Cost",
    "FreezeWarning",
    "OpView",
    "Profile",
    "ShapeCtx",
    "TensorInfo",
    "TfflopsError",
    "__version__",
    "freeze",
    "load_graph_def",
    "measure",
    "profile",
    "register_op",
    "unregister_op",
]
