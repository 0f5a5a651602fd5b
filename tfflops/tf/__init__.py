"""The only package that imports TensorFlow or Keras, and only when a function here runs.

``import tfflops.tf`` costs nothing: every module of this package imports TensorFlow
inside the functions that need it, through ``import_tensorflow``.
"""

from __future__ import annotations

import contextlib
import os


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


def import_tensorflow():
    """``import tensorflow``, quietly."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    with silenced_stderr_fd():
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")  # deprecation notices of the tf.compat.v1 API
    return tf
