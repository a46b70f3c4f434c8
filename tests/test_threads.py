"""The switches are per thread and restore what they found, with real threads (PyTorch's
guarantees): grad mode, keep_values, scope, anomaly mode, the scan tracer, backward's options and
the gradients a sweep accumulates. Decorators are re-entrant and handle generators."""

import contextlib
import sys
import threading

import numpy as np
import pytest

import tinygrad_seq as tg
from tinygrad_seq import nn
from tinygrad_seq.scan import scan

TIMEOUT = 20  # seconds a thread may wait for another: only reached when something is broken


@contextlib.contextmanager
def frequent_switches(seconds=1e-5):
    """Threads take turns every few microseconds (not every 5 ms): races show up in a short test."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def run_threads(*targets):
    """Run each target in its own thread, wait for all, re-raise the first error."""
    errors = []

    def guarded(target):
        try:
            target()
        except BaseException as error:  # handed to the test's thread below
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
        assert not t.is_alive(), "a thread did not finish"
    if errors:
        raise errors[0]


def beside(main, *loops):
    """Run ``main`` while each of ``loops`` runs over and over in its own thread: main's result."""
    stop, result = threading.Event(), []

    def repeat(loop):
        def looping():
            while not stop.is_set():
                loop()

        return looping

    def then_stop():
        try:
            result.append(main())
        finally:
            stop.set()

    run_threads(then_stop, *[repeat(loop) for loop in loops])
    return result[0]


def leaf(values):
    return tg.Tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


# --- grad mode beside training --------------------------------------------------------------------


def train(steps=300):
    """Every step's gradients of a small model trained with SGD (same seed: same numbers)."""
    model = nn.Sequential(nn.Linear(4, 8, seed=0), nn.Tanh(), nn.Linear(8, 1, seed=1))
    opt = tg.optim.SGD(model.parameters(), lr=0.05)
    rng = np.random.default_rng(0)
    x = tg.Tensor(rng.standard_normal((16, 4)).astype(np.float32))
    y = tg.Tensor(rng.standard_normal((16, 1)).astype(np.float32))
    grads = []
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        grads.append([p.grad.numpy().copy() for p in model.parameters()])
        opt.step()
    return grads


def infer():
    """What an evaluation thread does: forward passes under no_grad."""
    w = leaf(np.ones((4, 4)))
    with tg.no_grad():
        out = (tg.Tensor(np.ones((2, 4))) @ w).tanh()
        assert not out.requires_grad and not tg.is_grad_enabled()
    assert (w * 2).requires_grad  # and recording again after the block


def toggle():
    """A thread switching its own mode back and forth, checking it sees its own mode each time."""
    w = leaf([1.0, 2.0])
    with tg.no_grad():
        assert not (w * 2).requires_grad
        with tg.enable_grad():
            assert (w * 2).requires_grad
        with tg.set_grad_enabled(True):
            assert (w * 2).requires_grad
        assert not (w * 2).requires_grad
    assert (w * 2).requires_grad


def test_training_beside_inference_and_toggling_threads_gives_the_single_thread_gradients():
    expected = train()
    with frequent_switches(1e-4):
        got = beside(train, infer, toggle)
    for step, (a, b) in enumerate(zip(got, expected)):
        for ga, gb in zip(a, b):
            np.testing.assert_array_equal(ga, gb, err_msg=f"step {step}")


def test_a_new_thread_starts_recording_whatever_the_mode_of_the_thread_that_starts_it():
    seen = []
    with tg.no_grad(), tg.keep_values(), tg.scope("outer"):
        run_threads(lambda: seen.append((tg.is_grad_enabled(), (leaf([1.0]) * 2).node)))
    recording, node = seen[0]
    assert recording and node.scope == () and node.out is None  # no scope, no kept value


def mode_in_one_thread_only(switch, probe):
    """Enter ``switch`` in one thread; meanwhile another thread runs ``probe``: what it saw, and
    what the first thread saw inside."""
    entered, probed, seen = threading.Event(), threading.Event(), {}

    def inside():
        with switch():
            entered.set()
            assert probed.wait(TIMEOUT)
            seen["inside"] = probe()

    def beside_it():
        assert entered.wait(TIMEOUT)
        seen["beside"] = probe()
        probed.set()

    run_threads(inside, beside_it)
    return seen["inside"], seen["beside"]


def test_no_grad_in_one_thread_does_not_stop_another_from_recording():
    inside, beside_it = mode_in_one_thread_only(tg.no_grad, lambda: (leaf([1.0]) * 2).requires_grad)
    assert (inside, beside_it) == (False, True)


def test_keep_values_and_scope_in_one_thread_do_not_reach_another():
    inside, beside_it = mode_in_one_thread_only(tg.keep_values, lambda: (leaf([1.0]) * 2).node.out)
    assert inside is not None and beside_it is None
    inside, beside_it = mode_in_one_thread_only(
        lambda: tg.scope("mine"), lambda: (leaf([1.0]) * 2).node.scope
    )
    assert (inside, beside_it) == (("mine",), ())


def test_detect_anomaly_in_one_thread_does_not_raise_in_another():
    def log_of_minus_one():
        with np.errstate(invalid="ignore"):  # only detect_anomaly may turn NaN into an error
            try:
                tg.Tensor(np.array([-1.0])).log()
            except FloatingPointError:
                return "raised"
            return "passed"

    inside, beside_it = mode_in_one_thread_only(tg.detect_anomaly, log_of_minus_one)
    assert (inside, beside_it) == ("raised", "passed")


# --- scan ----------------------------------------------------------------------------------------


def test_a_scan_recorded_in_one_thread_captures_no_op_of_another():
    recording, other_done, other = threading.Event(), threading.Event(), {}
    rng = np.random.default_rng(0)
    x_data, w_data = rng.standard_normal((4, 2, 3)), rng.standard_normal((3, 3))

    def step(x_t, state, w, wait=True):
        if wait:  # the other thread runs its ops while this step is being recorded
            recording.set()
            assert other_done.wait(TIMEOUT)
        return ((x_t + state[0] @ w).tanh(),)

    def run(step):
        w = leaf(w_data)
        out, _ = scan(step, tg.Tensor(x_data), (tg.zeros(2, 3, dtype=np.float64),), (w,))
        out.sum().backward()
        return out.numpy(), w.grad

    def ops_meanwhile():
        assert recording.wait(TIMEOUT)
        try:
            a = leaf([1.0, 2.0])
            (a * 3).sum().backward()
            other["grad"] = a.grad
        finally:
            other_done.set()

    seen = []
    run_threads(lambda: seen.append(run(step)), ops_meanwhile)
    expected = run(lambda x_t, state, w: step(x_t, state, w, wait=False))
    np.testing.assert_array_equal(seen[0][0], expected[0])
    np.testing.assert_array_equal(seen[0][1], expected[1])
    np.testing.assert_array_equal(other["grad"], [3.0, 3.0])


# --- concurrent backwards on one retained graph --------------------------------------------------


def lstm_graph(pause=None):
    """A loss through a scan (an LSTM) and a weight gradient deferred as a product (a Linear), and
    its parameters. ``pause`` is called by backward between the loss and the layers."""
    lstm = nn.LSTM(3, 4, seed=0, dtype=np.float64)
    head = nn.Linear(4, 2, seed=1, dtype=np.float64)
    x = tg.Tensor(np.random.default_rng(0).standard_normal((6, 2, 3)))
    out = head(lstm(x)[0])
    if pause is not None:
        probe = tg.ops.Primitive("pause", np.copy, [lambda g, out, x: pause() or g])
        out = tg.apply(probe, out)
    return out.tanh().sum(), list(lstm.parameters()) + list(head.parameters())


def sequential_grads(backwards):
    loss, params = lstm_graph()
    for _ in range(backwards):
        loss.backward(retain_graph=True)
    return [p.grad for p in params]


def test_a_retain_graph_backward_running_while_another_ends_keeps_the_graph():
    # the first sweep waits for the second to come in, and ends while the second runs on
    first_in, second_in, first_done = threading.Event(), threading.Event(), threading.Event()

    def pause():
        if not first_in.is_set():
            first_in.set()
            assert second_in.wait(TIMEOUT)
        else:
            second_in.set()
            assert first_done.wait(TIMEOUT)

    loss, params = lstm_graph(pause)

    def first():
        loss.backward(retain_graph=True)
        first_done.set()

    def second():
        assert first_in.wait(TIMEOUT)
        loss.backward(retain_graph=True)

    run_threads(first, second)
    loss.backward(retain_graph=True)  # the graph is still whole
    for p, g in zip(params, sequential_grads(3)):
        np.testing.assert_array_equal(p.grad, g)


def test_concurrent_retain_graph_backwards_on_one_graph_add_up_as_sequential_ones():
    loss, params = lstm_graph()
    threads, each = 8, 5
    expected = sequential_grads(threads * each)

    def backwards():
        for _ in range(each):
            loss.backward(retain_graph=True)

    for _ in range(5):  # a race shows up in most rounds (measured: 8 in 10), not in every one
        for p in params:
            p.grad = None
        with frequent_switches():
            run_threads(*[backwards] * threads)
        # every sweep adds the same gradient to each leaf: the order of the additions is no matter
        for p, g in zip(params, expected):
            np.testing.assert_array_equal(p.grad, g)


# --- decorators: fresh per call, re-entrant, generators, exceptions ------------------------------


@pytest.mark.parametrize(
    ("switch", "inside"),
    [(tg.no_grad, False), (tg.enable_grad, True), (lambda: tg.set_grad_enabled(False), False)],
)
def test_a_recursive_decorated_function_restores_the_mode_it_found(switch, inside):
    x = leaf([1.0])

    @switch()
    def depth(n):
        assert (x * 2).requires_grad is inside
        return depth(n - 1) if n else "bottom"

    for outside in (True, False):
        with tg.set_grad_enabled(outside):
            assert depth(3) == "bottom"
            assert (x * 2).requires_grad is outside


def test_a_recursive_keep_values_function_restores_the_mode_it_found():
    x = leaf([1.0])

    @tg.keep_values()
    def depth(n):
        return depth(n - 1) if n else (x * 2).node.out

    assert depth(2) is not None
    assert (x * 2).node.out is None


def test_the_mode_is_restored_after_an_exception_deep_in_a_recursion():
    x = leaf([1.0])

    @tg.no_grad()
    def fail_at_the_bottom(n):
        if n == 0:
            raise KeyError("bottom")
        return fail_at_the_bottom(n - 1)

    with pytest.raises(KeyError):
        fail_at_the_bottom(3)
    assert (x * 2).requires_grad

    @tg.detect_anomaly()
    def nan_at_the_bottom(n):
        return nan_at_the_bottom(n - 1) if n else tg.Tensor(np.array([-1.0])).log()

    with pytest.raises(FloatingPointError):
        nan_at_the_bottom(2)
    with np.errstate(invalid="ignore"):
        tg.Tensor(np.array([-1.0])).log()  # anomaly mode is off again: no error


def test_one_switch_object_entered_inside_itself_restores_the_mode_it_found():
    x = leaf([1.0])
    for make in (tg.no_grad, tg.keep_values, tg.detect_anomaly, lambda: tg.set_grad_enabled(False)):
        switch = make()
        with switch, switch:  # the same object, entered inside itself
            pass
        assert (x * 2).requires_grad, switch
        assert (x * 2).node.out is None, switch
    with np.errstate(invalid="ignore"):
        tg.Tensor(np.array([-1.0])).log()  # anomaly mode is off again: no error


def test_a_no_grad_generator_yields_tensors_without_graph_and_the_caller_keeps_its_mode():
    x = leaf([1.0])

    @tg.no_grad()
    def doubles(n):
        for _ in range(n):
            yield x * 2
            assert not tg.is_grad_enabled()  # the mode holds again after each resume
        return "done"

    gen = doubles(3)
    for y in gen:
        assert not y.requires_grad
        assert (x * 2).requires_grad  # the caller's mode between resumes
    with pytest.raises(StopIteration) as stop:
        next(doubles(0))
    assert stop.value.value == "done"


def test_an_enable_grad_generator_records_inside_no_grad():
    x = leaf([1.0])

    @tg.enable_grad()
    def doubles():
        received = yield x * 2
        yield x * received

    with tg.no_grad():
        gen = doubles()
        assert next(gen).requires_grad
        assert not (x * 2).requires_grad
        assert gen.send(3.0).requires_grad  # send reaches the generator


def test_a_decorated_generator_sees_thrown_exceptions_and_closes_in_its_mode():
    seen = []

    @tg.no_grad()
    def counting():
        try:
            while True:
                try:
                    yield 1
                except ValueError:
                    seen.append(("caught", tg.is_grad_enabled()))
        finally:
            seen.append(("closed", tg.is_grad_enabled()))

    gen = counting()
    next(gen)
    assert gen.throw(ValueError("in")) == 1
    gen.close()
    assert seen == [("caught", False), ("closed", False)]
    assert tg.is_grad_enabled()


def test_set_grad_enabled_as_call_context_manager_and_decorator():
    x = leaf([1.0])
    tg.set_grad_enabled(False)
    try:
        assert not tg.is_grad_enabled() and not (x * 2).requires_grad
    finally:
        tg.set_grad_enabled(True)
    with tg.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad

    @tg.set_grad_enabled(False)
    def double(t):
        return t * 2

    assert tg.is_grad_enabled()  # decorating does not switch the mode
    assert not double(x).requires_grad and (x * 2).requires_grad
    with pytest.raises(TypeError, match="mode must be a bool"):
        tg.set_grad_enabled("no")


def test_a_switch_without_arguments_decorates_without_parentheses_too():
    x = leaf([1.0])

    @tg.no_grad
    def double(t):
        return t * 2

    @tg.no_grad
    def doubles():
        yield x * 2

    assert not double(x).requires_grad and not next(doubles()).requires_grad
    assert (x * 2).requires_grad


def test_a_switch_decorates_only_functions():
    with pytest.raises(TypeError, match="no_grad decorates a function"):
        tg.no_grad()(3)
