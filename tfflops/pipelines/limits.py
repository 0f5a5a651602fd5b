"""What ``check`` gates on, named apart from the pipeline so that the command line reads
them without importing it (and its worker processes' machinery) for every command."""

FIGURES = ("flops", "macs", "params", "bytes")
FINDINGS = ("mismatch", "unsupported", "unknown-shape")
# Seconds one model may take (`timeout`): 100 times the slowest real model measured
# (VGG16 with tf.profiler, 3 s), short enough that a hostile model holds CI for minutes,
# not hours.
DEFAULT_TIMEOUT = 300.0
