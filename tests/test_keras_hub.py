"""keras_hub backbones built from their config, small, saved as .keras files: they take
and return dicts. Counted exactly against the transformer's arithmetic (MACs: the
contractions; an attention head's scores and its weighted sum are S·S·(H/heads) each, so
S·S·H over the heads), params equal Keras' count_params().

Per layer, S tokens, width H, feed-forward I: Q, K, V 3·S·H·H; scores S·S·H; weighted
values S·S·H; output projection S·H·H; feed-forward 2·S·H·I.
"""

import keras_hub  # the test extra holds it
import pytest

import tfflops

S, H, I, HEADS = 4, 8, 16, 2  # noqa: E741  (tokens, width, feed-forward, heads)
# A layer: 3*4*8*8 = 768 + 4*4*8 = 128 + 128 + 4*8*8 = 256 + 2*4*8*16 = 1024 → 2304


def text_shapes(*names):
    return {name: [1, S] for name in names}


BACKBONES = {
    # name: (backbone, input shapes, MACs)
    "bert": (
        lambda: keras_hub.models.BertBackbone(
            vocabulary_size=20,
            num_layers=1,
            num_heads=HEADS,
            hidden_dim=H,
            intermediate_dim=I,
            max_sequence_length=8,
        ),
        text_shapes("token_ids", "segment_ids", "padding_mask"),
        2304 + 64,  # a layer + the pooler on [CLS]: 8*8
    ),
    "gpt2": (
        lambda: keras_hub.models.GPT2Backbone(
            vocabulary_size=20,
            num_layers=1,
            num_heads=HEADS,
            hidden_dim=H,
            intermediate_dim=I,
            max_sequence_length=8,
        ),
        text_shapes("token_ids", "padding_mask"),
        2304,
    ),
    "vit": (
        lambda: keras_hub.models.ViTBackbone(
            image_shape=(8, 8, 3),
            patch_size=4,
            num_layers=1,
            num_heads=HEADS,
            hidden_dim=H,
            mlp_dim=I,
        ),
        {"images": [1, 8, 8, 3]},
        # patches: a 4x4 conv, 3 → 8 channels, on (8/4)^2 = 4 of them: 4*4*3*8*4 = 1536;
        # one layer on 4 + 1 (class) = 5 tokens: 3*5*64 = 960 + 5*5*8 = 200 + 200
        # + 5*64 = 320 + 2*5*8*16 = 1280 → 2960
        1536 + 2960,
    ),
}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hub")
    models = {}
    for name, (build, _, _) in BACKBONES.items():
        model = build()
        model.save(folder / f"{name}.keras")
        models[name] = (folder / f"{name}.keras", model.count_params())
    return models


@pytest.mark.parametrize("name", list(BACKBONES))
def test_keras_hub_backbone_counts_exactly(saved, name):
    path, count_params = saved[name]
    _, shapes, macs = BACKBONES[name]
    p = tfflops.profile(path, input_shapes=shapes, convention="macs")
    assert p.totals["flops"] == macs
    assert p.totals["params"] == count_params
    assert p.mismatches() == []
    assert p.unsupported_ops == {}


def test_a_decoder_with_an_untied_output_embedding_says_what_keras_counts_more(tmp_path):
    # Llama: RMSNorm, rotary embeddings, 4 query heads of width 2 sharing 2 key/value heads
    # (GQA), a gated feed-forward. Its output embedding (untied) only a task's head reads.
    model = keras_hub.models.LlamaBackbone(
        vocabulary_size=20,
        num_layers=1,
        num_query_heads=4,
        hidden_dim=H,
        intermediate_dim=I,
        num_key_value_heads=2,
    )
    model.save(tmp_path / "llama.keras")
    p = tfflops.profile(
        tmp_path / "llama.keras",
        input_shapes=text_shapes("token_ids", "padding_mask"),
        convention="macs",
        tfprof=False,
    )
    # Q 4*8*8 = 256, K and V 4*8*4 = 128 each, scores and weighted values 4*4*8 = 128
    # each, output 256, gate and up 2*4*8*16 = 1024, down 512 → 2560; the rotary angles,
    # positions [4] outer inverse frequencies [1], for queries and keys: 2*4 = 8
    assert p.totals["flops"] == 2568
    # embeddings 20*8 = 160, Q 64, K 32, V 32, output 64, gate, up, down 128 each, three
    # norms 8 each: 760; Keras counts the output embedding's 8*20 = 160 too: 920
    assert (p.totals["params"], model.count_params()) == (760, 920)
    (note,) = [n for n in p.notes if n.startswith("Keras' count_params()")]
    assert note == (
        "Keras' count_params() is 920: it counts 160 in 1 weight(s) the model's call never "
        "reads, which are no parameters of this graph: token_embedding/reverse_embeddings "
        "(8, 20)"
    )
    assert p.unsupported_ops == {}
