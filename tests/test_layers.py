"""Layers: Linear, Embedding, Dropout, activations, Identity, Sequential; initialisers."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_seq as tg
import tinygrad_seq.nn.functional as F
from tinygrad_seq import nn
from tinygrad_seq.testing import arrays, gradcheck

# --- Linear ---------------------------------------------------------------------------------------


@given(
    lead=st.lists(st.integers(1, 3), max_size=3),
    sizes=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    bias=st.booleans(),
)
def test_linear_shapes_on_any_leading_dims(lead, sizes, bias):
    n_in, n_out = sizes
    layer = nn.Linear(n_in, n_out, bias=bias, seed=0)
    x = np.random.default_rng(0).standard_normal((*lead, n_in)).astype(np.float32)
    y = layer(tg.Tensor(x))
    assert y.shape == (*lead, n_out) and y.dtype == np.float32
    expected = x @ layer.weight.numpy().T + (layer.bias.numpy() if bias else 0)
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-5, atol=1e-6)


@given(data=st.data())
def test_linear_gradcheck(data):
    n_in, n_out = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    lead = tuple(data.draw(st.lists(st.integers(1, 3), max_size=2)))
    x = data.draw(arrays((*lead, n_in)))
    w, b = data.draw(arrays((n_out, n_in))), data.draw(arrays((n_out,)))
    assert gradcheck(lambda x, w, b: F.linear(x, w, b), x, w, b)
    assert gradcheck(lambda x, w: F.linear(x, w), x, w)


def test_linear_init_is_pytorchs_uniform_bound():
    layer = nn.Linear(16, 200, seed=0)
    bound = 1 / math.sqrt(16)
    for p in (layer.weight, layer.bias):
        assert p.dtype == np.float32
        assert np.all(np.abs(p.numpy()) <= bound)
        assert np.abs(p.numpy()).max() > 0.9 * bound  # uses the range, not a narrower one
    assert layer.weight.shape == (200, 16) and layer.bias.shape == (200,)


def test_linear_seed_reproduces_and_dtype_is_honoured():
    a, b = nn.Linear(3, 4, seed=7), nn.Linear(3, 4, seed=7)
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    assert not np.array_equal(a.weight.numpy(), nn.Linear(3, 4, seed=8).weight.numpy())
    d = nn.Linear(3, 4, dtype=np.float64, seed=7)
    assert d.weight.dtype == np.float64
    np.testing.assert_array_equal(d.weight.numpy().astype(np.float32), a.weight.numpy())
    rng = np.random.default_rng(0)
    nn.Linear(3, 4, seed=rng)  # a Generator is accepted and advanced
    assert nn.Linear(3, 4, bias=False).bias is None


def test_linear_errors_name_expected_and_actual_sizes():
    layer = nn.Linear(4, 3)
    with pytest.raises(ValueError, match=r"Linear\(in_features=4.*expected input with 4 .*got 5"):
        layer(tg.Tensor(np.zeros((2, 5), dtype=np.float32)))
    with pytest.raises(ValueError, match="0-d"):
        layer(tg.Tensor(np.float32(1.0)))
    assert layer(np.zeros((2, 4))).dtype == np.float32  # float64 data is cast
    with pytest.raises(TypeError, match=r"Linear.*input dtype float64.*weight.*float32"):
        layer(tg.Tensor(np.zeros((2, 4))))  # a float64 tensor is refused, as in PyTorch
    with pytest.raises(TypeError, match="floating-point"):
        layer(tg.Tensor(np.zeros((2, 4), dtype=np.int64)))
    with pytest.raises(ValueError, match="in_features must be a non-negative int"):
        nn.Linear(-1, 3)
    with pytest.raises(ValueError, match="weight must be 2-D"):
        F.linear(tg.ones(3), tg.ones(3))


def test_linear_accepts_ndarray_input():
    layer = nn.Linear(2, 1, dtype=np.float64, seed=0)
    assert layer(np.ones((3, 2))).shape == (3, 1)


def test_linear_matches_pytorch_forward_and_gradients():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    layer = nn.Linear(4, 3, dtype=np.float64, seed=0)
    t_layer = torch.nn.Linear(4, 3).double()
    with torch.no_grad():
        t_layer.weight.copy_(torch.from_numpy(layer.weight.numpy()))
        t_layer.bias.copy_(torch.from_numpy(layer.bias.numpy()))
    x = rng.standard_normal((2, 5, 4))
    g = rng.standard_normal((2, 5, 3))
    xt = tg.Tensor(x, requires_grad=True)
    layer(xt).backward(g)
    x_t = torch.from_numpy(x).requires_grad_()
    out_t = t_layer(x_t)
    out_t.backward(torch.from_numpy(g))
    np.testing.assert_allclose(layer(xt).numpy(), out_t.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(xt.grad, x_t.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.weight.grad, t_layer.weight.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, t_layer.bias.grad.numpy(), rtol=1e-12)


# --- Embedding ------------------------------------------------------------------------------------


@given(shape=st.lists(st.integers(1, 3), max_size=3), data=st.data())
def test_embedding_shapes_for_any_index_shape(shape, data):
    emb = nn.Embedding(6, 2, seed=0)
    size = int(np.prod(shape))
    idx = np.asarray(data.draw(st.lists(st.integers(0, 5), min_size=size, max_size=size)))
    idx = idx.reshape(shape)
    out = emb(idx)
    assert out.shape == (*shape, 2) and out.dtype == np.float32
    np.testing.assert_array_equal(out.numpy(), emb.weight.numpy()[idx])
    np.testing.assert_array_equal(emb(tg.Tensor(idx)).numpy(), out.numpy())  # integer Tensor input


def test_embedding_gradcheck_with_repeated_indices():
    weight = np.random.default_rng(0).standard_normal((4, 3))
    idx = np.array([[0, 2, 0], [0, 3, 2]])  # 0 three times, 2 twice, 1 never
    assert gradcheck(lambda w: F.embedding(idx, w), weight)


def test_embedding_backward_adds_repeated_rows():
    emb = nn.Embedding(4, 2, dtype=np.float64, seed=0)
    emb(np.array([1, 1, 3, 1])).sum().backward()
    np.testing.assert_array_equal(emb.weight.grad[:, 0], [0.0, 3.0, 0.0, 1.0])


def test_embedding_init_is_standard_normal_and_seeded():
    emb = nn.Embedding(1000, 50, seed=0)
    assert abs(emb.weight.numpy().mean()) < 0.01 and abs(emb.weight.numpy().std() - 1) < 0.01
    np.testing.assert_array_equal(emb.weight.numpy(), nn.Embedding(1000, 50, seed=0).weight.numpy())


def test_embedding_errors():
    emb = nn.Embedding(10, 4)
    with pytest.raises(IndexError, match=r"Embedding\(10, 4\): index 12 .*num_embeddings=10"):
        emb(np.array([[1, 12], [3, 4]]))
    with pytest.raises(IndexError, match="index -1"):
        emb(np.array([-1]))
    with pytest.raises(TypeError, match="indices must be integers, got dtype float"):
        emb(np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match="indices must be integers"):
        emb(tg.Tensor([1.0]))
    with pytest.raises(ValueError, match="num_embeddings must be a positive int"):
        nn.Embedding(0, 3)


def test_embedding_matches_pytorch_forward_and_gradients():
    torch = pytest.importorskip("torch")
    emb = nn.Embedding(5, 3, dtype=np.float64, seed=0)
    t_emb = torch.nn.Embedding(5, 3).double()
    with torch.no_grad():
        t_emb.weight.copy_(torch.from_numpy(emb.weight.numpy()))
    idx = np.array([[4, 0, 4], [1, 4, 0]])
    g = np.random.default_rng(1).standard_normal((2, 3, 3))
    out = emb(idx)
    out.backward(g)
    out_t = t_emb(torch.from_numpy(idx))
    out_t.backward(torch.from_numpy(g))
    np.testing.assert_array_equal(out.numpy(), out_t.detach().numpy())
    np.testing.assert_allclose(emb.weight.grad, t_emb.weight.grad.numpy(), rtol=1e-12)


# --- Dropout --------------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [-0.1, 1.5, "0.5", True, None])
def test_dropout_validates_p(p):
    with pytest.raises(ValueError, match="probability"):
        nn.Dropout(p)
    with pytest.raises(ValueError, match="probability"):
        F.dropout(tg.ones(2), p)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_scales_the_kept_elements(p):
    x = tg.Tensor(np.ones(20000, dtype=np.float32), requires_grad=True)
    y = nn.Dropout(p, seed=0)(x)
    assert y.dtype == np.float32
    kept = y.numpy() != 0
    np.testing.assert_allclose(y.numpy()[kept], 1 / (1 - p), rtol=1e-6)
    assert abs((~kept).mean() - p) < 0.02
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, y.numpy())  # the gradient is the same scaled mask


def test_dropout_is_the_identity_in_eval_and_for_p_zero():
    x = tg.Tensor(np.arange(5.0))
    drop = nn.Dropout(0.5, seed=0)
    assert drop.eval()(x) is x
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    np.testing.assert_array_equal(F.dropout(x, 1.0).numpy(), np.zeros(5))


def test_dropout_seed_reproduces_and_masks_differ_between_calls():
    x = tg.ones(100)
    a, b = nn.Dropout(0.5, seed=3), nn.Dropout(0.5, seed=3)
    first = a(x).numpy()
    np.testing.assert_array_equal(first, b(x).numpy())
    assert not np.array_equal(first, a(x).numpy())
    np.testing.assert_array_equal(
        F.dropout(x, 0.5, rng=np.random.default_rng(9)).numpy(),
        F.dropout(x, 0.5, rng=9).numpy(),
    )


def test_dropout_repr():
    assert repr(nn.Dropout(0.25)) == "Dropout(p=0.25, inplace=False)"  # as torch prints it


# --- activations, Identity, Sequential ---------------------------------------------------------


def test_activation_modules():
    x = tg.Tensor(np.array([-1.0, 0.0, 2.0]))
    np.testing.assert_allclose(nn.Tanh()(x).numpy(), np.tanh(x.numpy()))
    np.testing.assert_allclose(nn.Sigmoid()(x).numpy(), 1 / (1 + np.exp(-x.numpy())))
    np.testing.assert_array_equal(nn.ReLU()(x).numpy(), [0.0, 0.0, 2.0])
    assert nn.Identity()(x) is x


def test_sequential_indexing_iteration_and_names():
    layers = [nn.Linear(2, 3, seed=0), nn.Tanh(), nn.Linear(3, 1, seed=1)]
    seq = nn.Sequential(*layers)
    assert len(seq) == 3 and list(seq) == layers
    assert seq[0] is layers[0] and seq[-1] is layers[2]
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    tail = seq[1:]
    assert list(tail._modules) == ["1", "2"] and tail[0] is layers[1]
    with pytest.raises(IndexError, match="index 3 is out of range for 3"):
        seq[3]
    seq.append(nn.Sigmoid())
    assert list(seq._modules) == ["0", "1", "2", "3"]
    with pytest.raises(TypeError, match="not a Module"):
        nn.Sequential(nn.Tanh(), lambda x: x)


def test_sequential_from_a_dict_and_forward():
    seq = nn.Sequential({"fc": nn.Linear(2, 2, dtype=np.float64, seed=0), "act": nn.ReLU()})
    assert [n for n, _ in seq.named_parameters()] == ["fc.weight", "fc.bias"]
    x = np.array([[1.0, -1.0]])
    expected = np.maximum(x @ seq.fc.weight.numpy().T + seq.fc.bias.numpy(), 0)
    np.testing.assert_allclose(seq(tg.Tensor(x)).numpy(), expected)


# --- init -----------------------------------------------------------------------------------------


def test_init_functions_fill_in_place_and_return_the_tensor():
    p = nn.Parameter(np.zeros((50, 40), dtype=np.float32))
    array = p.numpy()
    assert nn.init.uniform_(p, -0.5, 0.25, np.random.default_rng(0)) is p
    assert p.numpy() is array and p.dtype == np.float32
    assert p.numpy().min() >= -0.5 and p.numpy().max() < 0.25
    nn.init.normal_(p, 1.0, 0.1, 0)
    assert abs(p.numpy().mean() - 1.0) < 0.01
    nn.init.zeros_(p)
    assert not p.numpy().any()
    nn.init.ones_(p)
    assert (p.numpy() == 1).all()
    nn.init.constant_(p, 0.5)
    assert (p.numpy() == 0.5).all()


def test_init_is_reproducible_across_dtypes():
    a = nn.init.uniform_(np.zeros(5, dtype=np.float32), -1, 1, 3)
    b = nn.init.uniform_(np.zeros(5), -1, 1, 3)
    np.testing.assert_array_equal(a, b.astype(np.float32))


def test_init_errors():
    with pytest.raises(TypeError, match="floating-point"):
        nn.init.uniform_(np.zeros(3, dtype=np.int64), 0, 1, 0)
    with pytest.raises(ValueError, match="a must be <= b"):
        nn.init.uniform_(np.zeros(3), 1, 0, 0)
    with pytest.raises(TypeError, match="seed must be"):
        nn.init.default_rng(1.5)
    rng = np.random.default_rng(0)
    assert nn.init.default_rng(rng) is rng
