"""The only package that imports TensorFlow or Keras, and only when a function here runs.

``import tfflops.tf`` costs nothing: every module of this package imports TensorFlow
inside the functions that need it, through ``import_tensorflow``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os

from tfflops.errors import TfflopsError

INSTALL = 'pip install "tfflops[tensorflow]"'


@contextlib.contextmanager
def silenced_stderr_fd():
    """Mute file descriptor 2: TensorFlow's C++ start-up logs ("Could not find cuda
    drivers", absl's "All log messages before ...") ignore TF_CPP_MIN_LOG_LEVEL."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def import_tensorflow(purpose: str = "this"):
    """``import tensorflow``, quietly; without TensorFlow, a TfflopsError that says
    ``purpose`` needs it and how to install it."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    with silenced_stderr_fd():
        try:
            import tensorflow as tf
        except ImportError as e:
            if e.name == "tensorflow":  # not installed, or blocked
                raise _not_installed(purpose) from None
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise TfflopsError(
                f"{purpose} needs TensorFlow, which fails to import: {first}"
            ) from None

        tf.get_logger().setLevel("ERROR")  # deprecation notices of the tf.compat.v1 API
    return tf


def require_tensorflow(purpose: str) -> None:
    """The TfflopsError of ``import_tensorflow`` when TensorFlow is not installed, told
    without importing it (before work that would need it in a worker process)."""
    if importlib.util.find_spec("tensorflow") is None:
        raise _not_installed(purpose)


def _not_installed(purpose: str) -> TfflopsError:
    return TfflopsError(f"{purpose} needs TensorFlow, which is not installed: {INSTALL}")


def to_tensorflow(graph_def):
    """``graph_def`` (tfflops' schema) as TensorFlow's ``tf.compat.v1.GraphDef``, the class
    ``tf.import_graph_def`` takes; as it is where TensorFlow is not installed."""
    if importlib.util.find_spec("tensorflow") is None:
        return graph_def
    tf = import_tensorflow("a TensorFlow GraphDef")
    return tf.compat.v1.GraphDef.FromString(graph_def.SerializeToString())
