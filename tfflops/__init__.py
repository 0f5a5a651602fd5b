"""tfflops: FLOPs, MACs, params and bytes of TensorFlow graphs, cross-checked with tf.profiler.

import tfflops
p = tfflops.profile("model.pb", outputs=["logits"], input_shapes={"x": [1, 224, 224, 3]})
p.totals, p.nodes, p.to_dict()
tfflops.freeze("model.pb", outputs=["logits"], output_path="frozen.pb")
tfflops.register_op("MyOp", shape=..., cost=...)  # an op tfflops does not know
tfflops.measure("model.pb", device="calibrated.json").to_dict()  # runs it (vetted)
"""

from tfflops.analysis.ops import Cost, OpView, ShapeCtx, TensorInfo
from tfflops.analysis.ops.custom import register_op, unregister_op
from tfflops.analysis.profile import Profile
from tfflops.errors import TfflopsError
from tfflops.graph.loader import load_graph_def
from tfflops.pipelines.freeze import FreezeWarning, freeze
from tfflops.pipelines.measure import measure
from tfflops.pipelines.profile import profile
from tfflops.version import __version__

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
