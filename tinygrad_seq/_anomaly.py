"""Anomaly mode (``detect_anomaly``): finding the op behind a NaN/Inf and naming it, with the
shapes and the line of user code that created its node. ``tensor.apply`` checks each forward
result, ``engine``'s sweep each gradient.
"""

import os
import traceback

import numpy as np


def _finite(array):
    return not np.issubdtype(array.dtype, np.inexact) or bool(np.isfinite(array).all())


def check_finite(array, node, argnum, inputs=None):
    """One VJP's result: name the op and the input."""
    if not _finite(array):
        what = f"the gradient of input {argnum} of "
        inputs = inputs or node.inputs or ()
        _raise_anomaly(what, node.op, inputs, node.shape, node.created_at)


def check_products(total, products, makers):
    """The sum of a node's deferred weight products (``ProductGrad``, one GEMM for all): name the
    op whose own product is not finite, or every op whose finite products overflow when added."""
    if _finite(total):
        return
    for product, (node, argnum, inputs) in zip(products, makers):
        check_finite(product.evaluate(), node, argnum, inputs)
    uses = list(dict.fromkeys(_use(node, argnum) for node, argnum, _ in makers))
    more = f" and {len(uses) - 3} more" if len(uses) > 3 else ""
    raise FloatingPointError(
        f"the {len(products)} gradients of {'; '.join(uses[:3])}{more} are finite, but their "
        f"sum (shape {total.shape}) overflows to Inf"
    )


def _use(node, argnum):
    where = f", created at {node.created_at}" if node.created_at else ""
    return f"input {argnum} of '{node.op}'{where}"


def check_reaching(g, node, visit):
    """The whole gradient that reached a node (a leaf's is what it receives). Its parts were
    checked where they were made, so a NaN/Inf here is backward's own ``grad`` (visit 0, the root)
    or finite parts that overflow when added."""
    if _finite(g):
        return
    if visit == 0:
        raise FloatingPointError(f"the gradient passed to backward (shape {g.shape}) holds NaN/Inf")
    if node.prim is None:
        what = f"leaf '{node.name}'" if node.name else "a leaf"
    else:
        what = f"the result of '{node.op}'"
    where = f", created at {node.created_at}" if node.created_at else ""
    raise FloatingPointError(
        f"the gradient reaching {what} (shape {node.shape}) holds NaN/Inf: its parts are "
        f"finite, their sum overflows{where}"
    )


def check_forward(op, inputs, out):
    """Anomaly mode: fail at the op whose forward result is not finite."""
    if np.issubdtype(out.dtype, np.inexact) and not np.isfinite(out).all():
        _raise_anomaly("", op, inputs, out.shape, user_frame())


def _raise_anomaly(what, op, inputs, out_shape, created_at):
    shapes = ", ".join(str(tuple(x.shape)) for x in inputs)
    where = f", created at {created_at}" if created_at else ""
    raise FloatingPointError(
        f"{what}'{op}' produced NaN/Inf (input shapes {shapes}; output shape {out_shape}){where}"
    )


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def user_frame():
    """'file:line' of the innermost caller outside this package (the user's line)."""
    for frame in reversed(traceback.extract_stack()):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE_DIR):
            return f"{frame.filename}:{frame.lineno} ({frame.line})"
    return None
