"""The per-thread switches: ``no_grad``, ``enable_grad``, ``set_grad_enabled``,
``detect_anomaly``, ``keep_values``, ``eager``, ``scope``, and the state they set (``STATE``).

They are per thread, as PyTorch's grad mode is: an inference thread under ``no_grad`` does not
stop a training thread from recording. Each restores what it found, also when re-entered; as a
decorator each builds a fresh context per call (generators included). ``tensor.apply`` and the
sweep in ``engine`` read ``STATE``; nothing here knows the graph.
"""

import contextlib
import functools
import inspect
import threading

import numpy as np


class _State(threading.local):
    """The switches, one set per thread (a ``threading.local``): the class attributes are what a
    new thread starts with. ``apply`` reads three to six of them per op, each ~30 ns slower than a
    plain attribute's read (measured: +3% on a chain of 8x8 ops, where Python is all the cost)."""

    grad_enabled = True
    anomaly = False
    keep_values = False  # keep every op's result on its node (node.value), not only what VJPs read
    eager = False  # record every loop op by op: no compiled ``scan`` (``eager``)
    scope = ()  # tuple of names, outermost first: ("lstm", "layer 0", "t=3")
    tracer = None  # a list that ``apply`` appends each primitive it runs to (``scan`` records)
    # the options of the backward running now, set for an op that stands for many nodes (vjp_all)
    retain_graph = False
    keep_grads = False
    # inside a recorded backward (``create_graph``): NumPy functions on Tensors (np.where, np.sum,
    # ...) record, so that VJPs written for arrays record; elsewhere they see arrays, as always
    recording_backward = False
    inner_visits = 0  # how many nodes such an op visited (numbered after the op itself)


STATE = _State()


class _Switch:
    """What every mode switch shares. ``with`` restores the state it found, also when one switch
    object is entered again inside itself or by two threads (the states found are kept per
    thread). As a decorator it enters a fresh switch at each call; around a generator, at each
    resume, so the mode holds inside the generator and the caller's mode between resumes (as
    torch's decorators do)."""

    def __init__(self):
        self._found = {}  # thread id -> stack of the states found by __enter__, for __exit__

    def __enter__(self):
        found = self._switch()
        thread = threading.get_ident()
        stack = self._found.get(thread)
        if stack is None:
            self._found[thread] = [found]
        else:
            stack.append(found)

    def __exit__(self, *exc):
        thread = threading.get_ident()
        stack = self._found[thread]
        found = stack.pop()
        if not stack:
            del self._found[thread]
        self._restore(found)

    def __call__(self, func):
        if not callable(func):
            raise TypeError(f"{type(self).__name__} decorates a function, got {func!r}")
        if inspect.isgeneratorfunction(func):
            return _switched_generator(self._fresh, func)

        @functools.wraps(func)
        def switched(*args, **kwargs):
            with self._fresh():
                return func(*args, **kwargs)

        return switched

    def _fresh(self):
        return type(self)()


class _SwitchWithoutArguments(_Switch):
    """A switch that takes no arguments decorates with or without parentheses (``@tg.no_grad``
    and ``@tg.no_grad()``), as in torch."""

    def __new__(cls, func=None):
        if func is None:
            return object.__new__(cls)
        return cls()(func)

    def __init__(self, func=None):
        self._found = {}


class _SetsOneField(_SwitchWithoutArguments):
    """A switch that sets one field of ``STATE`` (``_field``) to ``_mode`` inside."""

    _field = _mode = None

    def _switch(self):
        found = getattr(STATE, self._field)
        setattr(STATE, self._field, self._mode)
        return found

    def _restore(self, found):
        setattr(STATE, self._field, found)


def _switched_generator(make_switch, func):
    """``func``'s generator, resumed each time inside a fresh switch from ``make_switch``."""

    @functools.wraps(func)
    def switched(*args, **kwargs):
        gen = func(*args, **kwargs)
        resume = functools.partial(gen.send, None)
        while True:
            try:
                with make_switch():
                    value = resume()
            except StopIteration as stop:
                return stop.value
            try:
                sent = yield value
            except GeneratorExit:  # closed: its finally blocks run in the mode too
                with make_switch():
                    gen.close()
                raise
            except BaseException as error:  # thrown in: raised at the generator's yield
                resume = functools.partial(gen.throw, error)
            else:
                resume = functools.partial(gen.send, sent)

    return switched


class no_grad(_SetsOneField):
    """Record no graph inside: a context manager and a decorator, as ``torch.no_grad``. Per
    thread: other threads keep recording.

    >>> import tinygrad_seq as tg
    >>> with tg.no_grad():
    ...     y = tg.Tensor([1.0], requires_grad=True) * 2
    >>> y.requires_grad
    False
    """

    _field, _mode = "grad_enabled", False


class enable_grad(no_grad):
    """Record the graph again inside a ``no_grad`` block (this thread only).

    >>> import tinygrad_seq as tg
    >>> with tg.no_grad(), tg.enable_grad():
    ...     y = tg.Tensor([1.0], requires_grad=True) * 2
    >>> y.requires_grad
    True
    """

    _mode = True


class set_grad_enabled(_Switch):
    """Turn recording on or off in this thread, as ``torch.set_grad_enabled``: a plain call (the
    mode stays until changed), a context manager (restores the mode it found) or a decorator.

    >>> import tinygrad_seq as tg
    >>> x = tg.Tensor([1.0], requires_grad=True)
    >>> with tg.set_grad_enabled(False):
    ...     print((x * 2).requires_grad)
    False
    >>> _ = tg.set_grad_enabled(False); print(tg.is_grad_enabled())
    False
    >>> _ = tg.set_grad_enabled(True); print(tg.is_grad_enabled())
    True
    """

    def __init__(self, mode):
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"set_grad_enabled: mode must be a bool, got {mode!r}")
        super().__init__()
        self.mode = bool(mode)
        # the mode is set now (a plain call); ``with`` and the decorator restore what it replaced
        self._replaced = threading.get_ident(), STATE.grad_enabled
        STATE.grad_enabled = self.mode

    def _switch(self):
        found = STATE.grad_enabled
        if self._replaced is not None and self._replaced[0] == threading.get_ident():
            found, self._replaced = self._replaced[1], None
        STATE.grad_enabled = self.mode
        return found

    def _restore(self, found):
        STATE.grad_enabled = found

    def __call__(self, func):
        # decorating is not a plain call: the mode set by __init__ is undone
        if self._replaced is not None and self._replaced[0] == threading.get_ident():
            STATE.grad_enabled, self._replaced = self._replaced[1], None
        return super().__call__(func)

    def _fresh(self):
        return set_grad_enabled(self.mode)


class inference_mode(_Switch):
    """Record no graph inside, as ``torch.inference_mode``: here the same as ``no_grad`` (torch
    also skips its view and version bookkeeping, which costs nothing to keep here). A context
    manager and a decorator, with or without parentheses; ``inference_mode(False)`` changes
    nothing. Per thread.

    >>> import tinygrad_seq as tg
    >>> @tg.inference_mode()
    ... def predict(x):
    ...     return x * 2
    >>> predict(tg.ones(1, requires_grad=True)).requires_grad
    False
    """

    def __new__(cls, mode=True):
        if callable(mode) and not isinstance(mode, (bool, np.bool_)):  # @tg.inference_mode
            switch = object.__new__(cls)
            switch.__init__()
            return switch(mode)
        return object.__new__(cls)

    def __init__(self, mode=True):
        super().__init__()
        self.mode = bool(mode)

    def _switch(self):
        found = STATE.grad_enabled
        if self.mode:
            STATE.grad_enabled = False
        return found

    def _restore(self, found):
        STATE.grad_enabled = found

    def _fresh(self):
        return inference_mode(self.mode)


def is_grad_enabled():
    """Whether ops record the graph in this thread now, as ``torch.is_grad_enabled``.

    >>> import tinygrad_seq as tg
    >>> with tg.no_grad():
    ...     print(tg.is_grad_enabled())
    False
    """
    return STATE.grad_enabled


class detect_anomaly(_SwitchWithoutArguments):
    """Raise at the first op whose result or gradient holds NaN or Inf, naming the op, the
    shapes and the line of user code that created the node.

    Every gradient is checked: each VJP's result, the sum of a weight's deferred products (the
    ``matmul``/``linear`` weight gradients, summed as one GEMM), and the total that reaches each
    node and leaf. Per thread, unlike ``torch.autograd.detect_anomaly`` (process-wide): the
    NumPy error state it sets (``np.errstate``) is per thread, and so are the other switches; a
    backward checks when the thread that runs it is in anomaly mode.

    >>> import numpy as np, tinygrad_seq as tg
    >>> with tg.detect_anomaly():
    ...     tg.Tensor(np.array([-1.0])).log()
    Traceback (most recent call last):
    FloatingPointError: 'log' produced NaN/Inf ...
    """

    def _switch(self):
        found, STATE.anomaly = STATE.anomaly, True
        errstate = np.errstate(all="ignore")  # we report it ourselves, with context
        errstate.__enter__()
        return found, errstate

    def _restore(self, found):
        anomaly, errstate = found
        errstate.__exit__(None, None, None)
        STATE.anomaly = anomaly


class keep_values(_SetsOneField):
    """Keep every op's result on its graph node (``node.value``), for drawing values
    (``viz.draw_graph(..., show_data=True)``, ``viz.explore``). Normally a node keeps only what
    its VJPs read. Backward keeps these values, and frees what the VJPs read as always (a second
    backward still needs ``retain_graph=True``). Per thread.

    >>> import tinygrad_seq as tg
    >>> x = tg.Tensor([1.0, 2.0], requires_grad=True)
    >>> with tg.keep_values():
    ...     y = x + 1
    >>> y.node.out
    array([2., 3.], dtype=float32)
    >>> y.sum().backward()
    >>> y.node.value
    array([2., 3.], dtype=float32)
    """

    _field, _mode = "keep_values", True


class eager(_SetsOneField):
    """Run every loop op by op, as ``jax.disable_jit()`` does for JAX: inside, a recurrent layer
    records a node per primitive per step (the full graph of T steps, each node with its real
    arrays, backward in its real order) instead of running its compiled loop
    (``tinygrad_seq.scan``). Results and gradients are the compiled loop's. A context manager and a
    decorator (a fresh context per call, generator functions included); re-entrant; per thread; it
    restores what it found.

    >>> import numpy as np, tinygrad_seq as tg
    >>> rnn = tg.nn.RNN(2, 3, seed=0)
    >>> with tg.eager():
    ...     out, h_n = rnn(np.ones((4, 1, 2), dtype=np.float32))
    >>> out.node.op, [p.op for p in out.node.parents][:2]  # the steps' outputs, stacked
    ('stack', ['tanh', 'tanh'])
    """

    _field, _mode = "eager", True


@contextlib.contextmanager
def scope(name):
    """Group the nodes created inside under ``name`` (the graph viewer draws one cluster each), in
    this thread.

    >>> import tinygrad_seq as tg
    >>> with tg.scope("t=0"):
    ...     y = tg.Tensor([1.0], requires_grad=True) * 2
    >>> y.node.scope
    ('t=0',)
    """
    prev = STATE.scope
    STATE.scope = prev + (str(name),)
    try:
        yield
    finally:
        STATE.scope = prev
