"""Attention: ``F.scaled_dot_product_attention`` and ``nn.MultiheadAttention`` against PyTorch
2.13 (outputs and gradients of the inputs and of every parameter, float64, torch's state_dict
loaded), the gradient by central differences on drawn shapes and masks, and the names a drawing
shows.

torch is a test oracle only; the parity tests skip without it.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_seq as tg
import tinygrad_seq.nn.functional as F
from tinygrad_seq.testing import arrays, gradcheck, gradgradcheck

RTOL, ATOL = 1e-9, 1e-12


def _torch():
    return pytest.importorskip("torch")


def _close(actual, expected, what):
    torch = _torch()
    if isinstance(expected, torch.Tensor):
        expected = expected.detach().numpy()
    assert actual is not None, f"{what}: no gradient"
    np.testing.assert_allclose(np.asarray(actual), expected, rtol=RTOL, atol=ATOL, err_msg=what)


# --- scaled_dot_product_attention -----------------------------------------------------------------

SDPA_CASES = {
    "plain": dict(),
    "scale": dict(scale=0.3),
    "causal": dict(is_causal=True),
    "bool mask": dict(mask="bool"),
    "float mask": dict(mask="float"),
    "broadcast bool mask": dict(mask="bool", mask_shape=(1, 3, 5)),
    "mask over batch": dict(mask="float", mask_shape=(2, 1, 3, 5)),
    "fully masked row": dict(mask="bool", dead_row=True),
    "fully masked float row": dict(mask="float", dead_row=True),
    "gqa": dict(enable_gqa=True),
}


@pytest.mark.parametrize("case", sorted(SDPA_CASES))
def test_sdpa_matches_torch(case):
    torch = _torch()
    opts = dict(SDPA_CASES[case])
    rng = np.random.default_rng(0)
    kv_heads = 2 if opts.pop("enable_gqa", False) else 4
    shapes = [(2, 4, 3, 6), (2, kv_heads, 5, 6), (2, kv_heads, 5, 7)]  # (B, H, L|S, E|Ev)
    arrays_ = [rng.standard_normal(s) for s in shapes]
    kind, mask_shape = opts.pop("mask", None), opts.pop("mask_shape", (3, 5))
    dead = opts.pop("dead_row", False)
    ours_mask = theirs_mask = None
    if kind == "bool":
        ours_mask = rng.random(mask_shape) > 0.3
        ours_mask[..., 0] = True  # no fully masked row unless asked
        if dead:
            ours_mask[..., 1, :] = False
        theirs_mask = torch.from_numpy(ours_mask)
    elif kind == "float":
        ours_mask = rng.standard_normal(mask_shape)
        if dead:
            ours_mask[..., 1, :] = -np.inf
        theirs_mask = torch.from_numpy(ours_mask)
    kwargs = dict(opts, enable_gqa=kv_heads != 4)
    ours = [tg.Tensor(a, requires_grad=True) for a in arrays_]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays_]
    out = F.scaled_dot_product_attention(*ours, attn_mask=ours_mask, **kwargs)
    expected = torch.nn.functional.scaled_dot_product_attention(
        *theirs, attn_mask=theirs_mask, **kwargs
    )
    _close(out.numpy(), expected, f"{case}: output")
    cotangent = rng.standard_normal(out.shape)
    (out * cotangent).sum().backward()
    (expected * torch.from_numpy(cotangent)).sum().backward()
    for name, a, b in zip(("query", "key", "value"), ours, theirs):
        _close(a.grad.numpy(), b.grad, f"{case}: gradient of {name}")
    if dead:
        assert np.all(out.numpy()[..., 1, :] == 0)


def test_sdpa_unbatched_and_float32():
    torch = _torch()
    rng = np.random.default_rng(1)
    q, k, v = (rng.standard_normal(s).astype(np.float32) for s in [(3, 4), (5, 4), (5, 2)])
    out = F.scaled_dot_product_attention(q, k, v)
    expected = torch.nn.functional.scaled_dot_product_attention(
        *(torch.from_numpy(a) for a in (q, k, v))
    )
    assert out.dtype == np.float32 and out.shape == (3, 2)
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


def test_sdpa_dropout_zeros_and_rescales_the_weights():
    # value = identity: each output row IS that query's (dropped) attention weights
    q = k = np.zeros((1, 4, 3))
    v = np.eye(4)[None]
    tg.manual_seed(0)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).numpy()
    assert set(np.round(out.ravel(), 12)) <= {0.0, 0.5}  # 0.25 / (1 - 0.5), or dropped
    assert 0 < np.count_nonzero(out) < out.size
    tg.manual_seed(0)  # the global Generator decides the mask
    again = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).numpy()
    np.testing.assert_array_equal(out, again)
    everything = F.scaled_dot_product_attention(q, k, v, dropout_p=1.0).numpy()
    assert np.all(everything == 0)


def test_sdpa_errors_name_the_problem():
    q, k, v = np.zeros((2, 3, 4)), np.zeros((2, 5, 4)), np.zeros((2, 5, 6))
    sdpa = F.scaled_dot_product_attention
    with pytest.raises(RuntimeError, match="share E"):
        sdpa(q, np.zeros((2, 5, 3)), v)
    with pytest.raises(RuntimeError, match="share S"):
        sdpa(q, k, np.zeros((2, 4, 6)))
    with pytest.raises(RuntimeError, match="attn_mask of shape"):
        sdpa(q, k, v, attn_mask=np.ones((3, 4), dtype=bool))
    with pytest.raises(RuntimeError, match="not both"):
        sdpa(q, k, v, attn_mask=np.ones((3, 5), dtype=bool), is_causal=True)
    with pytest.raises(RuntimeError, match="bool or floating"):
        sdpa(q, k, v, attn_mask=np.ones((3, 5), dtype=np.int64))
    with pytest.raises(RuntimeError, match="one dtype"):
        sdpa(q.astype(np.float32), k, v)
    with pytest.raises(ValueError, match="probability"):
        sdpa(q, k, v, dropout_p=1.5)
    with pytest.raises(TypeError):  # scale and enable_gqa are keyword-only, as in torch
        sdpa(q, k, v, None, 0.0, False, 0.5)
    with pytest.raises(RuntimeError, match="enable_gqa"):
        sdpa(np.zeros((3, 3, 4)), np.zeros((2, 5, 4)), np.zeros((2, 5, 6)), enable_gqa=True)


@st.composite
def attention_inputs(draw):
    """Small (B?, L, E) / (B?, S, E) / (B?, S, Ev) arrays and a mask (none, bool, float) whose
    every row keeps at least one key (a fully masked row is a constant 0: nothing to check)."""
    lead = draw(st.sampled_from([(), (2,), (1, 2)]))
    length, source, e, ev = (draw(st.integers(1, 3)) for _ in range(4))
    q = draw(arrays(lead + (length, e)))
    k = draw(arrays(lead + (source, e)))
    v = draw(arrays(lead + (source, ev)))
    kind = draw(st.sampled_from(["none", "bool", "float", "causal"]))
    mask = None
    if kind == "bool":
        mask = draw(arrays((length, source)).map(lambda a: a > 0))
        mask[:, 0] = True
    elif kind == "float":
        mask = draw(arrays((length, source)))
    scale = draw(st.sampled_from([None, 0.7]))
    return q, k, v, mask, kind == "causal", scale


@given(attention_inputs())
def test_sdpa_gradient_by_central_differences(inputs):
    q, k, v, mask, causal, scale = inputs

    def attention(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, mask, is_causal=causal, scale=scale)

    assert gradcheck(attention, q, k, v)


def test_sdpa_gradient_of_a_float_mask():
    rng = np.random.default_rng(2)
    q, k, v, m = (rng.standard_normal(s) for s in [(2, 3), (4, 3), (4, 2), (2, 4)])
    assert gradcheck(lambda q, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m), q, m)


def test_second_order_through_attention_and_gelu():
    rng = np.random.default_rng(3)
    q, k, v = (rng.standard_normal(s) for s in [(2, 3), (4, 3), (4, 2)])
    mask = rng.random((2, 4)) > 0.3
    mask[:, 0] = True

    def attention(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)

    assert gradgradcheck(attention, q, k, v)
    assert gradgradcheck(F.gelu, rng.standard_normal(5))


def test_gelu_matches_torch_with_gradient():
    torch = _torch()
    x = np.linspace(-7, 7, 57)
    for approximate in ("none", "tanh"):
        ours = tg.Tensor(x, requires_grad=True)
        theirs = torch.tensor(x, requires_grad=True)
        y = F.gelu(ours, approximate=approximate)
        expected = torch.nn.functional.gelu(theirs, approximate=approximate)
        _close(y.numpy(), expected, f"gelu {approximate}")
        y.sum().backward()
        expected.sum().backward()
        _close(ours.grad.numpy(), theirs.grad, f"gelu {approximate}: gradient")
    with pytest.raises(RuntimeError, match="approximate"):  # torch's type, as nn.GELU raises
        F.gelu(tg.Tensor(x), approximate="erf")


# --- MultiheadAttention ---------------------------------------------------------------------------

E, HEADS, L, S, N = 6, 2, 4, 5, 3

# name: (constructor options, forward options, input layout)
MHA_CASES = {
    "self-attention": ({}, {}, "self"),
    "cross-attention": ({}, {}, "cross"),
    "batch_first": ({"batch_first": True}, {}, "cross"),
    "unbatched": ({}, {}, "unbatched"),
    "unbatched, batch_first": ({"batch_first": True}, {}, "unbatched"),
    "need_weights=False": ({}, {"need_weights": False}, "cross"),
    "weights per head": ({}, {"average_attn_weights": False}, "cross"),
    "key_padding_mask bool": ({}, {"key_padding_mask": "bool"}, "cross"),
    "key_padding_mask float": ({}, {"key_padding_mask": "float"}, "cross"),
    "attn_mask bool": ({}, {"attn_mask": "bool"}, "cross"),
    "attn_mask float": ({}, {"attn_mask": "float"}, "cross"),
    "attn_mask 3-D": ({}, {"attn_mask": "float3"}, "cross"),
    "both masks, no weights": (
        {},
        {"attn_mask": "bool", "key_padding_mask": "bool", "need_weights": False},
        "cross",
    ),
    "kdim and vdim": ({"kdim": 3, "vdim": 7}, {}, "cross"),
    "add_bias_kv": ({"add_bias_kv": True}, {"attn_mask": "float"}, "cross"),
    "add_zero_attn": ({"add_zero_attn": True}, {"key_padding_mask": "bool"}, "cross"),
    "bias_kv, zero_attn, masks": (
        {"add_bias_kv": True, "add_zero_attn": True, "kdim": 3},
        {"attn_mask": "bool", "key_padding_mask": "bool", "average_attn_weights": False},
        "cross",
    ),
    "bias=False": ({"bias": False}, {}, "cross"),
    "is_causal hint": (
        {},
        {"attn_mask": "causal", "is_causal": True, "need_weights": False},
        "self",
    ),
    "is_causal with padding": (
        {},
        {"attn_mask": "causal", "is_causal": True, "key_padding_mask": "bool"},
        "self",
    ),
    "unbatched masks": ({}, {"attn_mask": "float3", "key_padding_mask": "bool"}, "unbatched"),
    "fully masked, no weights": ({}, {"key_padding_mask": "dead", "need_weights": False}, "cross"),
}


def _mha_inputs(rng, layout, batch_first, kdim, vdim):
    shape = (lambda t: (t, N) if not batch_first else (N, t)) if layout != "unbatched" else None
    if layout == "unbatched":
        return [rng.standard_normal(s) for s in [(L, E), (S, kdim), (S, vdim)]]
    if layout == "self":
        return [rng.standard_normal(shape(L) + (E,))]
    return [rng.standard_normal(shape(t) + (f,)) for t, f in [(L, E), (S, kdim), (S, vdim)]]


def _mha_masks(rng, options, layout):
    """Forward keyword arguments, ours (arrays) and torch's."""
    torch = _torch()
    length, source = (L, L) if layout == "self" else (L, S)
    batch = 1 if layout == "unbatched" else N
    ours, theirs = {}, {}
    for name, kind in options.items():
        if name == "key_padding_mask":
            value = rng.random((batch, source)) < 0.3
            value[:, 0] = False
            if kind == "dead":
                value[0] = True
            if kind == "float":
                value = np.where(value, -np.inf, rng.standard_normal(value.shape))
            if layout == "unbatched":
                value = value[0]
        elif name == "attn_mask":
            if kind == "causal":
                value = np.triu(np.full((length, source), -np.inf), 1)
            elif kind == "bool":
                value = rng.random((length, source)) < 0.3
                value[:, 0] = False
            elif kind == "float3":
                value = rng.standard_normal((batch * HEADS, length, source))
            else:
                value = rng.standard_normal((length, source))
        else:
            ours[name] = theirs[name] = kind
            continue
        ours[name], theirs[name] = value, torch.from_numpy(value)
    return ours, theirs


@pytest.mark.filterwarnings("ignore:Support for mismatched")
@pytest.mark.parametrize("case", sorted(MHA_CASES))
def test_multihead_attention_matches_torch(case):
    torch = _torch()
    options, forward_options, layout = MHA_CASES[case]
    rng = np.random.default_rng(sorted(MHA_CASES).index(case))
    theirs = torch.nn.MultiheadAttention(E, HEADS, dtype=torch.float64, **options)
    with torch.no_grad():  # non-zero biases, so that every parameter is checked
        for p in theirs.parameters():
            p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape))))
    ours = tg.nn.MultiheadAttention(E, HEADS, dtype=np.float64, **options)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    kdim, vdim = options.get("kdim", E), options.get("vdim", E)
    arrays_ = _mha_inputs(rng, layout, options.get("batch_first", False), kdim, vdim)
    our_in = [tg.Tensor(a, requires_grad=True) for a in arrays_]
    their_in = [torch.tensor(a, requires_grad=True) for a in arrays_]
    ours_kw, theirs_kw = _mha_masks(rng, forward_options, layout)
    q = our_in * 3 if len(our_in) == 1 else our_in
    tq = their_in * 3 if len(their_in) == 1 else their_in
    out, weights = ours(*q, **ours_kw)
    expected, expected_weights = theirs(*tq, **theirs_kw)
    _close(out.numpy(), expected, f"{case}: output")
    assert (weights is None) == (expected_weights is None)
    loss, their_loss = _weighted_sums(rng, [out, weights], [expected, expected_weights])
    if weights is not None:
        _close(weights.numpy(), expected_weights, f"{case}: attention weights")
    loss.backward()
    their_loss.backward()
    for k, (a, b) in enumerate(zip(our_in, their_in)):
        _close(a.grad.numpy(), b.grad, f"{case}: gradient of input {k}")
    their_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        _close(p.grad.numpy(), their_params[name].grad, f"{case}: gradient of {name}")
    assert sorted(dict(ours.named_parameters())) == sorted(their_params)


def _weighted_sums(rng, ours, theirs):
    torch = _torch()
    loss, their_loss = 0, 0
    for a, b in zip(ours, theirs):
        if a is not None:
            w = rng.standard_normal(a.shape)
            loss = loss + (a * w).sum()
            their_loss = their_loss + (b * torch.from_numpy(w)).sum()
    return loss, their_loss


def test_multihead_attention_refuses_the_rows_torch_makes_nan():
    torch = _torch()
    theirs = torch.nn.MultiheadAttention(E, HEADS, dtype=torch.float64)
    ours = tg.nn.MultiheadAttention(E, HEADS, dtype=np.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((L, N, E))
    padding = np.zeros((N, L), dtype=bool)
    padding[1] = True  # batch item 1: every key is padding
    out, _ = theirs(*(torch.from_numpy(x),) * 3, key_padding_mask=torch.from_numpy(padding))
    assert torch.isnan(out[:, 1]).all()  # what we refuse to return silently
    with pytest.raises(ValueError, match="batch item 1 .* every key masked"):
        ours(x, x, x, key_padding_mask=padding)
    out, weights = ours(x, x, x, key_padding_mask=padding, need_weights=False)
    assert weights is None
    np.testing.assert_allclose(
        out.numpy()[:, 1], np.broadcast_to(ours.out_proj.bias.numpy(), (L, E))
    )


def test_multihead_attention_parameters_and_init_as_torch():
    torch = _torch()
    for options in [{}, {"kdim": 3, "vdim": 5, "add_bias_kv": True}, {"bias": False}]:
        theirs = torch.nn.MultiheadAttention(8, 4, **options)
        ours = tg.nn.MultiheadAttention(8, 4, seed=0, **options)
        assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == [
            (n, tuple(p.shape)) for n, p in theirs.named_parameters()
        ]
        assert repr(ours) == repr(theirs)
        assert ours.head_dim == theirs.head_dim and ours.kdim == theirs.kdim
    mha = tg.nn.MultiheadAttention(8, 4, seed=0)
    bound = np.sqrt(6 / (8 + 24))  # xavier uniform over (3E, E)
    assert np.abs(mha.in_proj_weight.numpy()).max() <= bound
    assert np.abs(mha.in_proj_weight.numpy()).max() > 0.8 * bound
    assert not mha.in_proj_bias.numpy().any() and not mha.out_proj.bias.numpy().any()
    assert mha.in_proj_weight.dtype == np.float32
    tg.manual_seed(3)
    first = tg.nn.MultiheadAttention(8, 4).in_proj_weight.numpy()
    tg.manual_seed(3)  # unseeded modules draw from the global Generator
    np.testing.assert_array_equal(first, tg.nn.MultiheadAttention(8, 4).in_proj_weight.numpy())


def test_multihead_attention_dropout_only_in_training():
    mha = tg.nn.MultiheadAttention(4, 2, dropout=0.5, batch_first=True, seed=0)
    x = np.random.default_rng(0).standard_normal((2, 6, 4)).astype(np.float32)
    _, dropped = mha(x, x, x, average_attn_weights=False)
    assert (dropped.numpy() == 0).any()
    mha.eval()
    _, weights = mha(x, x, x, average_attn_weights=False)
    kept = dropped.numpy() != 0
    np.testing.assert_allclose(dropped.numpy()[kept], 2 * weights.numpy()[kept], rtol=1e-6)
    np.testing.assert_allclose(weights.numpy().sum(-1), 1, rtol=1e-6)


def test_multihead_attention_errors_as_torch():
    with pytest.raises(AssertionError, match="divisible"):
        tg.nn.MultiheadAttention(6, 4)
    with pytest.raises(ValueError, match="greater than 0"):
        tg.nn.MultiheadAttention(0, 1)
    mha = tg.nn.MultiheadAttention(4, 2, seed=0)
    x = np.zeros((3, 2, 4), dtype=np.float32)
    with pytest.raises(AssertionError, match="embedding dimension of 4, but got 5"):
        mha(np.zeros((3, 2, 5)), x, x)
    with pytest.raises(AssertionError, match="3-D but found"):
        mha(x, x[0], x)
    with pytest.raises(RuntimeError, match="2D attn_mask"):
        mha(x, x, x, attn_mask=np.zeros((3, 2)))
    with pytest.raises(RuntimeError, match="3D attn_mask"):
        mha(x, x, x, attn_mask=np.zeros((3, 3, 3)))
    with pytest.raises(AssertionError, match="key_padding_mask"):
        mha(x, x, x, key_padding_mask=np.zeros((2, 4), dtype=bool))
    with pytest.raises(AssertionError, match="only bool and floating"):
        mha(x, x, x, attn_mask=np.zeros((3, 3), dtype=np.int64))
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        mha(x, x, x, is_causal=True)
    with pytest.raises(TypeError, match="dtype"):
        mha(tg.Tensor(x.astype(np.float64)), x, x)


def test_a_drawing_names_the_parts_of_attention():
    from tinygrad_seq import viz

    mha = tg.nn.MultiheadAttention(4, 2, seed=0)
    x = np.ones((3, 1, 4), dtype=np.float32)
    out, _ = mha(x, x, x)
    source = viz.draw_graph(out.sum(), max_nodes=None).source
    for name in ["query", "key", "value", "scores", "attention weights", "context"]:
        assert f"<B>{name}</B>" in source, name
    for name in ["queries", "keys", "values", "W_q", "b_v", "attention output"]:
        assert f"<B>{name}</B>" in source, name
    for cluster in ["multihead attention", "head 0", "head 1"]:
        assert f"label=<{cluster}>" in source or f'label="{cluster}"' in source, cluster
    assert source.count("subgraph cluster") == 3
    assert out.grad_fn is not None and mha.in_proj_weight.name == "in_proj_weight"
