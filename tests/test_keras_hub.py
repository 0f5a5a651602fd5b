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
