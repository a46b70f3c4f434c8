"""PyTorch code ports by changing the import: each habit of a PyTorch user, checked against torch.

Where PyTorch and NumPy both have a concept, the Tensor does what PyTorch does; NumPy arrays stay
accepted wherever a tensor is.
"""

import numpy as np
import pytest

import tinygrad_seq as tg

torch = pytest.importorskip("torch")


def both(array, requires_grad=False):
    """The same values as (ours, theirs)."""
    array = np.asarray(array)
    ours = tg.Tensor(array.copy(), requires_grad=requires_grad)
    theirs = torch.tensor(array.copy(), requires_grad=requires_grad)
    return ours, theirs


def same(ours, theirs, **tol):
    """Equal values, shape and dtype (of tensors, or of lists/tuples of them)."""
    if isinstance(theirs, (tuple, list)):
        assert len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            same(o, t, **tol)
        return
    assert isinstance(ours, tg.Tensor), type(ours)
    expected = theirs.detach().numpy()
    assert ours.shape == expected.shape and ours.dtype == expected.dtype, (ours, theirs)
    np.testing.assert_allclose(ours.numpy(), expected, **tol)


# --- 1. .grad is a Tensor -------------------------------------------------------------------------


def test_grad_is_a_tensor_after_backward():
    values = np.array([[1.0, -2.0], [0.5, 3.0]])
    x, tx = both(values, requires_grad=True)
    (x * x).sum().backward()
    (tx * tx).sum().backward()
    assert isinstance(x.grad, tg.Tensor) and not x.grad.requires_grad
    same(x.grad, tx.grad)
    assert x.grad.shape == tuple(tx.grad.shape)
    assert isinstance(x.grad.numpy(), np.ndarray)
    assert np.allclose(x.grad, tx.grad.numpy())  # NumPy takes it through __array__
    same(x.grad + 1, tx.grad + 1)
    same(x.grad[1], tx.grad[1])


def test_grad_accumulates_over_backwards_as_a_tensor():
    x, tx = both(np.array([1.0, 2.0]), requires_grad=True)
    for _ in range(2):
        (x * 3).sum().backward()
        (tx * 3).sum().backward()
    same(x.grad, tx.grad)


def test_assigning_an_array_to_grad_wraps_it():
    w = tg.nn.Parameter(np.zeros(2))
    array = np.array([3.0, 4.0])
    w.grad = array
    assert isinstance(w.grad, tg.Tensor) and w.grad.numpy() is array  # shared, not copied
    w.grad = tg.Tensor(np.ones(2))
    assert w.grad.tolist() == [1.0, 1.0]
    w.grad = None
    assert w.grad is None


def test_assigning_a_grad_of_another_shape_is_refused():
    w, tw = both(np.zeros(2), requires_grad=True)
    with pytest.raises(RuntimeError):
        tw.grad = torch.zeros(3, dtype=torch.float64)
    with pytest.raises(RuntimeError, match=r"grad has shape \(3,\).*shape \(2,\)"):
        w.grad = np.zeros(3)


def test_optimizers_and_clipping_take_tensor_grads():
    w = tg.nn.Parameter(np.array([1.0, 2.0]))
    tw = torch.nn.Parameter(torch.tensor([1.0, 2.0], dtype=torch.float64))
    opt, topt = tg.optim.Adam([w], lr=0.1), torch.optim.Adam([tw], lr=0.1)
    for _ in range(3):
        for p, o in ((w, opt), (tw, topt)):
            o.zero_grad()
            (p * p * p).sum().backward()
        tg.nn.utils.clip_grad_norm_([w], 1.0)
        torch.nn.utils.clip_grad_norm_([tw], 1.0)
        same(w.grad, tw.grad)
        opt.step()
        topt.step()
    same(w, tw)


# --- 2. making tensors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [[1.0, 2.0], [[1, 2], [3, 4]], 3.5, 7, True, np.arange(3.0), np.arange(4, dtype=np.int32)],
)
def test_tensor_copies_with_torchs_dtypes(data):
    ours, theirs = tg.tensor(data), torch.tensor(data)
    same(ours, theirs)
    if isinstance(data, np.ndarray):
        assert ours.numpy() is not data and not np.shares_memory(ours.numpy(), data)


def test_tensor_takes_dtype_and_requires_grad():
    ours = tg.tensor([1, 2], dtype=tg.float64, requires_grad=True)
    theirs = torch.tensor([1, 2], dtype=torch.float64, requires_grad=True)
    same(ours, theirs)
    assert ours.requires_grad and ours.is_leaf
    with pytest.raises(TypeError, match="floating-point"):
        tg.tensor([1, 2], requires_grad=True)


def test_from_numpy_shares():
    array = np.zeros(3)
    t = tg.from_numpy(array)
    array[0] = 5
    assert t.tolist() == torch.from_numpy(array).tolist() == [5.0, 0.0, 0.0]
    with pytest.raises(TypeError, match="np.ndarray"):
        tg.from_numpy([1.0])


@pytest.mark.parametrize("name", ["zeros", "ones", "empty"])
@pytest.mark.parametrize("args", [(2, 3), ((2, 3),), ([4],), (0,)])
def test_filled_shapes_as_varargs_or_a_tuple(name, args):
    ours, theirs = getattr(tg, name)(*args), getattr(torch, name)(*args)
    assert ours.shape == tuple(theirs.shape) and ours.dtype == theirs.numpy().dtype
    if name != "empty":
        same(ours, theirs)
        same(getattr(tg, name)(2, dtype=tg.int64), getattr(torch, name)(2, dtype=torch.int64))


@pytest.mark.parametrize("fill", [7, 0.5, True])
def test_full_takes_its_dtype_from_the_value(fill):
    same(tg.full((2, 3), fill), torch.full((2, 3), fill))
    same(tg.full_like(tg.zeros(2), fill), torch.full_like(torch.zeros(2), fill))


@pytest.mark.parametrize("args", [(5,), (1, 4), (0, 1, 0.25), (2.0, 5), (5, 0, -1), (0, 10, 3)])
def test_arange(args):
    same(tg.arange(*args), torch.arange(*args))


def test_linspace_eye_and_likes():
    same(tg.linspace(-1, 1, 5), torch.linspace(-1, 1, 5))
    same(tg.linspace(0, 1, 1), torch.linspace(0, 1, 1))
    same(tg.eye(3), torch.eye(3))
    same(tg.eye(2, 4), torch.eye(2, 4))
    x = np.ones((2, 3), dtype=np.float64)
    for name in ("zeros_like", "ones_like"):
        same(getattr(tg, name)(tg.Tensor(x)), getattr(torch, name)(torch.tensor(x)))
        same(getattr(tg, name)(x), getattr(torch, name)(torch.tensor(x)))  # arrays too
        same(
            getattr(tg, name)(tg.Tensor(x), dtype=tg.int64),
            getattr(torch, name)(torch.tensor(x), dtype=torch.int64),
        )


@pytest.mark.parametrize("name", ["rand", "randn"])
def test_random_shapes_and_dtypes(name):
    for args in ((2, 3), ((2, 3),), (4,)):
        ours, theirs = getattr(tg, name)(*args), getattr(torch, name)(*args)
        assert ours.shape == tuple(theirs.shape) and ours.dtype == theirs.numpy().dtype
    big = getattr(tg, name)(10_000).numpy()
    assert abs(big.mean() - (0.5 if name == "rand" else 0.0)) < 0.05
    assert getattr(tg, name)(2, dtype=tg.float64).dtype == tg.float64


def test_randint_as_torch_calls_it():
    for args in ((10, (3,)), (3, 10, (2, 2))):
        ours, theirs = tg.randint(*args), torch.randint(*args)
        assert ours.shape == tuple(theirs.shape) and ours.dtype == theirs.numpy().dtype
    values = tg.randint(3, 5, (1000,)).numpy()
    assert set(values.tolist()) == {3, 4}


def test_manual_seed_makes_a_script_reproducible():
    def script():
        layer = tg.nn.Linear(3, 2)
        drop = tg.nn.Dropout(0.5)
        x = tg.randn(4, 3)
        lstm, emb = tg.nn.LSTM(2, 3), tg.nn.Embedding(5, 2)
        drawn = [layer.weight, drop(layer(x)), lstm.weight_hh_l0, emb.weight, tg.rand(2)]
        drawn += [tg.randint(0, 9, (3,)), tg.nn.functional.dropout(tg.ones(8))]
        return np.concatenate([t.numpy().ravel() for t in drawn])

    tg.manual_seed(0)
    first = script()
    tg.manual_seed(0)
    np.testing.assert_array_equal(script(), first)
    tg.manual_seed(1)
    assert not np.array_equal(script(), first)
    drop = tg.nn.Dropout(0.5)  # made before the seed: its masks still follow manual_seed
    tg.manual_seed(2)
    mask = drop(tg.ones(50)).numpy()
    tg.manual_seed(2)
    np.testing.assert_array_equal(drop(tg.ones(50)).numpy(), mask)


def test_an_explicit_generator_or_seed_is_not_the_global_one():
    tg.manual_seed(0)
    a = tg.randn(3, generator=np.random.default_rng(5)).numpy()
    b = tg.randn(3, generator=np.random.default_rng(5)).numpy()
    np.testing.assert_array_equal(a, b)
    w1, w2 = tg.nn.Linear(2, 2, seed=3).weight, tg.nn.Linear(2, 2, seed=3).weight
    np.testing.assert_array_equal(w1.numpy(), w2.numpy())


# --- 3. dtypes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]
)
def test_dtype_names_compare_equal_to_tensor_dtypes(name):
    ours, theirs = getattr(tg, name), getattr(torch, name)
    assert tg.zeros(2, dtype=ours).dtype == ours
    assert tg.zeros(2, dtype=ours).dtype == torch.zeros(2, dtype=theirs).numpy().dtype


@pytest.mark.parametrize("alias", ["float", "double", "half", "long", "int", "short"])
def test_dtype_aliases(alias):
    assert tg.zeros(1, dtype=getattr(tg, alias)).dtype == (
        torch.zeros(1, dtype=getattr(torch, alias)).numpy().dtype
    )


@pytest.mark.parametrize("method", ["float", "double", "half", "long", "int", "bool"])
def test_cast_methods(method):
    values = np.array([1.5, -2.7, 0.0, 3.0])
    x, tx = both(values, requires_grad=True)
    ours, theirs = getattr(x, method)(), getattr(tx, method)()
    same(ours, theirs)
    assert ours.requires_grad == theirs.requires_grad


def test_float_casts_are_differentiable():
    x, tx = both(np.array([1.5, -2.0]), requires_grad=True)
    (x.float() * x.float()).sum().backward()
    (tx.float() * tx.float()).sum().backward()
    same(x.grad, tx.grad)


def test_to_dtype_device_and_other():
    x, tx = both(np.array([1.0, 2.0], dtype=np.float32))
    assert x.to("cpu") is x and x.cpu() is x and x.to(tg.float32) is x
    same(x.to(tg.float64), tx.to(torch.float64))
    same(x.to("cpu", tg.int64), tx.to("cpu", torch.int64))
    same(x.to(dtype=tg.float16), tx.to(dtype=torch.float16))
    other, tother = both(np.zeros(1, dtype=np.int32))
    same(x.to(other), tx.to(tother))
    with pytest.raises(RuntimeError, match="cuda"):
        x.to("cuda")


def test_module_to():
    layer = tg.nn.Linear(2, 3, seed=0)
    assert layer.to("cpu") is layer and layer.weight.dtype == tg.float32
    assert layer.to(tg.float64) is layer and layer.weight.dtype == tg.float64
    layer.to("cpu", tg.float32)
    assert layer.weight.dtype == layer.bias.dtype == tg.float32
    assert layer.cpu() is layer and layer.half().weight.dtype == tg.float16


# --- 4. introspection -----------------------------------------------------------------------------


def test_size_dim_numel():
    x, tx = both(np.zeros((2, 3, 4)))
    assert x.size() == tx.size() == (2, 3, 4) and x.shape == tuple(tx.shape)
    for d in (0, 1, 2, -1, -3):
        assert x.size(d) == tx.size(d)
    assert x.dim() == tx.dim() and x.numel() == tx.numel() == 24
    with pytest.raises(IndexError):
        tx.size(3)
    with pytest.raises(IndexError, match="size: axis 3 is out of range"):
        x.size(3)
    p = tg.nn.Parameter(np.zeros((2, 5)))
    assert p.numel() == torch.nn.Parameter(torch.zeros(2, 5)).numel() == 10
    assert sum(p.numel() for p in tg.nn.Linear(3, 2).parameters()) == 8


@pytest.mark.parametrize("values", [[2.7], [[-1.5]], 0.0, [True]])
@pytest.mark.parametrize("convert", [float, int, bool])
def test_python_numbers_of_one_element_tensors(values, convert):
    ours, theirs = both(np.array(values))
    assert convert(ours) == convert(theirs) and type(convert(ours)) is convert


@pytest.mark.parametrize("values", [[1.0, 2.0], np.zeros(0)])
@pytest.mark.parametrize("convert", [float, int, bool])
def test_python_numbers_of_other_tensors_fail_as_in_torch(values, convert):
    ours, theirs = both(np.array(values, dtype=np.float64))
    with pytest.raises(Exception) as expected:
        convert(theirs)
    with pytest.raises(expected.type, match="one element|ambiguous"):
        convert(ours)


def test_a_one_element_comparison_is_a_condition():
    loss = tg.tensor(0.5)
    assert bool(loss > 0.1) and not (loss < 0.1)
    assert f"{loss:.3f}" == f"{torch.tensor(0.5):.3f}" == "0.500"


# --- 5. comparisons -------------------------------------------------------------------------------


def test_equality_is_elementwise():
    a, ta = both(np.array([1.0, 2.0, 3.0]))
    b, tb = both(np.array([1.0, 0.0, 3.0]))
    same(a == b, ta == tb)
    same(a != b, ta != tb)
    same(a == 2.0, ta == 2.0)
    same(a == np.array([1.0, 2.0, 0.0]), ta == torch.tensor([1.0, 2.0, 0.0], dtype=torch.float64))
    same(np.array([1.0, 2.0, 0.0]) == a, ta == torch.tensor([1.0, 2.0, 0.0], dtype=torch.float64))
    same(~(a == b), ~(ta == tb))
    same((a == b) & (a > 1), (ta == tb) & (ta > 1))
    same((a == b) | (a > 2), (ta == tb) | (ta > 2))
    assert (a == None) is False and (a != None) is True  # noqa: E711 -- the operator is tested


def test_accuracy_as_pytorch_users_write_it():
    logits = np.array([[0.1, 2.0], [3.0, -1.0], [0.0, 0.5]], dtype=np.float32)
    labels = np.array([1, 1, 1])
    (x, tx), (y, ty) = both(logits), both(labels)
    ours = (x.argmax(dim=1) == y).float().mean()
    theirs = (tx.argmax(dim=1) == ty).float().mean()
    same(ours, theirs)


def test_tensors_stay_hashable_by_identity():
    a, b = tg.zeros(2), tg.zeros(2)
    assert hash(a) != hash(b) or a is not b
    assert len({a, b}) == 2 and {a: 1, b: 2}[a] == 1
    params = list(tg.nn.Linear(2, 2).parameters())
    opt = tg.optim.SGD(params, lr=0.1)
    assert opt.state_dict()["param_groups"][0]["params"] == [0, 1]
    with pytest.raises(ValueError, match="more than one parameter group"):
        tg.optim.SGD([{"params": params}, {"params": params[:1]}], lr=0.1)


# --- 6. shape ops with PyTorch's signatures -------------------------------------------------------

SHAPE_OPS = [
    ("transpose(0, 1)", lambda t: t.transpose(0, 1)),
    ("transpose(-1, 0)", lambda t: t.transpose(-1, 0)),
    ("permute(2, 0, 1)", lambda t: t.permute(2, 0, 1)),
    ("permute((1, 2, 0))", lambda t: t.permute((1, 2, 0))),
    ("swapaxes(0, 2)", lambda t: t.swapaxes(0, 2)),
    ("flatten()", lambda t: t.flatten()),
    ("flatten(1)", lambda t: t.flatten(1)),
    ("flatten(0, 1)", lambda t: t.flatten(0, 1)),
    ("flatten(start_dim=-2)", lambda t: t.flatten(start_dim=-2)),
    ("view(6, 4)", lambda t: t.view(6, 4)),
    ("view(-1)", lambda t: t.view(-1)),
    ("reshape((4, -1))", lambda t: t.reshape((4, -1))),
    ("unsqueeze(1)", lambda t: t.unsqueeze(1)),
    ("unsqueeze(-1)", lambda t: t.unsqueeze(-1)),
    ("squeeze()", lambda t: t[:1].squeeze()),
    ("squeeze(0)", lambda t: t[:1].squeeze(0)),
    ("squeeze(1)", lambda t: t[:1].squeeze(1)),
    ("expand(5, 2, 3, 4)", lambda t: t.expand(5, 2, 3, 4)),
    ("expand of size 1", lambda t: t[:, :1].expand(-1, 3, 4)),
    ("repeat(2, 1, 3)", lambda t: t.repeat(2, 1, 3)),
    ("repeat((2, 1, 1, 2))", lambda t: t.repeat((2, 1, 1, 2))),
    ("T of a matrix", lambda t: t[0].T),
]


@pytest.mark.parametrize("name, fn", SHAPE_OPS, ids=[name for name, _ in SHAPE_OPS])
def test_shape_ops_values_and_gradients(name, fn):
    values = np.random.default_rng(0).standard_normal((2, 3, 4))
    x, tx = both(values, requires_grad=True)
    ours, theirs = fn(x), fn(tx)
    same(ours, theirs)
    weights = np.random.default_rng(1).standard_normal(ours.shape)
    (ours * tg.Tensor(weights)).sum().backward()
    (theirs * torch.tensor(weights)).sum().backward()
    same(x.grad, tx.grad)


def test_transpose_of_a_vector_and_a_scalar():
    for values in (np.arange(3.0), np.array(2.0)):
        x, tx = both(values)
        same(x.transpose(0, -1), tx.transpose(0, -1))


@pytest.mark.parametrize(
    "fn",
    [
        lambda t: t.transpose(0, 3),
        lambda t: t.permute(0, 1),
        lambda t: t.permute(0, 0, 1),
        lambda t: t.expand(3, 3, 4),
        lambda t: t.repeat(2, 2),
        lambda t: t.flatten(2, 1),
    ],
)
def test_bad_shape_ops_fail_as_in_torch(fn):
    x, tx = both(np.zeros((2, 3, 4)))
    with pytest.raises((RuntimeError, IndexError)):
        fn(tx)
    with pytest.raises((ValueError, IndexError), match=r"transpose|permute|expand|repeat|flatten"):
        fn(x)


def test_cat_stack_split_chunk_signatures():
    a, ta = both(np.arange(6.0).reshape(2, 3))
    b, tb = both(np.arange(6.0, 12.0).reshape(2, 3))
    same(tg.cat([a, b]), torch.cat([ta, tb]))
    same(tg.cat((a, b), 1), torch.cat((ta, tb), 1))
    same(tg.cat([a, b], dim=-1), torch.cat([ta, tb], dim=-1))
    same(tg.stack([a, b]), torch.stack([ta, tb]))
    same(tg.stack([a, b], 2), torch.stack([ta, tb], 2))
    same(tg.split(a, 2, 1), torch.split(ta, 2, 1))
    same(tg.split(a, [1, 2], dim=1), torch.split(ta, [1, 2], dim=1))
    same(a.split(1), ta.split(1))
    same(tg.chunk(a, 2, 1), torch.chunk(ta, 2, 1))
    same(a.chunk(3, dim=1), ta.chunk(3, dim=1))


# --- 7. math as functions too ---------------------------------------------------------------------

UNARY = ["exp", "tanh", "sigmoid", "relu", "sqrt", "abs"]


@pytest.mark.parametrize("name", UNARY + ["log"])
def test_unary_functions(name):
    values = np.array([[0.5, 1.5], [2.0, 0.25]])
    x, tx = both(values, requires_grad=True)
    same(getattr(tg, name)(x), getattr(torch, name)(tx))
    same(getattr(tg, name)(values), getattr(torch, name)(torch.tensor(values)))  # an array


FUNCTIONS = [
    ("softmax", lambda m, x: m.softmax(x, dim=1)),
    ("log_softmax", lambda m, x: m.log_softmax(x, dim=0)),
    ("logsumexp", lambda m, x: m.logsumexp(x, dim=1)),
    ("clamp", lambda m, x: m.clamp(x, -0.5, 0.5)),
    ("clamp min", lambda m, x: m.clamp(x, min=0.0)),
    ("sum", lambda m, x: m.sum(x)),
    ("sum dim", lambda m, x: m.sum(x, dim=1, keepdim=True)),
    ("mean dim", lambda m, x: m.mean(x, 0)),
    ("max", lambda m, x: m.max(x)),
    ("min", lambda m, x: m.min(x)),
    ("amax", lambda m, x: m.amax(x, dim=1)),
    ("pow", lambda m, x: m.pow(x, 2)),
    ("matmul", lambda m, x: m.matmul(x, x.T)),
    ("mm", lambda m, x: m.mm(x, x.T)),
    ("bmm", lambda m, x: m.bmm(x.reshape(1, 3, 4), x.reshape(1, 4, 3))),
    ("maximum", lambda m, x: m.maximum(x, x[0:1] * 0.5)),
    ("minimum", lambda m, x: m.minimum(x, x[:, 1:2])),
    ("norm", lambda m, x: m.norm(x)),
    ("transpose", lambda m, x: m.transpose(x, 0, 1)),
    ("flatten", lambda m, x: m.flatten(x)),
    ("unsqueeze", lambda m, x: m.unsqueeze(x, 1)),
    ("where", lambda m, x: m.where(x > 0, x, x * 0.1)),
]


@pytest.mark.parametrize("name, fn", FUNCTIONS, ids=[name for name, _ in FUNCTIONS])
def test_functions_values_and_gradients(name, fn):
    values = np.random.default_rng(2).standard_normal((3, 4))
    x, tx = both(values, requires_grad=True)
    ours, theirs = fn(tg, x), fn(torch, tx)
    same(ours, theirs, rtol=1e-12)
    (ours * ours).sum().backward()
    (theirs * theirs).sum().backward()
    same(x.grad, tx.grad, rtol=1e-12)


METHODS = [
    ("pow", lambda x: x.pow(3)),
    ("pow tensor", lambda x: x.abs().pow(x)),
    ("norm", lambda x: x.norm()),
    ("norm 1 dim", lambda x: x.norm(1, dim=1)),
    ("norm 3 keepdim", lambda x: x.norm(3, dim=0, keepdim=True)),
    ("norm fro", lambda x: x.norm("fro")),
    ("norm inf", lambda x: x.norm(float("inf"), dim=1)),
    ("clamp", lambda x: x.clamp(-0.3, 0.3)),
    ("clamp max", lambda x: x.clamp(max=0.1)),
    ("maximum", lambda x: x.maximum(x.T.T * 0 + 0.2)),
    ("argmax", lambda x: x.argmax(dim=1, keepdim=True)),
    ("argmin", lambda x: x.argmin(1)),
]


@pytest.mark.parametrize("name, fn", METHODS, ids=[name for name, _ in METHODS])
def test_methods_values_and_gradients(name, fn):
    values = np.random.default_rng(3).standard_normal((3, 4))
    x, tx = both(values, requires_grad=True)
    ours, theirs = fn(x), fn(tx)
    same(ours, theirs, rtol=1e-12)
    if theirs.requires_grad:
        ours.sum().backward()
        theirs.sum().backward()
        same(x.grad, tx.grad, rtol=1e-12)


def test_norm_of_zeros_has_a_zero_gradient():
    x, tx = both(np.zeros((2, 3)), requires_grad=True)
    x.norm(dim=1).sum().backward()
    tx.norm(dim=1).sum().backward()
    same(x.grad, tx.grad)


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("dim, keepdim", [(0, False), (1, False), (-1, True), (1, True)])
def test_max_min_over_a_dim_give_values_and_indices(name, dim, keepdim):
    values = np.array([[1.0, 3.0, 3.0], [-2.0, -2.0, 0.5]])  # ties: the first index, as torch
    x, tx = both(values, requires_grad=True)
    ours, theirs = getattr(x, name)(dim, keepdim), getattr(tx, name)(dim, keepdim)
    values_, indices = ours  # a named tuple
    same(values_, theirs.values)
    same(ours.indices, theirs.indices)
    assert indices is ours.indices and ours[0] is ours.values
    ours.values.sum().backward()
    theirs.values.sum().backward()
    same(x.grad, tx.grad)  # only the chosen element gets the gradient
    functional = getattr(tg, name)(x, dim=dim, keepdim=keepdim)
    same(functional.indices, theirs.indices)


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_without_dim_share_the_gradient_of_ties(name):
    x, tx = both(np.array([[1.0, 3.0], [3.0, 1.0]]), requires_grad=True)
    ours, theirs = getattr(x, name)(), getattr(tx, name)()
    same(ours, theirs)
    ours.backward()
    theirs.backward()
    same(x.grad, tx.grad)


def test_max_with_a_tensor_is_maximum_and_ties_split():
    a, ta = both(np.array([1.0, 2.0, 3.0, np.nan]), requires_grad=True)
    b, tb = both(np.array([3.0, 2.0, 1.0, 0.0]), requires_grad=True)
    same(a.max(b), ta.max(tb))
    a.maximum(b).sum().backward()
    torch.maximum(ta, tb).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy()[:3], ta.grad.numpy()[:3])
    same(tg.minimum(a, b), torch.minimum(ta, tb))


def test_max_over_an_empty_axis_fails():
    x, tx = both(np.zeros((2, 0)))
    with pytest.raises(IndexError):
        tx.max(1)
    with pytest.raises(IndexError, match="size 0"):
        x.max(1)


def test_mm_and_bmm_check_their_shapes():
    with pytest.raises(RuntimeError):
        torch.mm(torch.zeros(2, 3, 4), torch.zeros(4, 2))
    with pytest.raises(ValueError, match="mm: expects two matrices"):
        tg.mm(tg.zeros(2, 3, 4), tg.zeros(4, 2))
    with pytest.raises(ValueError, match="bmm"):
        tg.bmm(tg.zeros(2, 3, 4), tg.zeros(3, 4, 2))


# --- 8. autograd habits ---------------------------------------------------------------------------


def test_clone_copies_and_stays_in_the_graph():
    x, tx = both(np.array([1.0, -2.0]), requires_grad=True)
    y, ty = x.clone(), tx.clone()
    assert not np.shares_memory(y.numpy(), x.numpy()) and y.requires_grad == ty.requires_grad
    (y * 3).sum().backward()
    (ty * 3).sum().backward()
    same(x.grad, tx.grad)
    plain = tg.tensor([1.0, 2.0]).clone()
    assert not plain.requires_grad and plain.is_leaf


def test_detach_shares_and_leaves_the_graph():
    x, tx = both(np.array([1.0, 2.0]), requires_grad=True)
    d, td = (x * 2).detach(), (tx * 2).detach()
    same(d, td)
    assert not d.requires_grad and d.is_leaf and td.is_leaf
    assert np.shares_memory(x.detach().numpy(), x.numpy())


def test_requires_grad_():
    x, tx = both(np.array([1.0, 2.0]))
    assert x.requires_grad_() is x and tx.requires_grad_() is tx
    (x * x).sum().backward()
    (tx * tx).sum().backward()
    same(x.grad, tx.grad)
    assert not x.requires_grad_(False).requires_grad


def sgd_by_hand(lib, w, x, y, steps=3, lr=0.1):
    """A PyTorch tutorial's training loop, written once for both libraries."""
    history = []
    for _ in range(steps):
        loss = ((x @ w - y) ** 2).mean()
        loss.backward()
        with lib.no_grad():
            same_object = w
            w -= lr * w.grad
            assert w is same_object
            w.grad.zero_()
        history.append(loss.item())
    return history


def test_training_by_hand_keeps_the_leaf():
    rng = np.random.default_rng(0)
    x_values, y_values = rng.standard_normal((5, 3)), rng.standard_normal((5, 1))
    w, tw = both(rng.standard_normal((3, 1)), requires_grad=True)
    ours = sgd_by_hand(tg, w, tg.Tensor(x_values), tg.Tensor(y_values))
    theirs = sgd_by_hand(torch, tw, torch.tensor(x_values), torch.tensor(y_values))
    np.testing.assert_allclose(ours, theirs)
    same(w, tw)
    assert w.is_leaf and w.requires_grad and w._version == 3
    same(w.grad, tw.grad)  # zeroed in place


@pytest.mark.parametrize(
    "update",
    [
        lambda w, v: w.__iadd__(v),
        lambda w, v: w.__isub__(v),
        lambda w, v: w.__imul__(v),
        lambda w, v: w.__itruediv__(v),
        lambda w, v: w.add_(v),
        lambda w, v: w.add_(v, alpha=-0.5),
        lambda w, v: w.sub_(v, alpha=2),
        lambda w, v: w.mul_(v),
        lambda w, v: w.div_(v),
        lambda w, v: w.copy_(v),
        lambda w, v: w.fill_(2.5),
        lambda w, v: w.zero_(),
    ],
)
def test_in_place_updates_under_no_grad(update):
    values, other = np.array([1.0, -2.0, 3.0]), np.array([0.5, 4.0, -1.0])
    w, tw = both(values, requires_grad=True)
    with tg.no_grad():
        out = update(w, tg.Tensor(other))
        same_array = out.numpy() is w.numpy()
    with torch.no_grad():
        tout = update(tw, torch.tensor(other))
    assert out is w and tout is tw and same_array
    same(w, tw)
    assert w.is_leaf and w.requires_grad and w._version == 1


@pytest.mark.parametrize(
    "update", [lambda w: w.__isub__(1.0), lambda w: w.add_(1.0), lambda w: w.zero_()]
)
def test_in_place_on_a_leaf_that_requires_grad_is_refused(update):
    w, tw = both(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        update(tw)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        update(w)
    assert w.tolist() == [1.0, 2.0]


def test_in_place_on_tensors_without_grad_and_on_grads():
    x, tx = both(np.array([1.0, 2.0]))
    x += 1
    tx += 1
    x.mul_(3)
    tx.mul_(3)
    same(x, tx)
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    grad = w.grad
    assert w.grad.zero_() is grad and w.grad.tolist() == [0.0, 0.0]


def test_an_in_place_write_after_the_forward_refuses_backward():
    w, tw = both(np.array([1.0, 2.0]), requires_grad=True)
    loss, tloss = (w * w).sum(), (tw * tw).sum()
    with tg.no_grad():
        w -= 1
    with torch.no_grad():
        tw -= 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        tloss.backward()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_an_operator_on_a_recorded_result_stays_in_the_graph():
    x, tx = both(np.array([1.0, 2.0]), requires_grad=True)
    h, th = x * 2, tx * 2
    h += x
    th += tx
    h.sum().backward()
    th.sum().backward()
    same(x.grad, tx.grad)
    y, ty = (x * 2).add_(x), (tx * 2).add_(tx)  # an in-place method: recorded, self kept
    same(y, ty)


def test_in_place_errors_name_the_problem():
    i, ti = both(np.array([1, 2]))
    with pytest.raises(RuntimeError):
        ti /= 2
    with pytest.raises(RuntimeError, match=r"/=.*shape \(2,\) int64"):
        i /= 2
    with pytest.raises(RuntimeError):
        torch.zeros(2).add_(torch.zeros(3))
    with pytest.raises(RuntimeError, match=r"add_: cannot write a value of shape \(3,\)"):
        tg.zeros(2).add_(tg.zeros(3))


# --- the operators as methods, and other everyday spellings ---------------------------------------

SPELLINGS = [
    ("add", lambda x, y: x.add(y)),
    ("add alpha", lambda x, y: x.add(y, alpha=2)),
    ("sub alpha", lambda x, y: x.sub(y, alpha=0.5)),
    ("mul", lambda x, y: x.mul(y)),
    ("div", lambda x, y: x.div(y)),
    ("neg", lambda x, y: x.neg()),
    ("matmul", lambda x, y: x.matmul(y.T)),
    ("mm", lambda x, y: x.mm(y.t())),
    ("t", lambda x, y: x.t()),
    ("masked_fill", lambda x, y: x.masked_fill(y > 0, -1.5)),
]


@pytest.mark.parametrize("name, fn", SPELLINGS, ids=[name for name, _ in SPELLINGS])
def test_method_spellings(name, fn):
    rng = np.random.default_rng(4)
    x, tx = both(rng.standard_normal((2, 3)), requires_grad=True)
    y, ty = both(rng.standard_normal((2, 3)) + 3)
    ours, theirs = fn(x, y), fn(tx, ty)
    same(ours, theirs)
    ours.sum().backward()
    theirs.sum().backward()
    same(x.grad, tx.grad)


@pytest.mark.parametrize("name", ["eq", "ne", "lt", "le", "gt", "ge"])
def test_comparison_methods(name):
    x, tx = both(np.array([1.0, 2.0, 3.0]))
    same(getattr(x, name)(2.0), getattr(tx, name)(2.0))


def test_all_any_allclose_equal():
    x, tx = both(np.array([[1.0, 0.0], [2.0, 3.0]]))
    same(x.all(), tx.all())
    same(x.any(dim=1), tx.any(dim=1))
    same((x >= 0).all(dim=0, keepdim=True), (tx >= 0).all(dim=0, keepdim=True))
    assert bool((x == x).all()) and bool((tx == tx).all())
    assert np.all(x == x) and not np.any(x > 5) and np.all(x >= 0, axis=1).tolist() == [True] * 2
    assert tg.allclose(x, x + 1e-9) == torch.allclose(tx, tx + 1e-9) is True
    assert tg.allclose(x, x + 1) == torch.allclose(tx, tx + 1) is False
    assert tg.equal(x, x.clone()) and not tg.equal(x, x[:1])
    with pytest.raises(ValueError, match="t\\(\\): expects at most 2 axes"):
        tg.zeros(1, 2, 3).t()


@pytest.mark.parametrize(
    "dims_dtype, zero_dim_dtype",
    [("float32", "float64"), ("int32", "int64"), ("int64", "float64"), ("float64", "float32")],
)
def test_a_zero_dim_tensor_promotes_as_in_pytorch(dims_dtype, zero_dim_dtype):
    # a 0-d tensor next to tensors with dimensions counts like a number: float32 * 0-d float64
    # stays float32 (NumPy would widen it), unless its category is higher (int * 0-d float)
    a = np.arange(1, 4).astype(dims_dtype)
    b = np.array(2, dtype=zero_dim_dtype)
    ours = tg.Tensor(a) * tg.Tensor(b)
    theirs = torch.from_numpy(a) * torch.from_numpy(b)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_the_gradients_of_a_zero_dim_tensor_promoted_keep_each_leafs_dtype():
    a = tg.Tensor(np.ones(3, np.float32), requires_grad=True)
    b = tg.Tensor(np.array(2.0), requires_grad=True)  # float64, 0-d
    y = a * b
    y.sum().backward()
    ta = torch.ones(3, dtype=torch.float32, requires_grad=True)
    tb = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    (ta * tb).sum().backward()
    assert y.dtype == np.float32 and a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    np.testing.assert_array_equal(a.grad.numpy(), ta.grad.numpy())
    np.testing.assert_array_equal(b.grad.numpy(), tb.grad.numpy())
    c = tg.where(np.array([True, False, True]), tg.ones(3), tg.Tensor(np.array(2.0)))
    assert c.dtype == np.float32  # torch.where too
