"""The reference cases of the design, on the bundled sample graphs, cross-checked."""

import pytest

import tfflops
from tfflops.graph.phases import INFERENCE, INIT

SEEDS = ["seed_refvars.pb", "seed_resvars.pb", "seed_refvars.pbtxt"]


@pytest.fixture(scope="module")
def seed_profiles(request):
    from conftest import SAMPLES

    return {name: tfflops.profile(SAMPLES / name, outputs=["output"]) for name in SEEDS}


@pytest.mark.parametrize("name", SEEDS)
def test_seed_unfrozen(seed_profiles, name):
    p = seed_profiles[name]
    assert p.totals["tfprof_flops"] == 8288  # 7200 + 2*400 + 2*144
    assert p.totals["flops"] == 7200  # 2*16*25*9
    assert p.totals["init_flops"] == 1088  # 400 + 400 + 144 + 144
    assert p.totals["params"] == 544  # 25*16 + 16*9
    init = sorted(r["flops"] for r in p.node_records() if r["phase"] == INIT and r["flops"])
    assert init == [144, 144, 400, 400]  # random_normal's Mul and Add, for b and a
    assert set(p.status_counts()) == {"match"}
    assert any("1088" in note for note in p.notes)


def test_seed_frozen(samples):
    p = tfflops.profile(samples / "seed_frozen.pb", outputs="output")
    assert (p.totals["tfprof_flops"], p.totals["flops"], p.totals["init_flops"]) == (7200, 7200, 0)
    assert p.totals["params"] == 544  # 25*16 + 16*9


def test_phases_of_the_seed(seed_profiles):
    phases = {r["name"]: r["phase"] for r in seed_profiles["seed_refvars.pb"].node_records()}
    assert phases["output"] == INFERENCE
    assert phases["a"] == INFERENCE  # the variable itself: its value is read
    assert phases["a/Assign"] == INIT
    assert phases["init"] == INIT


CONV_BIAS = {
    "tfprof": 450560,  # conv 2*3*3*3*32*32*8 = 442368 + bias 32*32*8 = 8192
    "macs": 221184,  # 3*3*3*32*32*8
    "exact": 442368,  # (2*27 - 1)*8192 = 434176 + bias 8192
    "exact-bias": 450560,  # (2*27 + 1)*8192, bias node 0
    "full": 458752,  # 450560 + relu 8192
}


@pytest.mark.parametrize(("convention", "expected"), CONV_BIAS.items())
def test_conv_bias_conventions(samples, convention, expected):
    p = tfflops.profile(samples / "conv_bias.pb", convention=convention, tfprof=False)
    assert p.totals["flops"] == expected
    assert p.totals["params"] == 224  # 3*3*3*8 + 8


def test_conv_bias_unknown_batch_is_resolved_and_cross_checked(samples):
    p = tfflops.profile(samples / "conv_bias.pb")
    assert p.totals["tfprof_flops"] == 450560  # tf.profiler alone says 0 (batch None)
    assert p.status_counts() == {"match": 6}
    assert any("unknown batch" in note and "x" in note for note in p.notes)


def test_conv_bias_batch_4(samples):
    p = tfflops.profile(samples / "conv_bias.pb", input_shapes={"x": [4, 32, 32, 3]})
    assert p.totals["flops"] == 1802240  # 4 * 450560
    assert p.totals["tfprof_flops"] == 1802240
    assert p.totals["params"] == 224  # parameters do not grow with the batch


def test_depthwise_separable(samples):
    p = tfflops.profile(samples / "depthwise_separable.pb", convention="macs")
    assert p.totals["flops"] == 204800  # (9 + 16) * 32*32*8
    assert p.totals["params"] == 200  # 3*3*8 + 8*16
    assert p.totals["tfprof_flops"] == 409600  # 2 * 204800
    assert "mismatch" not in p.status_counts()


def test_small_cnn(samples):
    p = tfflops.profile(samples / "small_cnn.pb")
    # conv 2*9*784*4 = 56448, bias 3136, maxpool 4*784 = 3136,
    # dense 2*784*10 = 15680, bias 10, softmax 5*10 = 50
    assert p.totals["tfprof_flops"] == 78460
    assert p.totals["flops"] == 78460
    # conv 36 + 4, batch norm 4*4, dense 7840 + 10
    assert p.totals["params"] == 7906
    assert set(p.status_counts()) == {"match"}
    full = tfflops.profile(samples / "small_cnn.pb", convention="full", tfprof=False)
    # + batch norm 2*3136 + 4*4 + 4 = 6292, + relu 3136
    assert full.totals["flops"] == 87888


def test_nodes_dataframe_and_json_agree(samples):
    p = tfflops.profile(samples / "conv_bias.pb", tfprof=False)
    df = p.nodes
    assert list(df.columns) == [
        "name",
        "op",
        "phase",
        "flops",
        "tfprof_flops",
        "params",
        "bytes",
        "output_shapes",
        "dtype",
        "status",
        "note",
        "layer",
        "output_bytes",
        "intensity",
        "bound",
        "est_seconds",
        "measured_seconds",
    ]
    assert int(df["flops"].sum()) == 450560
    doc = p.to_dict()
    assert doc["totals"] == p.totals
    conv = next(n for n in doc["nodes"] if n["op"] == "Conv2D")
    assert conv["output_shapes"] == [[1, 32, 32, 8]]
    assert conv["params"] == 216  # 3*3*3*8
    # reads x 3072*4 B + filter 216*4 B, writes 8192*4 B
    assert conv["bytes"] == 45920


def test_freezing_keeps_inference_flops_and_pruning_never_adds(samples):
    unfrozen = tfflops.profile(samples / "seed_refvars.pb", tfprof=False)
    frozen = tfflops.profile(samples / "seed_frozen.pb", tfprof=False)
    for convention in ("tfprof", "macs", "exact", "full"):
        assert unfrozen.total_flops(convention) == frozen.total_flops(convention)
    assert frozen.totals["nodes"] < unfrozen.totals["nodes"]


def test_cross_checked_run_keeps_stderr_clean(samples, tmp_path):
    import subprocess
    import sys

    out = tmp_path / "report.txt"  # a table: .json would pick --format json
    proc = subprocess.run(
        [sys.executable, "-m", "tfflops", "profile", str(samples / "conv_bias.pb"), "-o", str(out)],
        capture_output=True,
        text=True,
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    assert "450,560" in out.read_text()  # 2*3*3*3*32*32*8 + 32*32*8


# conv_bias's Relu: 32*32*8 = 8,192 FLOPs under full, 0 under tfprof (as tf.profiler), macs
# and exact. A note tells it only where it bears on what was run.
RELU_NOTES = {
    ("tfprof", False): "the tfprof convention counts 0, as tf.profiler does, for: Relu (8,192) "
    "— their FLOPs under --convention full",
    ("tfprof", True): "tf.profiler counts 0, and so does the tfprof convention, for: "
    "Relu (8,192) — their FLOPs under --convention full",
    ("full", True): "tf.profiler counts 0 for: Relu (8,192) — their FLOPs under --convention "
    "full, in this total, not in its",
    ("full", False): None,  # tf.profiler did not run: no total of its to explain
    ("macs", False): None,  # a Relu has no multiply-accumulate: 0 MACs by design
    ("macs", True): None,
    ("exact", False): None,
}


@pytest.mark.parametrize(("convention", "tfprof"), RELU_NOTES, ids=str)
def test_notes_fit_what_was_run(samples, convention, tfprof):
    p = tfflops.profile(samples / "conv_bias.pb", convention=convention, tfprof=tfprof)
    about_tfprof = [n for n in p.notes if "tf.profiler" in n]
    expected = RELU_NOTES[convention, tfprof]
    assert about_tfprof == ([expected] if expected else [])


def test_without_tf_profiler_no_node_note_speaks_of_it(samples):
    p = tfflops.profile(samples / "seed_refvars.pb", outputs="output", tfprof=False)
    init = [r["note"] for r in p.node_records() if r["phase"] == INIT]
    assert set(init) == {"not cross-checked (--no-tfprof); init phase, not in flops"}
    assert not any("tf.profiler" in n for n in p.notes)
    ran = tfflops.profile(samples / "seed_refvars.pb", outputs="output")
    init = {r["note"] for r in ran.node_records() if r["phase"] == INIT}
    assert init == {"init phase: counted by tf.profiler before freezing, not in flops"}
