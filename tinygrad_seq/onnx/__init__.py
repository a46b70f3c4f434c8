"""``tinygrad_seq.onnx`` exists so that scripts importing ``torch.onnx`` at the top (to export at
the end) import and run; exporting itself is refused with what to do instead.

tinygrad_seq cannot write ONNX: an ONNX file is a graph of ONNX operators, and writing one needs
a tracer onto that operator set and the ``onnx`` package, neither of which is here. Save the
weights with ``tg.save(model.state_dict(), "model.npz")`` (an ``.npz`` archive that ``np.load``
reads); in PyTorch, build the same architecture, load them
(``model.load_state_dict({k: torch.from_numpy(v) for k, v in np.load("model.npz").items()})``)
and call ``torch.onnx.export`` there.

>>> import tinygrad_seq.onnx
>>> tinygrad_seq.onnx.is_in_onnx_export()
False
"""

__all__ = ["export", "is_in_onnx_export"]


def export(model, args=(), f=None, *unused_args, **unused_kwargs):
    """Raises ``NotImplementedError``: tinygrad_seq cannot export ONNX (see the module docstring).

    >>> import tinygrad_seq as tg
    >>> tg.onnx.export(tg.nn.Linear(2, 2, seed=0), tg.zeros(1, 2), "model.onnx")
    Traceback (most recent call last):
    ...
    NotImplementedError: tinygrad_seq cannot export ONNX...
    """
    raise NotImplementedError(
        "tinygrad_seq cannot export ONNX (there is no ONNX tracer here). Save the weights "
        "instead, tg.save(model.state_dict(), 'model.npz'), load them into the same model in "
        "PyTorch (load_state_dict of the arrays np.load gives, through torch.from_numpy) and "
        "call torch.onnx.export there."
    )


def is_in_onnx_export():
    """False: no ONNX export ever runs here (as ``torch.onnx.is_in_onnx_export`` outside one).

    >>> import tinygrad_seq as tg
    >>> tg.onnx.is_in_onnx_export()
    False
    """
    return False
