"""The Tensor API: construction and dtypes, methods, functions over tensors, clear errors."""

import numpy as np
import pytest

import tinygrad_seq as tg


def leaf(array):
    return tg.Tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


# --- construction and dtypes (as PyTorch) -------------------------------------------------------


@pytest.mark.parametrize(
    "data, dtype",
    [
        (np.zeros(3, np.float64), np.float64),
        (np.zeros(3, np.float32), np.float32),
        (1.5, np.float32),
        ([1.0, 2.0], np.float32),
        ([[1, 2]], np.float32),  # as torch.Tensor([[1, 2]]); tg.tensor gives int64
        (np.arange(3, dtype=np.int32), np.int32),
        (True, np.bool_),
        (np.float64(2.0), np.float64),
    ],
)
def test_dtype_rules(data, dtype):
    assert tg.Tensor(data).dtype == dtype


def test_explicit_dtype():
    assert tg.Tensor([1, 2], dtype=np.float64).dtype == np.float64


def test_attributes():
    t = tg.Tensor(np.zeros((2, 3), np.float32), requires_grad=True)
    assert (t.shape, t.ndim, t.size(), t.numel(), t.dtype) == ((2, 3), 2, (2, 3), 6, np.float32)
    assert t.grad is None and t.requires_grad and t.is_leaf
    assert isinstance(t.numpy(), np.ndarray) and t.numpy() is t._data
    assert tg.Tensor([[3.5]]).item() == 3.5
    assert len(t) == 2 and [row.shape for row in t] == [(3,), (3,)]


def test_repr_is_readable():
    text = repr(tg.Tensor(np.ones(2), requires_grad=True) * 2)
    assert text.startswith("Tensor([2., 2.]") and "float64" in text and "grad_fn=mul" in text


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(TypeError, match="floating-point.*int64"):
        tg.tensor([1, 2], requires_grad=True)
    t = tg.tensor([1, 2])
    with pytest.raises(TypeError, match="int64"):
        t.requires_grad = True


@pytest.mark.parametrize("data", [["a", "b"], {"x": 1}, [[1.0], [2.0, 3.0]], None])
def test_non_numeric_data_is_refused(data):
    with pytest.raises(TypeError, match="Tensor"):
        tg.Tensor(data)


def test_item_needs_one_element():
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        tg.Tensor([1.0, 2.0]).item()


# --- no silent float64 upcast --------------------------------------------------------------------


def test_float32_work_stays_float32():
    rng = np.random.default_rng(0)
    x = tg.Tensor(rng.standard_normal((4, 3)).astype(np.float32), requires_grad=True)
    w = tg.Tensor(rng.standard_normal((3, 5)).astype(np.float32), requires_grad=True)
    steps = [
        lambda x, w: x @ w,
        lambda x, w: (x @ w).tanh() * 2.5 + 1,
        lambda x, w: 1.5 / (x.abs() + 1) - 0.5,
        lambda x, w: (x**2).sqrt().log().exp().sigmoid().relu(),
        lambda x, w: x.mean(0) + x.amax(1, keepdims=True).sum() - x.min(),
        lambda x, w: x.log_softmax(1) + x.softmax(axis=0),
        lambda x, w: tg.where(x.numpy() > 0, x, 0.5).clip(-1.0, 1.0),
        lambda x, w: tg.concat(tg.split(x, 1, axis=1), axis=1)[0] + tg.stack([x, x]).sum(0),
        lambda x, w: 2.0**x - x.logsumexp(),
    ]
    for i, fn in enumerate(steps):
        out = fn(x, w)
        assert out.dtype == np.float32, f"step {i} upcast to {out.dtype}"
        out.sum().backward()
        assert x.grad.dtype == np.float32 and w.grad is None or w.grad.dtype == np.float32
        x.grad = w.grad = None


# --- methods and functions ----------------------------------------------------------------------


def test_scalars_on_either_side():
    x = leaf([2.0, 4.0])
    np.testing.assert_allclose((1 + x).numpy(), [3, 5])
    np.testing.assert_allclose((1 - x).numpy(), [-1, -3])
    np.testing.assert_allclose((3 * x).numpy(), [6, 12])
    np.testing.assert_allclose((8 / x).numpy(), [4, 2])
    np.testing.assert_allclose((x / 2).numpy(), [1, 2])
    np.testing.assert_allclose((x**2).numpy(), [4, 16])
    np.testing.assert_allclose((2**x).numpy(), [4, 16])
    np.testing.assert_allclose((np.ones(2) + x).numpy(), [3, 5])  # ndarray on the left defers


def test_axis_and_dim_aliases():
    x = tg.Tensor(np.arange(6.0).reshape(2, 3))
    assert x.sum(dim=1).shape == (2,)
    assert x.sum(axis=(0, 1), keepdims=True).shape == (1, 1)
    assert x.mean(dim=0, keepdim=True).shape == (1, 3)
    assert x.max(dim=-1).values.tolist() == x.amax(axis=-1).tolist() == [2.0, 5.0]
    np.testing.assert_allclose(x.mean().item(), 2.5)
    assert tg.concat([x, x], dim=1).shape == (2, 6)
    with pytest.raises(TypeError, match="both axis"):
        x.sum(axis=0, dim=1)


def test_reshape_transpose_views():
    x = tg.Tensor(np.arange(24.0).reshape(2, 3, 4))
    assert x.reshape(6, 4).shape == x.reshape((6, 4)).shape == (6, 4)
    assert x.permute(2, 1, 0).shape == x.T.shape == (4, 3, 2)
    assert x.permute(1, 0, 2).shape == x.transpose(0, 1).shape == (3, 2, 4)
    assert x.swapaxes(0, 2).shape == (4, 3, 2)
    assert x.unsqueeze(0).shape == (1, 2, 3, 4) and x[:1].squeeze(0).shape == (3, 4)


def test_split_and_chunk_like_torch():
    x = tg.Tensor(np.arange(10.0))
    assert [p.shape[0] for p in tg.split(x, 4)] == [4, 4, 2]
    assert [p.shape[0] for p in tg.split(x, [3, 7])] == [3, 7]
    assert [p.shape[0] for p in x.chunk(3)] == [4, 4, 2]
    gates = tg.Tensor(np.zeros((2, 8)))
    assert all(np.shares_memory(g.numpy(), gates.numpy()) for g in tg.chunk(gates, 4, axis=1))
    with pytest.raises(ValueError, match="sum to 9"):
        tg.split(x, [4, 5])


def test_split_gradient_reassembles():
    x = leaf(np.arange(8.0).reshape(2, 4))
    a, b = tg.chunk(x, 2, dim=1)
    (a * 2 + b * 3).sum().backward()
    np.testing.assert_allclose(x.grad, [[2, 2, 3, 3], [2, 2, 3, 3]])


def test_where_with_tensor_condition():
    x = leaf([-1.0, 2.0])
    y = tg.where(x > 0, x, x * 0.1)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [0.1, 1.0])


def test_indexing_with_integer_tensor():
    w = leaf(np.arange(6.0).reshape(3, 2))
    idx = tg.Tensor(np.array([[2, 2], [0, 1]]))
    out = w[idx]
    assert out.shape == (2, 2, 2)
    out.sum().backward()
    np.testing.assert_allclose(w.grad, [[1, 1], [1, 1], [2, 2]])


def test_user_defined_primitive():
    softplus = tg.ops.primitive(
        "softplus_test",
        lambda x: np.logaddexp(0, x),
        lambda g, out, x: g / (1 + np.exp(-x)),
    )
    from tinygrad_seq.testing import gradcheck

    assert gradcheck(lambda x: tg.apply(softplus, x), np.linspace(-2, 2, 5))


def test_builtin_primitive_names_are_protected():
    with pytest.raises(ValueError, match="built in"):
        tg.ops.primitive("tanh", np.tanh, lambda g, out, x: g)


# --- clear errors -------------------------------------------------------------------------------


def test_mismatched_shapes_name_op_and_shapes():
    with pytest.raises(ValueError, match=r"add.*\(2, 3\).*\(4,\)"):
        tg.Tensor(np.ones((2, 3))) + tg.Tensor(np.ones(4))


def test_matmul_mismatch_message():
    with pytest.raises(ValueError, match=r"matmul.*\(4, 3\) @ \(5, 2\).*\(3\).*\(5\)"):
        tg.Tensor(np.ones((4, 3))) @ tg.Tensor(np.ones((5, 2)))


def test_bad_index_message():
    with pytest.raises(IndexError, match=r"getitem.*\(3,\).*index 5"):
        tg.Tensor(np.ones(3))[5]


def test_bad_reshape_message():
    with pytest.raises(ValueError, match=r"reshape.*\(2, 3\).*shape=\(4,\)"):
        tg.Tensor(np.ones((2, 3))).reshape(4)


def test_a_number_to_a_tensor_power_as_pytorch():
    # exp(y log(base)) gave NaN for a negative base and for 0 ** 0
    np.testing.assert_array_equal(((-2.0) ** tg.Tensor([2.0, 3.0])).numpy(), [4.0, -8.0])
    np.testing.assert_array_equal((0.0 ** tg.Tensor([0.0, 2.0])).numpy(), [1.0, 0.0])
    assert (2.0 ** tg.Tensor([3.0])).dtype == np.float32


def test_the_gradient_of_x_to_the_zero_is_zero_at_zero():
    x = tg.Tensor(np.array([0.0, 2.0]), requires_grad=True)
    (x**0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])


def test_tensor_to_a_tensor_power_differentiates_both_as_pytorch():
    torch = pytest.importorskip("torch")
    base = np.array([0.0, 0.0, 0.0, 2.0, -2.0, -2.0, 1.5, 0.0])
    exponent = np.array([0.0, 2.0, -1.0, 0.0, 2.0, 0.5, -1.5, 0.5])
    x, y = tg.Tensor(base, requires_grad=True), tg.Tensor(exponent, requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):  # 0 ** -1, (-2) ** 0.5: as NumPy
        out = x**y
    out.backward(np.ones(8))
    xt = torch.tensor(base, requires_grad=True)
    yt = torch.tensor(exponent, requires_grad=True)
    out_t = xt**yt
    out_t.sum().backward()
    np.testing.assert_allclose(out.numpy(), out_t.detach().numpy(), rtol=1e-15)
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-15)
    np.testing.assert_allclose(y.grad, yt.grad.numpy(), rtol=1e-15)
    # a number base: only the exponent takes a gradient (log of a negative base is NaN)
    y = tg.Tensor(np.array([0.0, -1.0, 2.0]), requires_grad=True)
    with np.errstate(divide="ignore"):
        (0.0**y).sum().backward()
    yt = torch.tensor([0.0, -1.0, 2.0], requires_grad=True)
    (0.0**yt).sum().backward()
    np.testing.assert_array_equal(y.grad, yt.grad.numpy())


def test_a_non_numeric_exponent_is_a_type_error():
    with pytest.raises(TypeError, match=r"\*\*"):
        tg.Tensor([2.0]) ** "2"


@pytest.mark.parametrize(
    ("tensor_dtype", "scalar", "expected"),
    [
        (np.float32, 2.0, np.float32),
        (np.float32, np.float64(2.0), np.float32),  # NumPy scalars are weak too, as in PyTorch
        (np.float32, np.array(2.0), np.float32),  # 0-d: does not widen a float tensor (0-d tensor)
        (np.float16, np.float64(2.0), np.float16),
        (np.float64, np.float32(2.0), np.float64),
        (np.int64, 2.5, np.float32),  # an integer tensor with a float scalar: the default float
        (np.int64, np.float64(2.5), np.float32),
        (np.int32, 2.5, np.float32),
        (np.int64, np.array(2.5), np.float64),  # a 0-d array keeps its dtype (PyTorch's 0-d rule)
        (np.int32, 2, np.int32),
        (np.int32, np.int64(2), np.int32),
        (np.bool_, 2, np.int64),
        (np.bool_, True, np.bool_),
    ],
)
def test_scalars_promote_as_in_pytorch(tensor_dtype, scalar, expected):
    t = tg.Tensor(np.ones(3, dtype=tensor_dtype))
    subtract = scalar - t if tensor_dtype is not np.bool_ else t * scalar  # bool - bool: refused
    for result in (t * scalar, scalar * t, t + scalar, subtract):
        assert result.dtype == expected, (tensor_dtype, type(scalar), result.dtype)
    if np.dtype(tensor_dtype).kind == "f":
        assert (t / scalar).dtype == expected and (t**scalar).dtype == expected


def test_an_array_with_axes_promotes_as_a_tensor():
    t = tg.Tensor(np.ones(3, dtype=np.float32))
    assert (t * np.ones(3)).dtype == np.float64  # as PyTorch: a float64 array is not a scalar


def test_a_numpy_scalar_keeps_float32_gradients():
    x = tg.Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    y = x * np.float64(0.5) + np.float64(1.0)
    y.sum().backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32


def test_split_and_chunk_along_a_zero_length_axis_as_pytorch():
    x = tg.Tensor(np.zeros((0, 3), dtype=np.float32))
    assert [p.shape for p in x.split(2)] == [(0, 3)]  # one empty piece, not none
    assert [p.shape for p in x.split(0)] == [(0, 3)]
    assert [p.shape for p in x.split([0])] == [(0, 3)]
    assert [p.shape for p in x.chunk(2)] == [(0, 3), (0, 3)]
    assert [p.shape for p in tg.Tensor(np.zeros((3, 0))).split(2, axis=1)] == [(3, 0)]
    with pytest.raises(ValueError, match="split size"):
        tg.Tensor(np.zeros(4)).split(0)


@pytest.mark.parametrize(
    ("method", "axis", "allowed"),
    [("squeeze", 2, "-2 <= axis < 2"), ("squeeze", -3, "-2 <= axis < 2"), ("unsqueeze", 3, "-3")],
)
def test_squeeze_and_unsqueeze_name_an_axis_out_of_range(method, axis, allowed):
    x = tg.Tensor(np.zeros((2, 1), dtype=np.float32))
    with pytest.raises(IndexError, match=rf"{method}: axis {axis} .*\(2, 1\).*{allowed}"):
        getattr(x, method)(axis)


def test_squeeze_and_unsqueeze_axes_as_pytorch():
    x = tg.Tensor(np.zeros((2, 1), dtype=np.float32))
    assert x.squeeze(0).shape == (2, 1)  # an axis that is not of size 1 stays, as in PyTorch
    assert x.squeeze(-1).shape == x.squeeze().shape == (2,)
    assert x.squeeze((0, 1)).shape == (2,)
    assert x.unsqueeze(2).shape == (2, 1, 1) and x.unsqueeze(-3).shape == (1, 2, 1)
    scalar = tg.Tensor(np.float32(1.0))
    assert scalar.squeeze(0).shape == () and scalar.unsqueeze(-1).shape == (1,)


def test_a_python_float_keeps_its_float64_digits_next_to_a_float64_tensor():
    x = tg.Tensor(np.array([3.0]))
    assert (x * (1 / 3)).item() == 1.0  # not 1 / 3 rounded to float32 first
    assert (x * np.float64(1 / 3)).item() == 1.0
