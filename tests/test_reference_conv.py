"""A reference convolution that counts its own scalar multiplies and adds proves the
``exact`` formula (2·Kh·Kw·Cin − 1 per output), and computes what tf.nn.conv2d does."""

import numpy as np
import pytest

from tfflops.analysis.conventions import node_flops
from tfflops.analysis.ops import OpView, lookup
from tfflops.analysis.ops.dims import conv_output_size


def counted_conv2d(x, w, stride, padding):
    """NHWC conv by im2col + an explicit dot product; returns (output, multiplies, adds)."""
    n, h, wd, _ = x.shape
    kh, kw, _, cout = w.shape
    oh = conv_output_size(h, kh, stride, 1, padding)
    ow = conv_output_size(wd, kw, stride, 1, padding)
    if padding == "SAME":
        pad_h = max((oh - 1) * stride + kh - h, 0)
        pad_w = max((ow - 1) * stride + kw - wd, 0)
        x = np.pad(
            x, ((0, 0), (pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2), (0, 0))
        )
    cols = np.stack(
        [
            x[:, i * stride : i * stride + kh, j * stride : j * stride + kw, :].reshape(n, -1)
            for i in range(oh)
            for j in range(ow)
        ],
        axis=1,
    )  # (n, oh*ow, kh*kw*cin)
    flat_w = w.reshape(-1, cout)
    out = np.zeros((n, oh * ow, cout), dtype=np.float64)
    multiplies = adds = 0
    for b in range(n):
        for p in range(oh * ow):
            for c in range(cout):
                acc = None
                for k in range(flat_w.shape[0]):
                    product = cols[b, p, k] * flat_w[k, c]
                    multiplies += 1
                    if acc is None:
                        acc = product
                    else:
                        acc += product
                        adds += 1
                out[b, p, c] = acc
    return out.reshape(n, oh, ow, cout), multiplies, adds


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "stride", "padding", "expected_exact"),
    [
        ((1, 5, 5, 2), (3, 3, 2, 3), 1, "VALID", 945),  # (2*18 - 1) * 3*3*3 = 35*27
        ((1, 5, 5, 2), (3, 3, 2, 3), 2, "SAME", 945),  # ceil(5/2) = 3: 35 * 3*3*3
        ((2, 4, 4, 1), (2, 2, 1, 2), 1, "VALID", 252),  # (2*4 - 1) * 2*3*3*2 = 7*36
    ],
)
def test_exact_formula_counts_every_scalar_op(x_shape, w_shape, stride, padding, expected_exact):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape)
    out, multiplies, adds = counted_conv2d(x, w, stride, padding)
    assert multiplies + adds == expected_exact
    view = OpView(
        "Conv2D",
        (x_shape, w_shape),
        (out.shape,),
        {"strides": [1, stride, stride, 1], "padding": padding},
    )
    assert node_flops(lookup("Conv2D")(view), "exact") == expected_exact
    assert node_flops(lookup("Conv2D")(view), "macs") == multiplies


def test_reference_conv_equals_tensorflow():
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 6, 6, 2)).astype(np.float32)
    w = rng.standard_normal((3, 3, 2, 4)).astype(np.float32)
    for stride, padding in ((1, "SAME"), (2, "SAME"), (1, "VALID"), (2, "VALID")):
        ours, _, _ = counted_conv2d(x.astype(np.float64), w.astype(np.float64), stride, padding)
        theirs = tf.nn.conv2d(x, w, strides=stride, padding=padding).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)
