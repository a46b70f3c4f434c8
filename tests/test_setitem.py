"""Item assignment ``t[index] = value`` against torch 2.13: values, gradients and errors, and the
patterns tutorials write (outputs collected per step, one-hot by chained indexing, masks)."""

import numpy as np
import pytest

import tinygrad_seq as tg

torch = pytest.importorskip("torch")


def close(ours, theirs):
    np.testing.assert_allclose(np.asarray(ours), theirs.detach().numpy(), rtol=1e-12, atol=1e-14)


def both_index(index):
    """The same index for torch: arrays become tensors."""
    if isinstance(index, tuple):
        return tuple(both_index(i) for i in index)
    if isinstance(index, np.ndarray):
        return torch.from_numpy(index)
    return index


MASK = np.array([[True, False, True], [False, False, True], [True, True, False], [False] * 3])
INDICES = [
    (1, (3,)),
    (-1, ()),
    (slice(1, 3), (1, 3)),
    ((slice(None), 0), (4,)),
    ((None, 1), (3,)),
    ((Ellipsis, 2), (4,)),
    ([0, 2], (2, 3)),
    ((np.array([0, 2]), slice(None)), (3,)),
    ((np.array([0, 3]), np.array([1, 2])), (2,)),
    (MASK, (5,)),
    (MASK, ()),
    (np.array([True, False, True, False]), (1, 3)),
    ((slice(None), np.array([2, 0])), (4, 1)),
]


@pytest.mark.parametrize(("index", "value_shape"), INDICES)
def test_values_and_gradients_match_torch(index, value_shape):
    rng = np.random.default_rng(0)
    a, v = rng.standard_normal((4, 3)), rng.standard_normal(value_shape)
    ours_a, ours_v = tg.tensor(a, requires_grad=True), tg.tensor(v, requires_grad=True)
    theirs_a, theirs_v = torch.tensor(a, requires_grad=True), torch.tensor(v, requires_grad=True)
    x, tx = ours_a * 1, theirs_a * 1  # not a leaf: it may be written in the graph
    x[index] = ours_v * 2
    tx[both_index(index)] = theirs_v * 2
    close(x, tx)
    assert x.grad_fn == "setitem"
    w = rng.standard_normal((4, 3))
    (x * x * w).sum().backward()
    (tx * tx * torch.from_numpy(w)).sum().backward()
    close(ours_a.grad, theirs_a.grad)
    close(ours_v.grad, theirs_v.grad)


def test_numbers_lists_arrays_and_tensors_as_values_outside_the_graph():
    x, tx = tg.zeros(3, 4), torch.zeros(3, 4)
    for index, value in [
        ((0, 1), 5),
        (1, [1.0, 2.0, 3.0, 4.0]),
        ((slice(None), 2), np.array([7.0, 8.0, 9.0])),
        ((2, slice(0, 2)), tg.tensor([-1.0, -2.0])),
    ]:
        before = x._version
        x[index] = value
        theirs = torch.tensor(np.asarray(value)) if not isinstance(value, int) else value
        tx[index] = theirs
        assert x._version == before + 1
    close(x, tx)


def test_the_tensor_stays_the_same_object_and_counts_the_write():
    h = tg.tensor([1.0, 2.0], requires_grad=True)
    outs = tg.zeros(2, 2)
    same = outs
    outs[0] = h
    assert outs is same and outs._version == 1 and outs.requires_grad and not outs.is_leaf


def test_collecting_step_outputs_then_backward_matches_torch():
    """The tutorial loop: outputs = zeros(T, B, H); outputs[t] = h; loss on outputs."""
    T, B, I, H = 5, 2, 3, 4
    rng = np.random.default_rng(1)
    x, w, u = (
        rng.standard_normal((T, B, I)),
        rng.standard_normal((I, H)),
        rng.standard_normal((H, H)),
    )

    def run(lib, w, u):
        outs, h = lib.zeros(T, B, H, dtype=lib.float64), lib.zeros(B, H, dtype=lib.float64)
        for t in range(T):
            h = (lib.tensor(x[t]) @ w + h @ u).tanh()
            outs[t] = h
        loss = (outs * outs).sum()
        loss.backward()
        return outs

    ours_w, ours_u = tg.tensor(w, requires_grad=True), tg.tensor(u, requires_grad=True)
    theirs_w, theirs_u = torch.tensor(w, requires_grad=True), torch.tensor(u, requires_grad=True)
    close(run(tg, ours_w, ours_u), run(torch, theirs_w, theirs_u))
    close(ours_w.grad, theirs_w.grad)
    close(ours_u.grad, theirs_u.grad)


def test_one_hot_by_chained_indexing_as_the_char_rnn_tutorial():
    letters = "abcdefghij"

    def line_to_tensor(lib, line):
        tensor = lib.zeros(len(line), 1, len(letters))
        for li, letter in enumerate(line):
            tensor[li][0][letters.index(letter)] = 1
        return tensor

    ours, theirs = line_to_tensor(tg, "jade"), line_to_tensor(torch, "jade")
    close(ours, theirs)
    assert ours.numpy().sum() == 4


def test_masked_write_and_column_write_with_grad():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((3, 4))
    x, tx = tg.tensor(a), torch.tensor(a)
    x[x < 0] = 0
    tx[tx < 0] = 0
    close(x, tx)
    y, ty = tg.tensor([1.0, 2.0, 3.0], requires_grad=True), torch.tensor([1.0, 2.0, 3.0]).double()
    ty.requires_grad_()
    x[:, 0] = y
    tx[:, 0] = ty
    close(x, tx)
    (x * x).sum().backward()
    (tx * tx).sum().backward()
    close(y.grad, ty.grad)


def test_repeated_indices_give_each_value_the_slots_gradient_as_torch():
    x, tx = tg.zeros(3, dtype=tg.float64), torch.zeros(3, dtype=torch.float64)
    v = tg.tensor([1.0, 2.0], dtype=tg.float64, requires_grad=True)
    tv = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    x[[0, 0]] = v * 1
    tx[[0, 0]] = tv * 1
    close(x, tx)
    (x * 3).sum().backward()
    (tx * 3).sum().backward()
    close(v.grad, tv.grad)  # [3, 3]: both, though one value was kept


def test_a_leaf_that_requires_grad_is_refused_as_in_torch():
    w, tw = tg.zeros(3, requires_grad=True), torch.zeros(3, requires_grad=True)
    message = "a leaf Variable that requires grad is being used in an in-place operation"
    with pytest.raises(RuntimeError, match=message):
        tw[0] = 1.0
    with pytest.raises(RuntimeError, match=message):
        w[0] = 1.0
    with tg.no_grad():  # a plain write, counted
        w[0] = 1.0
    with torch.no_grad():
        tw[0] = 1.0
    close(w, tw)
    assert w._version == tw._version == 1 and w.is_leaf and w.requires_grad


def test_writing_a_value_a_node_saved_refuses_backward_as_in_torch():
    for lib in (tg, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        loss = (y * y).sum()  # mul saved y
        y[0] = 0.0
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            loss.backward()
    data = tg.ones(2)  # a tensor without a graph, saved by the node
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * data).sum()
    data[1] = 5.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_shape_mismatch_and_out_of_range_are_torchs_errors():
    x, tx = tg.zeros(3), torch.zeros(3)
    with pytest.raises(RuntimeError):
        tx[0:2] = torch.ones(3)
    with pytest.raises(RuntimeError, match=r"setitem: shape mismatch.*\(3,\).*\(2,\)"):
        x[0:2] = np.ones(3)
    with pytest.raises(IndexError):
        tx[5] = 1.0
    with pytest.raises(IndexError):
        x[5] = 1.0
    h = tg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="setitem: shape mismatch"):
        x[0:2] = h


def test_a_recorded_write_into_a_view_is_refused_with_the_fix():
    outs, h = tg.zeros(2, 3), tg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"t\[i, j\] = value"):
        outs[0][:] = h
    outs[0, :] = h  # indexed once: recorded
    assert outs.grad_fn == "setitem"


# --- in-place methods on tensors in the graph: recorded, self kept, as torch ---------------------


def graph_pair(values):
    a, ta = tg.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    return a, ta, a * 1, ta * 1


@pytest.mark.parametrize(
    "op",
    [
        lambda y, w, lib: y.mul_(w),
        lambda y, w, lib: y.add_(w, alpha=-2.0),
        lambda y, w, lib: y.sub_(w),
        lambda y, w, lib: y.div_(w + 3.0),
        lambda y, w, lib: y.copy_(w),
        lambda y, w, lib: y.clamp_(-0.5, 0.5),
        lambda y, w, lib: y.zero_(),
        lambda y, w, lib: y.fill_(2.0),
        lambda y, w, lib: y.masked_fill_(lib.tensor([True, False, True]), 0.0),
    ],
)
def test_in_place_methods_in_the_graph_match_torch(op):
    a, ta, y, ty = graph_pair([0.3, -1.2, 2.0])
    w, tw = (
        tg.tensor([1.5, 0.5, -2.0], requires_grad=True),
        torch.tensor([1.5, 0.5, -2.0], requires_grad=True),
    )
    same = y
    assert op(y, w, tg) is same and not y.is_leaf
    op(ty, tw, torch)
    close(y, ty)
    (y * torch_weights(tg)).sum().backward()
    (ty * torch_weights(torch)).sum().backward()
    close(a.grad, ta.grad)
    if tw.grad is None:
        assert w.grad is None or not w.grad.numpy().any()
    else:
        close(w.grad, tw.grad)


def torch_weights(lib):
    return lib.tensor([1.0, 2.0, 3.0])


def test_an_in_place_method_on_a_saved_value_refuses_backward_as_torch():
    for lib in (tg, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        loss = (y * y).sum()
        y.add_(1.0)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            loss.backward()


def test_writing_a_graph_value_through_data_reaches_the_parameter():
    """DDPG's soft update written without .data on the right: the target still moves."""
    tau = 0.1
    q, tq = tg.tensor([1.0, 2.0], requires_grad=True), torch.tensor([1.0, 2.0], requires_grad=True)
    p, tp = tg.tensor([0.0, 0.0], requires_grad=True), torch.tensor([0.0, 0.0], requires_grad=True)
    p.data.copy_(tau * q + (1 - tau) * p.data)
    tp.data.copy_(tau * tq + (1 - tau) * tp.data)
    close(p, tp)
    assert p.is_leaf and p.requires_grad


def test_a_plain_buffer_written_from_the_graph_joins_it():
    h, th = tg.tensor([1.0, 2.0], requires_grad=True), torch.tensor([1.0, 2.0], requires_grad=True)
    buf, tbuf = tg.zeros(2), torch.zeros(2)
    buf.add_(h * 3)
    tbuf.add_(th * 3)
    assert buf.requires_grad and tbuf.requires_grad
    buf.sum().backward()
    tbuf.sum().backward()
    close(h.grad, th.grad)


def test_an_operator_on_a_plain_tensor_with_a_graph_value_keeps_the_object():
    h, th = tg.tensor([1.0, 2.0], requires_grad=True), torch.tensor([1.0, 2.0], requires_grad=True)
    buf, tbuf = tg.zeros(2), torch.zeros(2)
    alias = buf
    buf += h * h
    tbuf += th * th
    assert buf is alias and buf.requires_grad == tbuf.requires_grad
    buf.sum().backward()
    tbuf.sum().backward()
    close(h.grad, th.grad)


def test_masked_fill_needs_a_bool_mask_as_torch():
    with pytest.raises(RuntimeError, match="only supports boolean masks"):
        torch.zeros(2).masked_fill_(torch.tensor([1.0, 0.0]), 1.0)
    with pytest.raises(RuntimeError, match="only supports boolean masks"):
        tg.zeros(2).masked_fill_(tg.tensor([1.0, 0.0]), 1.0)
    x, tx = tg.zeros(2, 3), torch.zeros(2, 3)
    x.masked_fill_(tg.tensor([[True], [False]]), 5.0)  # broadcast to the shape
    tx.masked_fill_(torch.tensor([[True], [False]]), 5.0)
    close(x, tx)
