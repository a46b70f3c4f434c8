"""The sharpness of a recurrent net's loss during training, from Hessian-vector products.

The largest eigenvalue of the loss's Hessian (the sharpness) bounds the learning rate: along its
eigenvector, gradient descent multiplies the error by (1 - lr * sharpness) per step, so it
diverges once lr > 2 / sharpness. Power iteration finds it with Hessian-vector products only,
H v = d(grad . v)/dw, by differentiating the gradient (``tg.autograd.grad(...,
create_graph=True)``); the Hessian itself is never formed.

A tanh RNN, an LSTM or a GRU learns to output the mean of its input sequence's first feature; the
table shows the loss and the sharpness every few steps of plain gradient descent.

    python examples/higher_order.py                      # LSTM, 60 steps
    python examples/higher_order.py --model gru --lr 0.5 --steps 100
"""

import argparse
import sys

import numpy as np

import tinygrad_seq as tg
from tinygrad_seq import nn
from tinygrad_seq._threads import limit_blas_threads


class Regressor(nn.Module):
    """A recurrent layer and a linear read-out of its last output."""

    def __init__(self, model, input_size, hidden_size, seed):
        super().__init__()
        layer = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[model]
        self.rnn = layer(input_size, hidden_size, dtype=np.float64, seed=seed)
        self.head = nn.Linear(hidden_size, 1, dtype=np.float64, seed=seed + 1)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[-1])


def _dot(a, b):
    return sum(float((ak * bk).sum()) for ak, bk in zip(a, b))


def sharpness(loss_fn, params, iterations, rng):
    """The largest-magnitude eigenvalue of the Hessian of ``loss_fn()`` in ``params``, by power
    iteration on Hessian-vector products.

    >>> import numpy as np, tinygrad_seq as tg
    >>> w = tg.Tensor(np.array([1.0, 1.0]), requires_grad=True)
    >>> loss = lambda: (w * w * np.array([3.0, 0.5])).sum()  # Hessian diag(6, 1)
    >>> round(sharpness(loss, [w], 20, np.random.default_rng(0)), 6)
    6.0
    """

    def hvp(v):
        grads = tg.autograd.grad(loss_fn(), params, create_graph=True)
        g_dot_v = sum((g * vk).sum() for g, vk in zip(grads, v))
        return [h.data for h in tg.autograd.grad(g_dot_v, params)]

    v = [rng.standard_normal(p.shape) for p in params]
    for _ in range(iterations):
        hv = hvp(v)
        v = [h / np.sqrt(_dot(hv, hv)) for h in hv]
    return _dot(hvp(v), v)


def build_parser():
    p = argparse.ArgumentParser(
        description=(
            "Train a recurrent regressor by gradient descent and print the loss and the "
            "sharpness (largest Hessian eigenvalue, by power iteration on Hessian-vector "
            "products) every few steps."
        ),
    )
    p.add_argument(
        "--model",
        choices=["rnn", "lstm", "gru"],
        default="lstm",
        help="the layer (default: %(default)s)",
    )
    p.add_argument(
        "--steps", type=int, default=60, help="gradient-descent steps (default: %(default)s)"
    )
    p.add_argument(
        "--every",
        type=int,
        default=20,
        help="measure the sharpness every N steps (default: %(default)s)",
    )
    p.add_argument("--lr", type=float, default=0.3, help="learning rate (default: %(default)s)")
    p.add_argument(
        "--seq-len", type=int, default=10, help="sequence length T (default: %(default)s)"
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=16,
        help="sequences per batch (one batch; default: %(default)s)",
    )
    p.add_argument(
        "--hidden-size", type=int, default=8, help="hidden size H (default: %(default)s)"
    )
    p.add_argument(
        "--iterations",
        type=int,
        default=20,
        help="power iterations per measurement (default: %(default)s)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the data and the weights (default: %(default)s)",
    )
    return p


def main(argv=None):
    limit_blas_threads()
    args = build_parser().parse_args(argv)
    if args.steps < 0 or args.every < 1 or args.iterations < 1:
        raise SystemExit("higher_order: --steps >= 0, --every >= 1 and --iterations >= 1")
    rng = np.random.default_rng(args.seed)
    x = rng.standard_normal((args.seq_len, args.batch_size, 2))
    target = x[:, :, :1].mean(axis=0)
    model = Regressor(args.model, 2, args.hidden_size, args.seed)
    params = list(model.parameters())

    def loss_fn():
        return ((model(x) - target) ** 2).mean()

    optimizer = tg.optim.SGD(params, lr=args.lr)
    print(
        f"{args.model.upper()}, lr {args.lr}: gradient descent diverges along any direction "
        f"curved more than 2/lr = {2 / args.lr:.2f}"
    )
    print("| step | loss     | sharpness | 2/sharpness |")
    print("|-----:|---------:|----------:|------------:|")
    for step in range(args.steps + 1):
        if step % args.every == 0 or step == args.steps:
            loss = float(loss_fn().data)
            top = sharpness(loss_fn, params, args.iterations, rng)
            print(f"| {step:4d} | {loss:8.5f} | {top:9.4f} | {2 / top:11.3f} |")
        if step < args.steps:
            optimizer.zero_grad()
            loss_fn().backward()
            optimizer.step()
    return 0


if __name__ == "__main__":
    sys.exit(main())
