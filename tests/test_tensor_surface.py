"""The Tensor surface real PyTorch scripts touch, against torch 2.13: ``.data`` as a Tensor, manual
SGD through it, torch's old ``add_(alpha, other)`` form, in-place random fills."""

import numpy as np
import pytest

import tinygrad_seq as tg

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:This overload of")  # torch's old add_(alpha, x)


def pair(values, requires_grad=False):
    array = np.asarray(values, dtype=np.float64)
    return (
        tg.tensor(array, requires_grad=requires_grad),
        torch.tensor(array, requires_grad=requires_grad),
    )


def close(ours, theirs):
    np.testing.assert_allclose(np.asarray(ours), theirs.detach().numpy(), rtol=1e-12, atol=1e-15)


# --- .data: a Tensor that shares the array and carries no graph -----------------------------------


@pytest.mark.parametrize("make", ["leaf", "result", "parameter"])
def test_data_is_a_graphless_tensor_sharing_storage(make):
    x, tx = pair([1.0, 2.0], requires_grad=True)
    if make == "result":
        x, tx = x * 2, tx * 2
    elif make == "parameter":
        x, tx = tg.nn.Parameter(np.array([1.0, 2.0])), torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    d, td = x.data, tx.data
    assert type(d) is tg.Tensor and type(td) is torch.Tensor  # not a Parameter
    assert (d.requires_grad, d.grad_fn, d.is_leaf) == (td.requires_grad, td.grad_fn, td.is_leaf)
    assert np.shares_memory(d.numpy(), x.numpy())
    d.add_(1.0)  # visible through the source, counted on the alias only
    td.add_(1.0)
    close(x, tx)
    assert (x._version, d._version) == (tx._version, td._version) == (0, 1)


def test_writes_through_data_do_not_stop_backward_as_in_torch():
    w, tw = pair([1.0, 2.0], requires_grad=True)
    loss, t_loss = (w * w).sum(), (tw * tw).sum()
    w.data.mul_(3.0)
    tw.data.mul_(3.0)
    loss.backward()
    t_loss.backward()  # not checked: the gradient uses the new values in both
    close(w.grad, tw.grad)


def test_manual_sgd_patterns_through_data():
    lr = 0.1
    w, tw = pair([[0.5, -1.0], [2.0, 0.25]], requires_grad=True)
    x = np.array([[1.0, 2.0], [3.0, -1.0]])
    for step in range(5):
        loss, t_loss = ((w @ x).tanh() ** 2).sum(), ((tw @ torch.tensor(x)).tanh() ** 2).sum()
        loss.backward()
        t_loss.backward()
        if step == 0:
            w.data.add_(w.grad, alpha=-lr)
            tw.data.add_(tw.grad, alpha=-lr)
        elif step == 1:
            w.data.add_(-lr, w.grad)  # torch's deprecated (number, tensor) form
            tw.data.add_(-lr, tw.grad)
        elif step == 2:
            w.data -= lr * w.grad.data
            tw.data -= lr * tw.grad.data
        elif step == 3:
            w.data.sub_(lr, w.grad)
            tw.data.sub_(lr, tw.grad)
        else:
            w.data.copy_(w.data - lr * w.grad)
            tw.data.copy_(tw.data - lr * tw.grad)
        w.grad.zero_()
        tw.grad.zero_()
        assert w.is_leaf and w.requires_grad and w.grad_fn is None
        close(w, tw)


def test_data_zero_fill_and_assignment():
    w, tw = pair([1.0, 2.0, 3.0], requires_grad=True)
    w.data.zero_()
    tw.data.zero_()
    close(w, tw)
    w.data.fill_(0.5)
    tw.data.fill_(0.5)
    close(w, tw)
    w.data = tg.tensor([4.0, 5.0])  # a Tensor replaces the array (and the shape)
    tw.data = torch.tensor([4.0, 5.0])
    assert w.shape == tuple(tw.shape) == (2,) and w.tolist() == tw.tolist()
    w.data = np.array([7.0])  # an array too (torch wants a tensor; we also take arrays)
    assert w.tolist() == [7.0] and w.requires_grad and w.is_leaf


def test_clamp_in_place_through_data_as_weight_clipping():
    w, tw = pair([-2.0, 0.005, 3.0], requires_grad=True)
    assert w.data.clamp_(-0.01, 0.01) is not None
    tw.data.clamp_(-0.01, 0.01)
    close(w, tw)
    x, tx = pair([-2.0, 5.0])
    close(x.clip_(min=0), tx.clip_(min=0))
    with pytest.raises(RuntimeError, match="leaf Variable"):
        w.clamp_(0, 1)
    with pytest.raises(RuntimeError):
        tx.clamp_()
    with pytest.raises(RuntimeError):
        x.clamp_()


def test_add_and_sub_take_the_old_alpha_form_out_of_place_too():
    x, tx = pair([1.0, 2.0])
    g, tg_ = pair([3.0, 4.0])
    close(x.add(2, g), tx.add(2, tg_))
    close(x.sub(2, g), tx.sub(2, tg_))
    with pytest.raises(TypeError):
        x.add_(g, g, g)
    with pytest.raises(TypeError):
        tx.add_(tg_, tg_, tg_)


def test_in_place_fill_on_a_leaf_that_requires_grad_is_refused_outside_no_grad():
    w, tw = pair([1.0, 2.0], requires_grad=True)
    for fill in ("normal_", "uniform_", "fill_", "zero_"):
        args = (0.5,) if fill == "fill_" else ()
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            getattr(tw, fill)(*args)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            getattr(w, fill)(*args)
        with tg.no_grad():
            getattr(w, fill)(*args)


def test_normal_and_uniform_draw_from_the_seeded_global_generator():
    tg.manual_seed(3)
    a = tg.zeros(2000).normal_(1.0, 0.5)
    u = tg.zeros(2000, dtype=tg.float64).uniform_(-0.25, 0.25)
    tg.manual_seed(3)
    b = tg.zeros(2000).normal_(1.0, 0.5)
    assert a.tolist() == b.tolist() and a.dtype == np.float32 and u.dtype == np.float64
    assert abs(float(a.mean()) - 1.0) < 0.05 and 0.45 < float(((a - 1) ** 2).mean().sqrt()) < 0.55
    assert float(u.amin()) >= -0.25 and float(u.amax()) < 0.25
    with pytest.raises(RuntimeError, match="std"):
        tg.zeros(2).normal_(0.0, -1.0)
    with pytest.raises(RuntimeError, match="std"):
        torch.zeros(2).normal_(0.0, -1.0)
    rng = np.random.default_rng(0)
    assert tg.zeros(3).uniform_(generator=rng).shape == (3,)


# --- sorting and choosing: topk, sort, argsort ----------------------------------------------------


def distinct(shape, seed=0):
    """Values without ties (where torch leaves the order of equal elements unspecified)."""
    rng = np.random.default_rng(seed)
    return rng.permutation(int(np.prod(shape))).reshape(shape) * 0.5 + rng.random(shape) * 0.1


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("largest", [True, False])
def test_topk_values_indices_and_gradients_match_torch(dim, largest):
    x, tx = pair(distinct((3, 4)), requires_grad=True)
    top, t_top = x.topk(2, dim=dim, largest=largest), tx.topk(2, dim=dim, largest=largest)
    close(top.values, t_top.values)
    assert top.indices.tolist() == t_top.indices.tolist() and top.indices.dtype == np.int64
    values, indices = top  # a tuple too
    assert values is top.values and indices is top.indices
    w = np.arange(1.0, 1.0 + values.numpy().size).reshape(values.shape)
    (values * w).sum().backward()
    (t_top.values * torch.from_numpy(w)).sum().backward()
    close(x.grad, tx.grad)


def test_topk_as_classifiers_use_it_and_its_errors():
    out, t_out = pair(distinct((5, 3), seed=1))
    _, pred = out.data.topk(1)
    _, t_pred = t_out.data.topk(1)
    assert pred.tolist() == t_pred.tolist() and pred.shape == (5, 1)
    assert tg.topk(out, 3, dim=0).indices.tolist() == torch.topk(t_out, 3, dim=0).indices.tolist()
    with pytest.raises(RuntimeError, match="out of range"):
        t_out.topk(4)
    with pytest.raises(RuntimeError, match="out of range"):
        out.topk(4)
    with pytest.raises(IndexError):
        t_out.topk(1, dim=2)
    with pytest.raises(IndexError):
        out.topk(1, dim=2)


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dim", [0, -1])
def test_sort_and_argsort_match_torch_stable_with_ties_and_nan(descending, dim):
    a = np.array([[3.0, 1.0, 2.0, 2.0], [0.0, np.nan, 5.0, 5.0], [1.0, 1.0, -1.0, 4.0]])
    x, tx = pair(a, requires_grad=True)
    values, indices = x.sort(dim, descending=descending)
    t_values, t_indices = tx.sort(dim=dim, descending=descending, stable=True)
    np.testing.assert_array_equal(values.numpy(), t_values.detach().numpy())
    assert indices.tolist() == t_indices.tolist()
    assert (
        tg.argsort(x, dim, descending).tolist()
        == torch.argsort(tx, dim=dim, descending=descending, stable=True).tolist()
    )
    assert tg.sort(x, dim, descending).indices.tolist() == t_indices.tolist()
    w = np.arange(12.0).reshape(3, 4)
    (values * w).sum().backward()
    (t_values * torch.from_numpy(w)).sum().backward()
    close(x.grad, tx.grad)


def test_sort_of_integers_and_a_0d_tensor():
    x, tx = tg.tensor([5, -2, 7]), torch.tensor([5, -2, 7])
    assert x.sort(descending=True).values.tolist() == tx.sort(descending=True).values.tolist()
    assert x.sort().values.dtype == np.int64
    s, ts = tg.tensor(3.0).topk(1), torch.tensor(3.0).topk(1)
    assert s.values.shape == tuple(ts.values.shape) == () and s.indices.item() == 0


# --- random draws: multinomial, randperm ----------------------------------------------------------


def test_multinomial_shapes_dtypes_and_frequencies():
    tg.manual_seed(0)
    probs = tg.tensor([0.1, 0.0, 0.6, 0.3])
    draws = tg.multinomial(probs, 20000, replacement=True)
    assert draws.shape == (20000,) and draws.dtype == np.int64
    freq = np.bincount(draws.numpy(), minlength=4) / 20000
    np.testing.assert_allclose(freq, [0.1, 0.0, 0.6, 0.3], atol=0.02)
    rows = tg.tensor([[1.0, 1.0, 0.0], [0.0, 0.0, 2.0]]).multinomial(2)
    assert rows.shape == (2, 2)
    assert sorted(rows[0].tolist()) == [0, 1]  # without replacement: each once
    assert rows[1, 0].item() == 2  # the weight-0 categories come after the others, as in torch
    assert rows[1, 1].item() in (0, 1)
    unnormalised = tg.multinomial(tg.tensor([0.0, 5.0]), 3, replacement=True)
    assert unnormalised.tolist() == [1, 1, 1]
    tg.manual_seed(7)
    a = tg.multinomial(probs, 5, replacement=True)
    tg.manual_seed(7)
    assert tg.multinomial(probs, 5, replacement=True).tolist() == a.tolist()


@pytest.mark.parametrize(
    ("probs", "n", "replacement"),
    [([0.5, 0.5], 3, False), ([0.0, 0.0], 1, False), ([-1.0, 2.0], 1, True)]
    + [([0.0, 0.0], 1, True), ([np.nan, 1.0], 1, True), ([[[1.0]]], 1, True)],
)
def test_multinomial_errors_are_torchs(probs, n, replacement):
    with pytest.raises(RuntimeError):
        torch.multinomial(torch.tensor(probs), n, replacement)
    with pytest.raises(RuntimeError, match="multinomial"):
        tg.multinomial(tg.tensor(probs), n, replacement)


def test_randperm_is_a_seeded_permutation():
    tg.manual_seed(1)
    p = tg.randperm(10)
    assert sorted(p.tolist()) == list(range(10)) and p.dtype == np.int64
    tg.manual_seed(1)
    assert tg.randperm(10).tolist() == p.tolist()
    assert tg.randperm(0).shape == tuple(torch.randperm(0).shape)
    x = tg.arange(10.0)
    assert sorted(x[tg.randperm(10)].tolist()) == x.tolist()  # shuffles as torch scripts do
    with pytest.raises(RuntimeError):
        torch.randperm(-1)
    with pytest.raises(RuntimeError):
        tg.randperm(-1)


# --- modes, views and constructors ----------------------------------------------------------------


def test_inference_mode_as_torch():
    x = tg.ones(2, requires_grad=True)
    with tg.inference_mode():
        assert not (x * 2).requires_grad and not tg.is_grad_enabled()
    with tg.inference_mode(False):
        assert (x * 2).requires_grad
    assert tg.is_grad_enabled()

    @tg.inference_mode()
    def called(v):
        return v * 2

    @tg.inference_mode
    def bare(v):
        return v * 2

    assert not called(x).requires_grad and not bare(x).requires_grad and tg.is_grad_enabled()


def test_narrow_matches_torch_with_gradients():
    x, tx = pair(distinct((3, 5)), requires_grad=True)
    for dim, start, length in [(0, 1, 2), (1, -3, 2), (1, 0, 0), (-1, 4, 1)]:
        close(x.narrow(dim, start, length), tx.narrow(dim, start, length))
    tg.narrow(x, 1, 1, 3).sum().backward()
    torch.narrow(tx, 1, 1, 3).sum().backward()
    close(x.grad, tx.grad)
    for args, error in [((1, 6, 1), IndexError), ((1, 3, 3), RuntimeError)]:
        with pytest.raises(error):
            tx.narrow(*args)
        with pytest.raises(error):
            x.narrow(*args)


def test_contiguous_and_new_factories_keep_the_dtype():
    x, tx = tg.zeros(2, 3, dtype=tg.float64), torch.zeros(2, 3, dtype=torch.float64)
    assert x.t().contiguous().shape == (3, 2)
    for name, args in [
        ("new_zeros", (2, 3)),
        ("new_zeros", ((2,),)),
        ("new_ones", (4,)),
        ("new_full", ((2,), 7)),
        ("new_tensor", ([1, 2],)),
        ("new_empty", (3,)),
    ]:
        ours, theirs = getattr(x, name)(*args), getattr(tx, name)(*args)
        assert ours.shape == tuple(theirs.shape) and ours.dtype == np.float64, name
        if name != "new_empty":
            close(ours, theirs)
    assert x.new_zeros(2, dtype=tg.int64).dtype == np.int64
    assert x.new_ones(2, requires_grad=True).requires_grad


def test_in_place_shape_ops_as_torch():
    for op, args in [("unsqueeze_", (0,)), ("squeeze_", ()), ("t_", ()), ("transpose_", (0, 1))]:
        x, tx = tg.zeros(3, 1), torch.zeros(3, 1)
        assert getattr(x, op)(*args) is x
        getattr(tx, op)(*args)
        assert x.shape == tuple(tx.shape), op
        w, tw = tg.zeros(3, 1, requires_grad=True), torch.zeros(3, 1, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf Variable"):
            getattr(tw, op)(*args)
        with pytest.raises(RuntimeError, match="leaf Variable"):
            getattr(w, op)(*args)
    w, tw = tg.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    y, ty = w * 2, tw * 2
    y.unsqueeze_(0)
    ty.unsqueeze_(0)
    (y * tg.tensor([[1.0, 3.0]])).sum().backward()
    (ty * torch.tensor([[1.0, 3.0]])).sum().backward()
    assert y.shape == (1, 2) and w.grad.tolist() == tw.grad.tolist()


def test_a_one_element_integer_tensor_is_an_index():
    items = ["a", "b", "c", "d"]
    i = tg.tensor(2)
    assert items[i] == "c" and list(range(tg.tensor(3))) == [0, 1, 2]
    assert items[tg.argmax(tg.tensor([0.1, 0.9]))] == items[torch.argmax(torch.tensor([0.1, 0.9]))]
    assert items[tg.tensor(True)] == items[torch.tensor(True)]
    for bad, t_bad in [
        (tg.tensor(1.0), torch.tensor(1.0)),
        (tg.tensor([1, 2]), torch.tensor([1, 2])),
    ]:
        with pytest.raises(TypeError, match="only integer tensors of a single element"):
            items[t_bad]
        with pytest.raises(TypeError, match="only integer tensors of a single element"):
            items[bad]


@pytest.mark.parametrize(
    "dtype", ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"]
)
def test_type_names_as_torch(dtype):
    ours, theirs = tg.zeros(2, dtype=dtype), torch.zeros(2, dtype=getattr(torch, dtype))
    assert ours.type() == theirs.type()
    assert ours.type("torch.LongTensor").dtype == np.int64
    assert tg.ones(2).type(getattr(tg, dtype)).dtype == np.dtype(dtype)


def test_type_errors():
    with pytest.raises(ValueError, match="invalid type"):
        tg.ones(2).type("torch.NoSuchTensor")
    with pytest.raises(RuntimeError, match="CPU"):
        tg.ones(2).type("torch.cuda.FloatTensor")


@pytest.mark.parametrize("name", ["FloatTensor", "DoubleTensor", "LongTensor", "IntTensor"])
def test_typed_tensor_constructors_as_torch(name):
    ours, theirs = getattr(tg, name), getattr(torch, name)
    for args in [([1, 2, 3],), ([[1.0, 2.0]],), (3,), (2, 3), ()]:
        a, b = ours(*args), theirs(*args)
        assert a.shape == tuple(b.shape) and a.type() == b.type(), args
        if args and not isinstance(args[0], int):
            assert a.tolist() == b.tolist()
    assert isinstance(ours([1]), ours) and not isinstance(tg.BoolTensor([True]), ours)
    assert isinstance(theirs([1]), theirs)
    with pytest.raises(TypeError):
        theirs(2.5)
    with pytest.raises(TypeError):
        ours(2.5)


def test_bool_and_byte_tensors():
    assert tg.BoolTensor([True, False]).type() == torch.BoolTensor([True, False]).type()
    assert tg.ByteTensor([1, 200]).tolist() == torch.ByteTensor([1, 200]).tolist()
    assert tg.LongTensor(np.array([1, 2])).tolist() == [1, 2]


def test_variable_as_older_tutorials_use_it():
    from torch.autograd import Variable as TorchVariable

    from tinygrad_seq.autograd import Variable

    t, tt = tg.ones(2), torch.ones(2)
    v, tv = Variable(t, requires_grad=True), TorchVariable(tt, requires_grad=True)
    assert (v is t) == (tv is tt) and v.requires_grad and not t.requires_grad
    assert np.shares_memory(v.numpy(), t.numpy())
    (v * v).sum().backward()
    (tv * tv).sum().backward()
    close(v.grad, tv.grad)
    y, ty = v * 2, tv * 2
    vy, tvy = Variable(y), TorchVariable(ty)
    assert (vy.requires_grad, vy.grad_fn) == (tvy.requires_grad, tvy.grad_fn)
    with pytest.warns(UserWarning, match="volatile"):
        Variable(t, volatile=True)
    with pytest.raises(TypeError):
        TorchVariable([1.0])
    with pytest.raises(TypeError):
        Variable([1.0])


# --- a whole script, written as the PyTorch tutorials write it, run on both libraries ------------


def names_tutorial(torch, weights):
    """The char-RNN name classifier of PyTorch's tutorials: one-hot by chained item assignment,
    an RNN cell by hand, manual SGD through p.data, topk of the output; returns its numbers."""
    letters, categories = "abcdefghijklmnopqrstuvwxyz", ["en", "fr", "de"]
    lines = {"en": ["smith", "jones"], "fr": ["martin", "petit"], "de": ["muller", "weber"]}
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    def line_to_tensor(line):
        tensor = torch.zeros(len(line), 1, len(letters))
        for li, letter in enumerate(line):
            tensor[li][0][letters.index(letter)] = 1
        return tensor.to(device)

    class RNN(torch.nn.Module):
        def __init__(self, input_size, hidden_size, output_size):
            super().__init__()
            self.hidden_size = hidden_size
            self.i2h = torch.nn.Linear(input_size + hidden_size, hidden_size)
            self.h2o = torch.nn.Linear(hidden_size, output_size)

        def forward(self, x, hidden):
            hidden = torch.tanh(self.i2h(torch.cat((x, hidden), 1)))
            return torch.log_softmax(self.h2o(hidden), dim=1), hidden

        def init_hidden(self):
            return torch.zeros(1, self.hidden_size)

    rnn = RNN(len(letters), 8, len(categories))
    for p, w in zip(rnn.parameters(), weights):
        p.data = torch.from_numpy(w.copy()).float()
    criterion, learning_rate, losses, guesses = torch.nn.NLLLoss(), 0.05, [], []
    for step in range(12):
        category = categories[step % 3]
        line = lines[category][step // 3 % 2]
        category_tensor = torch.tensor([categories.index(category)], dtype=torch.long)
        hidden = rnn.init_hidden()
        rnn.zero_grad()
        for i in range(line_to_tensor(line).size()[0]):
            output, hidden = rnn(line_to_tensor(line)[i], hidden)
        loss = criterion(output, category_tensor)
        loss.backward()
        for p in rnn.parameters():
            p.data.add_(p.grad.data, alpha=-learning_rate)
        top_n, top_i = output.topk(1)
        guesses.append(categories[top_i[0].item()])
        losses.append(loss.item())
    return losses, guesses


def test_the_names_tutorial_runs_unchanged_and_matches_torch():
    rng = np.random.default_rng(0)
    shapes = [(8, 34), (8,), (3, 8), (3,)]
    weights = [rng.uniform(-0.3, 0.3, s).astype(np.float32) for s in shapes]
    ours, theirs = names_tutorial(tg, weights), names_tutorial(torch, weights)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-4)
    assert ours[1] == theirs[1]


@pytest.mark.parametrize("sizes", [(3,), (2, 3), (2, 3, 4), (2, 1, 3, 2), (0,)])
def test_tensor_of_sizes_as_torch(sizes):
    ours, theirs = tg.Tensor(*sizes), torch.Tensor(*sizes)
    assert ours.shape == tuple(theirs.shape) and ours.type() == theirs.type()
    weight = tg.nn.Parameter(tg.Tensor(*sizes))  # older custom layers, then reset_parameters()
    assert weight.requires_grad and weight.shape == sizes


def test_tensor_sizes_must_be_non_negative():
    with pytest.raises(RuntimeError):
        torch.Tensor(2, -1)
    with pytest.raises(RuntimeError, match="negative dimension"):
        tg.Tensor(2, -1)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((), {}), ((1,), {}), ((0,), {"unbiased": False}), ((1,), {"keepdim": True})]
    + [((), {"correction": 0}), ((-1,), {"correction": 2}), ((False,), {}), (((0, 1),), {})],
)
@pytest.mark.parametrize("name", ["var", "std"])
def test_var_and_std_values_and_gradients_match_torch(name, args, kwargs):
    x, tx = pair(distinct((3, 4)), requires_grad=True)
    ours, theirs = getattr(x, name)(*args, **kwargs), getattr(tx, name)(*args, **kwargs)
    close(ours, theirs)
    close(getattr(tg, name)(x, *args, **kwargs), getattr(torch, name)(tx, *args, **kwargs))
    (ours * ours).sum().backward()
    (theirs * theirs).sum().backward()
    close(x.grad, tx.grad)


def test_view_as_expand_as_type_as_as_torch():
    pred, target = tg.tensor([[1], [2], [3]]), tg.tensor([1, 0, 3])
    t_pred, t_target = torch.tensor([[1], [2], [3]]), torch.tensor([1, 0, 3])
    correct = pred.eq(target.view_as(pred)).sum().item()
    assert correct == t_pred.eq(t_target.view_as(t_pred)).sum().item() == 2
    assert target.reshape_as(pred).shape == (3, 1)
    assert tg.ones(3, 1).expand_as(tg.zeros(3, 4)).shape == tuple(
        torch.ones(3, 1).expand_as(torch.zeros(3, 4)).shape
    )
    assert target.type_as(tg.zeros(1)).type() == t_target.type_as(torch.zeros(1)).type()


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_gather_values_and_gradients_match_torch(dim):
    x, tx = pair(distinct((3, 4)), requires_grad=True)
    index = np.array([[0, 2, 2], [1, 0, 0]]) if dim == 0 else np.array([[3, 3], [0, 1], [2, 0]])
    ours, theirs = x.gather(dim, tg.tensor(index)), tx.gather(dim, torch.from_numpy(index))
    close(ours, theirs)
    close(tg.gather(x, dim, index), torch.gather(tx, dim, torch.from_numpy(index)))
    w = np.arange(1.0, 1.0 + index.size).reshape(index.shape)
    (ours * w).sum().backward()
    (theirs * torch.from_numpy(w)).sum().backward()
    close(x.grad, tx.grad)  # repeated indices add up


def test_gather_errors_as_torch():
    x, tx = pair(distinct((2, 3)))
    for index in [np.array([[0.0]]), np.array([0, 1]), np.zeros((3, 1), np.int64)]:
        with pytest.raises(RuntimeError):
            tx.gather(1, torch.from_numpy(index))
        with pytest.raises(RuntimeError, match="gather"):
            x.gather(1, index)


def test_random_and_empty_likes():
    base = tg.zeros(2, 3, dtype=tg.float64)
    for fn, t_fn in [(tg.rand_like, torch.rand_like), (tg.randn_like, torch.randn_like)]:
        ours, theirs = fn(base), t_fn(torch.zeros(2, 3, dtype=torch.float64))
        assert ours.shape == tuple(theirs.shape) and ours.type() == theirs.type()
    tg.manual_seed(4)
    a = tg.randn_like(base)
    tg.manual_seed(4)
    assert tg.randn_like(base).tolist() == a.tolist()
    assert (
        tg.empty_like(base).shape == (2, 3)
        and tg.rand_like(base, dtype=tg.float32).dtype == np.float32
    )


def test_tensor_of_a_list_is_float32_as_torch_tensor():
    for data in ([0, 1], [[0, 0], [0, 1], [1, 1]], [True, False], (1, 2)):
        ours, theirs = tg.Tensor(data), torch.Tensor(data)
        assert ours.type() == theirs.type() and ours.tolist() == theirs.tolist()
    assert tg.tensor([0, 1]).dtype == np.int64  # torch.tensor infers, as torch does
    assert tg.Tensor(np.array([0, 1])).dtype == np.int64  # an array keeps its dtype
