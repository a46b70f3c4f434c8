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
from tinygrad_seq.testing import arrays, gradcheck

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
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(tg.Tensor(x), approximate="erf")
