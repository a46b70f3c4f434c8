"""In-place writes are versioned: backward refuses a saved tensor that an optimizer step, nn.init or
load_state_dict changed after the forward pass, instead of giving silently wrong gradients."""

import numpy as np
import pytest

import tinygrad_seq as tg
from tinygrad_seq import nn

MODIFIED = "modified by an inplace operation"


def _w_x():
    w = nn.Parameter(np.array([1.0, 2.0]))
    x = tg.Tensor(np.array([3.0, 4.0]), requires_grad=True)
    return w, x


def test_version_counts_every_write_by_the_library():
    w = nn.Parameter(np.array([1.0, 2.0]))
    assert w._version == 0
    nn.init.zeros_(w)
    nn.init.uniform_(w, rng=0)
    assert w._version == 2
    opt = tg.optim.Adam([w], lr=0.1)
    opt.step()  # no gradient: nothing written
    assert w._version == 2
    w.grad = np.ones(2)
    opt.step()
    assert w._version == 3
    model = nn.Linear(2, 1, seed=0)  # initialised in place: version 1, as in PyTorch
    model.load_state_dict(model.state_dict())
    assert [p._version for p in model.parameters()] == [2, 2]
    assert (w * 2)._version == 0  # an op's result starts at 0 too


def test_init_between_forward_and_backward_raises():
    w, x = _w_x()
    loss = (w * x).sum()
    nn.init.zeros_(w)
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()


@pytest.mark.parametrize("make", [lambda p: tg.optim.SGD(p, lr=0.1), tg.optim.Adam])
def test_optimizer_step_between_forward_and_backward_raises(make):
    w, x = _w_x()
    opt = make([w])
    w.grad = np.ones(2)
    loss = (w * x).sum()
    opt.step()
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()


def test_load_state_dict_between_forward_and_backward_raises():
    model = nn.Linear(2, 1, seed=0)
    saved = model.state_dict()
    x = tg.Tensor(np.ones((3, 2), dtype=np.float32), requires_grad=True)
    loss = model(x).sum()
    model.load_state_dict(saved)
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()


def test_a_frozen_parameter_written_in_place_is_caught_too():
    # it takes no gradient, but the product's gradient for x reads it
    w, x = _w_x()
    w.requires_grad = False
    loss = (w * x).sum()
    nn.init.ones_(w)
    with pytest.raises(RuntimeError, match=r"'mul' saved input 0, parameter"):
        loss.backward()


def _lstm_step_before_backward():
    lstm = nn.LSTM(2, 8, dtype=np.float64, seed=0)
    opt = tg.optim.Adam(lstm.parameters(), lr=0.1)
    x = tg.Tensor(np.random.default_rng(0).normal(size=(5, 3, 2)))
    lstm(x)[0].sum().backward()
    loss = lstm(x)[0].sum()
    opt.step()
    loss.backward()


def test_lstm_with_adam_step_before_backward_raises_on_the_compiled_loop():
    with pytest.raises(RuntimeError, match=MODIFIED) as error:
        _lstm_step_before_backward()
    assert "'scan' saved input" in str(error.value)
    assert "is at version 2; expected version 1" in str(error.value)  # 1: nn.init in the layer


def test_lstm_with_adam_step_before_backward_raises_op_by_op():
    with tg.keep_values(), pytest.raises(RuntimeError, match=MODIFIED):
        _lstm_step_before_backward()


def test_the_message_names_op_parameter_shape_and_versions():
    lstm = nn.LSTM(2, 8, dtype=np.float64, seed=0)
    x = tg.Tensor(np.ones((4, 1, 2)))
    with tg.keep_values():
        loss = lstm(x)[0].sum()
    nn.init.zeros_(lstm.weight_hh_l0)
    with pytest.raises(RuntimeError) as error:
        loss.backward()
    message = str(error.value)
    assert "one of the tensors needed for gradient computation has been " + MODIFIED in message
    assert "parameter 'weight_hh_l0' shape (32, 8) float64" in message
    assert "is at version 2; expected version 1" in message
    assert "call backward before optimizer.step(), nn.init or load_state_dict" in message
    assert "'linear' saved input 1" in message  # the last step's h @ weight_hh.T


def test_the_normal_training_loop_never_raises():
    lstm = nn.LSTM(2, 4, dtype=np.float64, seed=0)
    head = nn.Linear(4, 1, dtype=np.float64, seed=1)
    params = list(lstm.parameters()) + list(head.parameters())
    opt = tg.optim.Adam(params, lr=0.01)
    x = tg.Tensor(np.random.default_rng(1).normal(size=(6, 2, 2)))
    start = lstm.weight_hh_l0._version
    for _ in range(3):
        opt.zero_grad()  # the compiled loop, then the op-by-op path
        head(lstm(x)[0]).sum().backward()
        opt.step()
        with tg.keep_values():
            loss = head(lstm(x)[0]).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert lstm.weight_hh_l0._version == start + 6


def test_a_step_after_backward_then_a_new_forward_works():
    w, x = _w_x()
    opt = tg.optim.SGD([w], lr=0.5)
    (w * x).sum().backward()
    opt.step()
    x.grad = None
    (w * x).sum().backward()
    np.testing.assert_allclose(x.grad, w.numpy())  # the new values, [-0.5, 0]


def test_retain_graph_second_backward_checks_too():
    w, x = _w_x()
    loss = (w * x).sum()
    loss.backward(retain_graph=True)
    nn.init.zeros_(w)
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()


def test_a_write_into_an_unsaved_input_is_fine():
    # add saves neither input: its gradient does not depend on the values
    w, x = _w_x()
    loss = (w + x).sum()
    nn.init.zeros_(w)
    loss.backward()
    np.testing.assert_allclose(x.grad, [1.0, 1.0])


def test_writes_through_data_stay_unchecked_as_in_pytorch():
    w, x = _w_x()
    loss = (w * x).sum()
    w.numpy()[...] = 0
    loss.backward()
    np.testing.assert_allclose(x.grad, [0.0, 0.0])
    assert w._version == 0


def test_a_node_does_not_keep_an_intermediate_tensor_alive():
    import weakref

    w, x = _w_x()
    h = w * x
    ref = weakref.ref(h)
    loss = (h * h).sum()
    del h
    assert ref() is None
    loss.backward()


def test_torch_raises_in_the_same_scenario():
    torch = pytest.importorskip("torch")
    w = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    x = torch.tensor([3.0, 4.0], requires_grad=True)
    opt = torch.optim.Adam([w])
    w.grad = torch.ones(2)
    loss = (w * x).sum()
    opt.step()
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()
    tw, tx = _w_x()
    topt = tg.optim.Adam([tw])
    tw.grad = np.ones(2)
    tloss = (tw * tx).sum()
    topt.step()
    with pytest.raises(RuntimeError, match=MODIFIED):
        tloss.backward()
    assert w._version == tw._version == 1
    linear, tlinear = torch.nn.Linear(2, 1), nn.Linear(2, 1)
    linear.load_state_dict(linear.state_dict())
    tlinear.load_state_dict(tlinear.state_dict())
    assert linear.weight._version == tlinear.weight._version == 2


def test_a_frozen_lstm_loaded_between_forward_and_backward_raises_on_the_compiled_loop():
    lstm = nn.LSTM(2, 4, dtype=np.float64, seed=0)
    for p in lstm.parameters():
        p.requires_grad = False
    x = tg.Tensor(np.ones((3, 1, 2)), requires_grad=True)  # only x takes a gradient
    loss = lstm(x)[0].sum()
    lstm.load_state_dict(nn.LSTM(2, 4, dtype=np.float64, seed=1).state_dict())
    with pytest.raises(RuntimeError, match=r"'scan' saved input 3, parameter 'weight_hh_l0'"):
        loss.backward()


def test_an_ops_result_written_in_place_is_caught_and_later_uses_are_fine():
    w, x = _w_x()
    y = w * 2
    old_use = (y * x).sum()
    nn.init.ones_(y)
    assert y._version == 1
    new_use = (y * x).sum()  # recorded after the write: it saw the new values
    new_use.backward()
    np.testing.assert_allclose(x.grad, [1.0, 1.0])
    with pytest.raises(RuntimeError, match=r"'mul' saved input 0, tensor shape \(2,\) float64"):
        old_use.backward()


def test_a_saved_output_written_in_place_is_caught():
    w, _ = _w_x()
    y = w.tanh()  # tanh's VJP reads its own result
    loss = y.sum()
    nn.init.zeros_(y)
    with pytest.raises(RuntimeError, match=r"'tanh' saved output, tensor"):
        loss.backward()
