"""The Transformer and its parts against PyTorch 2.13: with torch's state_dict loaded (all
parameters re-drawn, LayerNorms included, so every gradient is checked), outputs and gradients of
the inputs and of every parameter agree in float64, per class and per option.

torch is a test oracle only; these tests skip without it.
"""

import copy

import numpy as np
import pytest

import tinygrad_seq as tg
import tinygrad_seq.nn.functional as F

torch = pytest.importorskip("torch")

RTOL, ATOL = 1e-9, 1e-12
D, HEADS, FF, S, T, N = 8, 2, 12, 5, 4, 3

pytestmark = pytest.mark.filterwarnings(
    "ignore:enable_nested_tensor",
    "ignore:Support for mismatched",
    "ignore:The PyTorch API of nested tensors",
)


def _pair(name, *args, **options):
    """Our module and torch's of class ``name``, torch's (re-drawn) parameters loaded in ours."""
    ours_options = dict(options)
    theirs_options = dict(options)
    if callable(options.get("activation")):  # each framework's own tanh
        ours_options["activation"], theirs_options["activation"] = F.tanh, torch.tanh
    theirs = getattr(torch.nn, name)(*args, dtype=torch.float64, **theirs_options)
    ours = getattr(tg.nn, name)(*args, dtype=np.float64, **ours_options)
    _redraw_and_load(ours, theirs)
    return ours, theirs


def _redraw_and_load(ours, theirs, seed=0):
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.from_numpy(0.5 * rng.standard_normal(tuple(p.shape))))
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


def _masks(rng, spec, batch, lengths):
    """Forward keyword arguments (ours, torch's) from a spec {argument: kind}."""
    ours, theirs = {}, {}
    for name, kind in spec.items():
        if kind in (True, False, None):
            ours[name] = theirs[name] = kind
            continue
        rows, cols = lengths[name]
        if name.endswith("key_padding_mask"):
            value = (rng.random((max(batch, 1), cols)) < 0.3) & (np.arange(cols) > 0)
            if kind == "dead":  # the first sequence is all padding
                value[0] = True
            value = value if batch else value[0]  # batch 0: unbatched, a (S,) mask
        elif kind == "causal":
            value = np.triu(np.full((rows, cols), -np.inf), 1)
        elif kind == "bool":
            value = rng.random((rows, cols)) < 0.3
            value[:, 0] = False
        else:
            value = rng.standard_normal((rows, cols))
        ours[name], theirs[name] = value, torch.from_numpy(value)
    return ours, theirs


def _check(ours, theirs, arrays, ours_kw, theirs_kw, what, seed=1):
    our_in = [tg.Tensor(a, requires_grad=True) for a in arrays]
    their_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = ours(*our_in, **ours_kw)
    expected = theirs(*their_in, **theirs_kw)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), RTOL, ATOL, err_msg=what)
    w = np.random.default_rng(seed).standard_normal(out.shape)
    (out * w).sum().backward()
    (expected * torch.from_numpy(w)).sum().backward()
    for k, (a, b) in enumerate(zip(our_in, their_in)):
        np.testing.assert_allclose(
            a.grad.numpy(), b.grad.numpy(), RTOL, ATOL, err_msg=f"{what}: input {k}"
        )
    their_params = dict(theirs.named_parameters())
    assert sorted(their_params) == sorted(n for n, _ in ours.named_parameters())
    for name, p in ours.named_parameters():
        assert p.grad is not None, f"{what}: no gradient for {name}"
        np.testing.assert_allclose(
            p.grad.numpy(), their_params[name].grad.numpy(), RTOL, ATOL, err_msg=f"{what}: {name}"
        )


def _sequence(rng, length, batch, batch_first):
    if batch == 0:
        return rng.standard_normal((length, D))
    shape = (batch, length, D) if batch_first else (length, batch, D)
    return rng.standard_normal(shape)


ENCODER_LAYER_CASES = {
    "defaults": ({}, {}),
    "batch_first": ({"batch_first": True}, {}),
    "norm_first": ({"norm_first": True}, {}),
    "gelu": ({"activation": "gelu"}, {}),
    "callable activation": ({"activation": callable}, {}),
    "bias=False": ({"bias": False}, {}),
    "layer_norm_eps": ({"layer_norm_eps": 1e-2}, {}),
    "float src_mask and padding": ({}, {"src_mask": "float", "src_key_padding_mask": "bool"}),
    "bool src_mask": ({"norm_first": True}, {"src_mask": "bool"}),
    "is_causal": ({}, {"src_mask": "causal", "is_causal": True}),
    "unbatched": ({}, {"src_key_padding_mask": "bool"}),
    "a sequence all padding": ({}, {"src_key_padding_mask": "dead"}),
}


@pytest.mark.parametrize("case", sorted(ENCODER_LAYER_CASES))
def test_encoder_layer_matches_torch(case):
    options, spec = ENCODER_LAYER_CASES[case]
    ours, theirs = _pair("TransformerEncoderLayer", D, HEADS, FF, 0.0, **options)
    rng = np.random.default_rng(2)
    batch = 0 if case == "unbatched" else N
    lengths = {"src_mask": (S, S), "src_key_padding_mask": (S, S)}
    ours_kw, theirs_kw = _masks(rng, spec, batch, lengths)
    src = _sequence(rng, S, batch, options.get("batch_first", False))
    _check(ours, theirs, [src], ours_kw, theirs_kw, case)


DECODER_LAYER_CASES = {
    "defaults": ({}, {}),
    "batch_first, gelu": ({"batch_first": True, "activation": "gelu"}, {}),
    "norm_first": ({"norm_first": True}, {"tgt_mask": "causal"}),
    "all masks": (
        {},
        {
            "tgt_mask": "causal",
            "memory_mask": "float",
            "tgt_key_padding_mask": "bool",
            "memory_key_padding_mask": "bool",
        },
    ),
    "tgt_is_causal": ({}, {"tgt_mask": "causal", "tgt_is_causal": True}),
    "unbatched": ({}, {"memory_key_padding_mask": "bool"}),
}

DECODER_LENGTHS = {
    "tgt_mask": (T, T),
    "memory_mask": (T, S),
    "tgt_key_padding_mask": (T, T),
    "memory_key_padding_mask": (T, S),
}


@pytest.mark.parametrize("case", sorted(DECODER_LAYER_CASES))
def test_decoder_layer_matches_torch(case):
    options, spec = DECODER_LAYER_CASES[case]
    ours, theirs = _pair("TransformerDecoderLayer", D, HEADS, FF, 0.0, **options)
    rng = np.random.default_rng(3)
    batch = 0 if case == "unbatched" else N
    ours_kw, theirs_kw = _masks(rng, spec, batch, DECODER_LENGTHS)
    first = options.get("batch_first", False)
    inputs = [_sequence(rng, T, batch, first), _sequence(rng, S, batch, first)]
    _check(ours, theirs, inputs, ours_kw, theirs_kw, case)


@pytest.mark.parametrize("norm", [False, True])
@pytest.mark.parametrize("is_causal", [None, True])
def test_encoder_stack_matches_torch(norm, is_causal):
    layer, their_layer = _pair("TransformerEncoderLayer", D, HEADS, FF, 0.0)
    ours = tg.nn.TransformerEncoder(
        layer, 2, tg.nn.LayerNorm(D, dtype=np.float64) if norm else None
    )
    theirs = torch.nn.TransformerEncoder(
        their_layer, 2, torch.nn.LayerNorm(D, dtype=torch.float64) if norm else None
    )
    _redraw_and_load(ours, theirs, seed=4)  # the two layers differ
    rng = np.random.default_rng(5)
    spec = {"mask": "causal", "src_key_padding_mask": "bool", "is_causal": is_causal}
    lengths = {"mask": (S, S), "src_key_padding_mask": (S, S)}
    ours_kw, theirs_kw = _masks(rng, spec, N, lengths)
    _check(ours, theirs, [_sequence(rng, S, N, False)], ours_kw, theirs_kw, "encoder")
    names = [n for n, _ in ours.named_parameters()]
    assert names[0] == "layers.0.self_attn.in_proj_weight" and "layers.1.norm2.bias" in names


def test_decoder_stack_matches_torch():
    layer, their_layer = _pair("TransformerDecoderLayer", D, HEADS, FF, 0.0, norm_first=True)
    ours = tg.nn.TransformerDecoder(layer, 2, tg.nn.LayerNorm(D, dtype=np.float64))
    theirs = torch.nn.TransformerDecoder(their_layer, 2, torch.nn.LayerNorm(D, dtype=torch.float64))
    _redraw_and_load(ours, theirs, seed=6)
    rng = np.random.default_rng(7)
    spec = {"tgt_mask": "causal", "memory_key_padding_mask": "bool"}
    ours_kw, theirs_kw = _masks(rng, spec, N, DECODER_LENGTHS)
    inputs = [_sequence(rng, T, N, False), _sequence(rng, S, N, False)]
    _check(ours, theirs, inputs, ours_kw, theirs_kw, "decoder")


TRANSFORMER_CASES = {
    "defaults": {},
    "batch_first": {"batch_first": True},
    "norm_first, gelu": {"norm_first": True, "activation": "gelu"},
    "bias=False": {"bias": False},
}


@pytest.mark.parametrize("case", sorted(TRANSFORMER_CASES))
def test_transformer_matches_torch(case):
    options = TRANSFORMER_CASES[case]
    ours, theirs = _pair("Transformer", D, HEADS, 2, 2, FF, 0.0, **options)
    rng = np.random.default_rng(8)
    spec = {
        "src_mask": "float",
        "tgt_mask": "causal",
        "memory_mask": "bool",
        "src_key_padding_mask": "bool",
        "tgt_key_padding_mask": "bool",
        "memory_key_padding_mask": "bool",
    }
    lengths = {"src_mask": (S, S), "src_key_padding_mask": (S, S), **DECODER_LENGTHS}
    ours_kw, theirs_kw = _masks(rng, spec, N, lengths)
    first = options.get("batch_first", False)
    inputs = [_sequence(rng, S, N, first), _sequence(rng, T, N, first)]
    _check(ours, theirs, inputs, ours_kw, theirs_kw, case)


def test_transformer_unbatched_and_causal_hints():
    ours, theirs = _pair("Transformer", D, HEADS, 1, 1, FF, 0.0)
    rng = np.random.default_rng(9)
    mask = tg.nn.Transformer.generate_square_subsequent_mask(T, dtype=np.float64)
    their_mask = torch.nn.Transformer.generate_square_subsequent_mask(T, dtype=torch.float64)
    ours_kw = {"tgt_mask": mask, "tgt_is_causal": True}
    theirs_kw = {"tgt_mask": their_mask, "tgt_is_causal": True}
    inputs = [_sequence(rng, S, 0, False), _sequence(rng, T, 0, False)]
    _check(ours, theirs, inputs, ours_kw, theirs_kw, "unbatched")


def test_generate_square_subsequent_mask_as_torch():
    for size in (1, 4):
        ours = tg.nn.Transformer.generate_square_subsequent_mask(size)
        theirs = torch.nn.Transformer.generate_square_subsequent_mask(size)
        assert ours.dtype == np.float32
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert (
        tg.nn.Transformer.generate_square_subsequent_mask(2, dtype=np.float64).dtype == np.float64
    )


def test_parameters_named_and_shaped_as_torch():
    ours = tg.nn.Transformer(D, HEADS, 2, 1, FF, seed=0)
    theirs = torch.nn.Transformer(D, HEADS, 2, 1, FF)
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == [
        (n, tuple(p.shape)) for n, p in theirs.named_parameters()
    ]
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    for p in ours.parameters():  # xavier uniform over every matrix, LayerNorms ones and zeros
        assert p.dtype == np.float32
    assert not ours.encoder.layers[0].self_attn.in_proj_bias.numpy().any()


def test_clones_are_independent_copies_sharing_the_global_generator():
    layer = tg.nn.TransformerEncoderLayer(D, HEADS, FF, seed=0)
    encoder = tg.nn.TransformerEncoder(layer, 2)
    first, second = encoder.layers[0], encoder.layers[1]
    assert first.linear1.weight is not second.linear1.weight
    np.testing.assert_array_equal(first.linear1.weight.numpy(), second.linear1.weight.numpy())
    assert first.linear1.weight is not layer.linear1.weight
    unseeded = tg.nn.TransformerEncoder(tg.nn.TransformerEncoderLayer(D, HEADS, FF), 2)
    x = np.ones((S, N, D), dtype=np.float32)
    tg.manual_seed(0)
    a = unseeded(x).numpy()
    tg.manual_seed(0)  # dropout in every clone draws from the global Generator
    np.testing.assert_array_equal(a, unseeded(x).numpy())
    assert not np.array_equal(a, unseeded(x).numpy())


def test_eval_mode_and_training_dropout():
    layer = tg.nn.TransformerEncoderLayer(D, HEADS, FF, dropout=0.5, seed=0)
    x = np.random.default_rng(0).standard_normal((S, N, D)).astype(np.float32)
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), layer(x).numpy())
    layer.train()
    assert not np.allclose(layer(x).numpy(), layer(x).numpy())


def test_nested_tensor_fast_path_differs_only_at_padding():
    """PyTorch's evaluation fast path (batch_first, padding mask, enable_nested_tensor) returns 0
    at padded positions; we compute them. Elsewhere the two agree."""
    layer, their_layer = _pair("TransformerEncoderLayer", D, HEADS, FF, 0.0, batch_first=True)
    ours = tg.nn.TransformerEncoder(layer, 2).eval()
    theirs = torch.nn.TransformerEncoder(their_layer, 2).eval()
    _redraw_and_load(ours, theirs, seed=10)
    rng = np.random.default_rng(11)
    x = rng.standard_normal((N, S, D))
    padding = np.zeros((N, S), dtype=bool)
    padding[:, -2:] = True
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x), src_key_padding_mask=torch.from_numpy(padding))
    out = ours(x, src_key_padding_mask=padding).numpy()
    np.testing.assert_allclose(out[~padding], expected.numpy()[~padding], rtol=1e-7, atol=1e-9)
    assert np.all(expected.numpy()[padding] == 0) and np.all(out[padding] != 0)


def test_errors_as_torch():
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        tg.nn.TransformerEncoderLayer(D, HEADS, activation="tanh")
    with pytest.raises(AssertionError, match="divisible"):
        tg.nn.TransformerEncoderLayer(D, 3)
    model = tg.nn.Transformer(D, HEADS, 1, 1, FF, seed=0)
    src, tgt = np.zeros((S, N, D), np.float32), np.zeros((T, N + 1, D), np.float32)
    with pytest.raises(RuntimeError, match="batch number of src and tgt"):
        model(src, tgt)
    with pytest.raises(RuntimeError, match="feature number"):
        model(src, np.zeros((T, N, D + 1), np.float32))
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        model.encoder(src, is_causal=True)
    with pytest.raises(TypeError, match="TransformerEncoderLayer: src dtype float64"):
        model.encoder(tg.Tensor(src.astype(np.float64)))
    with pytest.raises(TypeError, match="memory dtype float64"):
        model.decoder(tgt[:, :N], tg.Tensor(src.astype(np.float64)))


def test_a_drawing_names_the_layers_and_blocks():
    from tinygrad_seq import viz

    model = tg.nn.Transformer(D, HEADS, 1, 1, FF, dropout=0.0, seed=0)
    out = model(np.ones((S, 1, D), np.float32), np.ones((T, 1, D), np.float32))
    source = viz.draw_graph(out.sum(), max_nodes=None).source
    for name in ["self-attention", "cross-attention", "feed-forward", "attention weights"]:
        assert f"<B>{name}</B>" in source, name
    for cluster in ["encoder", "decoder", "layer 0", "multihead attention", "head 1"]:
        assert f"label=<{cluster}>" in source, cluster


def test_deepcopy_keeps_a_seeded_generator_shared():
    layer = tg.nn.TransformerEncoderLayer(D, HEADS, FF, seed=3)
    encoder = tg.nn.TransformerEncoder(layer, 2)
    generators = {id(m._rng) for m in encoder.modules() if hasattr(m, "_rng")}
    assert len(generators) == 1
    assert copy.deepcopy(layer).linear1.weight is not layer.linear1.weight


def test_repr_as_torch():
    ours = tg.nn.Transformer(D, HEADS, 2, 1, FF, seed=0)
    theirs = torch.nn.Transformer(D, HEADS, 2, 1, FF)
    assert repr(ours) == repr(theirs)  # Dropout(p=0.1, inplace=False) included


@pytest.mark.parametrize(
    "path, name",
    [
        ("transformer", "Transformer"),
        ("transformer", "TransformerEncoder"),
        ("transformer", "TransformerDecoderLayer"),
        ("activation", "MultiheadAttention"),
        ("linear", "NonDynamicallyQuantizableLinear"),
    ],
)
def test_torchs_module_paths(path, name):
    import importlib

    ours = getattr(importlib.import_module(f"tinygrad_seq.nn.modules.{path}"), name)
    assert hasattr(importlib.import_module(f"torch.nn.modules.{path}"), name)
    assert ours is getattr(tg.nn.modules, name)
    if name != "NonDynamicallyQuantizableLinear":  # torch.nn does not export it either
        assert ours is getattr(tg.nn, name)


def test_float32_stays_float32_and_agrees_with_torch():
    theirs = torch.nn.Transformer(D, HEADS, 1, 1, FF, dropout=0.0)
    ours = tg.nn.Transformer(D, HEADS, 1, 1, FF, dropout=0.0, seed=0)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    rng = np.random.default_rng(12)
    src, tgt = (rng.standard_normal((n, N, D)) for n in (S, T))  # float64 arrays: data, cast
    mask = tg.nn.Transformer.generate_square_subsequent_mask(T)
    padding = np.zeros((N, S), dtype=bool)
    padding[:, -1] = True
    out = ours(src, tgt, tgt_mask=mask, src_key_padding_mask=padding)
    expected = theirs(
        torch.from_numpy(src).float(),
        torch.from_numpy(tgt).float(),
        tgt_mask=torch.from_numpy(mask.numpy()),
        src_key_padding_mask=torch.from_numpy(padding),
    )
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-4, atol=1e-5)
    out.sum().backward()
    assert all(p.grad.dtype == np.float32 for p in ours.parameters())


@pytest.mark.parametrize(
    "name",
    [
        "MultiheadAttention",
        "TransformerEncoderLayer",
        "TransformerDecoderLayer",
        "TransformerEncoder",
        "TransformerDecoder",
        "Transformer",
    ],
)
def test_signatures_as_torch(name):
    import inspect

    for method in ("__init__", "forward"):
        ours = inspect.signature(getattr(getattr(tg.nn, name), method)).parameters
        theirs = inspect.signature(getattr(getattr(torch.nn, name), method)).parameters
        ours = {k: p for k, p in ours.items() if k != "seed"}  # our explicit Generator
        assert list(ours) == list(theirs), (name, method)
        for key, p in theirs.items():
            if not callable(p.default):
                assert ours[key].default == p.default, (name, method, key)


def test_sdpa_signature_as_torch():
    import inspect

    names = list(inspect.signature(F.scaled_dot_product_attention).parameters)
    assert names == [
        "query",
        "key",
        "value",
        "attn_mask",
        "dropout_p",
        "is_causal",
        "scale",
        "enable_gqa",
    ]
