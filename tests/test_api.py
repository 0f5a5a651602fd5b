"""The Python API as a notebook user meets it: exactly the public names of ``__all__``, a
frozen graph TensorFlow takes, nullable integers in the DataFrame, a short repr."""

import inspect
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf

import tfflops

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_graphs"
CONV_BIAS = SAMPLES / "conv_bias.pb"
SEED = SAMPLES / "seed_refvars.pb"


def test_the_public_names_are_all_lists():
    public = {  # dir(): the API is imported when first used (PEP 562)
        name
        for name in dir(tfflops)
        if not name.startswith("_") and not inspect.ismodule(getattr(tfflops, name))
    }
    assert public | {"__version__"} == set(tfflops.__all__)
    assert all(hasattr(tfflops, name) for name in tfflops.__all__)


def test_every_public_name_is_in_the_readme():
    python = (ROOT / "README.md").read_text().split("## Python", 1)[1].split("\n## ", 1)[0]
    for name in tfflops.__all__:
        assert f"tfflops.{name}" in python, name


def test_freeze_returns_a_graph_def_tensorflow_imports():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tfflops.FreezeWarning)
        frozen = tfflops.freeze(SEED, ["output"])
    assert isinstance(frozen, tf.compat.v1.GraphDef)
    assert sorted(n.name for n in frozen.node) == ["a", "b", "output"]  # 20 nodes → 3
    graph = tf.Graph()
    with graph.as_default():
        tf.import_graph_def(frozen, name="")
    assert graph.get_tensor_by_name("output:0").shape == (25, 9)
    # ... and tfflops takes it back: 2·25·16·9 = 7200
    assert tfflops.profile(frozen, tfprof=False).totals["flops"] == 7200


def test_tf_profiler_figures_are_nullable_integers():
    unchecked = tfflops.profile(CONV_BIAS, tfprof=False).nodes
    assert unchecked["tfprof_flops"].dtype == pd.Int64Dtype()
    assert unchecked["tfprof_flops"].isna().all()
    checked = tfflops.profile(CONV_BIAS).nodes.set_index("name")
    assert checked["tfprof_flops"].dtype == pd.Int64Dtype()
    assert checked.loc["conv", "tfprof_flops"] == 442368  # 2·3·3·3·32·32·8
    assert checked.loc["bias_add", "tfprof_flops"] == 8192  # 32·32·8
    assert checked["flops"].dtype == np.int64 and checked["params"].sum() == 224


def test_a_profile_has_a_short_repr_and_a_notebook_view():
    p = tfflops.profile(CONV_BIAS, tfprof=False)
    assert repr(p) == (
        f"Profile({str(CONV_BIAS)!r}, outputs=['output'], convention='tfprof', "
        "flops=450560, tfprof_flops=None, params=224, nodes=6)"
    )
    html = p._repr_html_()
    assert f"<p><b>{CONV_BIAS} → output</b></p>" in html
    assert (
        "<th style='text-align:left'>FLOPs (tfprof)</th><td style='text-align:right'>450,560"
        in (html)
    )
    assert "tf.profiler FLOPs</th><td style='text-align:right'>not run</td>" in html
    assert "<li>input x: unknown batch dimension set to 1 (use --input-shape)</li>" in html
